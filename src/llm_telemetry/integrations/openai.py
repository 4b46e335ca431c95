"""OpenAI SDK (2.x over httpx, 3.x over httpx2): maps each endpoint onto the shared recording path.

Hooked: chat ``create``/``parse`` (``.stream()`` calls ``create``, so it is counted once), Responses
``create``/``parse`` (and ``.stream()``), legacy ``completions.create``, ``embeddings.create``, sync
and async, plus the SDK's retry sleep. ``with_raw_response`` / ``with_streaming_response`` go through
the same methods; the caller still receives the raw response object.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from time import perf_counter
from typing import Any

from pydantic import BaseModel

from .. import content
from ..record import Call, active, begin, guarded, internal_error
from ..streams import AsyncStreamProxy, StreamProxy, StreamState, ask_for_usage
from ..usage import from_openai_chat, from_openai_responses
from ._patch import Patch
from ._stainless import is_raw_response, replace_parsed, retry_wrapper, server_of

__all__ = ["patches", "provider_of"]

_HOST_PROVIDERS = (
    ("openai.azure.com", "azure.ai.openai"),
    ("azure-api.net", "azure.ai.openai"),
    ("deepseek.com", "deepseek"),
    ("groq.com", "groq"),
    ("mistral.ai", "mistral_ai"),
    ("x.ai", "x_ai"),
    ("generativelanguage.googleapis.com", "gcp.gemini"),
    ("aiplatform.googleapis.com", "gcp.vertex_ai"),
    ("perplexity.ai", "perplexity"),
    ("together.xyz", "together_ai"),
    ("fireworks.ai", "fireworks_ai"),
    ("openrouter.ai", "openrouter"),
    ("cohere.com", "cohere"),
)
_providers: dict[tuple[type, str], str] = {}

_REQUEST_ATTRIBUTES = {
    "temperature": "gen_ai.request.temperature",
    "top_p": "gen_ai.request.top_p",
    "max_tokens": "gen_ai.request.max_tokens",
    "max_completion_tokens": "gen_ai.request.max_tokens",
    "max_output_tokens": "gen_ai.request.max_tokens",
    "frequency_penalty": "gen_ai.request.frequency_penalty",
    "presence_penalty": "gen_ai.request.presence_penalty",
    "seed": "gen_ai.request.seed",
    "n": "gen_ai.request.choice.count",
}
_REQUEST_KEYS = frozenset(_REQUEST_ATTRIBUTES)


def provider_of(resource: Any) -> str:
    """OTel ``gen_ai.provider.name`` of the client behind a resource (Azure, OpenAI-compatible hosts)."""
    client = getattr(resource, "_client", None)
    host = str(getattr(getattr(client, "base_url", None), "host", "") or "")
    # Keyed by what decides the answer, not by id(client): ids of discarded clients are reused.
    cache_key = (type(client), host)
    found = _providers.get(cache_key)
    if found is not None:
        return found
    provider = "openai"
    if type(client).__name__.startswith(("AzureOpenAI", "AsyncAzureOpenAI")):
        provider = "azure.ai.openai"
    else:
        for suffix, name in _HOST_PROVIDERS:
            if host.endswith(suffix):
                provider = name
                break
    if len(_providers) < 4096:
        _providers[cache_key] = provider
    return provider


#: id(client) -> (its base_url object, its type, provider, server.address, server.port). The URL object
#: and the type are compared by identity, so a reused id or a replaced ``base_url`` is a miss.
_clients: dict[int, tuple[Any, type, str, str | None, int | None]] = {}


def _client_info(resource: Any) -> tuple[str, str | None, int | None]:
    """Provider, address and port of the client behind ``resource``, cached per client object."""
    client = getattr(resource, "_client", None)
    url = getattr(client, "base_url", None)
    key = id(client)
    found = _clients.get(key)
    if found is not None and found[0] is url and found[1] is type(client):
        return found[2], found[3], found[4]
    address, port = server_of(resource)
    provider = provider_of(resource)
    if len(_clients) < 4096 or key in _clients:
        _clients[key] = (url, type(client), provider, address, port)
    return provider, address, port


def request_attributes(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Sampling parameters the conventions name, for the span (only plain numbers are taken)."""
    attrs: dict[str, Any] = {}
    if _REQUEST_KEYS.isdisjoint(kwargs):  # the usual call sets none: one C-level check, not nine
        return attrs
    for key, name in _REQUEST_ATTRIBUTES.items():
        if key in kwargs:
            value = kwargs[key]
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                attrs[name] = value
    return attrs


