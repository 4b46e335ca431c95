"""The Amazon Bedrock runtime API for the fake provider, as boto3's ``bedrock-runtime`` client calls it.

Point the real SDK at the fake provider with dummy credentials (nothing checks the SigV4 signature)::

    boto3.client("bedrock-runtime", endpoint_url=fp.url, region_name="us-east-1",
                 aws_access_key_id="x", aws_secret_access_key="x")

which then sends ``POST /model/{modelId}/{converse,converse-stream,invoke,invoke-with-response-stream,
count-tokens}`` (the model id URL-encoded, ``:`` as ``%3A``). Streams use the AWS event-stream binary
framing, encoded here with ``zlib.crc32``; errors carry ``x-amzn-ErrorType`` so botocore raises (and
retries) exactly as against AWS.

References: https://docs.aws.amazon.com/bedrock/latest/APIReference/API_Operations_Amazon_Bedrock_Runtime.html
and the request/response bodies of each model family under
https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters.html (each renderer cites its page).
Standard library only.
"""

from __future__ import annotations

import base64
import re
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

from ._wire import JSONDict, _Body, _dumps, _json, _new_id, _PathRoutes, _Request, _Stream

__all__ = [
    "Converse",
    "ConverseStream",
    "CountBedrockTokens",
    "InvokeModel",
    "InvokeModelStream",
    "bedrock_usage",
]


def bedrock_usage(
    input: int,
    output: int,
    *,
    cache_read: int | None = None,
    cache_write: int | None = None,
    cache_details: Mapping[str, int] | None = None,
) -> JSONDict:
    """Converse ``usage`` (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_TokenUsage.html).

    ``inputTokens`` excludes cache reads and writes; ``totalTokens`` includes them, as in the prompt
    caching example (https://docs.aws.amazon.com/bedrock/latest/userguide/prompt-caching.html).
    ``cache_details`` splits the cache write by TTL (``{"5m": n, "1h": m}``) into ``cacheDetails``.
    """
    usage: JSONDict = {
        "inputTokens": input,
        "outputTokens": output,
        "totalTokens": input + output + (cache_read or 0) + (cache_write or 0),
    }
    if cache_read is not None:
        usage["cacheReadInputTokens"] = cache_read
    if cache_write is not None:
        usage["cacheWriteInputTokens"] = cache_write
    if cache_details is not None:
        usage["cacheDetails"] = [{"ttl": ttl, "inputTokens": n} for ttl, n in cache_details.items()]
    return usage


# --------------------------------------------------------------------------------------------------
# Replies
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Converse:
    """``/converse`` JSON (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html).

    ``reasoning`` adds a ``reasoningContent`` block before the text; ``tool_use`` (``{"name": ...,
    "input": {...}}``) replaces the text block with a ``toolUse`` block.
    """

    text: str = "Hello there."
    usage: JSONDict = field(default_factory=lambda: bedrock_usage(12, 3))
    stop_reason: str = "end_turn"
    reasoning: str | None = None
    tool_use: JSONDict | None = None
    latency_ms: int = 120
    service_tier: str | None = None


@dataclass(frozen=True, slots=True)
class ConverseStream:
    """``/converse-stream`` events (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html):
    ``messageStart``, ``contentBlockDelta``..., ``contentBlockStop``, ``messageStop``, then ``metadata``
    with the usage (``usage=None`` leaves ``metadata`` out).

    ``die_after=N`` cuts the connection after N events; ``error_after=N`` sends an exception event
    (``error``, e.g. ``throttlingException``) in place of event N and ends the stream.
    """

    chunks: tuple[str, ...] = ("Hel", "lo")
    usage: JSONDict | None = field(default_factory=lambda: bedrock_usage(12, 2))
    stop_reason: str = "end_turn"
    reasoning: str | None = None
    latency_ms: int = 120
    service_tier: str | None = None
    die_after: int | None = None
    error_after: int | None = None
    error: str = "modelStreamErrorException"


