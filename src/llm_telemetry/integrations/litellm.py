"""LiteLLM: ``completion``, ``text_completion``, ``embedding`` and their async forms, streams included.

Hooked: the public ``litellm.*`` names, which are dispatch shims in front of ``litellm.main`` and are
what users and LiteLLM's Router call (``from litellm import completion`` before ``instrument()``
keeps the unhooked function), plus the async entries ``completion(..., acompletion=True)`` reaches.
LiteLLM runs the openai SDK (or its own HTTP handlers) underneath; our call owns that invocation, so
the inner layer records nothing and each provider response is counted once. A stream may send its
request on the first ``next()`` (text completions, lazily started providers), so that one is owned
too. Retries: the SDK's HTTP retries reach our call through the SDK integration's hook; LiteLLM's
own ``num_retries`` (``litellm.completion_with_retries``) are counted here, one per new attempt.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..errors import classify
from ..record import Call, active, begin, current_call, guarded, internal_error
from ..streams import AsyncStreamProxy, StreamProxy, StreamState, ask_for_usage
from ..usage import Usage, from_litellm
from ._patch import Patch
from .openai import request_attributes

__all__ = ["LiteLLMState", "patches", "provider_name", "resolve"]

#: LiteLLM provider -> OTel ``gen_ai.provider.name`` where the two differ.
_OTEL_NAMES = {
    "text-completion-openai": "openai",
    "azure": "azure.ai.openai",
    "azure_text": "azure.ai.openai",
    "azure_ai": "azure.ai.inference",
    "bedrock": "aws.bedrock",
    "vertex_ai": "gcp.vertex_ai",
    "vertex_ai_beta": "gcp.vertex_ai",
    "gemini": "gcp.gemini",
    "mistral": "mistral_ai",
    "codestral": "mistral_ai",
    "text-completion-codestral": "mistral_ai",
    "xai": "x_ai",
    "cohere_chat": "cohere",
    "watsonx": "ibm.watsonx.ai",
    "watsonx_text": "ibm.watsonx.ai",
}
_resolved: dict[tuple[str, str, str], tuple[str, str | None, int | None]] = {}


def provider_name(litellm_provider: str | None) -> str:
    """OTel ``gen_ai.provider.name`` of a LiteLLM provider (``_OTHER`` when unknown)."""
    if not litellm_provider:
        return "_OTHER"
    return _OTEL_NAMES.get(litellm_provider, litellm_provider)


def resolve(model: Any, kwargs: dict[str, Any]) -> tuple[str, str | None, int | None]:
    """Provider (OTel name), server address and port of a request, as LiteLLM resolves them (cached)."""
    custom = kwargs.get("custom_llm_provider")
    base = kwargs.get("api_base") or kwargs.get("base_url")
    key = (str(model), str(custom), str(base))
    found = _resolved.get(key)
    if found is not None:
        return found
    import litellm

    try:
        _, name, _, base = litellm.get_llm_provider(model=model, custom_llm_provider=custom, api_base=base)
    except Exception:  # an unknown model: LiteLLM fails the call itself, which is recorded
        name = custom if isinstance(custom, str) else None
    address: str | None = None
    port: int | None = None
    if isinstance(base, str) and base:
        url = urlsplit(base)
        address = url.hostname
        port = url.port or (443 if url.scheme == "https" else 80)
    found = (provider_name(name), address, port)
    if len(_resolved) < 4096:
        _resolved[key] = found
    return found


# -- what results mean ----------------------------------------------------------------------------


def _field(obj: Any, name: str) -> Any:
    """``obj.name``, or None when absent. LiteLLM's models keep most fields in ``__pydantic_extra__``,
    where plain attribute access costs about a microsecond per read (and a missing one raises)."""
    try:
        value = obj.__pydantic_extra__.get(name)
        return value if value is not None else obj.__dict__.get(name)
    except AttributeError:  # not a pydantic model with extra fields
        return getattr(obj, name, None)


class LiteLLMState(StreamState):
    """Chunks of ``CustomStreamWrapper`` (chat deltas) and ``TextCompletionStreamWrapper`` (text)."""

    __slots__ = ()

    def observe(self, chunk: Any) -> bool:
        if not self.response_model:
            self.response_model = _field(chunk, "model") or None
            self.response_id = _field(chunk, "id") or None
        choices = chunk.choices
        for choice in choices:
            delta = _field(choice, "delta")
            if delta is None:
                if _field(choice, "text"):
                    self.call.output_seen()
            elif (
                _field(delta, "content") or _field(delta, "tool_calls") or _field(delta, "reasoning_content")
            ):
                self.call.output_seen()
            reason = _field(choice, "finish_reason")
            if reason:
                self.finish_reasons.append(reason)
                self.complete = True
        usage = _field(chunk, "usage")  # chat chunks carry no usage at all unless it was asked for
        if usage is not None:
            self.usage = from_litellm(usage)
            return self.hide_usage_chunk and not choices
        return False

    def restore(self, chunk: Any) -> bool:
        """Asking for usage only adds the usage chunk (checked): hide it even if :meth:`observe` failed."""
        return self.hide_usage_chunk and _field(chunk, "usage") is not None and not _field(chunk, "choices")


def _finish(call: Call, result: Any) -> None:
    choices = getattr(result, "choices", None) or ()
    call.succeed(
        from_litellm(getattr(result, "usage", None)),
        getattr(result, "model", None),
        getattr(result, "id", None),
        [c.finish_reason for c in choices if getattr(c, "finish_reason", None)],
    )


def _finish_embeddings(call: Call, result: Any) -> None:
    usage = from_litellm(getattr(result, "usage", None))
    # LiteLLM reports completion_tokens=0 for embeddings; they have no output at all.
    call.succeed(None if usage is None else Usage(input=usage.input), getattr(result, "model", None))


@dataclass(frozen=True, slots=True)
class Endpoint:
    """How one LiteLLM entry maps onto the recording path."""

    operation: str
    finish: Callable[[Call, Any], None]
    #: Index of ``model`` among positional arguments.
    model_position: int
    #: The keyword that turns the sync entry into the async one (recorded by the async hook).
    async_flag: str | None


CHAT = Endpoint("chat", _finish, 0, "acompletion")
TEXT = Endpoint("text_completion", _finish, 1, None)
EMBEDDINGS = Endpoint("embeddings", _finish_embeddings, 0, "aembedding")


# -- the wrappers ---------------------------------------------------------------------------------


@guarded("begin", (None, True, False))
def _prepare(ep: Endpoint, args: Any, kwargs: dict[str, Any]) -> tuple[Call | None, bool, bool]:
    """Start the call; for streams, ask for the usage chunk. Returns (call, requested, hide)."""
    tel = active()
    if tel is None or current_call() is not None:
        return None, True, False
    model = kwargs.get("model")
    if model is None and len(args) > ep.model_position:
        model = args[ep.model_position]
    provider, address, port = resolve(model, kwargs)
    stream = kwargs.get("stream") is True
    call = begin(
        provider,
        ep.operation,
        model,
        stream=stream,
        server_address=address,
        server_port=port,
        attributes=request_attributes(kwargs) if tel.tracing.tracer is not None else None,
    )
    if call is None or not stream:
        return call, True, False
    # LiteLLM never rejects stream_options; it forwards it or maps it onto the provider's usage.
    return call, *ask_for_usage(kwargs, tel.settings.inject_stream_usage)


def _first_owned(call: Call, inner: Callable[[], Any]) -> Callable[[], Any]:
    """``inner`` whose first call runs as the call's own invocation (the proxy ends the call)."""
    started = False

    def next_chunk() -> Any:
        nonlocal started
        if started:
            return inner()
        started = True
        call.__enter__()
        try:
            return inner()
        finally:
            call.__exit__(None, None, None)

    return next_chunk


