"""The OTel metrics writer: ``gen_ai.client.*`` histograms plus the contract's families over OTLP.

The GenAI conventions define ``gen_ai.client.token.usage`` and ``gen_ai.client.operation.duration``.
A user on the OpenTelemetry Collector path (no Prometheus scrape; short-lived jobs pushing OTLP) also
gets the contract's counters under the same names: the Collector's Prometheus exporter turns
``llm_telemetry.input_tokens`` (unit ``{token}``, a counter) into ``llm_telemetry_input_tokens_total``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opentelemetry import metrics
from opentelemetry.metrics import Meter

from ..contract import BILLED_TOKEN_FAMILIES, TOKEN_FAMILIES, GenAI
from .labels import BASE_LABELS, OTHER, model_label
from .telemetry import nothing

if TYPE_CHECKING:
    from .call import Call, Ending, Request

__all__ = ["OTelMetricsWriter"]

_TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]
_DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]


try:  # the API's placeholder until an application sets a MeterProvider
    from opentelemetry.metrics._internal import _PROXY_METER_PROVIDER as _PLACEHOLDER
except ImportError:  # pragma: no cover - another opentelemetry-api layout: always record
    _PLACEHOLDER = None  # type: ignore[assignment]


_UNKNOWN = object()


def _otel_name(family: str) -> str:
    """``llm_telemetry_input_tokens_total`` -> ``llm_telemetry.input_tokens`` (exporters add ``_total``)."""
    return "llm_telemetry." + family.removeprefix("llm_telemetry_").removesuffix("_total")


class OTelMetricsWriter:
    """Records each finished call on the OTel instruments of one meter."""

    stage = "otel_metrics"

    def __init__(self, meter: Meter, attribute_names: tuple[str, ...], global_provider: bool) -> None:
        #: The meter comes from the global provider, which may still be the API's placeholder: then
        #: recording would only build attribute dicts for instruments that drop them.
        self.global_provider = global_provider
        #: The base label names (declared attribution names included), in the order of ``Call.key``.
        self.names = (*BASE_LABELS, *attribute_names)
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
        self.requests = meter.create_counter(
            "llm_telemetry.requests", unit="{request}", description="Finished LLM requests."
        )
        self.errors = meter.create_counter(
            "llm_telemetry.errors", unit="{request}", description="Failed LLM requests by error type."
        )
        self.retries = meter.create_counter(
            "llm_telemetry.retries", unit="{attempt}", description="Retried attempts by error type."
        )
        self.tokens = {
            field: meter.create_counter(_otel_name(name), unit="{token}", description=f"{field} tokens.")
            for field, name in {**TOKEN_FAMILIES, **BILLED_TOKEN_FAMILIES}.items()
        }
        self.server_tool_calls = meter.create_counter(
            "llm_telemetry.server_tool_calls", unit="{call}", description="Server-side tool calls."
        )
        self.cost = meter.create_counter(
            "llm_telemetry.cost_usd", unit="USD", description="Estimated spend; components do not overlap."
        )
        self.duration = meter.create_histogram(
            "llm_telemetry.request_duration",
            unit="s",
            description="Whole request duration: retries, backoff and the full stream included.",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )

    def waiting(self) -> bool:
        """No MeterProvider set yet (the API allows one, once): recording would build dicts for nothing.

        Called while ``global_provider``. The placeholder learns of the real provider when it is set (its
        ``_real_meter_provider``): one attribute read, where ``get_meter_provider()`` looks the provider's
        variable up in ``os.environ`` (a raised and caught ``KeyError``) on every call.
        """
        real = getattr(_PLACEHOLDER, "_real_meter_provider", _UNKNOWN)
        if real is None:
            return True
        if real is _UNKNOWN and _PLACEHOLDER is not None and metrics.get_meter_provider() is _PLACEHOLDER:
            return True  # another opentelemetry-api layout: the API said
        self.global_provider = False
        return False

    @nothing
    def begin(self, call: Call, request: Request) -> None:
        """Nothing to record until the call ends."""

    def retry(self, call: Call, error_type: str) -> None:
        if self.global_provider and self.waiting():
            return
        self.retries.add(1, {**self._base(call), "error_type": error_type})

    @nothing
    def discard(self, call: Call) -> None:
        """Nothing was recorded at begin."""

    def end(self, call: Call, e: Ending) -> None:
        if self.global_provider and self.waiting():
            return
        base = self._base(call)
        duration = e.time - call.start
        self.requests.add(1, {**base, "stream": call.stream, "outcome": e.outcome})
        self.duration.record(duration, {**base, "stream": call.stream})
        semconv: dict[str, Any] = {
            GenAI.OPERATION_NAME: call.operation,
            GenAI.PROVIDER_NAME: call.provider,
            GenAI.REQUEST_MODEL: base["request_model"],
        }
        # A folded request model folds its response model too: the label set stays bounded.
        response_model = (
            OTHER if base["request_model"] == OTHER else model_label(e.response_model or call.request_model)
        )
        if e.response_model:
            semconv[GenAI.RESPONSE_MODEL] = response_model
        usage = e.usage
        if usage is not None:
            model = {**base, "response_model": response_model}
            billed = usage.billed
            for field, counter in self.tokens.items():
                value = getattr(usage, field) if field in TOKEN_FAMILIES else getattr(billed, field, None)
                if value:
                    counter.add(value, model)
            if billed is not None:
                for tool, calls in billed.tool_calls():
                    self.server_tool_calls.add(calls, {**base, "tool": tool})
            if usage.input is not None:
                self.token_usage.record(usage.input, {**semconv, GenAI.TOKEN_TYPE: "input"})
            if usage.output is not None:
                self.token_usage.record(usage.output, {**semconv, GenAI.TOKEN_TYPE: "output"})
            if e.cost is not None:
                for component, amount in e.cost.components():
                    if amount > 0:
                        self.cost.add(amount, {**model, "component": component})
        if e.error_type is not None:
            semconv[GenAI.ERROR_TYPE] = e.error_type
            self.errors.add(1, {**base, "error_type": e.error_type})
        self.operation_duration.record(duration, semconv)

    def _base(self, call: Call) -> dict[str, Any]:
        """The contract's base labels as OTel attributes: the admitted (or folded) values, so the
        OTel SDK's own cardinality limit is never what decides."""
        return dict(zip(self.names, call.key, strict=True))
