"""A local fake LLM provider that speaks the real OpenAI, Anthropic, Gemini and Bedrock HTTP wire formats.

Why: the tests and the no-network demo must drive the *real* SDKs (their parsing, retries, stream
iterators and error classes are what the instrumentation hooks into), so faking at the HTTP layer is
the only honest seam. Standard library only, so it works wherever the package imports.

Usage::

    with FakeProvider() as fp:
        fp.script(Chat(usage=openai_usage(12, 3, cached=4)), Error(429), ChatStream(die_after=2))
        client = openai.OpenAI(base_url=fp.openai_base_url, api_key="x")
        ...
        assert fp.requests[0].body["model"] == "gpt-4o-mini"

Each request pops the next scripted reply; with an empty queue a sensible default is served for the
path (streamed when the request body says ``"stream": true``). Shapes were checked against recorded
real traffic: extra fields the SDKs ignore are left out, fields they read are always present.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import re
import socket
import struct
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType, TracebackType
from typing import Any, TypeAlias, cast
from urllib.parse import urlsplit, urlunsplit

from . import _bedrock, _gemini, _images
from ._wire import JSONDict, _Body, _data_event, _json, _named_event, _new_id, _Request, _Stream

__all__ = [
    "Chat",
    "ChatStream",
    "Completion",
    "Embeddings",
    "Error",
    "FakeProvider",
    "Hang",
    "Message",
    "MessageStream",
    "Raw",
    "RecordedRequest",
    "Reply",
    "Responses",
    "ResponsesStream",
    "anthropic_usage",
    "openai_usage",
    "responses_usage",
]

# --------------------------------------------------------------------------------------------------
# Usage helpers: build the providers' real usage shapes, with optional parts only when asked for, so
# tests can also exercise "field absent" by leaving an argument out.
# --------------------------------------------------------------------------------------------------


def openai_usage(
    prompt: int,
    completion: int,
    cached: int | None = None,
    cache_write: int | None = None,
    reasoning: int | None = None,
) -> JSONDict:
    """Chat/completions ``usage``; ``*_tokens_details`` appear only when one of their fields is given."""
    usage: JSONDict = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    prompt_details: JSONDict = {}
    if cached is not None:
        prompt_details["cached_tokens"] = cached
    if cache_write is not None:
        prompt_details["cache_write_tokens"] = cache_write
    if prompt_details:
        usage["prompt_tokens_details"] = prompt_details
    if reasoning is not None:
        usage["completion_tokens_details"] = {"reasoning_tokens": reasoning}
    return usage


def responses_usage(
    input: int,
    output: int,
    cached: int | None = None,
    cache_write: int | None = None,
    reasoning: int | None = None,
) -> JSONDict:
    """Responses API ``usage``; ``*_tokens_details`` appear only when one of their fields is given."""
    usage: JSONDict = {"input_tokens": input, "output_tokens": output, "total_tokens": input + output}
    input_details: JSONDict = {}
    if cached is not None:
        input_details["cached_tokens"] = cached
    if cache_write is not None:
        input_details["cache_write_tokens"] = cache_write
    if input_details:
        usage["input_tokens_details"] = input_details
    if reasoning is not None:
        usage["output_tokens_details"] = {"reasoning_tokens": reasoning}
    return usage


def anthropic_usage(
    input: int,
    output: int,
    cache_read: int | None = None,
    cache_write: int | None = None,
    cache_write_1h: int = 0,
    thinking: int | None = None,
) -> JSONDict:
    """Anthropic ``usage``: ``input_tokens`` excludes cache reads/writes, exactly like the real API.

    ``cache_write`` is the total written; ``cache_write_1h`` of it goes to the 1-hour TTL bucket.
    """
    usage: JSONDict = {"input_tokens": input}
    if cache_write is not None:
        usage["cache_creation_input_tokens"] = cache_write
    if cache_read is not None:
        usage["cache_read_input_tokens"] = cache_read
    if cache_write is not None:
        usage["cache_creation"] = {
            "ephemeral_5m_input_tokens": cache_write - cache_write_1h,
            "ephemeral_1h_input_tokens": cache_write_1h,
        }
    usage["output_tokens"] = output
    if thinking is not None:
        usage["output_tokens_details"] = {"thinking_tokens": thinking}
    return usage


# --------------------------------------------------------------------------------------------------
# Replies
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Chat:
    """OpenAI chat completion JSON. ``usage`` is emitted verbatim; ``None`` omits the key.

    ``tool_call=True`` answers with one function tool call named after the request's forced
    ``tool_choice`` (else its first tool), with ``content`` as the arguments (so make it JSON).
    """

    model: str = "gpt-4o-mini-2024-07-18"
    content: str = "Hello there."
    usage: JSONDict | None = field(default_factory=lambda: openai_usage(12, 3))
    finish_reason: str = "stop"
    tool_call: bool = False
    id: str | None = None


@dataclass(frozen=True, slots=True)
class ChatStream:
    """OpenAI chat completion SSE stream; the usage chunk comes only if the request asked for it.

    ``die_after=N`` closes the socket abruptly after N events (no ``[DONE]``, incomplete body).
    ``choices=N`` streams N choices (``n=N``), each ending with its own finish reason. How the usage
    chunk behaves, for servers that differ from OpenAI's:

    * ``always_usage``: sent even when not asked, with ``timings``, as llama.cpp's server does
      (https://github.com/ggml-org/llama.cpp/issues/16048);
    * ``null_usage``: the chunk we asked for arrives as ``{"choices": [], "usage": null}``;
    * ``usage_delay``: seconds the server waits before sending it (a slow final accounting).

    ``headers`` are added to the response (e.g. LiteLLM proxy's ``x-litellm-*``).
    """

    model: str = "gpt-4o-mini-2024-07-18"
    chunks: tuple[str, ...] = ("Hel", "lo")
    usage: JSONDict | None = field(default_factory=lambda: openai_usage(12, 2))
    finish_reason: str = "stop"
    die_after: int | None = None
    id: str | None = None
    choices: int = 1
    always_usage: bool = False
    null_usage: bool = False
    usage_delay: float = 0.0
    headers: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Completion:
    """Legacy ``/v1/completions``: JSON, or SSE (text split into words) when the request streams."""

    model: str = "gpt-3.5-turbo-instruct"
    text: str = "Hello there."
    usage: JSONDict | None = field(default_factory=lambda: openai_usage(5, 3))
    finish_reason: str = "stop"
    die_after: int | None = None
    id: str | None = None


@dataclass(frozen=True, slots=True)
class Embeddings:
    """Embeddings list with one vector per input; base64 when the request asks (the SDK default)."""

    model: str = "text-embedding-3-small"
    prompt_tokens: int | None = 5
    dimensions: int = 8


@dataclass(frozen=True, slots=True)
class Responses:
    """Responses API JSON. For ``responses.parse(text_format=...)`` make ``content`` valid JSON.

    ``usage`` is emitted verbatim (``None`` emits ``null``); ``status`` may be ``completed``,
    ``incomplete`` (max_output_tokens) or ``failed``.
    """

    model: str = "gpt-4.1-mini-2025-04-14"
    content: str = "Hello there."
    usage: JSONDict | None = field(default_factory=lambda: responses_usage(12, 3))
    status: str = "completed"
    id: str | None = None


@dataclass(frozen=True, slots=True)
class ResponsesStream:
    """Responses API named-event SSE, ``response.created`` through ``response.completed``."""

    model: str = "gpt-4.1-mini-2025-04-14"
    chunks: tuple[str, ...] = ("Hel", "lo")
    usage: JSONDict | None = field(default_factory=lambda: responses_usage(12, 2))
    die_after: int | None = None
    status: str = "completed"
    id: str | None = None


@dataclass(frozen=True, slots=True)
class Message:
    """Anthropic Messages JSON; ``thinking`` adds a thinking block before the text.

    ``tool_call=True`` answers with one ``tool_use`` block (name from the request's forced
    ``tool_choice``, else its first tool) whose input is ``content`` parsed as JSON.
    """

    model: str = "claude-sonnet-4-5-20250929"
    content: str = "Hello there."
    usage: JSONDict | None = field(
        default_factory=lambda: anthropic_usage(12, 3, cache_read=0, cache_write=0)
    )
    stop_reason: str = "end_turn"
    thinking: str | None = None
    tool_call: bool = False
    id: str | None = None


@dataclass(frozen=True, slots=True)
class MessageStream:
    """Anthropic SSE. ``message_start`` carries ``usage`` with ``output_tokens`` 1 (as the real API
    does); ``message_delta`` carries ``delta_usage`` if given, else the full ``usage`` (cumulative).
    """

    model: str = "claude-sonnet-4-5-20250929"
    chunks: tuple[str, ...] = ("Hel", "lo")
    usage: JSONDict | None = field(
        default_factory=lambda: anthropic_usage(12, 2, cache_read=0, cache_write=0)
    )
    stop_reason: str = "end_turn"
    die_after: int | None = None
    delta_usage: JSONDict | None = None
    thinking: str | None = None
    id: str | None = None


@dataclass(frozen=True, slots=True)
class Error:
    """An HTTP error in the provider's own body shape (picked by path), or ``body`` verbatim.

    Retryable statuses get ``retry-after-ms: 1`` so SDK retries do not slow the tests down;
    ``headers`` are merged over those defaults.
    """

    status: int = 429
    body: JSONDict | None = None
    headers: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Raw:
    """Any status, content type and body, sent verbatim (for malformed or exotic responses)."""

    status: int = 200
    content_type: str = "application/json"
    body: str = "{}"
    headers: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Hang:
    """Wait ``seconds`` before answering (to trigger client timeouts), then serve the default."""

    seconds: float = 30.0


#: Anything :meth:`FakeProvider.script` accepts.
Reply: TypeAlias = (
    Chat
    | ChatStream
    | Completion
    | Embeddings
    | Responses
    | ResponsesStream
    | Message
    | MessageStream
    | _images.ImagesReply
    | _gemini.GeminiReply
    | _bedrock.BedrockReply
    | Error
    | Raw
    | Hang
)


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as received: ``path`` includes the query string, header names are lower-cased,
    ``body`` is the parsed JSON (``None`` if the body was empty or not JSON)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


# --------------------------------------------------------------------------------------------------
# Rendering: a reply plus the request it answers becomes either a complete body or a list of SSE
# events. Kept free of socket code so the shapes are easy to read and check.
# --------------------------------------------------------------------------------------------------


def _route(path: str) -> str | None:
    """Map any supported path (OpenAI, Azure deployments, Anthropic incl. ``?beta=true``, Gemini,
    Bedrock) to a kind; images, Gemini and Bedrock kinds start ``images.``, ``gemini.``, ``bedrock.``."""
    p = path.split("?", 1)[0].rstrip("/")
    images = _images.route(p)
    if images is not None:
        return images
    for suffix, route in (
        ("/chat/completions", "chat"),
        ("/completions", "completions"),
        ("/responses", "responses"),
        ("/embeddings", "embeddings"),
        ("/messages", "messages"),
    ):
        if p.endswith(suffix):
            return route
    return _gemini.route(p) or _bedrock.route(p)


def _default_reply(req: _Request) -> Reply:
    """What an unscripted request gets, echoing the requested model so the demo's prices line up."""
    reply: Reply
    if req.route and req.route.startswith("gemini."):
        return _gemini.default_reply(req)
    if req.route and req.route.startswith("bedrock."):
        return _bedrock.default_reply(req)
    if req.route and req.route.startswith("images."):
        return _images.default_reply(req)
    if req.route == "chat":
        reply = ChatStream() if req.stream else Chat()
    elif req.route == "completions":
        reply = Completion()
    elif req.route == "responses":
        reply = ResponsesStream() if req.stream else Responses()
    elif req.route == "embeddings":
        reply = Embeddings()
    elif req.route == "messages":
        reply = MessageStream() if req.stream else Message()
    else:
        return Error(404)
    return replace(reply, model=req.model) if req.model else reply


def _tool_name(req: _Request, anthropic: bool) -> str:
    """The forced tool if any, else the first declared tool: what instructor-style callers expect."""
    choice = req.body.get("tool_choice")
    tools = req.body.get("tools")
    if anthropic:
        if isinstance(choice, dict) and isinstance(choice.get("name"), str):
            return cast(str, choice["name"])
        if isinstance(tools, list) and tools and isinstance(tools[0], dict):
            return str(tools[0].get("name", "tool"))
        return "tool"
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        return str(choice["function"].get("name", "tool"))
    if isinstance(tools, list) and tools and isinstance(tools[0], dict):
        function = tools[0].get("function")
        if isinstance(function, dict):
            return str(function.get("name", "tool"))
    return "tool"


def _render_chat(r: Chat, req: _Request) -> _Body:
    message: JSONDict = {"role": "assistant", "content": r.content, "refusal": None}
    if r.tool_call:
        message["content"] = None
        message["tool_calls"] = [
            {
                "id": _new_id("call_fake"),
                "type": "function",
                "function": {"name": _tool_name(req, anthropic=False), "arguments": r.content},
            }
        ]
    body: JSONDict = {
        "id": r.id or _new_id("chatcmpl-fake"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": r.model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": r.finish_reason}],
        "system_fingerprint": "fp_fake",
    }
    if r.usage is not None:
        body["usage"] = r.usage
    return _json(body)


def _openai_chunks(
    base: JSONDict,
    choices: list[JSONDict],
    usage: JSONDict | None,
    req: _Request,
    always: bool = False,
    null: bool = False,
) -> list[bytes]:
    """Chat/completions chunk framing shared by both endpoints.

    With ``include_usage`` every choice chunk carries ``"usage": null`` and a final chunk with
    ``"choices": []`` carries the usage, exactly as OpenAI sends it; without it there is no usage key.
    """
    events: list[bytes] = []
    for choice in choices:
        chunk = {**base, "choices": [choice]}
        if req.include_usage:
            chunk["usage"] = None
        events.append(_data_event(chunk))
    if always and usage is not None:  # llama.cpp: always, with its timings, whatever was asked
        timings = {"prompt_n": usage.get("prompt_tokens"), "predicted_n": usage.get("completion_tokens")}
        events.append(_data_event({**base, "choices": [], "usage": usage, "timings": timings}))
    elif req.include_usage and null:
        events.append(_data_event({**base, "choices": [], "usage": None}))
    elif req.include_usage and usage is not None:
        events.append(_data_event({**base, "choices": [], "usage": usage}))
    events.append(b"data: [DONE]\n\n")
    return events


def _render_chat_stream(r: ChatStream, req: _Request) -> _Stream:
    base: JSONDict = {
        "id": r.id or _new_id("chatcmpl-fake"),
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": r.model,
        "system_fingerprint": "fp_fake",
    }
    first = {"role": "assistant", "content": "", "refusal": None}
    choices = []
    for index in range(r.choices):
        choices += [
            {"index": index, "delta": delta, "logprobs": None, "finish_reason": None}
            for delta in [first, *({"content": c} for c in r.chunks)]
        ]
        choices.append({"index": index, "delta": {}, "logprobs": None, "finish_reason": r.finish_reason})
    events = _openai_chunks(base, choices, r.usage, req, r.always_usage, r.null_usage)
    delays = {len(choices): r.usage_delay} if r.usage_delay else {}
    return _Stream(events, r.die_after, headers=r.headers or {}, delays=delays)


def _render_completion(r: Completion, req: _Request) -> _Body | _Stream:
    base: JSONDict = {
        "id": r.id or _new_id("cmpl-fake"),
        "object": "text_completion",
        "created": int(time.time()),
        "model": r.model,
    }
    if not req.stream:
        body: JSONDict = {
            **base,
            "choices": [{"text": r.text, "index": 0, "logprobs": None, "finish_reason": r.finish_reason}],
        }
        if r.usage is not None:
            body["usage"] = r.usage
        return _json(body)
    pieces = re.findall(r"\s*\S+", r.text) or [r.text]
    choices: list[JSONDict] = [
        {"text": piece, "index": 0, "logprobs": None, "finish_reason": None} for piece in pieces
    ]
    choices.append({"text": "", "index": 0, "logprobs": None, "finish_reason": r.finish_reason})
    return _Stream(_openai_chunks(base, choices, r.usage, req), r.die_after)


def _render_embeddings(r: Embeddings, req: _Request) -> _Body:
    inputs = req.body.get("input")
    # A string or one pre-tokenized input (a list of ints) is one input; otherwise one per item.
    one = not isinstance(inputs, list) or all(isinstance(x, int) for x in inputs)
    n = 1 if one else len(cast(list[Any], inputs))
    dims = req.body.get("dimensions")
    size = dims if isinstance(dims, int) and dims > 0 else r.dimensions
    as_base64 = req.body.get("encoding_format") == "base64"
    data: list[JSONDict] = []
    for i in range(n):
        vector = [round(((i + 1) * 31 + j * 17) % 100 / 100 - 0.5, 4) for j in range(size)]
        encoded: object = (
            base64.b64encode(struct.pack(f"<{size}f", *vector)).decode() if as_base64 else vector
        )
        data.append({"object": "embedding", "index": i, "embedding": encoded})
    body: JSONDict = {"object": "list", "data": data, "model": r.model}
    if r.prompt_tokens is not None:
        body["usage"] = {"prompt_tokens": r.prompt_tokens, "total_tokens": r.prompt_tokens}
    return _json(body)


def _responses_object(
    *,
    resp_id: str,
    model: str,
    status: str,
    output: list[JSONDict],
    usage: JSONDict | None,
    req: _Request,
    created: int,
) -> JSONDict:
    """A Response object with every field the SDK reads (echoing request settings like the API does)."""
    text = req.body.get("text")
    return {
        "id": resp_id,
        "object": "response",
        "created_at": created,
        "status": status,
        "background": False,
        "completed_at": created if status == "completed" else None,
        "error": {"code": "server_error", "message": "The fake provider failed."}
        if status == "failed"
        else None,
        "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
        "instructions": req.body.get("instructions"),
        "max_output_tokens": req.body.get("max_output_tokens"),
        "model": model,
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": req.body.get("previous_response_id"),
        "reasoning": {"effort": None, "summary": None},
        "service_tier": "default",
        "store": True,
        "temperature": 1.0,
        "text": text if isinstance(text, dict) else {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": usage,
        "user": None,
        "metadata": {},
    }


def _output_text(text: str) -> JSONDict:
    return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}


def _message_item(msg_id: str, status: str, content: list[JSONDict]) -> JSONDict:
    return {"id": msg_id, "type": "message", "status": status, "content": content, "role": "assistant"}


def _render_responses(r: Responses, req: _Request) -> _Body:
    item_status = "completed" if r.status == "completed" else "incomplete"
    output = [_message_item(_new_id("msg_fake"), item_status, [_output_text(r.content)])]
    body = _responses_object(
        resp_id=r.id or _new_id("resp_fake"),
        model=r.model,
        status=r.status,
        output=output,
        usage=r.usage,
        req=req,
        created=int(time.time()),
    )
    return _json(body)


def _render_responses_stream(r: ResponsesStream, req: _Request) -> _Stream:
    resp_id, msg_id, created = r.id or _new_id("resp_fake"), _new_id("msg_fake"), int(time.time())
    text = "".join(r.chunks)
    seq = itertools.count()

    def event(name: str, payload: JSONDict) -> bytes:
        return _named_event(name, {"type": name, **payload, "sequence_number": next(seq)})

    def response(status: str, output: list[JSONDict], usage: JSONDict | None) -> JSONDict:
        return _responses_object(
            resp_id=resp_id,
            model=r.model,
            status=status,
            output=output,
            usage=usage,
            req=req,
            created=created,
        )

    where: JSONDict = {"item_id": msg_id, "output_index": 0, "content_index": 0}
    item_status = "completed" if r.status == "completed" else "incomplete"
    done_item = _message_item(msg_id, item_status, [_output_text(text)])
    events = [
        event("response.created", {"response": response("in_progress", [], None)}),
        event("response.in_progress", {"response": response("in_progress", [], None)}),
        event(
            "response.output_item.added",
            {"item": _message_item(msg_id, "in_progress", []), "output_index": 0},
        ),
        event("response.content_part.added", {**where, "part": _output_text("")}),
        *(event("response.output_text.delta", {**where, "delta": c, "logprobs": []}) for c in r.chunks),
        event("response.output_text.done", {**where, "text": text, "logprobs": []}),
        event("response.content_part.done", {**where, "part": _output_text(text)}),
        event("response.output_item.done", {"item": done_item, "output_index": 0}),
        event(f"response.{r.status}", {"response": response(r.status, [done_item], r.usage)}),
    ]
    return _Stream(events, r.die_after)


def _anthropic_content(r: Message, req: _Request) -> list[JSONDict]:
    content: list[JSONDict] = []
    if r.thinking is not None:
        content.append({"type": "thinking", "thinking": r.thinking, "signature": "fake-signature"})
    if r.tool_call:
        try:
            tool_input: object = json.loads(r.content)
        except ValueError:
            tool_input = {}
        content.append(
            {
                "type": "tool_use",
                "id": _new_id("toolu_fake"),
                "name": _tool_name(req, anthropic=True),
                "input": tool_input,
            }
        )
    else:
        content.append({"type": "text", "text": r.content})
    return content


def _render_message(r: Message, req: _Request) -> _Body:
    body: JSONDict = {
        "model": r.model,
        "id": r.id or _new_id("msg_01Fake"),
        "type": "message",
        "role": "assistant",
        "content": _anthropic_content(r, req),
        "stop_reason": r.stop_reason,
        "stop_sequence": None,
    }
    if r.usage is not None:
        body["usage"] = r.usage
    return _json(body)


def _render_message_stream(r: MessageStream) -> _Stream:
    message: JSONDict = {
        "model": r.model,
        "id": r.id or _new_id("msg_01Fake"),
        "type": "message",
        "role": "assistant",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
    }
    if r.usage is not None:
        start_usage = {k: v for k, v in r.usage.items() if k != "output_tokens_details"}
        message["usage"] = {**start_usage, "output_tokens": 1}
    events = [_named_event("message_start", {"type": "message_start", "message": message})]

    def block(index: int, start: JSONDict, deltas: list[JSONDict]) -> list[bytes]:
        out = [
            _named_event(
                "content_block_start", {"type": "content_block_start", "index": index, "content_block": start}
            )
        ]
        if index == 0:
            out.append(_named_event("ping", {"type": "ping"}))
        out += [
            _named_event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d})
            for d in deltas
        ]
        out.append(_named_event("content_block_stop", {"type": "content_block_stop", "index": index}))
        return out

    index = 0
    if r.thinking is not None:
        events += block(
            index,
            {"type": "thinking", "thinking": "", "signature": ""},
            [
                {"type": "thinking_delta", "thinking": r.thinking},
                {"type": "signature_delta", "signature": "fake-signature"},
            ],
        )
        index += 1
    events += block(
        index, {"type": "text", "text": ""}, [{"type": "text_delta", "text": c} for c in r.chunks]
    )
    delta: JSONDict = {
        "type": "message_delta",
        "delta": {"stop_reason": r.stop_reason, "stop_sequence": None},
    }
    usage = r.delta_usage if r.delta_usage is not None else r.usage
    if usage is not None:
        delta["usage"] = usage
    events.append(_named_event("message_delta", delta))
    events.append(_named_event("message_stop", {"type": "message_stop"}))
    return _Stream(events, r.die_after)


