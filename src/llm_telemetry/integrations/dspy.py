"""dspy 3.4: its own LM layer, so that its default engine (the vendored lm15, with its own HTTP transport
that no other hook sees) is counted, and a call through LiteLLM is counted once.

Hooked in ``dspy.clients.execution`` (module attributes, looked up at call time):

- ``execute`` / ``aexecute``: one public LM call. Only a scope is opened here: a response-cache hit
  returns before any attempt, so it records nothing (no request was sent).
- ``_attempt`` / ``_aattempt``: exactly one provider attempt, native (lm15) or through LiteLLM. The first
  attempt of a candidate begins the record and owns the invocation, so LiteLLM's hook and the openai
  SDK's below it stay silent and their SDK retries land on this record.
- ``_retryable``: dspy's verdict on a failed attempt. True: a retry on the open record (dspy sleeps and
  attempts again); False: the record fails with the error dspy raises.
- ``checked_stream`` / ``achecked_stream`` (``dspy.streamify``): the time of each output delta.

Usage is read from the provider's own JSON (``Response.provider_data``) with the same dialect parsers
as the direct integrations, so every family means the same thing whichever way a model is reached;
lm15's ``Usage`` is provider-verbatim and only a fallback, with the provider's rule applied. Custom
engines (``dspy.LM(..., engine=obj)``), ``DummyLM`` and non-managed LMs are not recorded here: the SDK
such an engine uses is, if it is one of ours.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextvars import ContextVar
from typing import Any

from ..contract import is_cancellation
from ..errors import classify, classify_status
from ..record import Call, begin, current_call, internal_error
from ..usage import Usage, from_anthropic, from_openai_chat, from_openai_responses
from ._patch import Patch
from ._skeleton import guarded, server_of_url
from .google_genai import gemini_usage
from .litellm import resolve
from .openai import REQUEST_ATTRIBUTES

__all__ = ["error_type", "patches", "provider_name"]

#: lm15 provider id -> OTel ``gen_ai.provider.name`` where the two differ.
_OTEL_NAMES = {
    "openai-chat": "openai",
    "openai-responses": "openai",
    "gemini": "gcp.gemini",
    "azure": "azure.ai.openai",
    "azure-chat": "azure.ai.openai",
    "xai": "x_ai",
    "mistral": "mistral_ai",
}
#: The default address of the providers whose lm15 adapter owns it.
_DEFAULT_BASES = {
    "openai-responses": "https://api.openai.com/v1",
    "openai-chat": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
    "gemini": "https://generativelanguage.googleapis.com",
}
_DELTAS = frozenset(("text", "thinking", "tool_call", "audio", "image"))


def provider_name(provider: str) -> str:
    """OTel ``gen_ai.provider.name`` of an lm15 provider id."""
    return _OTEL_NAMES.get(provider, provider.replace("-", "_"))


_definitions: dict[str, tuple[str, str | None]] = {}


def _definition(provider: str) -> tuple[str, str | None]:
    """(dialect, default base URL) of an lm15 provider, from lm15's registry (cached)."""
    found = _definitions.get(provider)
    if found is None:
        from dspy._vendor.lm15.registry import lookup

        definition = lookup(provider)
        dialect = str(definition.dialect) if definition is not None else provider
        base = definition.access.base_url if definition is not None else None
        found = (dialect, base or _DEFAULT_BASES.get(dialect))
        if len(_definitions) < 256:
            _definitions[provider] = found
    return found


# -- usage ----------------------------------------------------------------------------------------


def _from_provider_data(data: Any, dialect: str, label: str) -> Usage | None:
    """The provider's own usage JSON, read by the dialect's parser as the direct integrations read it
    (``label``: the provider's name, whose own dialect of the OpenAI shapes applies; its service tier)."""
    if not isinstance(data, dict):
        return None
    if dialect == "openai-chat":
        return from_openai_chat(data.get("usage"), label, data.get("service_tier"))
    if dialect == "openai-responses":
        return from_openai_responses(data.get("usage"), label, data.get("output"), data.get("service_tier"))
    if dialect == "anthropic":
        return from_anthropic(data.get("usage"))
    if dialect == "gemini":
        return gemini_usage(data.get("usageMetadata"))
    return None


def _from_lm15(usage: Any, dialect: str) -> Usage | None:
    """lm15's provider-verbatim ``Usage``, with the provider's rule: Anthropic's input excludes cache
    reads and writes, Gemini's output excludes thinking."""
    inp, out = usage.input_tokens, usage.output_tokens
    if inp is None and out is None:
        return None
    read, write, reasoning = usage.cache_read_tokens, usage.cache_write_tokens, usage.reasoning_tokens
    if dialect == "anthropic" and inp is not None:
        inp += (read or 0) + (write or 0)
    elif dialect == "gemini" and out is not None:
        out += reasoning or 0
    return Usage(inp, out, read, write, reasoning)