@dataclass(frozen=True, slots=True)
class InvokeModel:
    """``/invoke``: the model family's own body, picked from the model id (``anthropic.*``, ``meta.*``,
    ``amazon.titan-text*``, ``amazon.titan-embed*``, ``mistral.*``, cross-region ``us.``/``eu.``/...
    prefixes and ARNs included) unless ``family`` names it, plus Bedrock's token-count headers
    (``X-Amzn-Bedrock-Input-Token-Count`` ...; ``count_headers=False`` leaves them out).

    ``input_tokens`` counts the input that is neither read from nor written to a cache, as both the
    Anthropic body and the headers report it. ``body_usage=False`` leaves the counts out of the body.
    ``stop_reason`` defaults to the family's own word for a natural end.
    """

    text: str = "Hello there."
    input_tokens: int = 12
    output_tokens: int = 3
    cache_read: int | None = None
    cache_write: int | None = None
    stop_reason: str | None = None
    family: str | None = None
    count_headers: bool = True
    body_usage: bool = True
    latency_ms: int = 120
    service_tier: str | None = None


@dataclass(frozen=True, slots=True)
class InvokeModelStream:
    """``/invoke-with-response-stream``: ``chunk`` events whose ``bytes`` are the family's own stream
    events (base64 in the event JSON); the last one carries ``amazon-bedrock-invocationMetrics``
    (``metrics=False`` leaves it out). ``die_after`` / ``error_after`` / ``error`` as in
    :class:`ConverseStream`.
    """

    chunks: tuple[str, ...] = ("Hel", "lo")
    input_tokens: int = 12
    output_tokens: int = 2
    cache_read: int | None = None
    cache_write: int | None = None
    stop_reason: str | None = None
    family: str | None = None
    metrics: bool = True
    latency_ms: int = 120
    die_after: int | None = None
    error_after: int | None = None
    error: str = "modelStreamErrorException"


@dataclass(frozen=True, slots=True)
class CountBedrockTokens:
    """``/count-tokens`` (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_CountTokens.html):
    not billed."""

    input_tokens: int = 12


#: The Bedrock replies :meth:`FakeProvider.script` accepts.
BedrockReply: TypeAlias = Converse | ConverseStream | InvokeModel | InvokeModelStream | CountBedrockTokens
BEDROCK_REPLIES = (Converse, ConverseStream, InvokeModel, InvokeModelStream, CountBedrockTokens)

# --------------------------------------------------------------------------------------------------
# Routing
# --------------------------------------------------------------------------------------------------

_ROUTES = _PathRoutes(
    re.compile(r"^/model/([^/]+)/([a-z-]+)$"),
    {
        "converse": "bedrock.converse",
        "converse-stream": "bedrock.converse_stream",
        "invoke": "bedrock.invoke",
        "invoke-with-response-stream": "bedrock.invoke_stream",
        "count-tokens": "bedrock.count_tokens",
    },
)
#: ``/model/{modelId}/{operation}`` (query string already stripped) to a ``bedrock.*`` route.
route = _ROUTES.route


def _model_id(req: _Request) -> str:
    return _ROUTES.model(req) or ""


def default_reply(req: _Request) -> BedrockReply:
    if req.route == "bedrock.converse":
        return Converse()
    if req.route == "bedrock.converse_stream":
        return ConverseStream()
    if req.route == "bedrock.invoke":
        return InvokeModel()
    if req.route == "bedrock.invoke_stream":
        return InvokeModelStream()
    return CountBedrockTokens()


# --------------------------------------------------------------------------------------------------
# AWS event-stream framing (https://docs.aws.amazon.com/transcribe/latest/dg/event-stream.html and
# https://smithy.io/2.0/aws/amazon-eventstream.html): per message, a 12-byte prelude (total length,
# headers length, CRC32 of those 8 bytes), the headers (name length u8, name, type 7 = string, value
# length u16, value), the payload, and a CRC32 of everything before it. All integers big-endian.
# --------------------------------------------------------------------------------------------------


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return (
        struct.pack(">B", len(raw_name)) + raw_name + b"\x07" + struct.pack(">H", len(raw_value)) + raw_value
    )


def _frame(headers: Mapping[str, str], payload: bytes) -> bytes:
    encoded = b"".join(_header(name, value) for name, value in headers.items())
    prelude = struct.pack(">II", 12 + len(encoded) + len(payload) + 4, len(encoded))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + encoded + payload
    return message + struct.pack(">I", zlib.crc32(message))


def _padding(n: int) -> str:
    """Bedrock pads every event payload with a ``p`` field of varying length, against traffic analysis."""
    return "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[: 4 + n * 7 % 40]


def _event(kind: str, payload: JSONDict, n: int) -> bytes:
    body = _dumps({**payload, "p": _padding(n)}).encode()
    return _frame({":event-type": kind, ":content-type": "application/json", ":message-type": "event"}, body)


