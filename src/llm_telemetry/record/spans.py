"""The span writer: owns every span attribute name a call's CLIENT span carries.

Sampling-aware: a span starts with only what samplers may look at (operation, provider, request model,
server); everything else is built only when the span is recording, so an unsampled call pays for the
span's start and end and nothing more.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from ..contract import BILLED_TOKEN_FAMILIES, USAGE_ATTRIBUTES, GenAI, Ours
from ..contract import valid_text as text
from .telemetry import nothing

if TYPE_CHECKING:
    from ..usage import Billed
    from .call import Call, Ending, Request

__all__ = ["SpanWriter", "request_attributes"]


def request_attributes(params: Mapping[str, Any], table: Mapping[str, str]) -> dict[str, Any]:
    """The request parameters the conventions name (``table``: keyword -> attribute), plain numbers only."""
    attrs: dict[str, Any] = {}
    if table.keys().isdisjoint(params):  # the usual call sets none: one C-level check
        return attrs
    for key, name in table.items():
        value = params.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            attrs[name] = value
    return attrs


def _billed(attrs: dict[str, Any], billed: Billed) -> None:
    """The v1.1 units: ``llm_telemetry.usage.audio_input_tokens``, ``...server_tool_calls.web_search``."""
    for field in BILLED_TOKEN_FAMILIES:
        value = getattr(billed, field)
        if value:
            attrs[f"{Ours.USAGE_PREFIX}{field}_tokens"] = value
    for tool, calls in billed.tool_calls():
        attrs[f"{Ours.USAGE_PREFIX}server_tool_calls.{tool}"] = calls
    if billed.service_tier is not None:
        attrs[Ours.SERVICE_TIER] = billed.service_tier


class SpanWriter:
    """Starts a call's CLIENT span at begin; sets the response attributes and ends it at the end."""

    stage = "span"

    def __init__(self, tracer: trace.Tracer, legacy_system: bool, global_provider: bool) -> None:
        self.tracer = tracer
        #: Before the GenAI conventions settled, ``gen_ai.system`` named the provider.
        self.legacy_system = legacy_system
        #: The tracer comes from the global provider, which may still be the API's placeholder.
        self.global_provider = global_provider

    def begin(self, call: Call, request: Request) -> None:
        if self.global_provider:  # until the application sets its provider (once: the API allows one)
            if type(trace.get_tracer_provider()) is trace.ProxyTracerProvider:
                return  # no OpenTelemetry SDK configured (yet): a span would go nowhere
            self.global_provider = False
        attrs: dict[str, Any] = {
            GenAI.OPERATION_NAME: call.operation,
            GenAI.PROVIDER_NAME: call.provider,
            GenAI.REQUEST_MODEL: call.request_model,
        }
        if request.address:
            attrs[GenAI.SERVER_ADDRESS] = request.address
            if request.port:
                attrs[GenAI.SERVER_PORT] = request.port
        span = self.tracer.start_span(
            f"{call.operation} {call.request_model}", kind=SpanKind.CLIENT, attributes=attrs
        )
        call.span = span
        if not span.is_recording():
            return
        call.captures = call.tel.capture_content
        more: dict[str, Any] = {GenAI.REQUEST_STREAM: call.stream}
        if self.legacy_system:
            more[GenAI.SYSTEM] = call.provider
        if request.params is not None:
            more.update(request_attributes(request.params, request.table))
        for name, value in call.attrs.items():
            more[Ours.ATTRIBUTION_PREFIX + name] = value
        call.span_attrs = more

    def retry(self, call: Call, error_type: str) -> None:
        span = call.span
        if span is not None and span.is_recording():
            span.add_event("retry", {GenAI.ERROR_TYPE: error_type, "retry.attempt": call.retries})

    @nothing
    def discard(self, call: Call) -> None:
        """Nothing: a span that is never ended is never exported."""

    def end(self, call: Call, e: Ending) -> None:
        span = call.span
        if span is None:
            return
        attrs = call.span_attrs
        if attrs is not None:  # set at begin for recording spans only
            span.set_attributes(self._attributes(call, e, attrs))
            if e.error_type is not None:
                span.set_status(Status(StatusCode.ERROR, e.error_type))
        span.end()

    @staticmethod
    def _attributes(call: Call, e: Ending, attrs: dict[str, Any]) -> dict[str, Any]:
        model, rid, reasons = e.response_model, e.response_id, e.finish_reasons
        if model:
            attrs[GenAI.RESPONSE_MODEL] = model if model.isascii() else text(model)
        if rid:
            attrs[GenAI.RESPONSE_ID] = rid if rid.isascii() else text(rid)
        if reasons:
            attrs[GenAI.RESPONSE_FINISH_REASONS] = tuple(r if r.isascii() else text(r) for r in reasons)
        usage = e.usage
        if usage is not None:
            for field, name in USAGE_ATTRIBUTES.items():
                value = getattr(usage, field)
                if value is not None:
                    attrs[name] = value
            if usage.cache_write is not None:
                attrs[GenAI.USAGE_CACHE_CREATION_INPUT_TOKENS] = usage.cache_write
            if usage.cache_write_5m is not None:
                attrs[Ours.CACHE_WRITE_5M] = usage.cache_write_5m
            if usage.cache_write_1h is not None:
                attrs[Ours.CACHE_WRITE_1H] = usage.cache_write_1h
            if usage.billed is not None:
                _billed(attrs, usage.billed)
        if call.first_output is not None:
            attrs[GenAI.RESPONSE_TIME_TO_FIRST_CHUNK] = call.first_output - call.start
        if e.cost is not None:
            attrs[Ours.COST_USD] = attrs[Ours.OLD_COST_USD] = e.cost.total
            attrs[Ours.COST_SOURCE] = e.cost.source
        if call.retries:
            attrs[Ours.RETRIES] = call.retries
        if e.outcome == "cancelled":
            attrs[Ours.OUTCOME] = "cancelled"
        if e.error_type is not None:
            attrs[GenAI.ERROR_TYPE] = e.error_type
        return attrs