def _native(
    response: Any, provider: str, label: str
) -> tuple[Usage | None, str | None, str | None, list[str]]:
    """(usage, response model, response id, finish reasons) of an lm15 ``Response``."""
    dialect, _ = _definition(provider)
    data = response.provider_data
    usage = _from_provider_data(data, dialect, label)
    if usage is None or usage.input is None:  # a stream's last event may carry only the output count
        usage = _from_lm15(response.usage, dialect) or usage
    data = data if isinstance(data, dict) else {}
    model = data.get("model") or data.get("modelVersion") or response.model
    rid = response.id or data.get("id") or data.get("responseId")
    reason = "tool_calls" if response.finish_reason == "tool_call" else response.finish_reason
    return usage, model, rid, [reason]


def _litellm(result: Any, label: str) -> tuple[Usage | None, str | None, str | None, list[str]]:
    """The same from the ``CallResult`` of an attempt through LiteLLM (its usage dict, its response)."""
    from ..usage import from_litellm

    usage = from_litellm(result.usage, label)
    if usage is not None and not usage.input and not usage.output:
        usage = None  # LiteLLM's all-zero usage means "not reported"
    raw = result.raw
    choices = getattr(raw, "choices", None) or ()
    reasons = [c.finish_reason for c in choices if getattr(c, "finish_reason", None)]
    return usage, result.response_model, getattr(raw, "id", None), reasons


_NOTHING: tuple[None, None, None, list[str]] = (None, None, None, [])


def _outcome(
    call: Call, state: Any, provider: str | None, exc: BaseException | None = None
) -> tuple[Usage | None, str | None, str | None, list[str]]:
    """What an attempt of ``call`` left: the native response (or, for a stream that broke, the partial
    one lm15 assembled, on the error or its cause), or LiteLLM's result."""
    response = state.response
    if response is None and exc is not None:
        response = getattr(exc, "partial", None) or getattr(exc.__cause__, "partial", None)
    if response is not None and provider is not None and hasattr(response, "provider_data"):
        return _native(response, provider, call.provider)
    if state.result is not None:
        return _litellm(state.result, call.provider)
    return _NOTHING


def _read(
    call: Call, state: Any, provider: str | None, exc: BaseException | None = None
) -> tuple[Usage | None, str | None, str | None, list[str]]:
    """:func:`_outcome`, guarded: a response we cannot read still ends its record (without usage)."""
    try:
        return _outcome(call, state, provider, exc)
    except Exception as err:
        internal_error("result", err)
        return _NOTHING


# -- errors ---------------------------------------------------------------------------------------


def error_type(exc: BaseException) -> str:
    """The contract's ``error_type`` of a dspy ``LMError``, by class (its ``status`` is often unset)."""
    from dspy.utils import exceptions as e

    if isinstance(exc, e.ContextWindowExceededError):
        return "context_length"
    if isinstance(exc, e.LMUnsupportedModelError):
        return "not_found"
    table = (
        (e.LMRateLimitError, "rate_limit"),
        (e.LMBillingError, "quota"),
        (e.LMAuthError, "auth"),
        (e.LMTimeoutError, "timeout"),
        (e.LMServerError, "server"),
        (e.LMInvalidRequestError, "bad_request"),
        (e.LMStreamAssemblyError, "stream_interrupted"),
        (e.LMTransportError, "connection"),
    )
    status = getattr(exc, "status", None)  # the HTTP status, when the provider answered
    for cls, kind in table:
        if isinstance(exc, cls):
            if isinstance(status, int) and kind in ("auth", "server"):
                return classify_status(status, str(exc).lower())  # 403 permission, 529 overloaded
            return kind
    return classify(exc)


def _refused(exc: BaseException) -> bool:
    """dspy refused the call before any provider saw it (configuration, unsupported feature)."""
    from dspy.utils.exceptions import LMConfigurationError, LMUnsupportedFeatureError

    return isinstance(exc, (LMConfigurationError, LMUnsupportedFeatureError))


# -- the scope of one public LM call, and its attempts -------------------------------------------


class _Scope:
    """One ``execute``: the record of the candidate under way, open across dspy's retries."""

    __slots__ = ("call", "provider")

    def __init__(self) -> None:
        self.call: Call | None = None
        #: The lm15 provider id of a native attempt (None through LiteLLM).
        self.provider: str | None = None


_scope: ContextVar[_Scope | None] = ContextVar("llm_telemetry_dspy_scope", default=None)


def _abandon(scope: _Scope, exc: BaseException) -> None:
    """``execute`` is leaving with a record still open (a cancellation between attempts, mostly)."""
    call, scope.call = scope.call, None
    if call is not None and not call.done:
        if is_cancellation(exc):
            call.cancel(missing_reason="interrupted")
        else:
            call.fail(exc, error_type(exc))


