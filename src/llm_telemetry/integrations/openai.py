"""OpenAI SDK (2.x over httpx, 3.x over httpx2): its tables and stream states on the shared skeleton.

Hooked, sync and async: chat ``create``/``parse`` (``.stream()`` calls ``create``, so it is counted
once), Responses ``create``/``parse`` (and ``.stream()``), legacy ``completions.create``,
``embeddings.create``, ``images.generate``/``images.edit`` (operation ``image_generation``, streamed
or not), and the SDK's retry sleep. ``with_raw_response`` / ``with_streaming_response``
go through the same methods; the caller still receives the raw response object.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from .. import content
from ..contract import GenAI
from ..errors import classify_status
from ..providers import provider_for_host
from ..record import Call, begin
from ..streams import StreamRequest, StreamState
from ..usage import from_groq_x, from_openai_chat, from_openai_images, from_openai_responses
from . import _openai_compat as compat
from ._patch import Patch
from ._skeleton import NO_STREAM_REQUEST, Endpoint, async_wrapper, guarded, refused_locally, sync_wrapper
from ._stainless import retry_wrapper, server_of

__all__ = ["ChatState", "ImagesState", "ResponsesState", "patches", "provider_of"]

#: Request keyword -> span attribute.
REQUEST_ATTRIBUTES = {
    "temperature": GenAI.REQUEST_TEMPERATURE,
    "top_p": GenAI.REQUEST_TOP_P,
    "max_tokens": GenAI.REQUEST_MAX_TOKENS,
    "max_completion_tokens": GenAI.REQUEST_MAX_TOKENS,
    "max_output_tokens": GenAI.REQUEST_MAX_TOKENS,
    "frequency_penalty": GenAI.REQUEST_FREQUENCY_PENALTY,
    "presence_penalty": GenAI.REQUEST_PRESENCE_PENALTY,
    "seed": GenAI.REQUEST_SEED,
    "n": GenAI.REQUEST_CHOICE_COUNT,
}


def provider_of(resource: Any) -> str:
    """``gen_ai.provider.name`` of the client behind a resource (Azure, OpenAI-compatible hosts)."""
    client = resource._client
    if type(client).__name__.startswith(("AzureOpenAI", "AsyncAzureOpenAI")):
        return "azure.ai.openai"
    url = client.base_url
    return provider_for_host(str(url.host or ""), "openai", str(url.path or ""))


class _Client:
    """What a client object tells every call: provider, server, Azure api-version."""

    __slots__ = ("address", "azure_version", "port", "provider")

    def __init__(self, resource: Any) -> None:
        self.provider = provider_of(resource)
        self.address, self.port = server_of(resource)
        version = getattr(resource._client, "_api_version", None)
        self.azure_version = version if isinstance(version, str) else None


#: id(client) -> (its base_url object, its type, what it tells). The URL object and the type are
#: compared by identity, so a reused id or a replaced ``base_url`` is a miss.
_clients: dict[int, tuple[Any, type, _Client]] = {}


def _client(resource: Any) -> _Client:
    client = resource._client
    url = client.__dict__.get("_base_url") or client.base_url  # what the property returns, without its frame
    found = _clients.get(id(client))
    if found is not None and found[0] is url and found[1] is type(client):
        return found[2]
    info = _Client(resource)
    if len(_clients) < 4096:
        _clients[id(client)] = (url, type(client), info)
    return info


# -- what each endpoint's results mean ------------------------------------------------------------


class ChatState(StreamState):
    """Chat Completions and legacy Completions chunks."""

    __slots__ = ("groq", "host")

    def __init__(self, call: Call, request: StreamRequest) -> None:
        super().__init__(call, request)
        self.host = request.host
        self.groq = call.provider == "groq"

    def attach(self, stream: Any) -> None:
        if self.call.provider == "openrouter":
            _read_error_events(stream, self)
        if self.hide_usage_chunk and compat.always_sends_usage(
            getattr(self.http_response(stream), "headers", None)
        ):
            compat.learn_always(self.host)
            self.hide_usage_chunk = False

    def observe(self, chunk: Any) -> bool:
        if not self.response_model:  # Azure's first chunk (prompt filter results) has model "" and id ""
            self.response_model = getattr(chunk, "model", None) or None
            self.response_id = getattr(chunk, "id", None) or None
        choices = chunk.choices
        if choices:
            if self.call.first_output is None or self.text is not None:  # until the first token only
                self._output(choices)
            for choice in choices:
                if choice.finish_reason:
                    self.finished(choice.index or 0, choice.finish_reason)
        usage = chunk.usage
        if usage is not None:
            self.usage = from_openai_chat(usage, self.call.provider, getattr(chunk, "service_tier", None))
        elif self.groq:  # Groq streams put usage on the last chunk's ``x_groq`` only
            x_groq = (chunk.model_extra or {}).get("x_groq")
            if x_groq is not None:
                self.usage = from_groq_x(x_groq) or self.usage
        if not self.hide_usage_chunk:
            return False
        if choices:  # asked for usage, the API sends ``"usage": null`` on every chunk: unset it again
            chunk.__pydantic_fields_set__.discard("usage")  # so ``model_dump(exclude_unset=True)`` agrees
            return False
        return self._hidden(chunk)

    def _output(self, choices: Any) -> None:
        """Output in these choices: the first token's time, and the text when capturing content."""
        for choice in choices:
            delta = choice.delta
            if type(delta) is dict:  # a server's odd shape that the SDK did not turn into a model
                content, seen = delta.get("content"), delta.get("tool_calls") or delta.get("refusal")
            else:
                content, seen = delta.content, delta.tool_calls or getattr(delta, "refusal", None)
            if content or seen:
                self.call.output_seen()
                if self.text is not None and content:
                    self.text.append(content)

    def _hidden(self, chunk: Any) -> bool:
        """A choice-less chunk once the response is complete: ours to hide, unless sent anyway."""
        if not self.complete:
            return False
        if compat.sends_usage_anyway(getattr(chunk, "model_extra", None)):
            compat.learn_always(self.host)
            self.hide_usage_chunk = False
            return False
        return True

    def restore(self, chunk: Any) -> bool:
        if not self.hide_usage_chunk:
            return False
        if chunk.choices:
            chunk.__pydantic_fields_set__.discard("usage")
            return False
        return chunk.usage is not None or self.complete


