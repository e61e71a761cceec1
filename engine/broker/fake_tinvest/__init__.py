"""A fake T-Invest server speaking the real gRPC protocol, backed by the simulated market."""

from engine.broker.fake_tinvest.exchange import FakeExchange
from engine.broker.fake_tinvest.faults import Faults
from engine.broker.fake_tinvest.records import ExchangeError
from engine.broker.fake_tinvest.server import DEFAULT_TOKEN, FakeTInvestServer

__all__ = ["DEFAULT_TOKEN", "ExchangeError", "FakeExchange", "FakeTInvestServer", "Faults"]
