from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CommandKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COMMAND_KIND_UNSPECIFIED: _ClassVar[CommandKind]
    KILL: _ClassVar[CommandKind]
    REDUCE: _ClassVar[CommandKind]
    FLATTEN: _ClassVar[CommandKind]
    RESUME: _ClassVar[CommandKind]
    PAUSE_STRATEGY: _ClassVar[CommandKind]
    RESUME_STRATEGY: _ClassVar[CommandKind]
    CANCEL_ORDER: _ClassVar[CommandKind]
    CLOSE_POSITION: _ClassVar[CommandKind]
    ADD_STRATEGY: _ClassVar[CommandKind]
    REMOVE_STRATEGY: _ClassVar[CommandKind]
    STOP_STRATEGY: _ClassVar[CommandKind]
    START_STRATEGY: _ClassVar[CommandKind]
    STOP: _ClassVar[CommandKind]
COMMAND_KIND_UNSPECIFIED: CommandKind
KILL: CommandKind
REDUCE: CommandKind
FLATTEN: CommandKind
RESUME: CommandKind
PAUSE_STRATEGY: CommandKind
RESUME_STRATEGY: CommandKind
CANCEL_ORDER: CommandKind
CLOSE_POSITION: CommandKind
ADD_STRATEGY: CommandKind
REMOVE_STRATEGY: CommandKind
STOP_STRATEGY: CommandKind
START_STRATEGY: CommandKind
STOP: CommandKind

class SnapshotRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WatchRequest(_message.Message):
    __slots__ = ("min_interval", "diffs")
    MIN_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    DIFFS_FIELD_NUMBER: _ClassVar[int]
    min_interval: float
    diffs: bool
    def __init__(self, min_interval: _Optional[float] = ..., diffs: _Optional[bool] = ...) -> None: ...

class EngineSnapshot(_message.Message):
    __slots__ = ("version", "trading_state", "running", "pid", "status_json", "patch_json", "base_version")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TRADING_STATE_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    STATUS_JSON_FIELD_NUMBER: _ClassVar[int]
    PATCH_JSON_FIELD_NUMBER: _ClassVar[int]
    BASE_VERSION_FIELD_NUMBER: _ClassVar[int]
    version: int
    trading_state: str
    running: bool
    pid: int
    status_json: bytes
    patch_json: bytes
    base_version: int
    def __init__(self, version: _Optional[int] = ..., trading_state: _Optional[str] = ..., running: _Optional[bool] = ..., pid: _Optional[int] = ..., status_json: _Optional[bytes] = ..., patch_json: _Optional[bytes] = ..., base_version: _Optional[int] = ...) -> None: ...

class CommandRequest(_message.Message):
    __slots__ = ("kind", "reason", "target", "spec_json")
    KIND_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    SPEC_JSON_FIELD_NUMBER: _ClassVar[int]
    kind: CommandKind
    reason: str
    target: str
    spec_json: bytes
    def __init__(self, kind: _Optional[_Union[CommandKind, str]] = ..., reason: _Optional[str] = ..., target: _Optional[str] = ..., spec_json: _Optional[bytes] = ...) -> None: ...

class CommandReply(_message.Message):
    __slots__ = ("trading_state", "halt_reason", "strategy_state", "pid", "result")
    TRADING_STATE_FIELD_NUMBER: _ClassVar[int]
    HALT_REASON_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_STATE_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    trading_state: str
    halt_reason: str
    strategy_state: str
    pid: int
    result: str
    def __init__(self, trading_state: _Optional[str] = ..., halt_reason: _Optional[str] = ..., strategy_state: _Optional[str] = ..., pid: _Optional[int] = ..., result: _Optional[str] = ...) -> None: ...