class TextState(ChatState):
    """Legacy Completions chunks: the text rides on the choice, not on a delta."""

    __slots__ = ()

    def _output(self, choices: Any) -> None:
        for choice in choices:
            if choice.text:
                self.call.output_seen()
                if self.text is not None:
                    self.text.append(choice.text)


def _read_error_events(stream: Any, state: ChatState) -> None:
    """Keep the billed usage of an OpenRouter stream that fails midway.

    OpenRouter reports such a failure as a chunk carrying ``error`` and, for what the provider already
    billed, ``usage`` (https://openrouter.ai/docs/api/reference/streaming, "Handling Errors During
    Streaming"). The SDK raises ``APIError`` on that chunk, so no proxy ever sees it: its server-sent
    events are read first instead. ``Stream.__stream__`` calls ``self._iter_events()`` on its first
    ``next()``, after this runs. Costs one substring test per event, for OpenRouter streams only.
    """
    events = getattr(stream, "_iter_events", None)
    if events is None:
        return
    if inspect.isasyncgenfunction(events):

        async def async_events() -> AsyncIterator[Any]:
            async for sse in events():
                if '"error"' in sse.data:
                    _error_event(state, sse.data)
                yield sse

        stream._iter_events = async_events
        return

    def sync_events() -> Iterator[Any]:
        for sse in events():
            if '"error"' in sse.data:
                _error_event(state, sse.data)
            yield sse

    stream._iter_events = sync_events


