"""``opentelemetry-instrument python app.py`` support: a ``BaseInstrumentor`` found by entry point.

The auto-instrumentation agent calls ``instrument()`` with the tracer and meter providers it
configured; ours come from ``LLM_TELEMETRY_*`` environment variables as usual.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from opentelemetry.instrumentation.dependencies import DependencyConflict, get_dependency_conflicts
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from .instrumentation import instrument, uninstrument

__all__ = ["LLMTelemetryInstrumentor"]

#: The SDKs we hook, any one of which makes this instrumentation useful (none is required).
_INSTRUMENTS = ("openai >= 2.0", "anthropic >= 0.60", "litellm >= 1.80", "instructor >= 1.10")


class LLMTelemetryInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instruments every importable supported LLM SDK."""

    def instrumentation_dependencies(self) -> Collection[str]:
        """The SDKs we instrument and the versions we support; any one of them is enough."""
        return _INSTRUMENTS

    def _check_dependency_conflicts(self) -> DependencyConflict | None:
        """A conflict only when no supported SDK is installed: the agent's check wants all of them."""
        conflicts = [get_dependency_conflicts([sdk]) for sdk in self.instrumentation_dependencies()]
        return None if any(c is None for c in conflicts) else conflicts[0]

    def _instrument(self, **kwargs: Any) -> None:
        instrument(tracer_provider=kwargs.get("tracer_provider"), meter_provider=kwargs.get("meter_provider"))

    def _uninstrument(self, **kwargs: Any) -> None:
        uninstrument()