class ChartRequest(_message.Message):
    __slots__ = ("instrument", "timeframe", "count")
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    TIMEFRAME_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    instrument: str
    timeframe: str
    count: int
    def __init__(self, instrument: _Optional[str] = ..., timeframe: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class Bar(_message.Message):
    __slots__ = ("ts_us", "open", "high", "low", "close", "volume")
    TS_US_FIELD_NUMBER: _ClassVar[int]
    OPEN_FIELD_NUMBER: _ClassVar[int]
    HIGH_FIELD_NUMBER: _ClassVar[int]
    LOW_FIELD_NUMBER: _ClassVar[int]
    CLOSE_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    ts_us: int
    open: float
    high: float
    low: float
    close: float
    volume: int
    def __init__(self, ts_us: _Optional[int] = ..., open: _Optional[float] = ..., high: _Optional[float] = ..., low: _Optional[float] = ..., close: _Optional[float] = ..., volume: _Optional[int] = ...) -> None: ...

class ChartReply(_message.Message):
    __slots__ = ("bars",)
    BARS_FIELD_NUMBER: _ClassVar[int]
    bars: _containers.RepeatedCompositeFieldContainer[Bar]
    def __init__(self, bars: _Optional[_Iterable[_Union[Bar, _Mapping]]] = ...) -> None: ...

class LogRequest(_message.Message):
    __slots__ = ("after_seq", "limit")
    AFTER_SEQ_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    after_seq: int
    limit: int
    def __init__(self, after_seq: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class LogRecord(_message.Message):
    __slots__ = ("seq", "ts_us", "level", "source", "message", "detail")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    TS_US_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    seq: int
    ts_us: int
    level: str
    source: str
    message: str
    detail: str
    def __init__(self, seq: _Optional[int] = ..., ts_us: _Optional[int] = ..., level: _Optional[str] = ..., source: _Optional[str] = ..., message: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class LogBatch(_message.Message):
    __slots__ = ("records", "skipped", "last_seq")
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    LAST_SEQ_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[LogRecord]
    skipped: int
    last_seq: int
    def __init__(self, records: _Optional[_Iterable[_Union[LogRecord, _Mapping]]] = ..., skipped: _Optional[int] = ..., last_seq: _Optional[int] = ...) -> None: ...

class IncidentsRequest(_message.Message):
    __slots__ = ("limit",)
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    limit: int
    def __init__(self, limit: _Optional[int] = ...) -> None: ...

class Incident(_message.Message):
    __slots__ = ("json",)
    JSON_FIELD_NUMBER: _ClassVar[int]
    json: bytes
    def __init__(self, json: _Optional[bytes] = ...) -> None: ...

class IncidentsReply(_message.Message):
    __slots__ = ("incidents",)
    INCIDENTS_FIELD_NUMBER: _ClassVar[int]
    incidents: _containers.RepeatedCompositeFieldContainer[Incident]
    def __init__(self, incidents: _Optional[_Iterable[_Union[Incident, _Mapping]]] = ...) -> None: ...

class SessionRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SessionInfo(_message.Message):
    __slots__ = ("pid", "instruments_json", "restored_orders", "recovery_over", "mode")
    PID_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENTS_JSON_FIELD_NUMBER: _ClassVar[int]
    RESTORED_ORDERS_FIELD_NUMBER: _ClassVar[int]
    RECOVERY_OVER_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    pid: int
    instruments_json: bytes
    restored_orders: _containers.RepeatedScalarFieldContainer[str]
    recovery_over: bool
    mode: str
    def __init__(self, pid: _Optional[int] = ..., instruments_json: _Optional[bytes] = ..., restored_orders: _Optional[_Iterable[str]] = ..., recovery_over: _Optional[bool] = ..., mode: _Optional[str] = ...) -> None: ...

class StrategySpecRequest(_message.Message):
    __slots__ = ("spec_json",)
    SPEC_JSON_FIELD_NUMBER: _ClassVar[int]
    spec_json: bytes
    def __init__(self, spec_json: _Optional[bytes] = ...) -> None: ...

class SpecCheckReply(_message.Message):
    __slots__ = ("errors", "warnings")
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    errors: _containers.RepeatedScalarFieldContainer[str]
    warnings: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, errors: _Optional[_Iterable[str]] = ..., warnings: _Optional[_Iterable[str]] = ...) -> None: ...

class WorkspaceRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Workspace(_message.Message):
    __slots__ = ("json",)
    JSON_FIELD_NUMBER: _ClassVar[int]
    json: bytes
    def __init__(self, json: _Optional[bytes] = ...) -> None: ...

class BookRequest(_message.Message):
    __slots__ = ("instrument", "depth")
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    instrument: str
    depth: int
    def __init__(self, instrument: _Optional[str] = ..., depth: _Optional[int] = ...) -> None: ...

class BookLevel(_message.Message):
    __slots__ = ("price", "lots")
    PRICE_FIELD_NUMBER: _ClassVar[int]
    LOTS_FIELD_NUMBER: _ClassVar[int]
    price: str
    lots: int
    def __init__(self, price: _Optional[str] = ..., lots: _Optional[int] = ...) -> None: ...

class OrderBookReply(_message.Message):
    __slots__ = ("present", "instrument", "ts_us", "bids", "asks", "depth", "consistent", "limit_up", "limit_down")
    PRESENT_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    TS_US_FIELD_NUMBER: _ClassVar[int]
    BIDS_FIELD_NUMBER: _ClassVar[int]
    ASKS_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    CONSISTENT_FIELD_NUMBER: _ClassVar[int]
    LIMIT_UP_FIELD_NUMBER: _ClassVar[int]
    LIMIT_DOWN_FIELD_NUMBER: _ClassVar[int]
    present: bool
    instrument: str
    ts_us: int
    bids: _containers.RepeatedCompositeFieldContainer[BookLevel]
    asks: _containers.RepeatedCompositeFieldContainer[BookLevel]
    depth: int
    consistent: bool
    limit_up: str
    limit_down: str
    def __init__(self, present: _Optional[bool] = ..., instrument: _Optional[str] = ..., ts_us: _Optional[int] = ..., bids: _Optional[_Iterable[_Union[BookLevel, _Mapping]]] = ..., asks: _Optional[_Iterable[_Union[BookLevel, _Mapping]]] = ..., depth: _Optional[int] = ..., consistent: _Optional[bool] = ..., limit_up: _Optional[str] = ..., limit_down: _Optional[str] = ...) -> None: ...

class TapeRequest(_message.Message):
    __slots__ = ("instrument", "count")
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    instrument: str
    count: int
    def __init__(self, instrument: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class TapeTrade(_message.Message):
    __slots__ = ("ts_us", "price", "lots", "side")
    TS_US_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    LOTS_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    ts_us: int
    price: str
    lots: int
    side: str
    def __init__(self, ts_us: _Optional[int] = ..., price: _Optional[str] = ..., lots: _Optional[int] = ..., side: _Optional[str] = ...) -> None: ...

class TapeReply(_message.Message):
    __slots__ = ("instrument", "trades")
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    TRADES_FIELD_NUMBER: _ClassVar[int]
    instrument: str
    trades: _containers.RepeatedCompositeFieldContainer[TapeTrade]
    def __init__(self, instrument: _Optional[str] = ..., trades: _Optional[_Iterable[_Union[TapeTrade, _Mapping]]] = ...) -> None: ...

class BacktestsRequest(_message.Message):
    __slots__ = ("limit",)
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    limit: int
    def __init__(self, limit: _Optional[int] = ...) -> None: ...

class Backtest(_message.Message):
    __slots__ = ("id", "report_json")
    ID_FIELD_NUMBER: _ClassVar[int]
    REPORT_JSON_FIELD_NUMBER: _ClassVar[int]
    id: str
    report_json: bytes
    def __init__(self, id: _Optional[str] = ..., report_json: _Optional[bytes] = ...) -> None: ...

class BacktestsReply(_message.Message):
    __slots__ = ("backtests",)
    BACKTESTS_FIELD_NUMBER: _ClassVar[int]
    backtests: _containers.RepeatedCompositeFieldContainer[Backtest]
    def __init__(self, backtests: _Optional[_Iterable[_Union[Backtest, _Mapping]]] = ...) -> None: ...