def _exception(kind: str) -> bytes:
    body = _dumps({"message": f"{kind} (fake provider)."}).encode()
    return _frame(
        {":exception-type": kind, ":content-type": "application/json", ":message-type": "exception"}, body
    )


def _stream(events: list[bytes], die_after: int | None, error_after: int | None, error: str) -> _Stream:
    if error_after is not None:
        events[error_after:] = [_exception(error)]
    return _Stream(
        events,
        die_after,
        content_type="application/vnd.amazon.eventstream",
        headers={"x-amzn-RequestId": _request_id(), "X-Amzn-Bedrock-Content-Type": "application/json"},
    )


def _request_id() -> str:
    return _new_id("fake-bedrock-0000-")


# --------------------------------------------------------------------------------------------------
# Converse
# --------------------------------------------------------------------------------------------------


def _render_converse(r: Converse) -> _Body:
    content: list[JSONDict] = []
    if r.reasoning is not None:
        content.append(
            {"reasoningContent": {"reasoningText": {"text": r.reasoning, "signature": "fake-sig"}}}
        )
    if r.tool_use is not None:
        content.append({"toolUse": {"toolUseId": _new_id("tooluse_fake"), **r.tool_use}})
    else:
        content.append({"text": r.text})
    body: JSONDict = {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": r.stop_reason,
        "usage": r.usage,
        "metrics": {"latencyMs": r.latency_ms},
    }
    if r.service_tier is not None:
        body["serviceTier"] = {"type": r.service_tier}
    return _json(body, headers={"x-amzn-RequestId": _request_id()})


