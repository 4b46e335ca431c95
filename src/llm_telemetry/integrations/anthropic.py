"""Anthropic SDK: maps Messages calls onto the shared recording path.

Hooked, sync and async: ``messages.create`` (streamed or not), ``messages.parse``, ``messages.stream``
and the same three under ``beta.messages``; ``with_raw_response`` / ``with_streaming_response`` go
through ``create``. ``.stream()`` never calls ``create``: its manager sends the request only when
entered, so the manager's pending request is replaced by one that starts the call and hands back a
proxied raw stream. Every helper of the high-level stream (iteration, ``text_stream``,
``get_final_message()``, ``until_done()``, ``close()``) reads that raw stream, so usage is counted
once however it is consumed. ``count_tokens`` is not hooked: it bills nothing. The Bedrock and Vertex
clients share these resources; the client's class gives the provider.

The SDK emits its own CLIENT span per API call, with ``gen_ai.usage.*``, so a trace backend would
sum usage twice. When ``suppress_sdk_spans`` is on and one of our spans owns the call, the SDK's
``start_api_call_span`` is made to return a non-recording span carrying our span's context: the SDK
records nothing, yet still propagates trace context (``traceparent`` now names our span, so
server-side spans hang under it). This is decided per call, so the SDK's spans for calls we do not
record (``count_tokens``, files, batches) stay, and the user's ``open_telemetry`` client option and
``ANTHROPIC_OPEN_TELEMETRY*`` variables are left alone; ``uninstrument()`` restores the function.
Setting the environment variable instead would reach only clients built afterwards and leak into
child processes.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Generator
from typing import Any

from opentelemetry.trace import NonRecordingSpan

from .. import content
from ..contract import GenAI
from ..record import Call, active, begin, current_call, internal_error
from ..streams import AsyncStreamProxy, StreamProxy, StreamRequest, StreamState
from ..usage import ANTHROPIC_NESTED_FIELDS, ANTHROPIC_USAGE_FIELDS, from_anthropic
from ._patch import Patch
from ._skeleton import (
    NO_STREAM_REQUEST,
    Endpoint,
    async_wrapper,
    field,
    guarded,
    refused_locally,
    settle,
    sync_wrapper,
)
from ._stainless import retry_wrapper, server_of

__all__ = ["MessagesState", "patches", "provider_of"]

_CLIENT_PROVIDERS = (("Bedrock", "aws.bedrock"), ("Vertex", "gcp.vertex_ai"))
_providers: dict[type, str] = {}

#: Request keyword -> span attribute.
REQUEST_ATTRIBUTES = {
    "max_tokens": GenAI.REQUEST_MAX_TOKENS,
    "temperature": GenAI.REQUEST_TEMPERATURE,
    "top_p": GenAI.REQUEST_TOP_P,
    "top_k": GenAI.REQUEST_TOP_K,
}

#: Deltas that carry model output (signature and citation deltas do not start the answer).
_OUTPUT_DELTAS = frozenset(("text_delta", "thinking_delta", "input_json_delta"))


def provider_of(resource: Any) -> str:
    """``gen_ai.provider.name`` of the client behind a resource: Bedrock, Vertex, else Anthropic."""
    cls = type(resource._client)
    found = _providers.get(cls)
    if found is None:
        names = [c.__name__ for c in cls.__mro__]
        found = next((p for marker, p in _CLIENT_PROVIDERS if any(marker in n for n in names)), "anthropic")
        _providers[cls] = found
    return found


@guarded("content", None)
def _capture_request(call: Call, kwargs: dict[str, Any]) -> None:
    messages, system = kwargs.get("messages"), kwargs.get("system")
    if isinstance(messages, (list, tuple)):
        call.capture(GenAI.INPUT_MESSAGES, content.input_json(messages))
    if isinstance(system, (str, list)):
        call.capture(
            GenAI.SYSTEM_INSTRUCTIONS, system if isinstance(system, str) else content.input_json(system)
        )


def _prepare(
    ep: Endpoint, instance: Any, args: Any, kwargs: dict[str, Any]
) -> tuple[Call | None, StreamRequest]:
    address, port = server_of(instance)
    call = begin(
        provider_of(instance),
        "chat",
        kwargs.get("model"),
        stream=bool(kwargs.get("stream")) or ep is STREAM,
        address=address,
        port=port,
        params=kwargs,
        table=REQUEST_ATTRIBUTES,
    )
    if call is not None and call.captures:
        _capture_request(call, kwargs)
    return call, NO_STREAM_REQUEST


class MessagesState(StreamState):
    """Raw Messages stream events.

    ``message_start`` carries input and cache counts; each ``message_delta`` usage is cumulative and
    may restate them. Raw fields are merged (latest non-null wins) and usage is computed from the
    merge, so nothing is ever added twice.
    """

    __slots__ = ("raw",)

    def __init__(self, call: Call, request: StreamRequest) -> None:
        super().__init__(call, request)
        self.raw: dict[str, Any] = {}

    def observe(self, event: Any) -> bool:
        kind = event.type
        if kind == "content_block_delta":
            if self.call.first_output is None or self.text is not None:  # until the first token only
                self._output(event.delta)
        elif kind == "message_delta":
            self.merge(event.usage)
            reason = event.delta.stop_reason
            if reason:
                self.finished(0, reason)
        elif kind == "message_start":
            message = event.message
            self.response_model = message.model
            self.response_id = message.id
            self.merge(message.usage)
        elif kind == "message_stop":
            self.complete = True
        return False

    def _output(self, delta: Any) -> None:
        if delta.type in _OUTPUT_DELTAS:
            self.call.output_seen()
            if self.text is not None and delta.type == "text_delta":
                self.text.append(delta.text)

    def merge(self, usage: Any) -> None:
        """Take the non-null raw usage fields of one event (a few per stream, never per chunk)."""
        if usage is None:
            return
        raw = self.raw
        for name in ANTHROPIC_USAGE_FIELDS:
            value = getattr(usage, name, None)
            if value is not None:
                raw[name] = value
        for outer, inner in ANTHROPIC_NESTED_FIELDS:
            nested = getattr(usage, outer, None)
            if nested is not None:
                merged = raw.setdefault(outer, {})
                for name in inner:
                    value = field(nested, name)
                    if value is not None:
                        merged[name] = value
        self.usage = from_anthropic(raw)


def _finish(call: Call, message: Any) -> None:
    reason = getattr(message, "stop_reason", None)
    if call.captures:
        _capture_output(call, message, reason)
    call.succeed(
        from_anthropic(getattr(message, "usage", None)),
        getattr(message, "model", None),
        getattr(message, "id", None),
        [reason] if reason else [],
    )


@guarded("content", None)
def _capture_output(call: Call, message: Any, reason: str | None) -> None:
    blocks = getattr(message, "content", None) or ()
    text = "".join(b.text for b in blocks if getattr(b, "type", None) == "text")
    call.capture(GenAI.OUTPUT_MESSAGES, content.output_json([text], [reason or ""]))


MESSAGES = Endpoint("chat", _finish, MessagesState, refused=refused_locally)
#: ``.stream()``: the manager's request is always a stream.
STREAM = Endpoint("chat", _finish, MessagesState)


# -- .stream(): the manager's pending request -----------------------------------------------------


def _pending_request(manager: object) -> str:
    """Name of the manager's private pending request (``_<Manager>__api_request``)."""
    for name in vars(manager):
        if name.endswith("__api_request"):
            return name
    raise AttributeError(f"{type(manager).__name__} has no pending request to instrument")


