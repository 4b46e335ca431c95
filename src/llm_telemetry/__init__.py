"""llm-telemetry: exact token, cost, latency and error telemetry for LLM SDK calls.

``llm_telemetry.instrument()`` once at start-up; every OpenAI, Anthropic, LiteLLM and instructor
call then yields Prometheus counters and one OpenTelemetry span.
"""

from ._version import __version__
from .attribution import attributes, current_attributes
from .config import ConfigError, Settings
from .exporters.server import asgi_app, mark_process_dead, wsgi_app
from .instrumentation import instrument, is_instrumented, metrics_server_port, uninstrument
from .streams import flush
from .usage import Usage

__all__ = [
    "ConfigError",
    "Settings",
    "Usage",
    "__version__",
    "asgi_app",
    "attributes",
    "current_attributes",
    "flush",
    "instrument",
    "is_instrumented",
    "mark_process_dead",
    "metrics_server_port",
    "uninstrument",
    "wsgi_app",
]