def _first_owned_async(call: Call, inner: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[Any]]:
    """Async :func:`_first_owned`: later chunks add one plain call, no coroutine."""
    started = False

    async def first() -> Any:
        call.__enter__()
        try:
            return await inner()
        finally:
            call.__exit__(None, None, None)

    def next_chunk() -> Awaitable[Any]:
        nonlocal started
        if started:
            return inner()
        started = True
        return first()

    return next_chunk


def _is_stream(result: Any) -> bool:
    cls = type(result)
    return hasattr(cls, "__next__") or hasattr(cls, "__anext__")


def _settle(ep: Endpoint, call: Call, result: Any, requested: bool, hide: bool, is_async: bool) -> Any:
    """Record a complete result, or wrap a stream; returns what the caller gets."""
    try:
        if call.stream and _is_stream(result):
            state = LiteLLMState(call, requested, hide)
            if is_async:
                proxy: Any = AsyncStreamProxy(result, state)
                proxy._self_anext = _first_owned_async(call, proxy._self_anext)
            else:
                proxy = StreamProxy(result, state)
                proxy._self_next = _first_owned(call, proxy._self_next)
            return proxy
        ep.finish(call, result)
    except Exception as exc:
        internal_error("result", exc)
        call.succeed(None)
    return result


def _sync_wrapper(ep: Endpoint) -> Callable[..., Any]:
    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        if ep.async_flag is not None and kwargs.get(ep.async_flag) is True:
            return wrapped(*args, **kwargs)  # dispatched to the hooked async entry
        call, requested, hide = _prepare(ep, args, kwargs)
        if call is None:
            return wrapped(*args, **kwargs)
        with call:
            result = wrapped(*args, **kwargs)
        return _settle(ep, call, result, requested, hide, False)

    return wrapper


