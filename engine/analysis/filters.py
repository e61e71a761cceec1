"""Composable predicates over a multi-timeframe snapshot, and a small text syntax for them.

Syntax (keywords are case-insensitive)::

    expr       := term ("or" term)*
    term       := factor ("and" factor)*
    factor     := "not" factor | "(" expr ")" | comparison
    comparison := field OP value | field ["not"] "in" "[" value "," value "]"
    field      := [TF "."] "T" term ["[" n "]"] "." attr ["." sub]
    OP         := "==" | "!=" | "<" | "<=" | ">" | ">="

* TF is a timeframe code (1M 5M 10M 15M 1H 4H D W M); without it the field refers to the
  timeframe the filter is evaluated for (the scanner's ``tf``).
* ``T1``..``T5`` pick the term; ``[n]`` picks the trend (0 = real-time, default; 1 = newest
  confirmed, ...).
* attr: ``trend`` (``bull``/``bear``; ``kind`` is an alias), ``abs_p``, ``len``, ``speed_p``,
  ``vol`` (raw values), ``size`` (= ``abs_p.size``), ``class`` (= ``abs_p.class``), ``cdf``
  (= ``abs_p.cdf``). sub (for a metric): ``cdf`` (0..1), ``pct`` (0..100), ``size`` (-7..+7),
  ``class`` (XS < S < M < L < XL).
* ``in [a, b]`` is the closed interval a <= x <= b (also for classes: ``in [M, XL]``).
* A comparison whose value is unknown (no such trend yet, no statistics) is false.

Example: ``1H.T1.trend == bull and 1H.T1.abs_p.cdf in [0.7, 0.9] and 1H.T1.len >= 5``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.analysis.stats import CLASSES
from engine.model.timeframe import TimeFrame

METRIC_ATTRS = ("abs_p", "len", "speed_p", "vol")
SUBS = ("cdf", "pct", "size", "class")
SHORTCUTS = {"size": ("abs_p", "size"), "class": ("abs_p", "class"), "cdf": ("abs_p", "cdf")}
TREND_WORDS = ("bull", "bear")
OPS = ("==", "!=", "<", "<=", ">", ">=")


class FilterSyntaxError(ValueError):
    """A filter text that cannot be parsed; ``position`` is the 0-based offset of the problem."""

    def __init__(self, message: str, text: str, position: int) -> None:
        self.message = message
        self.text = text
        self.position = position
        pointer = " " * position + "^"
        super().__init__(f"{message} at position {position + 1}:\n  {text}\n  {pointer}")


class FilterEvalError(ValueError):
    """A filter cannot be evaluated (for example: no timeframe given for a field without one)."""


class Filter:
    """Base of all predicates: ``flt(snapshot, tf)`` -> bool; combine with ``&``, ``|``, ``~``."""

    def __call__(self, snapshot: Any, tf: TimeFrame | None = None) -> bool:
        raise NotImplementedError

    def __and__(self, other: Filter) -> Filter:
        return And(self, other)

    def __or__(self, other: Filter) -> Filter:
        return Or(self, other)

    def __invert__(self) -> Filter:
        return Not(self)

    def timeframes(self) -> set[TimeFrame]:
        """Timeframes named explicitly by the filter."""
        return set()

    def needs_stats(self) -> bool:
        return False


@dataclass(frozen=True)
class And(Filter):
    left: Filter
    right: Filter

    def __call__(self, snapshot: Any, tf: TimeFrame | None = None) -> bool:
        return self.left(snapshot, tf) and self.right(snapshot, tf)

    def timeframes(self) -> set[TimeFrame]:
        return self.left.timeframes() | self.right.timeframes()

    def needs_stats(self) -> bool:
        return self.left.needs_stats() or self.right.needs_stats()

    def __str__(self) -> str:
        return f"({self.left} and {self.right})"


@dataclass(frozen=True)
class Or(Filter):
    left: Filter
    right: Filter

    def __call__(self, snapshot: Any, tf: TimeFrame | None = None) -> bool:
        return self.left(snapshot, tf) or self.right(snapshot, tf)

    def timeframes(self) -> set[TimeFrame]:
        return self.left.timeframes() | self.right.timeframes()

    def needs_stats(self) -> bool:
        return self.left.needs_stats() or self.right.needs_stats()

    def __str__(self) -> str:
        return f"({self.left} or {self.right})"


@dataclass(frozen=True)
class Not(Filter):
    inner: Filter

    def __call__(self, snapshot: Any, tf: TimeFrame | None = None) -> bool:
        return not self.inner(snapshot, tf)

    def timeframes(self) -> set[TimeFrame]:
        return self.inner.timeframes()

    def needs_stats(self) -> bool:
        return self.inner.needs_stats()

    def __str__(self) -> str:
        return f"not {self.inner}"


@dataclass(frozen=True)
class Predicate(Filter):
    """Any Python function ``(snapshot, tf) -> bool`` as a composable filter."""

    func: Callable[[Any, TimeFrame | None], bool]

    def __call__(self, snapshot: Any, tf: TimeFrame | None = None) -> bool:
        return bool(self.func(snapshot, tf))


@dataclass(frozen=True)
class Field:
    """``[tf.]T<term>[<n>].<attr>[.<sub>]``: one value of one trend."""

    tf: TimeFrame | None
    term: int
    n: int
    attr: str  # trend or a metric
    sub: str | None  # None (raw value) or one of SUBS

    @property
    def kind(self) -> str:
        """Value type: "trend", "class" or "number"."""
        if self.attr == "trend":
            return "trend"
        return "class" if self.sub == "class" else "number"

    def value(self, snapshot: Any, tf: TimeFrame | None) -> Any:
        """The value, or None when unknown."""
        frame_tf = self.tf or tf
        if frame_tf is None:
            raise FilterEvalError(f"{self}: no timeframe (write e.g. 1H.{self})")
        frame = snapshot[frame_tf]
        trend = frame.trend(self.term, self.n)
        if trend is None:
            return None
        if self.attr == "trend":
            return trend.kind.value
        raw = float(getattr(trend, self.attr))
        if self.sub is None:
            return raw
        stats = frame.trend_stats(self.term)
        if stats is None or stats.count == 0:
            return None
        if self.sub == "cdf":
            return stats.cdf(self.attr, raw)
        if self.sub == "pct":
            return stats.percent(self.attr, raw)
        if self.sub == "size":
            return stats.size(self.attr, raw)
        return stats.size_class(self.attr, raw)

    def __str__(self) -> str:
        head = f"{self.tf.code}." if self.tf else ""
        idx = f"[{self.n}]" if self.n else ""
        tail = f".{self.sub}" if self.sub else ""
        return f"{head}T{self.term}{idx}.{self.attr}{tail}"


def _order(kind: str, value: Any) -> Any:
    return CLASSES.index(value) if kind == "class" else value


@dataclass(frozen=True)
class Compare(Filter):
    field: Field
    op: str  # one of OPS, "in" or "not in"
    values: tuple[Any, ...]

    def __call__(self, snapshot: Any, tf: TimeFrame | None = None) -> bool:
        got = self.field.value(snapshot, tf)
        if got is None or (isinstance(got, float) and math.isnan(got)):
            return False
        kind = self.field.kind
        x = _order(kind, got)
        vals = [_order(kind, v) for v in self.values]
        op = self.op
        if op in ("in", "not in"):
            inside = bool(vals[0] <= x <= vals[1])
            return inside if op == "in" else not inside
        v = vals[0]
        return bool(
            {
                "==": x == v,
                "!=": x != v,
                "<": x < v,
                "<=": x <= v,
                ">": x > v,
                ">=": x >= v,
            }[op]
        )

    def timeframes(self) -> set[TimeFrame]:
        return {self.field.tf} if self.field.tf else set()

    def needs_stats(self) -> bool:
        return self.field.sub is not None

    def __str__(self) -> str:
        if self.op in ("in", "not in"):
            return f"{self.field} {self.op} [{self.values[0]}, {self.values[1]}]"
        return f"{self.field} {self.op} {self.values[0]}"


# ---------------------------------------------------------------------- parser
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<field>(?:[0-9]*[A-Za-z]+\.)?[Tt][0-9]+(?:\[[0-9]+\])?(?:\.[A-Za-z_]+){1,2})
  | (?P<number>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))
  | (?P<op>==|!=|<=|>=|<|>)
  | (?P<punct>[\[\](),])
  | (?P<word>[A-Za-z_][A-Za-z_0-9]*)
    """,
    re.VERBOSE,
)
_FIELD = re.compile(
    r"(?:(?P<tf>[0-9]*[A-Za-z]+)\.)?[Tt](?P<term>[0-9]+)(?:\[(?P<n>[0-9]+)\])?"
    r"\.(?P<attr>[A-Za-z_]+)(?:\.(?P<sub>[A-Za-z_]+))?"
)


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    pos: int


