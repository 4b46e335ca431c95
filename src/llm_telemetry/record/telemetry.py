"""What ``instrument()`` resolved (the writers, the pricer), and the instrumentation's own failures.

The writers for disabled exporters are left out once, at ``instrument()``, the way prometheus_client
picks its value class once: recording a call loops over the enabled writers and never branches on
configuration. A failure inside the instrumentation is counted in
``llm_telemetry_internal_errors_total{stage}``, logged once per stage, and never raised.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

    from ..config import Settings
    from ..pricing import Pricer
    from .call import Call, Ending, Request
    from .labels import Admission
    from .metrics import PrometheusWriter

__all__ = ["Telemetry", "Writer", "active", "install", "internal_error", "log_once", "nothing"]

log = logging.getLogger("llm_telemetry")
#: One event's writer methods with the stage their failures count under.
Handlers = tuple[tuple[Callable[..., Any], str], ...]


F = TypeVar("F", bound=Callable[..., Any])


def nothing(method: F) -> F:
    """Marks a writer's event it has nothing to do for: it is left out of that event's handlers."""
    method.__llm_telemetry_nothing__ = True  # type: ignore[attr-defined]
    return method


class Writer(Protocol):
    """One exporter's view of a call: what to do at its begin, at each retry, and at its end."""

    #: The ``internal_errors_total{stage}`` a failure of this writer is counted under.
    stage: str

    def begin(self, call: Call, request: Request) -> None: ...

    def retry(self, call: Call, error_type: str) -> None: ...

    def end(self, call: Call, e: Ending) -> None: ...

    def discard(self, call: Call) -> None: ...


@dataclass(frozen=True, slots=True)
class Telemetry:
    """Everything ``instrument()`` resolved; read on every call, replaced atomically on re-configure."""

    settings: Settings
    #: The enabled writers, in the order they see a call.
    writers: tuple[Writer, ...]
    #: The Prometheus writer, when metrics are on (internal errors are counted there).
    metrics: PrometheusWriter | None
    pricer: Pricer
    #: The cardinality guard shared by every family.
    admission: Admission
    #: The tracer of the span writer, when spans are on (for layers' own INTERNAL spans).
    tracer: Tracer | None
    #: ``settings.capture_content``, read on every call: a plain attribute.
    capture_content: bool = field(init=False)
    #: Each event's handlers, bound once: ``(writer.begin, writer.stage), ...`` and so on.
    begins: Handlers = field(init=False)
    retries: Handlers = field(init=False)
    ends: Handlers = field(init=False)
    discards: Handlers = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "capture_content", self.settings.capture_content)
        events = (("begin", "begins"), ("retry", "retries"), ("end", "ends"), ("discard", "discards"))
        for event, slot in events:
            methods = ((getattr(w, event), w.stage) for w in self.writers)
            handlers = tuple(
                (m, stage) for m, stage in methods if not hasattr(m, "__llm_telemetry_nothing__")
            )
            object.__setattr__(self, slot, handlers)


_telemetry: Telemetry | None = None
#: Kinds already logged. Bounded: past the limit, further kinds are not logged (nor kept).
_logged: set[str] = set()
_LOGGED_LIMIT = 256
_log_lock = threading.Lock()
#: Stages already logged (a closed set, so kept apart from the kinds above, which may be many).
_stages_logged: set[str] = set()


def install(telemetry: Telemetry | None) -> None:
    """Make ``telemetry`` the active configuration (None: record nothing)."""
    global _telemetry
    _telemetry = telemetry


def active() -> Telemetry | None:
    """The active configuration, or None when not instrumented."""
    return _telemetry


def log_once(kind: str, message: str, *args: object, exc: BaseException | None = None) -> None:
    """Log a warning the first time ``kind`` happens in this process (memory stays bounded)."""
    if kind in _logged:
        return
    with _log_lock:
        if kind in _logged or len(_logged) > _LOGGED_LIMIT:
            return
        _logged.add(kind)
        if len(_logged) > _LOGGED_LIMIT:
            message, args = (
                "llm_telemetry: more than %d distinct warnings; no more are logged",
                (_LOGGED_LIMIT,),
            )
    log.warning(message, *args, exc_info=exc)


def internal_error(stage: str, exc: BaseException) -> None:
    """Count and (once per stage) log a failure of the instrumentation itself. Never raises."""
    try:
        tel = _telemetry
        if tel is not None and tel.metrics is not None:
            tel.metrics.internal_error(stage)
        if stage not in _stages_logged:
            _stages_logged.add(stage)
            log.warning(
                "llm_telemetry: internal error at stage %r (%s); the LLM call was not affected",
                stage,
                type(exc).__name__,
                exc_info=exc,
            )
    except Exception:
        pass
