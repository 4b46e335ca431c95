"""One request from :func:`begin` to its single end, handed to the writers as a frozen :class:`Ending`.

Integrations translate an SDK call into ``begin()``, events (retries, output seen) and one of
:meth:`Call.succeed`, :meth:`Call.fail`, :meth:`Call.cancel`; every later end is ignored. The end is
priced once, then each enabled writer records it; a writer's failure is counted under its stage and
never reaches the caller or the other writers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar, Token
from time import perf_counter
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any, NamedTuple

from opentelemetry import context as otel_context
from opentelemetry import trace

from ..attribution import current_attributes
from ..contract import is_cancellation
from ..errors import classify
from . import telemetry as _installed
from .hold import HOLD
from .telemetry import Handlers, Telemetry, internal_error, log_once

if TYPE_CHECKING:
    from ..pricing import Cost
    from ..usage import Usage
    from .metrics import _Series

__all__ = ["Call", "Ending", "Request", "begin", "current_call"]

#: The call owning the current SDK invocation; an instrumented layer below it records nothing.
_current: ContextVar[Call | None] = ContextVar("llm_telemetry_call", default=None)
_NO_TABLE: Mapping[str, str] = MappingProxyType({})


class Request(NamedTuple):
    """What the span writer may read at begin: the server, and the request's parameters."""

    address: str | None
    port: int | None
    #: The SDK call's keyword arguments, read through ``table`` (keyword -> span attribute).
    params: Mapping[str, Any] | None
    table: Mapping[str, str]


class Ending(NamedTuple):
    """How a call ended: everything the writers record, as one immutable value."""

    outcome: str
    #: ``perf_counter()`` at the end.
    time: float
    #: Provider-reported usage; None when none was reported.
    usage: Usage | None
    response_model: str | None
    response_id: str | None
    #: Raw finish reasons, one per choice of the response.
    finish_reasons: tuple[str, ...]
    error_type: str | None
    #: ``usage_missing_total{reason}`` when there is no usage and the miss is worth counting.
    missing_reason: str | None
    cost: Cost | None
    #: Usage was reported but no price is known for the model (no cost invented).
    unpriced: bool


def current_call() -> Call | None:
    """The call in progress in this context, if an instrumented layer owns one."""
    return _current.get()


def begin(
    provider: str,
    operation: str,
    request_model: object,
    *,
    stream: bool = False,
    address: str | None = None,
    port: int | None = None,
    params: Mapping[str, Any] | None = None,
    table: Mapping[str, str] = _NO_TABLE,
) -> Call | None:
    """Start recording one request; None when not instrumented or an outer layer owns the call."""
    tel = _installed._telemetry  # active(), read without its frame
    if tel is None or _current.get() is not None:
        return None
    request = tuple.__new__(Request, (address, port, params, table))  # the generated __new__ is a frame
    return Call(tel, provider, operation, request_model, stream, request)


