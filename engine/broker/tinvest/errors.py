"""T-Invest failures as typed errors that say what happened and what to do.

An API error arrives as a gRPC status whose *details* is a numeric code (``"30078"``); the server's
own text is in the trailing metadata ``message`` and ``x-tracking-id`` identifies the request for
support. :func:`from_rpc_error` turns any ``grpc.RpcError`` into a :class:`TInvestError` subclass
carrying the gRPC status, the numeric code, the server message, the tracking id, a plain
explanation and the action to take. Every text goes through :func:`engine.model.redact.redact`,
so the token never reaches a log or an error string.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import grpc

from engine.broker.base import BrokerError, OrderRejected
from engine.model.redact import redact

TOKEN_HELP = (
    "Create a token at https://www.tbank.ru/invest/settings/api/ (a sandbox token for the "
    "sandbox, a full-access one for live trading) and store it with `avin token set` (or put it "
    "in AVIN_TOKEN); tokens expire 3 months after their last use"
)

# code -> (what it means, what to do)
CODES: dict[str, tuple[str, str]] = {
    "30014": (
        "the candle window is too large for this interval",
        "request a shorter period (avin splits candle requests by the per-interval limit)",
    ),
    "30027": ("the order key (order_id) is missing", "send a UUID as the order key"),
    "30028": ("the order key (order_id) is not a UUID", "send a UUID (36 characters) as the key"),
    "30034": (
        "not enough money on the account for this order",
        "top the account up, reduce the order size or cancel other orders that block money",
    ),
    "30052": (
        "this instrument cannot be traded through the API",
        "trade another instrument or use the broker's app",
    ),
    "30057": (
        "an order with this key was already sent and its report is not ready yet",
        "look the order up by its key (GetOrderState) instead of sending it again",
    ),
    "30078": (
        "the price is not a multiple of the instrument's price step",
        "round the price to the step",
    ),
    "30097": ("the instrument is not trading now", "wait for the trading session to open"),
    "30098": ("trading is not available now", "wait for the trading session to open"),
    "30099": (
        "the price is outside the exchange's allowed price band",
        "use a price closer to the last price",
    ),
    "40002": (
        "the token cannot trade (read-only token)",
        "create a full-access token for this account. " + TOKEN_HELP,
    ),
    "40003": ("the token is missing, invalid or expired", TOKEN_HELP),
    "40004": (
        "this account cannot trade through the API",
        "choose another account or allow API trading for it in the broker's app",
    ),
    "50002": ("the instrument was not found", "check the ticker, uid or figi"),
    "50004": ("the account was not found", "check the account id (`avin broker check` lists them)"),
    "50005": ("the order was not found", "check the order id; finished orders age out after a day"),
    "70001": ("internal error at the broker", "retry later"),
    "70002": (
        "network error inside the broker; the request may or may not have been executed",
        "avin looks the order up by its key before doing anything else",
    ),
    "70003": ("the broker asks to try again later", "retry with a backoff"),
    "80001": (
        "too many streams are open",
        "close other programs that use this token or wait for old streams to close",
    ),
    "80002": (
        "the per-minute request limit was exceeded",
        "avin waits until the limit window resets (x-ratelimit-reset) and retries",
    ),
    "80004": ("the stream was closed because it had no subscriptions", "subscribe on opening"),
    "80005": ("the stream has been open too long", "reconnect (avin does this by itself)"),
    "90001": ("the order needs a confirmation", "confirm it in the broker's app"),
    "90003": ("the order value is too high", "reduce the order size"),
}

_STATUS_HINT: dict[grpc.StatusCode, tuple[str, str]] = {
    grpc.StatusCode.UNAVAILABLE: (
        "the broker cannot be reached",
        "check the network and the host; avin reconnects with a backoff",
    ),
    grpc.StatusCode.DEADLINE_EXCEEDED: (
        "the broker did not answer in time",
        "reads are retried; an order is looked up by its key",
    ),
    grpc.StatusCode.CANCELLED: ("the call or stream was cancelled", "it is reopened"),
    grpc.StatusCode.UNKNOWN: ("the stream was removed by the broker", "it is reopened"),
}


class TInvestError(BrokerError):
    """Any failure reported by T-Invest (or on the way to it)."""

    def __init__(
        self,
        message: str,
        *,
        status: str = "",
        api_code: str = "",
        server_message: str = "",
        tracking_id: str = "",
        explanation: str = "",
        action: str = "",
        retryable: bool = False,
        reset_seconds: float | None = None,
        method: str = "",
    ) -> None:
        self.status = status
        self.api_code = api_code
        self.server_message = redact(server_message)
        self.explanation = redact(explanation)
        self.action = redact(action)
        self.reset_seconds = reset_seconds
        self.method = method
        hint = ". ".join(p[:1].upper() + p[1:] for p in (self.explanation, self.action) if p)
        super().__init__(
            redact(message),
            code=api_code or status,
            tracking_id=tracking_id,
            hint=hint,
            retryable=retryable,
        )


class AuthenticationError(TInvestError):
    """40003: no token, a wrong one or an expired one."""


class AccessDenied(TInvestError):
    """40002/40004: the token or the account may not do this."""


class RequestRejected(TInvestError):
    """30xxx: the request was refused as invalid (nothing was executed)."""


class NotFound(TInvestError):
    """50xxx: instrument, account or order not found."""


class RateLimited(TInvestError):
    """80xxx: a request or stream limit; ``reset_seconds`` says when the window resets."""


class Unavailable(TInvestError):
    """Transport failures and 70xxx: the outcome of the request is unknown; retry when safe."""


class PreconditionFailed(TInvestError):
    """90xxx: the order needs a confirmation or is too large."""


class TInvestOrderRejected(OrderRejected):
    """The broker refused an order (30xxx, 40002/40004, 90xxx) with the API details."""

    def __init__(self, order_id: str, error: TInvestError) -> None:
        self.error = error
        self.status = error.status
        self.api_code = error.api_code
        self.server_message = error.server_message
        reason = error.explanation or error.server_message or error.message
        super().__init__(order_id, reason, code=error.api_code or error.status, hint=error.action)
        self.tracking_id = error.tracking_id
        self.args = (self.describe(),)

    @property
    def detail(self) -> str:
        """``code 30078 "<the server's message>": <what it means>; tracking id <id>. <What to do>``
        (what the engine keeps as the order's reason and the UI shows)."""
        head = f"code {self.code}" if self.code else "rejected"
        if self.server_message:
            head = f'{head} "{self.server_message}"'
        explanation = self.error.explanation
        text = f"{head}: {explanation}" if explanation else head
        if self.tracking_id:
            text = f"{text}; tracking id {self.tracking_id}"
        action = self.hint
        return redact(f"{text}. {action[:1].upper()}{action[1:]}" if action else text)


def _metadata_value(items: Iterable[Any] | None, key: str) -> str:
    for item in items or ():
        k, v = item[0], item[1]
        if k == key:
            return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
    return ""


def _safe(call: Any, name: str) -> Any:
    try:
        fn = getattr(call, name, None)
        return fn() if callable(fn) else None
    except Exception:  # a half-dead call may fail to report its metadata
        return None


def _class_for(status: grpc.StatusCode | None, code: str) -> type[TInvestError]:
    family = code[:1] if code.isdigit() else ""
    if code == "40003" or status is grpc.StatusCode.UNAUTHENTICATED:
        return AuthenticationError
    if family == "4" or status is grpc.StatusCode.PERMISSION_DENIED:
        return AccessDenied
    if family == "3" or status is grpc.StatusCode.INVALID_ARGUMENT:
        return RequestRejected
    if family == "5" or status is grpc.StatusCode.NOT_FOUND:
        return NotFound
    if family == "8" or status is grpc.StatusCode.RESOURCE_EXHAUSTED:
        return RateLimited
    if family == "9" or status is grpc.StatusCode.FAILED_PRECONDITION:
        return PreconditionFailed
    return Unavailable


def from_rpc_error(exc: grpc.RpcError, *, method: str = "", extra_action: str = "") -> TInvestError:
    """The typed error for a failed call (never raises; the token is redacted)."""
    status: grpc.StatusCode | None = _safe(exc, "code")
    details = str(_safe(exc, "details") or "").strip()
    trailing = _safe(exc, "trailing_metadata")
    initial = _safe(exc, "initial_metadata")
    server_message = _metadata_value(trailing, "message") or _metadata_value(initial, "message")
    tracking = _metadata_value(trailing, "x-tracking-id") or _metadata_value(
        initial, "x-tracking-id"
    )
    reset_text = _metadata_value(trailing, "x-ratelimit-reset") or _metadata_value(
        initial, "x-ratelimit-reset"
    )
    code = details if details.isdigit() else ""
    if not server_message and details and not code:
        server_message = details
    if code in CODES:
        explanation, action = CODES[code]
    elif code:
        explanation, action = _family_text(code)
    elif status is not None and status in _STATUS_HINT:
        explanation, action = _STATUS_HINT[status]
    else:
        explanation, action = "", ""
    if extra_action:
        action = f"{action}; {extra_action}" if action else extra_action
    reset: float | None = None
    if reset_text:
        try:
            reset = max(0.0, float(reset_text))
        except ValueError:
            reset = None
    status_name = status.name if status is not None else "UNKNOWN"
    cls = _class_for(status, code)
    retryable = cls is Unavailable or (cls is RateLimited and code in ("80002", ""))
    where = f"{method}: " if method else ""
    text = server_message or explanation or "request failed"
    message = f"T-Invest {where}{text} ({status_name})"
    return cls(
        message,
        status=status_name,
        api_code=code,
        server_message=server_message,
        tracking_id=tracking,
        explanation=explanation,
        action=action,
        retryable=retryable,
        reset_seconds=reset,
        method=method,
    )


def _family_text(code: str) -> tuple[str, str]:
    return {
        "3": ("the request was rejected as invalid", "check the request parameters"),
        "4": ("access denied", TOKEN_HELP),
        "5": ("not found", "check the identifiers"),
        "7": ("internal error at the broker", "retry later"),
        "8": ("a request limit was exceeded", "slow down and retry later"),
        "9": ("the request needs a precondition", "check the order in the broker's app"),
    }.get(code[:1], ("", ""))
