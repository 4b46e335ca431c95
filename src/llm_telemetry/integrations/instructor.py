"""instructor: one INTERNAL span per structured-output call, one CLIENT child per attempt.

Hooked: instructor's retry loops (``retry_sync_v2`` / ``retry_async_v2``, where attempts are
visible), which ``from_openai``, ``from_anthropic``, ``from_litellm``, ``from_provider`` and ``patch``
clients all go through. Each attempt's SDK call is recorded by that SDK's own integration (tokens
counted once); its successful end is held (:class:`~llm_telemetry.record.Hold`) until instructor's
verdict: valid -> success; invalid -> error ``validation`` with its tokens, plus one
``retries_total{error_type="validation"}`` when instructor tries again; ``IncompleteOutputException``
-> error ``length``. The parent span carries the attempt count and usage totals as ``llm_telemetry.*``
attributes, never ``gen_ai.usage.*`` (backends sum those across spans).

Call ``instrument()`` before creating clients: instructor captures the SDK method when the client is
made. A client made earlier is detected and routed through the hooked method, with a warning.
Streamed (``create_partial``/``create_iterable``) responses end after the parent and are recorded as
plain streams, without a verdict.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import wrapt
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from ..contract import USAGE_ATTRIBUTES, GenAI, Ours, is_cancellation
from ..errors import classify
from ..record import Hold, Telemetry, active, internal_error, log_once
from ..usage import Usage
from ._patch import HOOKS, Patch

__all__ = ["patches"]

#: The parent's usage totals: ``gen_ai.usage.X`` becomes ``llm_telemetry.usage.X``.
_TOTALS = {field: "llm_telemetry." + name.removeprefix("gen_ai.") for field, name in USAGE_ATTRIBUTES.items()}
#: Where instructor's own bookkeeping can fail (``internal_errors_total{stage}``).
_STAGE = "structured"


class _Structured:
    """One structured-output call: its parent span, its attempts, and the hold of the current one."""

    __slots__ = ("attempts", "context_token", "cost", "hold", "span", "usage")

    def __init__(self, tel: Telemetry, response_model: Any) -> None:
        self.attempts = 0
        self.hold: Hold | None = None
        self.usage: Usage | None = None
        self.cost: float | None = None
        self.span: trace.Span | None = None
        self.context_token: object | None = None
        tracer = tel.tracer
        if tracer is not None:
            name = getattr(response_model, "__name__", None) or type(response_model).__name__
            self.span = tracer.start_span(f"instructor.create {name}", kind=SpanKind.INTERNAL)
            self.context_token = otel_context.attach(trace.set_span_in_context(self.span))

    def next_attempt(self) -> Hold | None:
        """A new attempt starts: the previous one, if any, failed validation and is being retried."""
        try:
            if self.hold is not None:
                self.hold.retried("validation")
                self._settle("error", "validation")
            self.attempts += 1
            self.hold = Hold()
            return self.hold
        except Exception as exc:
            internal_error(_STAGE, exc)
            return None

    def _settle(self, outcome: str, error_type: str | None) -> None:
        hold, self.hold = self.hold, None
        if hold is None:
            return
        hold.release(outcome, error_type)
        if hold.usage is not None:
            self.usage = hold.usage if self.usage is None else self.usage + hold.usage
        if hold.cost is not None:
            self.cost = hold.cost if self.cost is None else self.cost + hold.cost

    def finish(self, exc: BaseException | None) -> None:
        """Instructor returned or raised: settle the last attempt, then end the parent span."""
        try:
            outcome, error_type = "success", None
            if exc is not None and is_cancellation(exc):
                outcome = "cancelled"
            elif exc is not None:
                outcome = "error"
                if self.hold is not None and self.hold.kept:  # a response arrived, then was rejected
                    error_type = "length" if classify(exc) == "length" else "validation"
                else:  # the attempt's SDK call failed (and recorded its own error)
                    error_type = classify(exc.__cause__ or exc)
            self._settle(outcome, error_type)
            self._end_span(outcome, error_type)
        except Exception as err:
            internal_error(_STAGE, err)

    def _end_span(self, outcome: str, error_type: str | None) -> None:
        span = self.span
        if span is None:
            return
        otel_context.detach(self.context_token)  # type: ignore[arg-type]
        attrs: dict[str, Any] = {Ours.ATTEMPTS: self.attempts}
        if self.usage is not None:
            for field, name in _TOTALS.items():
                value = getattr(self.usage, field)
                if value is not None:
                    attrs[name] = value
        if self.cost is not None:  # not the attempts' own cost attribute: backends would add them up
            attrs[Ours.TOTAL_COST_USD] = self.cost
        if outcome == "cancelled":
            attrs[Ours.OUTCOME] = "cancelled"
        if error_type is not None:
            attrs[GenAI.ERROR_TYPE] = error_type
            span.set_status(Status(StatusCode.ERROR, error_type))
        span.set_attributes(attrs)
        span.end()


def _hooked(func: Any) -> Any:
    """``func``, or our hook of it when the client captured the original before ``instrument()``."""
    if isinstance(func, (wrapt.FunctionWrapper, wrapt.BoundFunctionWrapper)):
        return func
    hook = HOOKS.hook_of(getattr(func, "__func__", func))
    if hook is None:
        return func
    log_once(
        "instructor_early_client",
        "llm_telemetry: an instructor client was created before instrument(); its calls are "
        "routed through the hooked SDK method. Call instrument() before creating clients.",
    )
    owner = getattr(func, "__self__", None)
    return hook if owner is None else hook.__get__(owner, type(owner))


def _attempts(structured: _Structured, func: Callable[..., Any]) -> Callable[..., Any]:
    """What instructor calls once per attempt: the SDK call inside the attempt's hold."""

    def attempt(*args: Any, **kwargs: Any) -> Any:
        hold = structured.next_attempt()
        if hold is None:
            return func(*args, **kwargs)
        with hold:
            return func(*args, **kwargs)

    return attempt


