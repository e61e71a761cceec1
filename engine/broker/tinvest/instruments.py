"""Instrument lookup of the T-Invest adapter: shares, codes, uids and figis, cached."""

from __future__ import annotations

import logging

from engine.broker.base import UnknownInstrument
from engine.broker.tinvest.convert import instrument_to_model, share_to_instrument
from engine.broker.tinvest.core import BrokerCore
from engine.broker.tinvest.errors import NotFound
from engine.broker.tinvest.proto import investapi_pb2 as pb
from engine.model import Instrument, parse_code

log = logging.getLogger("avin.tinvest")


class InstrumentLookup(BrokerCore):
    """Finds instruments (Shares, ShareBy, FindInstrument, GetInstrumentBy) and remembers them."""

    def _remember(self, inst: Instrument) -> Instrument:
        self._by_uid[inst.uid] = inst
        self._by_figi[inst.figi] = inst
        self._by_code.setdefault(inst.code, inst)
        if inst.class_code == "TQBR":
            self._by_code[inst.code] = inst
        return inst

    async def instruments(self) -> list[Instrument]:
        resp = await self._call(
            "InstrumentsService",
            "Shares",
            pb.InstrumentsRequest(instrument_status=pb.INSTRUMENT_STATUS_BASE),
        )
        self._shares_loaded = True
        return [self._remember(share_to_instrument(s)) for s in resp.instruments]

    async def find_instrument(self, query: str) -> Instrument:
        text = query.strip()
        if not text:
            raise UnknownInstrument("empty instrument query", hint="use e.g. MOEX_SHARE_SBER")
        for table, key in ((self._by_uid, text), (self._by_figi, text.upper())):
            if key in table:
                return table[key]
        try:
            exchange, category, ticker = parse_code(text)
        except ValueError:
            ticker = text.upper()
            exchange, category = "MOEX", "SHARE"
        code = f"{exchange}_{category}_{ticker}"
        if code in self._by_code:
            return self._by_code[code]
        if category == "SHARE":
            try:
                resp = await self._call(
                    "InstrumentsService",
                    "ShareBy",
                    pb.InstrumentRequest(
                        id_type=pb.INSTRUMENT_ID_TYPE_TICKER, class_code="TQBR", id=ticker
                    ),
                )
                return self._remember(share_to_instrument(resp.instrument))
            except NotFound:
                pass
        found = await self._call(
            "InstrumentsService", "FindInstrument", pb.FindInstrumentRequest(query=ticker)
        )
        candidates = [
            i
            for i in found.instruments
            if ticker in (i.ticker.upper(), i.uid, i.figi.upper()) or text in (i.uid, i.figi)
        ]
        candidates.sort(key=lambda i: (i.class_code != "TQBR", not i.api_trade_available_flag))
        if candidates:
            resp2 = await self._call(
                "InstrumentsService",
                "GetInstrumentBy",
                pb.InstrumentRequest(id_type=pb.INSTRUMENT_ID_TYPE_UID, id=candidates[0].uid),
            )
            return self._remember(instrument_to_model(resp2.instrument))
        raise UnknownInstrument(
            f"instrument {query!r} not found at T-Invest",
            hint="use EXCHANGE_CATEGORY_TICKER (MOEX_SHARE_SBER), a ticker, a uid or a figi",
        )

    async def _instrument_by_code(self, code: str) -> Instrument:
        inst = self._by_code.get(code.upper())
        return inst if inst is not None else await self.find_instrument(code)

    async def _instrument_by_uid(self, uid: str, figi: str = "") -> Instrument | None:
        inst = self._by_uid.get(uid) or self._by_figi.get(figi)
        if inst is not None:
            return inst
        ident, kind = (
            (uid, pb.INSTRUMENT_ID_TYPE_UID) if uid else (figi, pb.INSTRUMENT_ID_TYPE_FIGI)
        )
        if not ident:
            return None
        try:
            resp = await self._call(
                "InstrumentsService",
                "GetInstrumentBy",
                pb.InstrumentRequest(id_type=kind, id=ident),
            )
        except NotFound:
            return None
        return self._remember(instrument_to_model(resp.instrument))

    # --- candles ----------------------------------------------------------------------------