# -- what each endpoint's results mean ------------------------------------------------------------


class ChatState(StreamState):
    """Chat Completions and legacy Completions chunks."""

    __slots__ = ()

    def observe(self, chunk: Any) -> bool:
        if not self.response_model:  # Azure's first chunk (prompt filter results) has model "" and id ""
            self.response_model = getattr(chunk, "model", None) or None
            self.response_id = getattr(chunk, "id", None) or None
        choices = chunk.choices
        if choices:
            for choice in choices:
                delta = getattr(choice, "delta", None)
                if delta is None:  # legacy completions carry text on the choice
                    if getattr(choice, "text", None):
                        self.call.output_seen()
                        if self.text is not None:
                            self.text.append(choice.text)
                elif delta.content or delta.tool_calls or getattr(delta, "refusal", None):
                    call = self.call  # Call.output_seen() inlined: this runs for nearly every chunk
                    now = perf_counter()
                    if call.first_output is None:
                        call.first_output = now
                    call.last_output = now
                    if self.text is not None and delta.content:
                        self.text.append(delta.content)
                reason = choice.finish_reason
                if reason:
                    self.finish_reasons.append(reason)
                    self.complete = True
        usage = chunk.usage
        if usage is not None:
            self.usage = from_openai_chat(usage)
            return self.hide_usage_chunk and not choices
        if self.hide_usage_chunk:  # what restore() does, inlined for the hot path
            chunk.__pydantic_fields_set__.discard("usage")
        return False

    def restore(self, chunk: Any) -> bool:
        if not self.hide_usage_chunk:
            return False
        if chunk.usage is not None:
            return not chunk.choices
        # Asked for usage, the API sends ``"usage": null`` on every chunk: unset it again so that
        # ``to_dict()`` / ``model_dump(exclude_unset=True)`` equal an uninstrumented run's.
        chunk.__pydantic_fields_set__.discard("usage")
        return False


class ResponsesState(StreamState):
    """Responses API events: usage arrives with the terminal ``response.*`` event."""

    __slots__ = ("failed",)

    def __init__(self, call: Call, usage_requested: bool = True, hide_usage_chunk: bool = False) -> None:
        super().__init__(call, usage_requested, hide_usage_chunk)
        self.failed: str | None = None

    def observe(self, event: Any) -> bool:
        kind = event.type
        if kind.endswith(".delta"):
            self.call.output_seen()
            if self.text is not None and kind == "response.output_text.delta":
                self.text.append(event.delta)
        elif kind in ("response.completed", "response.incomplete", "response.failed"):
            response = event.response
            self.response_model = response.model
            self.response_id = response.id
            self.usage = from_openai_responses(response.usage)
            self.finish_reasons.append(responses_finish_reason(response))
            self.complete = True
            if kind == "response.failed":
                self.failed = _responses_error(response)
        elif kind == "response.created":
            self.response_model = event.response.model
            self.response_id = event.response.id
        elif kind == "error":
            self.failed = "other"
            self.complete = True
        return False

    def failure(self) -> str | None:
        return self.failed


def responses_finish_reason(response: Any) -> str:
    """A finish reason for a Responses API result, from its status and output items."""
    status = getattr(response, "status", None)
    if status == "incomplete":
        reason = getattr(getattr(response, "incomplete_details", None), "reason", None)
        return "length" if reason == "max_output_tokens" else str(reason or "incomplete")
    for item in getattr(response, "output", None) or ():
        if getattr(item, "type", None) == "function_call":
            return "tool_calls"
    return "stop" if status in ("completed", None) else str(status)