class Call:
    """One request from start to its single, idempotent end."""

    __slots__ = (
        "_context_token",
        "_current_token",
        "address",
        "attrs",
        "captures",
        "done",
        "first_output",
        "key",
        "last_output",
        "operation",
        "provider",
        "refused",
        "request_model",
        "retries",
        "series",
        "span",
        "span_attrs",
        "start",
        "stream",
        "tel",
    )

    def __init__(
        self,
        tel: Telemetry,
        provider: str,
        operation: str,
        request_model: object,
        stream: bool,
        request: Request,
    ) -> None:
        self.start = perf_counter()
        self.tel = tel
        self.provider = provider
        self.operation = operation
        self.request_model = request_model if isinstance(request_model, str) else str(request_model or "")
        self.stream = stream
        #: ``server.address``: pricing never invents a cost for an open-weight model served locally.
        self.address = request.address
        self.done = False
        self.retries = 0
        self.first_output: float | None = None
        self.last_output = 0.0
        #: Tells an SDK's local refusal (raised before anything was sent) from a failed request.
        self.refused: Callable[[BaseException], bool] | None = None
        self.attrs = attrs = current_attributes()
        #: The admitted (or folded) base label values every family records this call under.
        self.key = tel.admission.key(provider, self.request_model, operation, attrs)
        self.series: _Series | None = None
        self.span: trace.Span | None = None
        #: Attributes of a recording span, set with the response's at its end (one write, not two).
        self.span_attrs: dict[str, Any] | None = None
        #: The user opted into content capture and a recording span can carry it (the span writer says).
        self.captures = False
        self._current_token: Token[Call | None] | None = None
        self._context_token: object | None = None
        self._each(tel.begins, request)

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
            otel_context.detach(self._context_token)  # type: ignore[arg-type]
            self._context_token = None
        if self._current_token is not None:
            _current.reset(self._current_token)
            self._current_token = None
        if exc is not None and not self.done:
            if is_cancellation(exc):
                self.cancel()
            elif self.refused is not None and self.refused(exc):
                self.discard()
            else:
                self.fail(exc)

    # -- events during the call -------------------------------------------------------------------

    def retry(self, error_type: str) -> None:
        """An SDK-level or validation retry: counted by reason, a span event."""
        self.retries += 1
        self._each(self.tel.retries, error_type)

    def output_seen(self) -> None:
        """A stream chunk carrying output arrived: the first one gives the time to first token."""
        if self.first_output is None:
            self.first_output = perf_counter()

    def output_done(self) -> None:
        """The streamed response is complete: its time closes the time per output token."""
        if self.first_output is not None:
            self.last_output = perf_counter()

    def capture(self, name: str, value: str) -> None:
        """Put prompt or completion text on the span (callers check :attr:`captures` first)."""
        if self.span is not None and not self.done:
            self.span.set_attribute(name, value)

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
        self._end("success", usage, response_model, response_id, finish_reasons, None, missing_reason)

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
            error_type = "other" if exc is None else classify(exc)
        self._end("error", usage, response_model, response_id, finish_reasons, error_type, missing_reason)

    def cancel(
        self,
        usage: Usage | None = None,
        response_model: str | None = None,
        response_id: str | None = None,
        finish_reasons: Sequence[str] = (),
        missing_reason: str | None = None,
    ) -> None:
        """The caller stopped the request (closed or abandoned a stream, cancelled a task)."""
        self._end("cancelled", usage, response_model, response_id, finish_reasons, None, missing_reason)

    def discard(self) -> None:
        """The SDK refused the call locally, before sending anything: not a request, count nothing.

        Its span is never ended, so no exporter ever sees it.
        """
        if self.done:
            return
        self.done = True
        self._each(self.tel.discards)

    def _end(
        self,
        outcome: str,
        usage: Usage | None,
        response_model: object,
        response_id: object,
        finish_reasons: Sequence[str],
        error_type: str | None,
        missing_reason: str | None,
    ) -> None:
        if self.done:
            return
        self.done = True
        now = perf_counter()
        model = response_model if isinstance(response_model, str) and response_model else None
        rid = response_id if isinstance(response_id, str) and response_id else None
        reasons = tuple(finish_reasons)
        for r in reasons:
            if type(r) is not str:  # a server's odd value: never a label or a crash
                reasons = tuple(r for r in reasons if isinstance(r, str))
                break
        fields: tuple[Any, ...]
        if usage is None or (usage.input is None and usage.output is None):  # not ``reported``
            fields = (outcome, now, None, model, rid, reasons, error_type, missing_reason, None, False)
        else:
            cost, unpriced = self._price(usage, model)
            fields = (outcome, now, usage, model, rid, reasons, error_type, None, cost, unpriced)
        ending = tuple.__new__(Ending, fields)  # Ending(*fields) without the generated __new__'s frame
        hold = HOLD.get()
        if hold is None or not hold.keep(self, ending):
            self._each(self.tel.ends, ending)  # commit(ending), a frame fewer

    def commit(self, ending: Ending) -> None:
        """Hand ``ending`` to every writer (a structured-output hold calls this after its verdict)."""
        self._each(self.tel.ends, ending)

    def _each(self, handlers: Handlers, *args: Any) -> None:
        """Tell every writer; one that fails (a broken span processor, say) is counted, the rest record."""
        for handler, stage in handlers:
            try:
                handler(self, *args)
            except Exception as exc:
                internal_error(stage, exc)

    def _price(self, usage: Usage, response_model: str | None) -> tuple[Cost | None, bool]:
        """The cost of ``usage`` and whether the model is unpriced (a pricing bug is neither)."""
        pricer = self.tel.pricer
        model = response_model or self.request_model
        try:
            cost = pricer.price(self.provider, model, usage, self.address)
            if cost is None and model != self.request_model:
                # A dated snapshot the price data does not list yet: price it as requested.
                cost = pricer.price(self.provider, self.request_model, usage, self.address)
        except Exception as exc:
            internal_error("price", exc)
            return None, False
        if cost is None:
            log_once(
                "unpriced:" + model,
                "llm_telemetry: no price known for model %r (provider %r); cost not recorded. "
                "Add it with instrument(price_overrides=...)",
                model,
                self.provider,
            )
            return None, True
        return cost, False
