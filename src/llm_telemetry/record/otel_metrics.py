"""The OTel metrics writer: ``gen_ai.client.*`` histograms plus the contract's families over OTLP.

The GenAI conventions define ``gen_ai.client.token.usage`` and ``gen_ai.client.operation.duration``.
A user on the OpenTelemetry Collector path (no Prometheus scrape; short-lived jobs pushing OTLP) also
gets the contract's counters under the same names: the Collector's Prometheus exporter turns
``llm_telemetry.input_tokens`` (unit ``{token}``, a counter) into ``llm_telemetry_input_tokens_total``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opentelemetry.metrics import Meter

from ..contract import TOKEN_FAMILIES, GenAI

if TYPE_CHECKING:
    from .call import Call, Ending, Request

__all__ = ["OTelMetricsWriter"]

_TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]
_DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]


def _otel_name(family: str) -> str:
    """``llm_telemetry_input_tokens_total`` -> ``llm_telemetry.input_tokens`` (exporters add ``_total``)."""
    return "llm_telemetry." + family.removeprefix("llm_telemetry_").removesuffix("_total")


class OTelMetricsWriter:
    """Records each finished call on the OTel instruments of one meter."""

    stage = "otel_metrics"

    def __init__(self, meter: Meter, attribute_names: tuple[str, ...]) -> None:
        #: Only the declared attribution names become metric attributes (bounded, as in Prometheus).
        self.attribute_names = attribute_names
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
            for field, name in TOKEN_FAMILIES.items()
        }
        self.cost = meter.create_counter(
            "llm_telemetry.cost_usd", unit="USD", description="Estimated spend; components do not overlap."
        )
        self.duration = meter.create_histogram(
            "llm_telemetry.request_duration",
            unit="s",
            description="Whole request duration: retries, backoff and the full stream included.",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )

    def begin(self, call: Call, request: Request) -> None:
        """Nothing to record until the call ends."""

    def retry(self, call: Call, error_type: str) -> None:
        self.retries.add(1, {**self._base(call), "error_type": error_type})

    def discard(self, call: Call) -> None:
        """Nothing was recorded at begin."""

    def end(self, call: Call, e: Ending) -> None:
        base = self._base(call)
        duration = e.time - call.start
        self.requests.add(1, {**base, "stream": call.stream, "outcome": e.outcome})
        self.duration.record(duration, {**base, "stream": call.stream})
        semconv: dict[str, Any] = {
            GenAI.OPERATION_NAME: call.operation,
            GenAI.PROVIDER_NAME: call.provider,
            GenAI.REQUEST_MODEL: call.request_model,
        }
        if e.response_model:
            semconv[GenAI.RESPONSE_MODEL] = e.response_model
        usage = e.usage
        if usage is not None:
            model = {**base, "response_model": e.response_model or call.request_model}
            for field, counter in self.tokens.items():
                value = getattr(usage, field)
                if value:
                    counter.add(value, model)
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
        """The contract's base labels, as OTel attributes (declared attribution names included)."""
        base: dict[str, Any] = {
            "provider": call.provider,
            "request_model": call.request_model,
            "operation": call.operation,
        }
        attrs = call.attrs
        for name in self.attribute_names:
            base[name] = attrs.get(name, "")
        return base
