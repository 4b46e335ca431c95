"""The one recording path: a request becomes a :class:`Call`; its end becomes span attributes and metrics.

Integrations only translate an SDK call into ``begin()`` and one of :meth:`Call.succeed`,
:meth:`Call.fail`, :meth:`Call.cancel`; every family, attribute and OTel metric is written here.
Nothing in this module ever raises into the caller: failures are counted in
``llm_telemetry_internal_errors_total{stage}`` and logged once per stage.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Callable, Sequence
from contextvars import ContextVar, Token
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from .attribution import current_attributes
from .errors import classify
from .metrics import Metrics, RequestSeries, label_value, normalize_model
from .tracing import ATTRIBUTION_PREFIX, COST_ATTRIBUTE, OLD_CACHE_WRITE, USAGE_ATTRIBUTES, Tracing
from .usage import Usage

if TYPE_CHECKING:
    from .config import Settings
    from .pricing import Cost, Pricer

__all__ = ["Call", "Hold", "Telemetry", "begin", "current_call", "internal_error"]

log = logging.getLogger("llm_telemetry")
P = ParamSpec("P")
T = TypeVar("T")

#: The call owning the current SDK invocation; an instrumented layer below it records nothing.
_current: ContextVar[Call | None] = ContextVar("llm_telemetry_call", default=None)
#: The structured-output attempt in progress, whose successful ends wait for a validation verdict.
_hold: ContextVar[Hold | None] = ContextVar("llm_telemetry_hold", default=None)

#: How a call ended: outcome, end time, usage, response model, response id, finish reasons,
#: exception, error type, missing-usage reason (the arguments of ``Call._record``).
_End = tuple[
    str,
    float,
    Usage | None,
    str | None,
    str | None,
    Sequence[str],
    BaseException | None,
    str | None,
    str | None,
]

_FINISH_MAP = {
    "stop": "stop",
    "end_turn": "stop",
    "stop_sequence": "stop",
    "completed": "stop",
    "eos": "stop",
    "length": "length",
    "max_tokens": "length",
    "max_output_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "tool_use": "tool_calls",
    "content_filter": "content_filter",
    "refusal": "refusal",
}
_CANCELLED = ("CancelledError", "KeyboardInterrupt", "GeneratorExit", "SystemExit")


def finish_reason_label(reason: str) -> str:
    """The contract's closed finish-reason set for a provider's raw value."""
    return _FINISH_MAP.get(reason, "other")


@dataclass(slots=True)
class Telemetry:
    """Everything ``instrument()`` resolved; read on every call, replaced atomically on re-configure."""

    settings: Settings
    metrics: Metrics | None
    tracing: Tracing
    pricer: Pricer | None
    attribute_names: tuple[str, ...]


_telemetry: Telemetry | None = None
_logged: set[str] = set()


def install(telemetry: Telemetry | None) -> None:
    """Make ``telemetry`` the active configuration (None: record nothing)."""
    global _telemetry
    _telemetry = telemetry


def active() -> Telemetry | None:
    """The active configuration, or None when not instrumented."""
    return _telemetry


def log_once(kind: str, message: str, *args: object) -> None:
    """Log a warning the first time ``kind`` happens in this process."""
    if kind not in _logged:
        _logged.add(kind)
        log.warning(message, *args)


def internal_error(stage: str, exc: BaseException) -> None:
    """Count and (once per stage) log a failure of the instrumentation itself. Never raises."""
    try:
        tel = _telemetry
        if tel is not None and tel.metrics is not None:
            tel.metrics.families.internal_errors.labels(stage).inc()
        if stage not in _logged:
            _logged.add(stage)
            log.warning(
                "llm_telemetry: internal error at stage %r (%s); the LLM call was not affected",
                stage,
                type(exc).__name__,
                exc_info=exc,
            )
    except Exception:
        pass


def guarded(stage: str, fallback: Any) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Make an integration's set-up step return ``fallback`` instead of raising into the LLM call.

    For the steps before :func:`begin` (reading arguments, resolving the provider): on failure the
    call simply goes through unrecorded, and the failure is counted under ``stage``.
    """

    def decorate(func: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(func)
        def safe(*args: P.args, **kwargs: P.kwargs) -> T:
            try:
                return func(*args, **kwargs)
            except Exception as exc:
                internal_error(stage, exc)
                return cast(T, fallback)

        return safe

    return decorate


def current_call() -> Call | None:
    """The call in progress in this context, if an instrumented layer owns one."""
    return _current.get()


def begin(
    provider: str,
    operation: str,
    request_model: Any,
    *,
    stream: bool = False,
    server_address: str | None = None,
    server_port: int | None = None,
    attributes: dict[str, Any] | None = None,
) -> Call | None:
    """Start recording one request, or None when not instrumented or an outer layer owns the call."""
    tel = _telemetry
    if tel is None or _current.get() is not None:
        return None
    try:
        return Call(tel, provider, operation, request_model, stream, server_address, server_port, attributes)
    except Exception as exc:
        internal_error("begin", exc)
        return None


class Call:
    """One request from start to its single, idempotent end."""

    __slots__ = (
        "_context_token",
        "_current_token",
        "attrs",
        "done",
        "first_output",
        "key",
        "last_output",
        "operation",
        "provider",
        "request_model",
        "retries",
        "series",
        "span",
        "start",
        "stream",
        "tel",
    )

    def __init__(
        self,
        tel: Telemetry,
        provider: str,
        operation: str,
        request_model: Any,
        stream: bool,
        server_address: str | None,
        server_port: int | None,
        extra: dict[str, Any] | None,
    ) -> None:
        self.start = time.perf_counter()
        self.tel = tel
        self.provider = provider
        self.operation = operation
        self.request_model = request_model if isinstance(request_model, str) else str(request_model or "")
        self.stream = stream
        self.done = False
        self.retries = 0
        self.first_output: float | None = None
        self.last_output: float | None = None
        self._current_token: Token[Call | None] | None = None
        self._context_token: object | None = None
        self.attrs = current_attributes()
        self.series: RequestSeries | None = None
        self.key: tuple[str, ...] = ()
        metrics = tel.metrics
        if metrics is not None:
            raw: tuple[str, ...] = (provider, normalize_model(self.request_model), operation)
            if tel.attribute_names:  # no generator to build when no attribution label is declared
                attrs = self.attrs
                raw += tuple(label_value(attrs.get(n, "")) for n in tel.attribute_names)
            self.key = metrics.admit(raw)
            self.series = metrics.series(self.key, stream)
            self.series.in_flight.inc()
        self.span: trace.Span | None = None
        if tel.tracing.tracer is not None:
            span_attrs: dict[str, Any] = {
                "gen_ai.operation.name": operation,
                "gen_ai.provider.name": provider,
                "gen_ai.request.model": self.request_model,
                "gen_ai.request.stream": stream,
            }
            if tel.tracing.legacy_system:
                span_attrs["gen_ai.system"] = provider
            if server_address:
                span_attrs["server.address"] = server_address
                if server_port:
                    span_attrs["server.port"] = server_port
            if extra:
                span_attrs.update(extra)
            for name, value in self.attrs.items():
                span_attrs[ATTRIBUTION_PREFIX + name] = value
            try:  # a broken span processor must not cost the request its metrics (or leak in-flight)
                self.span = tel.tracing.start_span(f"{operation} {self.request_model}", span_attrs)
            except Exception as exc:
                internal_error("begin", exc)

    # -- the extent of the SDK invocation ---------------------------------------------------------

    def __enter__(self) -> Call:
        """Own the invocation: inner instrumented layers stay silent; the span is current."""
        self._current_token = _current.set(self)
        if self.span is not None:
            self._context_token = otel_context.attach(trace.set_span_in_context(self.span))
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._context_token is not None:
            try:  # noqa: SIM105 - cheaper than contextlib.suppress on every call
                otel_context.detach(self._context_token)  # type: ignore[arg-type]
            except Exception:
                pass
            self._context_token = None
        if self._current_token is not None:
            _current.reset(self._current_token)
            self._current_token = None
        if exc is not None and not self.done:
            if type(exc).__name__ in _CANCELLED:
                self.cancel()
            else:
                self.fail(exc)

    # -- events during the call -------------------------------------------------------------------

    def retry(self, error_type: str) -> None:
        """An SDK-level or validation retry: counted by reason and added as a span event."""
        try:
            self.retries += 1
            metrics = self.tel.metrics
            if metrics is not None:
                metrics.families.retries.labels(*self.key, error_type).inc()
            if self.span is not None and self.span.is_recording():  # an ended attempt's span is closed
                self.span.add_event("retry", {"error.type": error_type, "retry.attempt": self.retries})
        except Exception as exc:
            internal_error("retry", exc)

    def output_seen(self) -> None:
        """A stream chunk carrying output arrived (first one gives time to first token)."""
        now = time.perf_counter()
        if self.first_output is None:
            self.first_output = now
        self.last_output = now

    @property
    def captures(self) -> bool:
        """True when the user opted into content capture and there is a span to carry it."""
        return self.span is not None and self.tel.settings.capture_content

    def capture(self, name: str, value: str) -> None:
        """Put prompt or completion text on the span (callers check :attr:`captures` first)."""
        try:
            if self.span is not None and not self.done:
                self.span.set_attribute(name, value)
        except Exception as exc:
            internal_error("content", exc)

    # -- the single end ---------------------------------------------------------------------------

    def succeed(
        self,
        usage: Usage | None,
        response_model: str | None = None,
        response_id: str | None = None,
        finish_reasons: Sequence[str] = (),
        missing_reason: str = "not_reported",
    ) -> None:
        """The request completed and the provider's response (or stream) was fully received."""
        self._end("success", usage, response_model, response_id, finish_reasons, None, None, missing_reason)

    def fail(
        self,
        exc: BaseException | None,
        error_type: str | None = None,
        usage: Usage | None = None,
        response_model: str | None = None,
        response_id: str | None = None,
        finish_reasons: Sequence[str] = (),
        missing_reason: str | None = None,
    ) -> None:
        """The request failed; billed usage seen before the failure is still counted."""
        if error_type is None:
            error_type = classify(exc) if exc is not None else "other"
        self._end(
            "error", usage, response_model, response_id, finish_reasons, exc, error_type, missing_reason
        )

    def cancel(
        self,
        usage: Usage | None = None,
        response_model: str | None = None,
        response_id: str | None = None,
        finish_reasons: Sequence[str] = (),
        missing_reason: str | None = None,
    ) -> None:
        """The caller stopped the request (closed or abandoned a stream, cancelled a task)."""
        self._end("cancelled", usage, response_model, response_id, finish_reasons, None, None, missing_reason)

    def _end(
        self,
        outcome: str,
        usage: Usage | None,
        response_model: str | None,
        response_id: str | None,
        finish_reasons: Sequence[str],
        exc: BaseException | None,
        error_type: str | None,
        missing_reason: str | None,
    ) -> None:
        if self.done:
            return
        self.done = True
        now = time.perf_counter()
        end: _End = (
            outcome,
            now,
            usage,
            response_model,
            response_id,
            finish_reasons,
            exc,
            error_type,
            missing_reason,
        )
        hold = _hold.get()
        if hold is not None and hold.keep(self, end):
            return
        self._commit(end)

    def _commit(self, end: _End) -> None:
        try:
            self._record(*end)
        except Exception as err:
            internal_error("record", err)
            if self.span is not None:
                with contextlib.suppress(Exception):
                    self.span.end()

    def price(self, usage: Usage | None, response_model: str | None) -> tuple[Cost | None, bool]:
        """Cost of ``usage`` (None: no known price) and whether pricing itself failed (an internal error)."""
        pricer = self.tel.pricer
        if pricer is None or usage is None:
            return None, False
        model = response_model or self.request_model
        try:
            cost = pricer.price(self.provider, model, usage)
            if cost is None and model != self.request_model:
                # A dated snapshot the price data does not list yet: price it as requested.
                cost = pricer.price(self.provider, self.request_model, usage)
        except Exception as err:
            internal_error("price", err)
            return None, True  # counted as an internal error, not as a model without a price
        return cost, False

    def _record(
        self,
        outcome: str,
        end: float,
        usage: Usage | None,
        response_model: str | None,
        response_id: str | None,
        finish_reasons: Sequence[str],
        exc: BaseException | None,
        error_type: str | None,
        missing_reason: str | None,
    ) -> None:
        duration = end - self.start
        tel = self.tel
        model = response_model or self.request_model
        reported = usage is not None and usage.reported
        cost, price_failed = self.price(usage, response_model) if reported else (None, False)
        ttft = None if self.first_output is None else self.first_output - self.start

        metrics = tel.metrics
        series = self.series
        if metrics is not None and series is not None:
            fam = metrics.families
            series.in_flight.dec()
            getattr(series, outcome).inc()  # the success / error / cancelled child
            series.duration.observe(duration)
            if error_type is not None:
                fam.errors.labels(*self.key, error_type).inc()
            if reported and usage is not None:
                tokens = metrics.tokens(self.key, normalize_model(model))
                if usage.input:
                    tokens.input.inc(usage.input)
                if usage.output:
                    tokens.output.inc(usage.output)
                if usage.cache_read:
                    tokens.cache_read.inc(usage.cache_read)
                if usage.cache_write:
                    tokens.cache_write.inc(usage.cache_write)
                if usage.reasoning:
                    tokens.reasoning.inc(usage.reasoning)
                if cost is not None:
                    for component, amount in cost.components():
                        if amount > 0:
                            tokens.cost[component].inc(amount)
                elif tel.pricer is not None and not price_failed:
                    fam.unpriced.labels(*self.key).inc()
                    log_once(
                        "unpriced:" + model,
                        "llm_telemetry: no price known for model %r (provider %r); cost not recorded. "
                        "Add it with instrument(price_overrides=...)",
                        model,
                        self.provider,
                    )
            else:
                reason = missing_reason
                if reason is None and outcome == "success":
                    reason = "not_reported"
                if reason is not None:
                    fam.usage_missing.labels(*self.key, reason).inc()
            for raw in finish_reasons:
                metrics.finish_reason(series, finish_reason_label(raw)).inc()
            first, last = self.first_output, self.last_output
            if ttft is not None:
                series.ttft.observe(ttft)
            if outcome == "success" and first is not None and last is not None and last > first:
                produced = usage.output if usage is not None else None
                if produced is not None and produced >= 2:
                    series.tpot.observe((last - first) / (produced - 1))

        span = self.span
        if span is not None:
            if span.is_recording():
                attrs: dict[str, Any] = {}
                if response_model:
                    attrs["gen_ai.response.model"] = response_model
                if response_id:
                    attrs["gen_ai.response.id"] = response_id
                if finish_reasons:
                    attrs["gen_ai.response.finish_reasons"] = tuple(finish_reasons)
                if usage is not None:
                    for field, name in USAGE_ATTRIBUTES.items():
                        value = getattr(usage, field)
                        if value is not None:
                            attrs[name] = value
                    if usage.cache_write is not None:
                        attrs[OLD_CACHE_WRITE] = usage.cache_write
                    if usage.cache_write_5m is not None:
                        attrs["llm_telemetry.usage.cache_write_5m.input_tokens"] = usage.cache_write_5m
                    if usage.cache_write_1h is not None:
                        attrs["llm_telemetry.usage.cache_write_1h.input_tokens"] = usage.cache_write_1h
                if ttft is not None:
                    attrs["gen_ai.response.time_to_first_chunk"] = ttft
                if cost is not None:
                    attrs[COST_ATTRIBUTE] = cost.total
                if self.retries:
                    attrs["llm_telemetry.retries"] = self.retries
                if outcome == "cancelled":
                    attrs["llm_telemetry.outcome"] = "cancelled"
                if error_type is not None:
                    attrs["error.type"] = error_type
                    span.set_status(Status(StatusCode.ERROR, error_type))
                span.set_attributes(attrs)
            span.end()

        tr = tel.tracing
        if tr.operation_duration is not None:
            base = {
                "gen_ai.operation.name": self.operation,
                "gen_ai.provider.name": self.provider,
                "gen_ai.request.model": self.request_model,
            }
            if response_model:
                base["gen_ai.response.model"] = response_model
            if reported and usage is not None:
                if usage.input is not None:
                    tr.token_usage.record(usage.input, {**base, "gen_ai.token.type": "input"})
                if usage.output is not None:
                    tr.token_usage.record(usage.output, {**base, "gen_ai.token.type": "output"})
            if error_type is not None:
                base["error.type"] = error_type
            tr.operation_duration.record(duration, base)


class Hold:
    """The calls ending inside one structured-output attempt (instructor); their successes wait.

    Why: a response that then fails validation is an error (``validation``, tokens kept), but the SDK
    call ends before instructor validates it. Ends are kept by value, so instructor rewriting the
    response's ``usage`` with a running total afterwards changes nothing. Use as a context manager
    around the attempt's SDK call, then :meth:`release` with the verdict.
    """

    __slots__ = ("_token", "cost", "kept", "last", "usage")

    def __init__(self) -> None:
        self.kept: list[tuple[Call, _End]] = []
        #: The last call that ended in the attempt, whatever its outcome (labels for a retry).
        self.last: Call | None = None
        #: Reported usage of every call that ended in the attempt, and its cost in USD (None: unpriced).
        self.usage: Usage | None = None
        self.cost: float | None = None
        self._token: Token[Hold | None] | None = None

    def __enter__(self) -> Hold:
        self._token = _hold.set(self)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._token is not None:
            _hold.reset(self._token)
            self._token = None

    def keep(self, call: Call, end: _End) -> bool:
        """Take note of an ending call; True when its record waits for :meth:`release`."""
        self.last = call
        usage = end[2]
        if usage is not None and usage.reported:
            self.usage = usage if self.usage is None else self.usage + usage
            cost, _ = call.price(usage, end[3])
            if cost is not None:
                self.cost = cost.total if self.cost is None else self.cost + cost.total
        if end[0] != "success":
            return False
        self.kept.append((call, end))
        return True

    def retried(self, error_type: str) -> None:
        """The attempt is being retried: one retry, on the labels of the attempt's call."""
        if self.last is not None:
            self.last.retry(error_type)

    def release(self, outcome: str = "success", error_type: str | None = None) -> None:
        """Record the kept calls with the verdict (``error``/``cancelled`` keep their usage)."""
        kept, self.kept = self.kept, []
        for call, end in kept:
            if outcome != "success":
                end = (outcome, end[1], end[2], end[3], end[4], end[5], None, error_type, end[8])
            call._commit(end)