def _render_converse_stream(r: ConverseStream) -> _Stream:
    payloads: list[tuple[str, JSONDict]] = [("messageStart", {"role": "assistant"})]
    index = 0
    if r.reasoning is not None:
        payloads += [
            (
                "contentBlockDelta",
                {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": r.reasoning}}},
            ),
            (
                "contentBlockDelta",
                {"contentBlockIndex": 0, "delta": {"reasoningContent": {"signature": "fake-sig"}}},
            ),
            ("contentBlockStop", {"contentBlockIndex": 0}),
        ]
        index = 1
    payloads += [("contentBlockDelta", {"contentBlockIndex": index, "delta": {"text": c}}) for c in r.chunks]
    payloads += [
        ("contentBlockStop", {"contentBlockIndex": index}),
        ("messageStop", {"stopReason": r.stop_reason}),
    ]
    if r.usage is not None:
        metadata: JSONDict = {"usage": r.usage, "metrics": {"latencyMs": r.latency_ms}}
        if r.service_tier is not None:
            metadata["serviceTier"] = {"type": r.service_tier}
        payloads.append(("metadata", metadata))
    events = [_event(kind, payload, n) for n, (kind, payload) in enumerate(payloads)]
    return _stream(events, r.die_after, r.error_after, r.error)


# --------------------------------------------------------------------------------------------------
# InvokeModel: the model families' own bodies
# --------------------------------------------------------------------------------------------------

_REGION_PREFIX = re.compile(r"^(?:[a-z]{2}(?:-[a-z]+)?|apac|global)\.(?=[a-z0-9-]+\.)")
_FAMILIES = (
    ("anthropic.", "anthropic"),
    ("meta.", "meta"),
    ("amazon.titan-embed", "titan-embed"),
    ("amazon.titan-text", "titan-text"),
    ("mistral.", "mistral"),
)
_STOP_REASONS = {
    "anthropic": "end_turn",
    "meta": "stop",
    "titan-text": "FINISH",
    "titan-embed": "",
    "mistral": "stop",
}


def _family(model_id: str, given: str | None) -> str | None:
    """The body family of a model id: foundation model, cross-region profile (``us.``...) or ARN."""
    if given is not None:
        return given
    name = _REGION_PREFIX.sub("", model_id.rsplit("/", 1)[-1])
    return next((family for prefix, family in _FAMILIES if name.startswith(prefix)), None)


def _anthropic_model(model_id: str) -> str:
    """``anthropic.claude-3-haiku-20240307-v1:0`` -> ``claude-3-haiku-20240307``, as the body names it."""
    name = _REGION_PREFIX.sub("", model_id.rsplit("/", 1)[-1]).removeprefix("anthropic.")
    return re.sub(r"-v\d+(?::\d+)?$", "", name)


def _anthropic_usage(r: InvokeModel | InvokeModelStream, output: int) -> JSONDict:
    usage: JSONDict = {"input_tokens": r.input_tokens}
    if r.cache_write is not None:
        usage["cache_creation_input_tokens"] = r.cache_write
    if r.cache_read is not None:
        usage["cache_read_input_tokens"] = r.cache_read
    usage["output_tokens"] = output
    return usage


def _invoke_body(r: InvokeModel, family: str, model_id: str, stop: str) -> JSONDict:
    """One complete response body per family:
    Anthropic https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-anthropic-claude-messages-request-response.html,
    Meta Llama https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-meta.html,
    Titan Text https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-titan-text.html,
    Titan Embeddings https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-titan-embed-text.html,
    Mistral https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-mistral-text-completion.html.
    """
    counts = r.body_usage
    if family == "anthropic":
        body: JSONDict = {
            "id": _new_id("msg_bdrk_01Fake"),
            "type": "message",
            "role": "assistant",
            "model": _anthropic_model(model_id),
            "content": [{"type": "text", "text": r.text}],
            "stop_reason": stop,
            "stop_sequence": None,
        }
        if counts:
            body["usage"] = _anthropic_usage(r, r.output_tokens)
        return body
    if family == "meta":
        body = {"generation": r.text}
        if counts:
            body |= {"prompt_token_count": r.input_tokens, "generation_token_count": r.output_tokens}
        return body | {"stop_reason": stop}
    if family == "titan-text":
        result: JSONDict = {"outputText": r.text, "completionReason": stop}
        if counts:
            return {
                "inputTextTokenCount": r.input_tokens,
                "results": [{"tokenCount": r.output_tokens, **result}],
            }
        return {"results": [result]}
    if family == "titan-embed":
        vector = [round((j * 17 % 100) / 100 - 0.5, 4) for j in range(8)]
        return {"embedding": vector, **({"inputTextTokenCount": r.input_tokens} if counts else {})}
    return {"outputs": [{"text": r.text, "stop_reason": stop}]}  # mistral: no counts in its body


def _count_headers(r: InvokeModel, family: str) -> dict[str, str]:
    """Bedrock's usage headers on InvokeModel, as in the recorded responses of newrelic/node-newrelic
    test/lib/aws-server-stubs/ai-server/responses/claude3.js (cache headers when the model caches)."""
    headers = {"X-Amzn-Bedrock-Input-Token-Count": str(r.input_tokens)}
    if family != "titan-embed":
        headers["X-Amzn-Bedrock-Output-Token-Count"] = str(r.output_tokens)
    if r.cache_read is not None:
        headers["X-Amzn-Bedrock-Cache-Read-Input-Token-Count"] = str(r.cache_read)
    if r.cache_write is not None:
        headers["X-Amzn-Bedrock-Cache-Write-Input-Token-Count"] = str(r.cache_write)
    return headers


def _render_invoke(r: InvokeModel, req: _Request) -> _Body:
    model_id = _model_id(req)
    family = _family(model_id, r.family)
    if family is None:
        return _unknown_family(model_id)
    headers = {"x-amzn-RequestId": _request_id(), "X-Amzn-Bedrock-Invocation-Latency": str(r.latency_ms)}
    if r.count_headers:
        headers |= _count_headers(r, family)
    if r.service_tier is not None:
        headers["X-Amzn-Bedrock-Service-Tier"] = r.service_tier
    body = _invoke_body(r, family, model_id, r.stop_reason or _STOP_REASONS[family])
    return _json(body, headers=headers)


def _cumulative(total: int, n: int, i: int) -> int:
    """Tokens generated by the end of chunk ``i`` of ``n``: grows to exactly ``total`` at the last."""
    return total * (i + 1) // n


def _invoke_chunks(r: InvokeModelStream, family: str, model_id: str, stop: str) -> list[JSONDict]:
    """The family's stream events, as the pages cited in :func:`_invoke_body` show them."""
    n = len(r.chunks)
    if family == "anthropic":  # the Anthropic Messages stream, inside Bedrock's chunk events
        start_usage = {**_anthropic_usage(r, 1)}
        message: JSONDict = {
            "id": _new_id("msg_bdrk_01Fake"),
            "type": "message",
            "role": "assistant",
            "model": _anthropic_model(model_id),
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": start_usage,
        }
        return [
            {"type": "message_start", "message": message},
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            *(
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": c}}
                for c in r.chunks
            ),
            {"type": "content_block_stop", "index": 0},
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": {"output_tokens": r.output_tokens},
            },
            {"type": "message_stop"},
        ]
    if family == "meta":
        return [
            {
                "generation": c,
                "prompt_token_count": r.input_tokens if i == 0 else None,
                "generation_token_count": _cumulative(r.output_tokens, n, i),
                "stop_reason": stop if i == n - 1 else None,
            }
            for i, c in enumerate(r.chunks)
        ]
    if family == "titan-text":
        return [
            {
                "outputText": c,
                "index": 0,
                "totalOutputTextTokenCount": _cumulative(r.output_tokens, n, i),
                "completionReason": stop if i == n - 1 else None,
                **({"inputTextTokenCount": r.input_tokens} if i == 0 else {}),
            }
            for i, c in enumerate(r.chunks)
        ]
    return [
        {"outputs": [{"text": c, "stop_reason": stop if i == n - 1 else None}]}
        for i, c in enumerate(r.chunks)
    ]