_OPENAI_ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request (fake provider)."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided (fake provider)."),
    403: ("invalid_request_error", None, "Forbidden (fake provider)."),
    404: ("invalid_request_error", "model_not_found", "The model does not exist (fake provider)."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached (fake provider)."),
}
_ANTHROPIC_ERRORS: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def _render_error(r: Error, req: _Request) -> _Body:
    headers: dict[str, str] = {}
    if r.status in (408, 409, 429) or r.status >= 500:  # what the SDKs retry
        headers["retry-after-ms"] = "1"
    headers.update(r.headers or {})
    if r.body is not None:
        return _json(r.body, r.status, headers)
    if req.route and req.route.startswith("gemini."):
        return _gemini.error(r.status, headers)
    if req.route and req.route.startswith("bedrock."):
        return _bedrock.error(r.status, headers)
    if req.route == "messages":
        kind = _ANTHROPIC_ERRORS.get(r.status, "api_error" if r.status >= 500 else "invalid_request_error")
        message = "Overloaded" if r.status == 529 else f"{kind} (fake provider)."
        body: JSONDict = {
            "type": "error",
            "error": {"type": kind, "message": message},
            "request_id": _new_id("req_fake"),
        }
        return _json(body, r.status, headers)
    default = ("server_error", None, "The server had an error (fake provider).")
    if r.status < 500:
        default = ("invalid_request_error", None, f"Error {r.status} (fake provider).")
    kind, code, message = _OPENAI_ERRORS.get(r.status, default)
    return _json(
        {"error": {"message": message, "type": kind, "param": None, "code": code}}, r.status, headers
    )