class _Deferred:
    """An awaitable whose coroutine is made only when awaited, so an unentered manager warns as before."""

    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        self.make = make

    def __await__(self) -> Generator[Any, None, Any]:
        return self.make().__await__()


#: ``_prepare`` for the stream managers' requests, which the skeleton's wrappers (and their guard) do not run.
_begin_stream = guarded("begin", (None, NO_STREAM_REQUEST))(_prepare)


def _owned_request(request: Any, instance: Any, args: Any, kwargs: Any) -> Callable[[], Any]:
    """The manager's pending request (a callable), sent as a recorded call whose stream we proxy."""

    def api_request() -> Any:
        call, _ = _begin_stream(STREAM, instance, args, kwargs)
        if call is None:
            return request()
        with call:
            raw = request()
        return settle(STREAM, call, raw, raw, NO_STREAM_REQUEST, StreamProxy)

    return api_request


def _owned_request_async(request: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    """:func:`_owned_request` for the async manager, whose pending request is an awaitable."""

    async def api_request() -> Any:
        call, _ = _begin_stream(STREAM, instance, args, kwargs)
        if call is None:
            return await request
        with call:
            raw = await request
        return settle(STREAM, call, raw, raw, NO_STREAM_REQUEST, AsyncStreamProxy)

    return _Deferred(api_request)


def _stream_manager(owned: Callable[[Any, Any, Any, Any], Any]) -> Callable[..., Any]:
    """Wraps ``messages.stream()``: the manager it returns sends its request only when entered."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        manager = wrapped(*args, **kwargs)
        if active() is None:
            return manager
        try:
            name = _pending_request(manager)
            setattr(manager, name, owned(getattr(manager, name), instance, args, kwargs))
        except Exception as exc:
            internal_error("begin", exc)
        return manager

    return wrapper


_sync_stream = _stream_manager(_owned_request)
_async_stream = _stream_manager(_owned_request_async)


# -- the SDK's own span ---------------------------------------------------------------------------


def _sdk_span(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    """Wraps ``start_api_call_span``: while our span owns the call, the SDK's span only propagates it."""
    call = current_call()
    if call is not None and call.span is not None and call.tel.settings.suppress_sdk_spans:
        return NonRecordingSpan(call.span.get_span_context())
    return wrapped(*args, **kwargs)


def patches() -> list[Patch]:
    """Every hook this integration installs (classes resolved from the installed SDK)."""
    from anthropic import _base_client
    from anthropic.resources import messages
    from anthropic.resources.beta import messages as beta

    out = [
        Patch(_base_client.SyncAPIClient, "_sleep_for_retry", retry_wrapper),
        Patch(_base_client.AsyncAPIClient, "_sleep_for_retry", retry_wrapper),
    ]
    for sync_cls, async_cls in (
        (messages.Messages, messages.AsyncMessages),
        (beta.Messages, beta.AsyncMessages),
    ):
        out.append(Patch(sync_cls, "stream", _sync_stream))
        out.append(Patch(async_cls, "stream", _async_stream))
        for name in ("create", "parse"):
            if name in vars(sync_cls):
                out.append(Patch(sync_cls, name, sync_wrapper(MESSAGES, _prepare)))
                out.append(Patch(async_cls, name, async_wrapper(MESSAGES, _prepare)))
    if "start_api_call_span" in vars(_base_client):
        out.append(Patch(_base_client, "start_api_call_span", _sdk_span))
    return out