def _responses_error(response: Any) -> str:
    from ..errors import classify_status

    code = str(getattr(getattr(response, "error", None), "code", "") or "")
    if code in ("rate_limit_exceeded",):
        return "rate_limit"
    if code in ("server_error",):
        return "server"
    return classify_status(400, code) if code else "other"


def _finish_chat(call: Call, result: Any) -> None:
    reasons = [c.finish_reason for c in (getattr(result, "choices", None) or ()) if c.finish_reason]
    call.succeed(
        from_openai_chat(getattr(result, "usage", None)),
        getattr(result, "model", None),
        getattr(result, "id", None),
        reasons,
    )


def _finish_responses(call: Call, result: Any) -> None:
    usage = from_openai_responses(getattr(result, "usage", None))
    reasons = [responses_finish_reason(result)]
    model, rid = getattr(result, "model", None), getattr(result, "id", None)
    if getattr(result, "status", None) == "failed":
        call.fail(None, _responses_error(result), usage, model, rid, reasons)
    else:
        call.succeed(usage, model, rid, reasons)


def _finish_embeddings(call: Call, result: Any) -> None:
    call.succeed(from_openai_chat(getattr(result, "usage", None)), getattr(result, "model", None))


@dataclass(frozen=True, slots=True)
class Endpoint:
    """How one SDK method maps onto the recording path."""

    operation: str
    finish: Callable[[Call, Any], None]
    state: type[StreamState] | None
    injects_usage: bool


CHAT = Endpoint("chat", _finish_chat, ChatState, True)
TEXT = Endpoint("text_completion", _finish_chat, ChatState, True)
RESPONSES = Endpoint("chat", _finish_responses, ResponsesState, False)
EMBEDDINGS = Endpoint("embeddings", _finish_embeddings, None, False)


# -- the wrappers ---------------------------------------------------------------------------------


@guarded("begin", (None, True, False))
def _prepare(ep: Endpoint, instance: Any, kwargs: dict[str, Any]) -> tuple[Call | None, bool, bool]:
    """Start the call; for chat streams, ask for the usage chunk. Returns (call, requested, hide)."""
    stream = kwargs.get("stream") is True
    tel = active()
    if tel is None:
        return None, True, False
    provider, address, port = _client_info(instance)
    call = begin(
        provider,
        ep.operation,
        kwargs.get("model"),
        stream=stream,
        server_address=address,
        server_port=port,
        attributes=request_attributes(kwargs) if tel.tracing.tracer is not None else None,
    )
    if call is not None and call.captures:
        _capture_input(call, kwargs)
    if call is None or not stream or not ep.injects_usage:
        return call, True, False
    return call, *ask_for_usage(kwargs, tel.settings.inject_stream_usage)


def _capture_input(call: Call, kwargs: dict[str, Any]) -> None:
    """Opt-in content capture of the request: messages, Responses input and instructions, or prompt."""
    try:
        _capture_request(call, kwargs)
    except Exception as exc:
        internal_error("content", exc)


def _capture_request(call: Call, kwargs: dict[str, Any]) -> None:
    for key in ("messages", "input", "prompt"):
        value = kwargs.get(key)
        if isinstance(value, (str, list, tuple)):
            call.capture(content.INPUT, content.input_json(value))
            break
    instructions = kwargs.get("instructions")
    if isinstance(instructions, str):
        call.capture(content.SYSTEM, instructions)


def _output_texts(result: Any) -> list[str]:
    """Assistant text of a non-stream result, one entry per choice (content capture only)."""
    text = getattr(result, "output_text", None)  # Responses API
    if isinstance(text, str):
        return [text]
    out = []
    for choice in getattr(result, "choices", None) or ():
        message = getattr(choice, "message", None)
        value = getattr(message, "content", None) if message is not None else getattr(choice, "text", None)
        out.append(value if isinstance(value, str) else "")
    return out