def _render(reply: Reply, req: _Request) -> _Body | _Stream:
    if isinstance(reply, Chat):
        return _render_chat(reply, req)
    if isinstance(reply, ChatStream):
        return _render_chat_stream(reply, req)
    if isinstance(reply, Completion):
        return _render_completion(reply, req)
    if isinstance(reply, Embeddings):
        return _render_embeddings(reply, req)
    if isinstance(reply, Responses):
        return _render_responses(reply, req)
    if isinstance(reply, ResponsesStream):
        return _render_responses_stream(reply, req)
    if isinstance(reply, Message):
        return _render_message(reply, req)
    if isinstance(reply, MessageStream):
        return _render_message_stream(reply)
    if isinstance(reply, _images.IMAGES_REPLIES):
        return _images.render(reply, req)
    if isinstance(reply, _gemini.GEMINI_REPLIES):
        return _gemini.render(reply, req)
    if isinstance(reply, _bedrock.BEDROCK_REPLIES):
        return _bedrock.render(reply, req)
    if isinstance(reply, Error):
        return _render_error(reply, req)
    if isinstance(reply, Raw):
        return _Body(reply.status, reply.content_type, reply.body.encode(), reply.headers or {})
    return _render(_default_reply(req), req)  # Hang: the wait already happened


#: What strict servers answer to a request field they do not know (``stream_options`` here).
_STRICT: dict[str, tuple[int, Callable[[str], JSONDict]]] = {
    # Mistral's API validates with pydantic and forbids extra fields (HTTP 422, FastAPI's shape):
    # https://docs.mistral.ai/api/ (chat completion request has no stream_options).
    "mistral": (
        422,
        lambda name: {
            "object": "error",
            "message": {
                "detail": [
                    {
                        "type": "extra_forbidden",
                        "loc": ["body", name],
                        "msg": "Extra inputs are not permitted",
                        "input": {"include_usage": True},
                    }
                ]
            },
            "type": "invalid_request_message_error",
            "param": None,
            "code": None,
        },
    ),
    # Azure OpenAI before api-version 2024-09-01-preview:
    # https://learn.microsoft.com/en-us/azure/ai-services/openai/reference (stream_options added then).
    "azure": (
        400,
        lambda name: {
            "error": {
                "code": None,
                "message": f"Unrecognized request argument supplied: {name}",
                "param": None,
                "type": "invalid_request_error",
            }
        },
    ),
}
#: Request fields a strict server does not know.
_UNKNOWN_FIELDS = ("stream_options",)


