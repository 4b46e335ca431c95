"""The one recording path: a request becomes a :class:`Call`; its end, an :class:`Ending` for the writers.

``call`` (lifecycle) -> ``metrics`` (Prometheus), ``spans`` (the CLIENT span), ``otel_metrics``
(OTel instruments); ``hold`` keeps structured-output attempts until their verdict; ``telemetry`` is
what ``instrument()`` resolved and how the instrumentation's own failures are counted.
"""

from .call import Call, Ending, Request, begin, current_call
from .hold import Hold
from .telemetry import Telemetry, active, install, internal_error, log_once

__all__ = [
    "Call",
    "Ending",
    "Hold",
    "Request",
    "Telemetry",
    "active",
    "begin",
    "current_call",
    "install",
    "internal_error",
    "log_once",
]