@guarded("stream_chunk", None)
def _error_event(state: ChatState, data: str) -> None:
    """The usage of a chunk that also carries ``error`` (the SDK raises on it right after)."""
    chunk = json.loads(data)
    if not isinstance(chunk, dict) or not chunk.get("error") or chunk.get("usage") is None:
        return
    state.usage = from_openai_chat(chunk["usage"], state.call.provider, chunk.get("service_tier"))
    model = chunk.get("model")
    if not state.response_model and isinstance(model, str):
        state.response_model = model or None


class ResponsesState(StreamState):
    """Responses API events: usage arrives with the terminal ``response.*`` event."""

    __slots__ = ("failed",)

    def __init__(self, call: Call, request: StreamRequest) -> None:
        super().__init__(call, request)
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
            self.usage = _responses_usage(self.call, response)
            self.finished(0, responses_finish_reason(response))
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


class ImagesState(StreamState):
    """Streamed ``images.generate``/``images.edit``: partial images, then one ``*.completed`` event,
    the only one with usage (https://platform.openai.com/docs/api-reference/images-streaming)."""

    __slots__ = ()

    def observe(self, event: Any) -> bool:
        self.call.output_seen()  # the first image gives the time to first token
        if getattr(event, "type", None) in ("image_generation.completed", "image_edit.completed"):
            self.usage = from_openai_images(getattr(event, "usage", None))
            self.complete = True  # no output_done(): an image arrives whole, there is no per-token pace
        return False


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
    code = str(getattr(getattr(response, "error", None), "code", "") or "")
    if code == "rate_limit_exceeded":
        return "rate_limit"
    if code == "server_error":
        return "server"
    return classify_status(400, code) if code else "other"


@guarded("content", None)
def _capture_request(call: Call, kwargs: dict[str, Any]) -> None:
    """Opt-in content capture of the request: messages, Responses input and instructions, or prompt."""
    for key in ("messages", "input", "prompt"):
        value = kwargs.get(key)
        if isinstance(value, (str, list, tuple)):
            call.capture(GenAI.INPUT_MESSAGES, content.input_json(value))
            break
    instructions = kwargs.get("instructions")
    if isinstance(instructions, str):
        call.capture(GenAI.SYSTEM_INSTRUCTIONS, instructions)


@guarded("content", None)
def _capture_output(call: Call, result: Any) -> None:
    """Opt-in content capture of a complete result: one message per choice."""
    text = getattr(result, "output_text", None)  # Responses API
    if isinstance(text, str):
        call.capture(GenAI.OUTPUT_MESSAGES, content.output_json([text], [responses_finish_reason(result)]))
        return
    texts, reasons = [], []
    for choice in getattr(result, "choices", None) or ():
        message = getattr(choice, "message", None)
        value = getattr(message, "content", None) if message is not None else getattr(choice, "text", None)
        texts.append(value if isinstance(value, str) else "")
        reasons.append(choice.finish_reason or "")
    if texts:
        call.capture(GenAI.OUTPUT_MESSAGES, content.output_json(texts, reasons))


def _responses_usage(call: Call, response: Any) -> Any:
    return from_openai_responses(
        getattr(response, "usage", None),
        call.provider,
        getattr(response, "output", None),
        getattr(response, "service_tier", None),
    )


def _finish_chat(call: Call, result: Any) -> None:
    reasons = []
    for choice in getattr(result, "choices", None) or ():  # a loop, not a comprehension: no frame
        if choice.finish_reason:
            reasons.append(choice.finish_reason)
    if call.captures:
        _capture_output(call, result)
    call.succeed(
        from_openai_chat(
            getattr(result, "usage", None), call.provider, getattr(result, "service_tier", None)
        ),
        getattr(result, "model", None),
        getattr(result, "id", None),
        reasons,
    )


def _finish_responses(call: Call, result: Any) -> None:
    if call.captures:
        _capture_output(call, result)
    usage = _responses_usage(call, result)
    reasons = [responses_finish_reason(result)]
    model, rid = getattr(result, "model", None), getattr(result, "id", None)
    if getattr(result, "status", None) == "failed":
        call.fail(None, _responses_error(result), usage, model, rid, reasons)
    else:
        call.succeed(usage, model, rid, reasons)