def _strict_rejection(mode: str | None, req: _Request) -> _Body | None:
    if mode is None:
        return None
    for name in _UNKNOWN_FIELDS:
        if name in req.body:
            status, body = _STRICT[mode]
            return _json(body(name), status)
    return None


# --------------------------------------------------------------------------------------------------
# HTTP server
# --------------------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-request (a test cutting a stream) is not worth a traceback."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    def __init__(self, address: tuple[str, int], provider: FakeProvider) -> None:
        self.provider = provider
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive for JSON (like the real APIs); SSE is chunked and closes afterwards."""

    protocol_version = "HTTP/1.1"
    #: Headers and body are separate writes: with Nagle on, each kept-alive reply stalls ~40 ms on the
    #: client's delayed ACK.
    disable_nagle_algorithm = True
    server_version = "fakeprovider/1"
    sys_version = ""

    @property
    def _srv(self) -> _Server:
        return cast(_Server, self.server)

    def setup(self) -> None:
        super().setup()
        with self._srv.sockets_lock:
            self._srv.open_sockets.add(self.connection)

    def finish(self) -> None:
        with self._srv.sockets_lock:
            self._srv.open_sockets.discard(self.connection)
        with contextlib.suppress(OSError):  # the client may already be gone
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the tests and the demo own the terminal."""

    def do_POST(self) -> None:
        self._handle()

    def do_GET(self) -> None:
        self._handle()

    def _handle(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        try:
            parsed: Any = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        provider = self._srv.provider
        provider._record(
            RecordedRequest(
                method=self.command,
                path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=parsed,
            )
        )
        req = _Request(_route(self.path), self.path, parsed if isinstance(parsed, dict) else {})
        rejected = _strict_rejection(provider.strict, req)
        if rejected is not None:
            self._send_body(rejected, anthropic=False)
            return
        scripted = provider._pop()
        provider.before_reply(scripted)
        reply = scripted or _default_reply(req)
        if isinstance(reply, Hang) and provider._stopping.wait(reply.seconds):
            self.close_connection = True
            return
        try:
            rendered = _render(reply, req)
            if isinstance(rendered, _Stream):
                self._send_stream(rendered, provider.chunk_delay, anthropic=req.route == "messages")
            else:
                self._send_body(rendered, anthropic=req.route == "messages")
        except OSError:  # the client gave up (timeout, closed stream): nothing left to answer
            self.close_connection = True

    def _request_id_header(self, anthropic: bool) -> None:
        self.send_header("request-id" if anthropic else "x-request-id", _new_id("req_fake"))

    def _send_body(self, r: _Body, anthropic: bool) -> None:
        self.send_response(r.status)
        self.send_header("content-type", r.content_type)
        self.send_header("content-length", str(len(r.body)))
        self._request_id_header(anthropic)
        for name, value in r.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(r.body)

    def _send_stream(self, r: _Stream, delay: float, anthropic: bool) -> None:
        """Chunked like the real APIs, which is what lets an abrupt close look broken to the client."""
        self.close_connection = True
        self.send_response(200)
        self.send_header("content-type", r.content_type)
        self.send_header("transfer-encoding", "chunked")
        self.send_header("connection", "close")
        self._request_id_header(anthropic)
        for name, value in r.headers.items():
            self.send_header(name, value)
        self.end_headers()
        for n, data in enumerate(r.events):
            if r.die_after is not None and n >= r.die_after:
                break
            if n and delay > 0:
                time.sleep(delay)
            if n in r.delays and self._srv.provider._stopping.wait(r.delays[n]):
                return
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        if r.die_after is not None:
            with contextlib.suppress(OSError):  # no terminating chunk: the client sees an incomplete body
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        self._srv.provider._streamed()


class FakeProvider:
    """Serves scripted (or default) OpenAI, Anthropic, Gemini and Bedrock responses on loopback, in a
    daemon thread."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, chunk_delay: float = 0.0, strict: str | None = None
    ) -> None:
        self.host = host
        self.port = port
        self.chunk_delay = chunk_delay
        #: ``"mistral"`` or ``"azure"``: reject unknown request fields (``stream_options``) as that
        #: server does; None accepts anything, as OpenAI does.
        self.strict = strict
        self._lock = threading.Lock()
        self._sent = threading.Condition()
        self._streams = 0
        self._queue: deque[Reply] = deque()
        self._log: list[RecordedRequest] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def start(self) -> FakeProvider:
        """Bind and serve; port 0 picks a free port (read it back from ``url``)."""
        if self._server is not None:
            return self
        self._stopping = threading.Event()
        self._server = _Server((self.host, self.port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="FakeProvider",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and drop kept-alive connections, so no pooled client talks to a dead server."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        with server.sockets_lock:
            for sock in list(server.open_sockets):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://host:port`` of the running server."""
        if self._server is None:
            raise RuntimeError("FakeProvider is not started; call start() or use it as a context manager")
        host, port = self._server.server_address[:2]
        return f"http://{host if isinstance(host, str) else host.decode()}:{port}"

    @property
    def openai_base_url(self) -> str:
        """For ``openai.OpenAI(base_url=...)``: the SDK appends ``/chat/completions`` etc."""
        return self.url + "/v1"

    @property
    def anthropic_base_url(self) -> str:
        """For ``anthropic.Anthropic(base_url=...)``: the SDK appends ``/v1/messages`` itself."""
        return self.url

    def transport(self, http: ModuleType, asynchronous: bool = False) -> Any:
        """An ``httpx``-style transport (of module ``http``: ``httpx``, or ``httpx2`` for openai 3.x)
        that sends every request to this server, whatever host its URL names.

        So a client can keep a production ``base_url`` (``https://api.mistral.ai/v1``) and everything
        that looks at it (provider detection, ``server.address``) sees the real name::

            client = openai.OpenAI(base_url="https://api.mistral.ai/v1", api_key="x",
                                   http_client=openai.DefaultHttpxClient(transport=fp.transport(httpx)))
        """
        host, port = self.url.removeprefix("http://").rsplit(":", 1)

        def loopback(request: Any) -> Any:
            request.url = request.url.copy_with(scheme="http", host=host, port=int(port))
            return request

        if asynchronous:

            class _AsyncLoopback(http.AsyncHTTPTransport):  # type: ignore[name-defined,misc]
                async def handle_async_request(self, request: Any) -> Any:
                    return await super().handle_async_request(loopback(request))

            return _AsyncLoopback()

        class _Loopback(http.HTTPTransport):  # type: ignore[name-defined,misc]
            def handle_request(self, request: Any) -> Any:
                return super().handle_request(loopback(request))

        return _Loopback()

    @property
    def gemini_base_url(self) -> str:
        """For ``genai.Client(http_options={"base_url": ...})``, Developer API and Vertex AI alike."""
        return self.url

    @property
    def bedrock_endpoint_url(self) -> str:
        """For ``boto3.client("bedrock-runtime", endpoint_url=...)`` with dummy credentials."""
        return self.url

    def redirect_boto3(self, client: Any) -> Any:
        """Send every request of a boto3 (botocore) ``client`` to this server, whatever endpoint it names;
        returns ``client``. The boto3 counterpart of :meth:`transport`.

        The client keeps AWS's endpoint, so everything that looks at it (provider detection, pricing,
        ``server.address``) sees AWS, not a loopback address where open-weight models are unpriced. A
        ``before-send`` handler (botocore's own event hook, on this client only: each client has its own
        copy of the session's events) points each signed request here::

            client = fp.redirect_boto3(boto3.client("bedrock-runtime", region_name="us-east-1",
                                                    aws_access_key_id="x", aws_secret_access_key="x"))
        """

        def here(request: Any, **_: Any) -> None:
            scheme_and_host = urlsplit(self.url)[:2]
            request.url = urlunsplit(scheme_and_host + urlsplit(request.url)[2:])

        client.meta.events.register("before-send", here)
        return client

    def script(self, *replies: Reply) -> None:
        """Queue replies; each request (SDK retries included) takes the next one."""
        with self._lock:
            self._queue.extend(replies)

    def reset(self) -> None:
        """Forget queued replies and recorded requests (between tests sharing one server)."""
        with self._lock:
            self._queue.clear()
            self._log.clear()
        with self._sent:
            self._streams = 0
        self.strict = None

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the requests received so far, oldest first."""
        with self._lock:
            return list(self._log)

    @property
    def pending(self) -> int:
        """How many scripted replies have not been served yet."""
        with self._lock:
            return len(self._queue)

    def before_reply(self, reply: Reply | None) -> None:
        """Called on the server thread before each answer (``None``: the default one). A hook for
        subclasses, e.g. to think for a while so durations look like a real API's; does nothing here.
        """

    def wait_streamed(self, count: int = 1, timeout: float = 5.0) -> bool:
        """Wait until ``count`` streams (since the last reset) were sent to the end; True if they were.

        For tests of what a client does with data the provider has already sent.
        """
        with self._sent:
            return self._sent.wait_for(lambda: self._streams >= count, timeout)

    def _streamed(self) -> None:
        with self._sent:
            self._streams += 1
            self._sent.notify_all()

    def _pop(self) -> Reply | None:
        with self._lock:
            return self._queue.popleft() if self._queue else None

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._log.append(request)