def _async_wrapper(ep: Endpoint) -> Callable[..., Any]:
    async def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        call, requested, hide = _prepare(ep, args, kwargs)
        if call is None:
            return await wrapped(*args, **kwargs)
        with call:
            result = await wrapped(*args, **kwargs)
        return _settle(ep, call, result, requested, hide, True)

    return wrapper


# -- LiteLLM's own retries (num_retries) ----------------------------------------------------------


def _counted(call: Call, original: Callable[..., Any]) -> Callable[..., Any]:
    """``original`` for LiteLLM's retry loop: each attempt after a failed one is a retry."""
    failures: list[BaseException] = []

    def before() -> None:
        if failures:
            call.retry(classify(failures.pop()))

    if inspect.iscoroutinefunction(original):

        async def attempt_async(*args: Any, **kwargs: Any) -> Any:
            before()
            try:
                return await original(*args, **kwargs)
            except Exception as exc:
                failures.append(exc)
                raise

        return attempt_async

    def attempt(*args: Any, **kwargs: Any) -> Any:
        before()
        try:
            return original(*args, **kwargs)
        except Exception as exc:
            failures.append(exc)
            raise

    return attempt


def _retrying(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    """Wraps ``litellm.(a)completion_with_retries``, called in the ``except`` block of the failed try."""
    call = current_call()
    if call is not None:
        try:
            failed = sys.exc_info()[1]
            call.retry(classify(failed) if failed is not None else "other")
            from litellm import main

            kwargs["original_function"] = _counted(call, kwargs.get("original_function") or main.completion)
        except Exception as exc:
            internal_error("retry", exc)
    return wrapped(*args, **kwargs)


def patches() -> list[Patch]:
    """Every hook this integration installs (entries resolved from the installed LiteLLM)."""
    import litellm

    out = [
        Patch(litellm, "completion", _sync_wrapper(CHAT)),
        Patch(litellm, "acompletion", _async_wrapper(CHAT)),
        Patch(litellm, "text_completion", _sync_wrapper(TEXT)),
        Patch(litellm, "atext_completion", _async_wrapper(TEXT)),
        Patch(litellm, "embedding", _sync_wrapper(EMBEDDINGS)),
        Patch(litellm, "aembedding", _async_wrapper(EMBEDDINGS)),
        Patch(litellm, "completion_with_retries", _retrying),
        Patch(litellm, "acompletion_with_retries", _retrying),
    ]
    try:  # the dispatch shims (newer LiteLLM) call their module's async entry for the async flag
        from litellm.chat_completions import dispatch as chat
        from litellm.embeddings import dispatch as embeddings
    except ImportError:
        return out
    out.append(Patch(chat, "acompletion", _async_wrapper(CHAT)))
    out.append(Patch(embeddings, "aembedding", _async_wrapper(EMBEDDINGS)))
    return out
