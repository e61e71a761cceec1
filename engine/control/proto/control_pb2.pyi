from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
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
COMMAND_KIND_UNSPECIFIED: CommandKind
KILL: CommandKind
REDUCE: CommandKind
FLATTEN: CommandKind
RESUME: CommandKind
PAUSE_STRATEGY: CommandKind
RESUME_STRATEGY: CommandKind
CANCEL_ORDER: CommandKind

class SnapshotRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WatchRequest(_message.Message):
    __slots__ = ("min_interval",)
    MIN_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    min_interval: float
    def __init__(self, min_interval: _Optional[float] = ...) -> None: ...

class EngineSnapshot(_message.Message):
    __slots__ = ("version", "trading_state", "running", "pid", "status_json")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TRADING_STATE_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    STATUS_JSON_FIELD_NUMBER: _ClassVar[int]
    version: int
    trading_state: str
    running: bool
    pid: int
    status_json: bytes
    def __init__(self, version: _Optional[int] = ..., trading_state: _Optional[str] = ..., running: _Optional[bool] = ..., pid: _Optional[int] = ..., status_json: _Optional[bytes] = ...) -> None: ...

class CommandRequest(_message.Message):
    __slots__ = ("kind", "reason", "target")
    KIND_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    kind: CommandKind
    reason: str
    target: str
    def __init__(self, kind: _Optional[_Union[CommandKind, str]] = ..., reason: _Optional[str] = ..., target: _Optional[str] = ...) -> None: ...

class CommandReply(_message.Message):
    __slots__ = ("trading_state", "halt_reason", "strategy_state", "pid")
    TRADING_STATE_FIELD_NUMBER: _ClassVar[int]
    HALT_REASON_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_STATE_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    trading_state: str
    halt_reason: str
    strategy_state: str
    pid: int
    def __init__(self, trading_state: _Optional[str] = ..., halt_reason: _Optional[str] = ..., strategy_state: _Optional[str] = ..., pid: _Optional[int] = ...) -> None: ...
