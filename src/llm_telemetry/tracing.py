"""OpenTelemetry side: the tracer, span attribute names, and the ``gen_ai.client.*`` OTel metrics.

Spans follow the OpenTelemetry GenAI semantic conventions. Everything goes through the global
providers of ``opentelemetry-api``: with no SDK installed they are no-ops and cost next to nothing.
"""

from __future__ import annotations

import os
from typing import Any

from opentelemetry import metrics, trace

from ._version import __version__

__all__ = ["Tracing"]

#: Token counts a trace backend sums across spans: only ever on the one CLIENT span per response.
USAGE_ATTRIBUTES = {
    "input": "gen_ai.usage.input_tokens",
    "output": "gen_ai.usage.output_tokens",
    "cache_read": "gen_ai.usage.cache_read.input_tokens",
    "cache_write": "gen_ai.usage.cache_write.input_tokens",
    "reasoning": "gen_ai.usage.reasoning.output_tokens",
}
#: Deprecated name of the cache-write attribute, kept while backends migrate.
OLD_CACHE_WRITE = "gen_ai.usage.cache_creation.input_tokens"
COST_ATTRIBUTE = "llm.cost.usd"
ATTRIBUTION_PREFIX = "llm_telemetry.attr."

_TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]
_DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]


class Tracing:
    """Tracer and OTel metric instruments, resolved once at ``instrument()``."""

    def __init__(self, *, spans: bool, otel_metrics: bool) -> None:
        self.tracer: trace.Tracer | None = trace.get_tracer("llm_telemetry", __version__) if spans else None
        opt_in = os.environ.get("OTEL_SEMCONV_STABILITY_OPT_IN", "")
        #: Before the GenAI conventions settled, ``gen_ai.system`` named the provider; emit it too
        #: unless the user opted into the latest conventions only.
        self.legacy_system = "gen_ai_latest_experimental" not in opt_in
        self.token_usage: Any = None
        self.operation_duration: Any = None
        if otel_metrics:
            meter = metrics.get_meter("llm_telemetry", __version__)
            self.token_usage = meter.create_histogram(
                "gen_ai.client.token.usage",
                unit="{token}",
                description="Number of input and output tokens used.",
                explicit_bucket_boundaries_advisory=_TOKEN_BUCKETS,
            )
            self.operation_duration = meter.create_histogram(
                "gen_ai.client.operation.duration",
                unit="s",
                description="GenAI operation duration.",
                explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
            )

    def start_span(self, name: str, attributes: dict[str, Any]) -> trace.Span | None:
        """A CLIENT span started now (not made current: callers attach it for the call's extent)."""
        if self.tracer is None:
            return None
        return self.tracer.start_span(name, kind=trace.SpanKind.CLIENT, attributes=attributes)
