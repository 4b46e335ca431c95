"""``opentelemetry-instrument python app.py`` support: a ``BaseInstrumentor`` found by entry point.

The auto-instrumentation agent calls ``instrument()`` with its own keyword arguments (tracer and
meter providers); ours come from ``LLM_TELEMETRY_*`` environment variables as usual.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from .instrumentation import instrument, uninstrument

__all__ = ["LLMTelemetryInstrumentor"]

#: Keyword arguments the OTel agent passes that are not llm-telemetry options.
_AGENT_OPTIONS = (
    "tracer_provider",
    "meter_provider",
    "logger_provider",
    "event_logger_provider",
    "schema_url",
)


class LLMTelemetryInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instruments every importable supported LLM SDK (none is a hard dependency)."""

    def instrumentation_dependencies(self) -> Collection[str]:
        return ()

    def _instrument(self, **kwargs: Any) -> None:
        instrument(**{k: v for k, v in kwargs.items() if k not in _AGENT_OPTIONS})

    def _uninstrument(self, **kwargs: Any) -> None:
        uninstrument()