def _execute(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    scope = _Scope()
    token = _scope.set(scope)
    try:
        return wrapped(*args, **kwargs)
    except BaseException as exc:
        _abandon(scope, exc)
        raise
    finally:
        _scope.reset(token)


async def _aexecute(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    scope = _Scope()
    token = _scope.set(scope)
    try:
        return await wrapped(*args, **kwargs)
    except BaseException as exc:
        _abandon(scope, exc)
        raise
    finally:
        _scope.reset(token)


def _recorded_engine(backend: Any) -> bool:
    """lm15 (native) or LiteLLM engines; custom engines and DummyLM send what their own SDK records."""
    from dspy.clients.engines.litellm_engine import AsyncLiteLLMEngine, LiteLLMEngine
    from dspy.clients.engines.lm15_engine import AsyncLM15Engine, LM15Engine

    return isinstance(backend, (LM15Engine, AsyncLM15Engine, LiteLLMEngine, AsyncLiteLLMEngine))


@guarded("begin", None)
def _own(args: Any) -> Call | None:
    """The record of this attempt: the open one of a retried candidate, or a new one."""
    scope = _scope.get()
    if scope is None:
        return None
    if scope.call is not None and not scope.call.done:
        return scope.call
    lm, prepared, backend, _, provider = args[:5]
    if not _recorded_engine(backend):
        return None
    from dspy.dsp.utils.settings import settings

    options = {**getattr(lm, "kwargs", {}), **(prepared.legacy or {})}
    if provider is None:  # through LiteLLM
        name, address, port = resolve(lm.model, options)
    else:
        name = provider_name(provider)
        address, port = server_of_url(
            options.get("api_base") or options.get("base_url") or _definition(provider)[1]
        )
    scope.provider = provider
    scope.call = begin(
        name,
        "chat",
        lm.model,
        stream=settings.send_stream is not None,
        address=address,
        port=port,
        params=options,
        table=REQUEST_ATTRIBUTES,
    )
    return scope.call


def _succeed(call: Call, args: Any) -> None:
    scope = _scope.get()
    if scope is not None and scope.call is call:
        scope.call = None
    call.succeed(*_read(call, args[5], args[4]))


def _attempt(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    """Wraps ``_attempt(lm, call, backend, request, provider, state, results)``."""
    call = _own(args)
    if call is None:
        return wrapped(*args, **kwargs)
    call.__enter__()
    try:
        result = wrapped(*args, **kwargs)
    finally:  # a failure waits for dspy's verdict (``_retryable``); a cancellation ends in ``_abandon``
        call.__exit__(None, None, None)
    _succeed(call, args)
    return result


async def _aattempt(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    call = _own(args)
    if call is None:
        return await wrapped(*args, **kwargs)
    call.__enter__()
    try:
        result = await wrapped(*args, **kwargs)
    finally:
        call.__exit__(None, None, None)
    _succeed(call, args)
    return result


@guarded("retry", None)
def _verdict(retry: bool, state: Any, exc: BaseException) -> None:
    scope = _scope.get()
    call = scope.call if scope is not None else None
    if call is None or call.done:
        return
    if retry:
        call.retry(error_type(exc))
        return
    scope.call = None  # type: ignore[union-attr]
    if _refused(exc) and call.retries == 0:
        call.discard()
        return
    usage, model, rid, reasons = _read(call, state, scope.provider, exc)  # type: ignore[union-attr]
    missing = "interrupted" if state.emitted or state.completed else None
    call.fail(exc, error_type(exc), usage, model, rid, reasons, missing_reason=missing)


def _retryable(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    """Wraps ``_retryable(state, exc, attempt, retries)``, called for every failed attempt."""
    retry = wrapped(*args, **kwargs)
    _verdict(bool(retry), args[0], args[1])
    return retry


# -- streams: the time of each output delta ------------------------------------------------------


def _is_output(event: Any) -> bool:
    """An lm15 delta event carrying output (text, thinking, a tool call, audio, an image)."""
    kind = getattr(getattr(event, "delta", None), "type", None)
    return getattr(event, "type", None) == "delta" and kind in _DELTAS


def _time(call: Call, event: Any) -> None:
    """The first output delta starts the answer (looked for until then only); the end event closes it."""
    if call.first_output is None:
        if _is_output(event):
            call.output_seen()
    elif getattr(event, "type", None) == "end":
        call.output_done()


def _timed(source: Any, call: Call) -> Iterator[Any]:
    """``source``'s events unchanged, each output delta timed on ``call``."""
    try:
        for event in source:
            _time(call, event)
            yield event
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()


async def _atimed(source: Any, call: Call) -> AsyncIterator[Any]:
    try:
        async for event in source:
            _time(call, event)
            yield event
    finally:
        close = getattr(source, "aclose", None) or getattr(source, "close", None)
        if close is not None:
            result = close()
            if hasattr(result, "__await__"):
                await result


def _checked(timed: Callable[[Any, Call], Any]) -> Callable[..., Any]:
    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        call = current_call()
        scope = _scope.get()
        if call is None or scope is None or scope.call is not call or not args:
            return wrapped(*args, **kwargs)
        return wrapped(timed(args[0], call), *args[1:], **kwargs)

    return wrapper


def patches() -> list[Patch]:
    """Every hook this integration installs (dspy's execution module)."""
    from dspy.clients import execution

    return [
        Patch(execution, "execute", _execute),
        Patch(execution, "aexecute", _aexecute),
        Patch(execution, "_attempt", _attempt),
        Patch(execution, "_aattempt", _aattempt),
        Patch(execution, "_retryable", _retryable),
        Patch(execution, "checked_stream", _checked(_timed)),
        Patch(execution, "achecked_stream", _checked(_atimed)),
    ]