def _settle(
    ep: Endpoint, call: Call, result: Any, parsed: Any, requested: bool, hide: bool, proxy: type
) -> Any:
    """Record a non-stream result, or wrap a stream; returns what the caller gets."""
    try:
        if call.stream and ep.state is not None:
            wrapped = proxy(parsed, ep.state(call, requested, hide))
            if parsed is result:
                return wrapped
            replace_parsed(result, parsed, wrapped)
            return result
        if call.captures:
            texts = _output_texts(parsed)
            if texts:
                reasons = [c.finish_reason or "" for c in getattr(parsed, "choices", None) or ()]
                call.capture(content.OUTPUT, content.output_json(texts, reasons))
        ep.finish(call, parsed)
    except Exception as exc:
        internal_error("result", exc)
        call.succeed(None)
    return result


def _sync_wrapper(ep: Endpoint) -> Callable[..., Any]:
    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        call, requested, hide = _prepare(ep, instance, kwargs)
        if call is None:
            return wrapped(*args, **kwargs)
        with call:
            result = wrapped(*args, **kwargs)
        parsed = result
        if not isinstance(result, BaseModel) and is_raw_response(result):
            try:
                parsed = result.parse()
            except Exception as exc:
                call.fail(exc)
                return result
        return _settle(ep, call, result, parsed, requested, hide, StreamProxy)

    return wrapper


def _async_wrapper(ep: Endpoint) -> Callable[..., Any]:
    async def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        call, requested, hide = _prepare(ep, instance, kwargs)
        if call is None:
            return await wrapped(*args, **kwargs)
        with call:
            result = await wrapped(*args, **kwargs)
        parsed = result
        if not isinstance(result, BaseModel) and is_raw_response(result):
            try:
                parsed = result.parse()
                if inspect.isawaitable(parsed):
                    parsed = await parsed
            except Exception as exc:
                call.fail(exc)
                return result
        return _settle(ep, call, result, parsed, requested, hide, AsyncStreamProxy)

    return wrapper


def _helper_close(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    """``.stream()`` helpers close the HTTP response, not the stream they read: end our proxy's call here,
    else a helper left early stays in flight until the garbage collector finds it."""
    state = getattr(getattr(instance, "_raw_stream", None), "_self_state", None)
    if isinstance(state, StreamState):
        state.end("cancelled")  # idempotent: a no-op after the stream was exhausted
    return wrapped(*args, **kwargs)


def patches() -> list[Patch]:
    """Every hook this integration installs (classes resolved from the installed SDK)."""
    from openai._base_client import AsyncAPIClient, SyncAPIClient
    from openai.lib.streaming import chat as chat_helpers
    from openai.lib.streaming import responses as responses_helpers
    from openai.resources import completions as text
    from openai.resources import embeddings
    from openai.resources.chat import completions as chat
    from openai.resources.responses import responses

    out = [
        Patch(chat.Completions, "create", _sync_wrapper(CHAT)),
        Patch(chat.Completions, "parse", _sync_wrapper(CHAT)),
        Patch(chat.AsyncCompletions, "create", _async_wrapper(CHAT)),
        Patch(chat.AsyncCompletions, "parse", _async_wrapper(CHAT)),
        Patch(responses.Responses, "create", _sync_wrapper(RESPONSES)),
        Patch(responses.AsyncResponses, "create", _async_wrapper(RESPONSES)),
        Patch(text.Completions, "create", _sync_wrapper(TEXT)),
        Patch(text.AsyncCompletions, "create", _async_wrapper(TEXT)),
        Patch(embeddings.Embeddings, "create", _sync_wrapper(EMBEDDINGS)),
        Patch(embeddings.AsyncEmbeddings, "create", _async_wrapper(EMBEDDINGS)),
        Patch(SyncAPIClient, "_sleep_for_retry", retry_wrapper),
        Patch(AsyncAPIClient, "_sleep_for_retry", retry_wrapper),
        Patch(chat_helpers.ChatCompletionStream, "close", _helper_close),
        Patch(chat_helpers.AsyncChatCompletionStream, "close", _helper_close),
        Patch(responses_helpers.ResponseStream, "close", _helper_close),
        Patch(responses_helpers.AsyncResponseStream, "close", _helper_close),
    ]
    if "parse" in vars(responses.Responses):
        out.append(Patch(responses.Responses, "parse", _sync_wrapper(RESPONSES)))
        out.append(Patch(responses.AsyncResponses, "parse", _async_wrapper(RESPONSES)))
    return out