def _render_invoke_stream(r: InvokeModelStream, req: _Request) -> _Body | _Stream:
    model_id = _model_id(req)
    family = _family(model_id, r.family)
    if family is None or family == "titan-embed" or not r.chunks:
        return _unknown_family(model_id)
    chunks = _invoke_chunks(r, family, model_id, r.stop_reason or _STOP_REASONS[family])
    if r.metrics:
        metrics: JSONDict = {
            "inputTokenCount": r.input_tokens,
            "outputTokenCount": r.output_tokens,
            "invocationLatency": r.latency_ms,
            "firstByteLatency": r.latency_ms // 4,
        }
        if r.cache_read is not None:
            metrics["cacheReadInputTokenCount"] = r.cache_read
        if r.cache_write is not None:
            metrics["cacheWriteInputTokenCount"] = r.cache_write
        chunks[-1] = {**chunks[-1], "amazon-bedrock-invocationMetrics": metrics}
    events = [
        _event("chunk", {"bytes": base64.b64encode(_dumps(chunk).encode()).decode()}, n)
        for n, chunk in enumerate(chunks)
    ]
    return _stream(events, r.die_after, r.error_after, r.error)


def _unknown_family(model_id: str) -> _Body:
    return _json(
        {"message": f"The fake provider has no body format (or no stream) for model {model_id!r}."},
        400,
        {"x-amzn-ErrorType": "ValidationException", "x-amzn-RequestId": _request_id()},
    )


def render(reply: BedrockReply, req: _Request) -> _Body | _Stream:
    if isinstance(reply, Converse):
        return _render_converse(reply)
    if isinstance(reply, ConverseStream):
        return _render_converse_stream(reply)
    if isinstance(reply, InvokeModel):
        return _render_invoke(reply, req)
    if isinstance(reply, InvokeModelStream):
        return _render_invoke_stream(reply, req)
    return _json({"inputTokens": reply.input_tokens}, headers={"x-amzn-RequestId": _request_id()})


# --------------------------------------------------------------------------------------------------
# Errors (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#API_runtime_Converse_Errors):
# restJson1 puts the error's name in the x-amzn-ErrorType header and the message in the body, which is
# how botocore picks the modeled exception class and decides what to retry.
# --------------------------------------------------------------------------------------------------

_ERRORS = {
    400: "ValidationException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    408: "ModelTimeoutException",
    424: "ModelErrorException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}
_MESSAGES = {
    "ThrottlingException": "Too many requests, please wait before trying again.",
    "ServiceUnavailableException": "Bedrock is unable to process your request.",
    "ModelNotReadyException": "Model is not ready to serve inference requests.",
    "ServiceQuotaExceededException": "Your request exceeded the service quota for your account.",
}


def error(status: int, headers: Mapping[str, str]) -> _Body:
    """Bedrock's error for ``status``; ``headers`` may name another modeled one in ``x-amzn-ErrorType``
    (e.g. ``ServiceQuotaExceededException`` with 400, ``ModelNotReadyException`` with 429)."""
    given = {k.lower(): v for k, v in headers.items()}.get("x-amzn-errortype")
    kind = given or _ERRORS.get(status, "InternalServerException" if status >= 500 else "ValidationException")
    message = _MESSAGES.get(kind, f"{kind} (fake provider).")
    out = {"x-amzn-RequestId": _request_id(), **headers}
    if given is None:
        out["x-amzn-ErrorType"] = f"{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/"
    return _json({"message": message}, status, out)
