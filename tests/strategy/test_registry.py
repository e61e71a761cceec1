import pytest

from engine.strategy import Strategy, UnknownStrategy, names, register, resolve
from engine.strategy.examples.sma_cross import SmaCross


def test_builtin_and_import_path() -> None:
    assert "sma_cross" in names()
    assert resolve("SMA_CROSS") is SmaCross
    assert resolve("engine.strategy.examples.sma_cross:SmaCross") is SmaCross


def test_unknown_names_say_what_to_use() -> None:
    with pytest.raises(UnknownStrategy, match="sma_cross"):
        resolve("nope")
    with pytest.raises(UnknownStrategy, match="cannot import"):
        resolve("no.such.module:X")
    with pytest.raises(UnknownStrategy, match="not a Strategy"):
        resolve("engine.strategy.registry:names")


def test_register_a_user_strategy() -> None:
    class Mine(Strategy):
        name = "mine_for_test"

    register(Mine)
    assert resolve("mine_for_test") is Mine