def _attempts_async(structured: _Structured, func: Callable[..., Any]) -> Callable[..., Any]:
    async def attempt(*args: Any, **kwargs: Any) -> Any:
        hold = structured.next_attempt()
        if hold is None:
            return await func(*args, **kwargs)
        with hold:
            return await func(*args, **kwargs)

    return attempt


def _start(
    args: Any, kwargs: Any, attempts: Callable[[_Structured, Callable[..., Any]], Callable[..., Any]]
) -> tuple[_Structured | None, Any, Any]:
    """Begin a structured call; returns it (None: not recorded) and the arguments to pass on."""
    tel = active()
    model = kwargs["response_model"] if "response_model" in kwargs else args[1] if len(args) > 1 else None
    if tel is None or model is None:
        return None, args, kwargs
    try:
        hooked = _hooked(kwargs["func"] if "func" in kwargs else args[0])
        structured = _Structured(tel, model)
    except Exception as exc:
        internal_error(_STAGE, exc)
        return None, args, kwargs
    if "func" in kwargs:
        kwargs["func"] = attempts(structured, hooked)
    else:
        args = (attempts(structured, hooked), *args[1:])
    return structured, args, kwargs


def _retry_sync(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    structured, args, kwargs = _start(args, kwargs, _attempts)
    if structured is None:
        return wrapped(*args, **kwargs)
    try:
        result = wrapped(*args, **kwargs)
    except BaseException as exc:
        structured.finish(exc)
        raise
    structured.finish(None)
    return result


async def _retry_async(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    structured, args, kwargs = _start(args, kwargs, _attempts_async)
    if structured is None:
        return await wrapped(*args, **kwargs)
    try:
        result = await wrapped(*args, **kwargs)
    except BaseException as exc:
        structured.finish(exc)
        raise
    structured.finish(None)
    return result


def patches() -> list[Patch]:
    """Every hook this integration installs: the retry loops, where patch.py and retry.py call them."""
    from instructor.v2.core import patch, retry

    return [
        Patch(owner, name, _retry_sync if name == "retry_sync_v2" else _retry_async)
        for owner in (patch, retry)
        for name in ("retry_sync_v2", "retry_async_v2")
    ]
