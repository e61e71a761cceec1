"""What the terminal app prints when it crashes: the traceback, never a secret.

Textual's own crash report shows every frame's local variables; one of them can be a request's
metadata, a settings object or a message quoting the token. Here the report keeps the frames and
the source lines but no locals, and every exception text (messages, notes, a syntax error's line)
goes through :func:`~engine.model.redact.redact` before it is drawn, so a token or a hidden account
id is masked as everywhere else avin writes.
"""

from __future__ import annotations

from types import TracebackType

import rich
from rich.traceback import Stack, Trace, Traceback

from engine.model.redact import redact


def redacted_trace(trace: Trace) -> Trace:
    """The trace with every text an exception carries redacted (in place; returned)."""
    for stack in trace.stacks:
        _redact_stack(stack)
    return trace


def _redact_stack(stack: Stack) -> None:
    stack.exc_value = redact(stack.exc_value)
    stack.notes = [redact(note) for note in stack.notes]
    if stack.syntax_error is not None:
        stack.syntax_error.line = redact(stack.syntax_error.line)
        stack.syntax_error.msg = redact(stack.syntax_error.msg)
    for group_member in stack.exceptions:  # an ExceptionGroup's members
        redacted_trace(group_member)


def crash_traceback(
    error: tuple[type[BaseException], BaseException, TracebackType | None],
) -> Traceback:
    """A rich traceback of ``error`` without local variables and with secrets masked."""
    exc_type, exc_value, tb = error
    trace = Traceback.extract(exc_type, exc_value, tb, show_locals=False)
    return Traceback(redacted_trace(trace), width=None, suppress=[rich])


def crash_text(
    error: tuple[type[BaseException] | None, BaseException | None, TracebackType | None],
) -> str:
    """The plain traceback of ``error`` (as ``traceback.format_exception``), secrets masked."""
    import traceback

    return redact("".join(traceback.format_exception(*error)))