def _tokenize(text: str) -> list[_Tok]:
    out = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise FilterSyntaxError(f"unexpected character {text[pos]!r}", text, pos)
        kind = m.lastgroup or ""
        if kind != "ws":
            out.append(_Tok(kind, m.group(), pos))
        pos = m.end()
    out.append(_Tok("end", "", len(text)))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0

    def error(self, message: str, tok: _Tok | None = None) -> FilterSyntaxError:
        tok = tok or self.peek()
        return FilterSyntaxError(message, self.text, tok.pos)

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def is_word(self, word: str) -> bool:
        tok = self.peek()
        return tok.kind == "word" and tok.text.lower() == word

    def expect_punct(self, ch: str) -> None:
        tok = self.peek()
        if tok.kind != "punct" or tok.text != ch:
            raise self.error(f"expected {ch!r}, found {_describe(tok)}")
        self.take()

    def parse(self) -> Filter:
        if self.peek().kind == "end":
            raise self.error("empty filter")
        flt = self.expr()
        if self.peek().kind != "end":
            raise self.error(f"expected 'and', 'or' or the end, found {_describe(self.peek())}")
        return flt

    def expr(self) -> Filter:
        flt = self.term()
        while self.is_word("or"):
            self.take()
            flt = Or(flt, self.term())
        return flt

    def term(self) -> Filter:
        flt = self.factor()
        while self.is_word("and"):
            self.take()
            flt = And(flt, self.factor())
        return flt

    def factor(self) -> Filter:
        if self.is_word("not"):
            self.take()
            return Not(self.factor())
        tok = self.peek()
        if tok.kind == "punct" and tok.text == "(":
            self.take()
            flt = self.expr()
            self.expect_punct(")")
            return flt
        if tok.kind == "field":
            return self.comparison()
        raise self.error(f"expected a field like 1H.T1.trend, 'not' or '(', found {_describe(tok)}")

    def comparison(self) -> Filter:
        ftok = self.take()
        field = self.field(ftok)
        tok = self.peek()
        if tok.kind == "op":
            self.take()
            if field.kind == "trend" and tok.text not in ("==", "!="):
                raise self.error(f"{field} is bull or bear: only == and != apply", tok)
            return Compare(field, tok.text, (self.value(field),))
        negate = False
        if self.is_word("not"):
            self.take()
            negate = True
        if self.is_word("in"):
            itok = self.take()
            if field.kind == "trend":
                raise self.error(f"{field} is bull or bear: 'in [a, b]' does not apply", itok)
            self.expect_punct("[")
            lo = self.value(field)
            self.expect_punct(",")
            hi = self.value(field)
            self.expect_punct("]")
            return Compare(field, "not in" if negate else "in", (lo, hi))
        expected = "'in'" if negate else "a comparison (== != < <= > >=) or 'in'"
        raise self.error(f"expected {expected} after {ftok.text}, found {_describe(self.peek())}")

    def field(self, tok: _Tok) -> Field:
        m = _FIELD.fullmatch(tok.text)
        assert m is not None
        tf = None
        if m.group("tf"):
            try:
                tf = TimeFrame.from_code(m.group("tf"))
            except ValueError as exc:
                raise self.error(str(exc), tok) from None
        term = int(m.group("term"))
        if not 1 <= term <= 5:
            raise FilterSyntaxError(f"term must be T1..T5, got T{term}", self.text, tok.pos)
        n = int(m.group("n") or 0)
        attr = m.group("attr").lower()
        sub = m.group("sub").lower() if m.group("sub") else None
        sub_pos = tok.pos + tok.text.rfind(".") + 1
        if attr == "kind":
            attr = "trend"
        if attr in SHORTCUTS and sub is None:
            attr, sub = SHORTCUTS[attr]
        elif attr == "trend":
            if sub is not None:
                raise FilterSyntaxError(f"'trend' has no '.{sub}'", self.text, sub_pos)
        elif attr in METRIC_ATTRS:
            if sub is not None and sub not in SUBS:
                raise FilterSyntaxError(
                    f"unknown '.{sub}': use one of {', '.join(SUBS)}", self.text, sub_pos
                )
        else:
            attr_pos = tok.pos + tok.text.index("." + m.group("attr")) + 1
            valid = ", ".join(("trend", *METRIC_ATTRS, *SHORTCUTS))
            raise FilterSyntaxError(
                f"unknown attribute {attr!r}: use one of {valid}", self.text, attr_pos
            )
        return Field(tf, term, n, attr, sub)

    def value(self, field: Field) -> Any:
        tok = self.peek()
        kind = field.kind
        if kind == "number":
            if tok.kind != "number":
                raise self.error(f"expected a number for {field}, found {_describe(tok)}")
            self.take()
            return float(tok.text)
        words = TREND_WORDS if kind == "trend" else CLASSES
        if tok.kind == "word":
            for w in words:
                if tok.text.lower() == w.lower():
                    self.take()
                    return w
        raise self.error(f"expected one of {', '.join(words)} for {field}, found {_describe(tok)}")


def _describe(tok: _Tok) -> str:
    return "the end" if tok.kind == "end" else repr(tok.text)


def parse_filter(text: str) -> Filter:
    """Parse the filter syntax of this module; raises ``FilterSyntaxError`` with the position."""
    return _Parser(text).parse()
