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
from collections.abc import Callable
from typing import Any

from ..errors import classify
from ..providers import otel_name
from ..record import Call, active, begin, current_call, internal_error
from ..streams import StreamRequest, StreamState
from ..usage import Usage, from_litellm
from . import _openai_compat as compat
from ._patch import Patch
from ._skeleton import NO_STREAM_REQUEST, Endpoint, async_wrapper, server_of_url, sync_wrapper
from .openai import REQUEST_ATTRIBUTES

__all__ = ["LiteLLMState", "patches", "resolve"]

_resolved: dict[tuple[str, str, str], tuple[str, str | None, int | None]] = {}


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
    address, port = server_of_url(base)
    found = (otel_name(name), address, port)
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

    __slots__ = ("source",)

    def __init__(self, call: Call, request: StreamRequest) -> None:
        super().__init__(call, request)
        self.source: Any = None

    def attach(self, stream: Any) -> None:
        self.source = stream

    def _provider_reported(self) -> bool:
        """LiteLLM's final usage chunk is its own tokenizer's estimate unless a chunk the provider sent
        carried usage; it keeps those chunks in ``chunks``. Checked once, when the usage chunk comes."""
        chunks = getattr(self.source, "chunks", None)
        if not isinstance(chunks, list):
            return True  # another wrapper (text completions): its usage is the provider's
        return any(getattr(c, "usage", None) is not None for c in reversed(chunks))

    def observe(self, chunk: Any) -> bool:
        if not self.response_model:
            self.response_model = _field(chunk, "model") or None
            self.response_id = _field(chunk, "id") or None
        choices = chunk.choices
        if choices and self.call.first_output is None:  # until the first token only
            self._output(choices)
        for position, choice in enumerate(choices):
            reason = _field(choice, "finish_reason")
            if reason:
                index = _field(choice, "index")
                self.finished(index if isinstance(index, int) else position, reason)
        usage = _field(chunk, "usage")  # chat chunks carry no usage at all unless it was asked for
        if usage is not None and self._provider_reported():
            self.usage = from_litellm(usage, self.call.provider, _field(chunk, "service_tier"))
        return compat.hides(self.hide_usage_chunk, self.complete, bool(choices))

    def _output(self, choices: Any) -> None:
        for choice in choices:
            delta = _field(choice, "delta")
            if delta is None:
                seen = _field(choice, "text")
            else:
                seen = (
                    _field(delta, "content")
                    or _field(delta, "tool_calls")
                    or _field(delta, "reasoning_content")
                )
            if seen:
                self.call.output_seen()
                return

    def restore(self, chunk: Any) -> bool:
        """Asking for usage only adds the usage chunk: hide it even if :meth:`observe` failed."""
        return compat.hides(self.hide_usage_chunk, self.complete, bool(_field(chunk, "choices")))

    def http_response(self, stream: Any) -> Any:
        """LiteLLM's stream wrapper reads the provider SDK's stream (``completion_stream``)."""
        return getattr(getattr(stream, "completion_stream", None), "response", None)


def _reported(call: Call, result: Any) -> Usage | None:
    """Usage the provider reported. A response without any comes back from LiteLLM with all-zero
    usage: that is "not reported", not a bill of zero."""
    parsed = from_litellm(
        getattr(result, "usage", None), call.provider, getattr(result, "service_tier", None)
    )
    if parsed is None or (not parsed.input and not parsed.output):
        return None
    return parsed


def _finish(call: Call, result: Any) -> None:
    choices = getattr(result, "choices", None) or ()
    call.succeed(
        _reported(call, result),
        getattr(result, "model", None),
        getattr(result, "id", None),
        [c.finish_reason for c in choices if getattr(c, "finish_reason", None)],
    )


def _finish_embeddings(call: Call, result: Any) -> None:
    usage = from_litellm(getattr(result, "usage", None), call.provider)
    # LiteLLM reports completion_tokens=0 for embeddings; they have no output at all.
    call.succeed(None if usage is None else Usage(input=usage.input), getattr(result, "model", None))


#: Index of ``model`` among each entry's positional arguments.
_MODEL_POSITION = {"chat": 0, "text_completion": 1, "embeddings": 0}
#: The keyword that turns a sync entry into the async one (recorded by the async hook).
_ASYNC_FLAG = {"chat": "acompletion", "embeddings": "aembedding"}

CHAT = Endpoint("chat", _finish, LiteLLMState, lazy_stream=True)
TEXT = Endpoint("text_completion", _finish, LiteLLMState, lazy_stream=True)
EMBEDDINGS = Endpoint("embeddings", _finish_embeddings)


def _prepare(
    ep: Endpoint, instance: Any, args: Any, kwargs: dict[str, Any]
) -> tuple[Call | None, StreamRequest]:
    """Start the call; for streams, decide what to ask of the stream."""
    tel = active()
    if tel is None or current_call() is not None:
        return None, NO_STREAM_REQUEST
    model = kwargs.get("model")
    position = _MODEL_POSITION[ep.operation]
    if model is None and len(args) > position:
        model = args[position]
    provider, address, port = resolve(model, kwargs)
    stream = bool(kwargs.get("stream"))
    call = begin(
        provider,
        ep.operation,
        model,
        stream=stream,
        address=address,
        port=port,
        params=kwargs,
        table=REQUEST_ATTRIBUTES,
    )
    if call is None or not stream:
        return call, NO_STREAM_REQUEST
    # LiteLLM forwards stream_options, or maps it onto the provider's own usage switch.
    return call, compat.ask_for_usage(kwargs, tel.settings.inject_stream_usage, address or "")


def _prepare_sync(
    ep: Endpoint, instance: Any, args: Any, kwargs: dict[str, Any]
) -> tuple[Call | None, StreamRequest]:
    """:func:`_prepare` for sync entries, which dispatch ``acompletion=True`` to the hooked async one."""
    flag = _ASYNC_FLAG.get(ep.operation)
    if flag is not None and kwargs.get(flag) is True:
        return None, NO_STREAM_REQUEST
    return _prepare(ep, instance, args, kwargs)


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
        Patch(litellm, "completion", sync_wrapper(CHAT, _prepare_sync)),
        Patch(litellm, "acompletion", async_wrapper(CHAT, _prepare)),
        Patch(litellm, "text_completion", sync_wrapper(TEXT, _prepare_sync)),
        Patch(litellm, "atext_completion", async_wrapper(TEXT, _prepare)),
        Patch(litellm, "embedding", sync_wrapper(EMBEDDINGS, _prepare_sync)),
        Patch(litellm, "aembedding", async_wrapper(EMBEDDINGS, _prepare)),
        Patch(litellm, "completion_with_retries", _retrying),
        Patch(litellm, "acompletion_with_retries", _retrying),
    ]
    try:  # the dispatch shims (newer LiteLLM) call their module's async entry for the async flag
        from litellm.chat_completions import dispatch as chat
        from litellm.embeddings import dispatch as embeddings
    except ImportError:
        return out
    out.append(Patch(chat, "acompletion", async_wrapper(CHAT, _prepare)))
    out.append(Patch(embeddings, "aembedding", async_wrapper(EMBEDDINGS, _prepare)))
    return out