def _finish_embeddings(call: Call, result: Any) -> None:
    call.succeed(
        from_openai_chat(getattr(result, "usage", None), call.provider), getattr(result, "model", None)
    )


def _finish_images(call: Call, result: Any) -> None:
    """An images API result names no model and no id; usage comes for the GPT image models only."""
    call.succeed(from_openai_images(getattr(result, "usage", None)))


CHAT = Endpoint("chat", _finish_chat, ChatState, refused=refused_locally)
TEXT = Endpoint("text_completion", _finish_chat, TextState, refused=refused_locally)
RESPONSES = Endpoint("chat", _finish_responses, ResponsesState, refused=refused_locally)
EMBEDDINGS = Endpoint("embeddings", _finish_embeddings, refused=refused_locally)
IMAGES = Endpoint("image_generation", _finish_images, ImagesState, refused=refused_locally)


def _prepare(
    ep: Endpoint, instance: Any, args: Any, kwargs: dict[str, Any]
) -> tuple[Call | None, StreamRequest]:
    """Start the call; for chat streams, decide what to ask of the stream."""
    client = _client(instance)
    stream = bool(kwargs.get("stream"))
    call = begin(
        client.provider,
        ep.operation,
        kwargs.get("model"),
        stream=stream,
        address=client.address,
        port=client.port,
        params=kwargs,
        table=REQUEST_ATTRIBUTES,
    )
    if call is None:
        return None, NO_STREAM_REQUEST
    if call.captures:
        _capture_request(call, kwargs)
    if not stream or ep.state not in (ChatState, TextState):
        return call, NO_STREAM_REQUEST
    return call, compat.ask_for_usage(
        kwargs, call.tel.settings.inject_stream_usage, client.address, client.azure_version
    )


def _helper_close(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    """``.stream()`` helpers close the HTTP response, not the stream they read: end our proxy's call
    here, else a helper left early stays in flight until the garbage collector finds it."""
    state = getattr(getattr(instance, "_raw_stream", None), "_self_state", None)
    if isinstance(state, StreamState):
        state.end("stopped")  # idempotent: a no-op after the stream was exhausted
    return wrapped(*args, **kwargs)


def patches() -> list[Patch]:
    """Every hook this integration installs (classes resolved from the installed SDK)."""
    from openai._base_client import AsyncAPIClient, SyncAPIClient
    from openai.lib.streaming import chat as chat_helpers
    from openai.lib.streaming import responses as responses_helpers
    from openai.resources import completions as text
    from openai.resources import embeddings, images
    from openai.resources.chat import completions as chat
    from openai.resources.responses import responses

    out = [
        Patch(SyncAPIClient, "_sleep_for_retry", retry_wrapper),
        Patch(AsyncAPIClient, "_sleep_for_retry", retry_wrapper),
        Patch(chat_helpers.ChatCompletionStream, "close", _helper_close),
        Patch(chat_helpers.AsyncChatCompletionStream, "close", _helper_close),
        Patch(responses_helpers.ResponseStream, "close", _helper_close),
        Patch(responses_helpers.AsyncResponseStream, "close", _helper_close),
    ]
    for ep, sync_cls, async_cls, names in (
        (CHAT, chat.Completions, chat.AsyncCompletions, ("create", "parse")),
        (TEXT, text.Completions, text.AsyncCompletions, ("create",)),
        (RESPONSES, responses.Responses, responses.AsyncResponses, ("create", "parse")),
        (EMBEDDINGS, embeddings.Embeddings, embeddings.AsyncEmbeddings, ("create",)),
        (IMAGES, images.Images, images.AsyncImages, ("generate", "edit")),
    ):
        asks = ep.state in (ChatState, TextState)  # streams that may be asked for their usage chunk
        invoke, invoke_async = (compat.invoke, compat.invoke_async) if asks else (None, None)
        for name in names:
            if name in vars(sync_cls):
                out.append(Patch(sync_cls, name, sync_wrapper(ep, _prepare, invoke)))
                out.append(Patch(async_cls, name, async_wrapper(ep, _prepare, invoke_async)))
    return out
