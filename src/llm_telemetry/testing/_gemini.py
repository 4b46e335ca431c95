"""The Gemini REST API for the fake provider: the Developer API and Vertex AI, as google-genai calls them.

Point the real SDK at the fake provider with ``http_options={"base_url": fp.url}``; it then sends, e.g.::

    POST /v1beta/models/gemini-2.5-flash:generateContent                       (Developer API)
    POST /v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse         (SSE)
    POST /v1beta1/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent
                                                                               (Vertex AI, project mode)
    POST /v1beta1/publishers/google/models/gemini-2.5-flash:generateContent    (Vertex AI, express mode)

A path with ``/publishers/`` or ``/projects/`` in it is answered the way Vertex AI answers (``createTime``,
``trafficType``, ``predict`` embeddings); anything else the way the Developer API does.

References for the shapes (each renderer cites its own):
- https://ai.google.dev/api/generate-content (GenerateContentResponse, UsageMetadata, streamGenerateContent)
- https://cloud.google.com/vertex-ai/generative-ai/docs/reference/rest/v1/GenerateContentResponse
- the SDK's own parsers: google/genai/models.py ``_GenerateContentResponse_from_mldev/_vertex``,
  ``_EmbedContentResponse_from_mldev/_vertex``, ``_CountTokensResponse_from_mldev/_vertex``.
Standard library only.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias, cast

from ._wire import JSONDict, _Body, _data_event, _json, _new_id, _PathRoutes, _Request, _Stream

__all__ = [
    "CountTokens",
    "EmbedContent",
    "GenerateContent",
    "GenerateContentStream",
    "gemini_error",
    "gemini_usage",
]

# --------------------------------------------------------------------------------------------------
# Usage: UsageMetadata as the API serialises it. Proto3 JSON omits zero-valued fields
# (https://protobuf.dev/programming-guides/json/), so a zero count is an absent key, exactly as on the wire.
# --------------------------------------------------------------------------------------------------


def _modalities(counts: Mapping[str, int]) -> list[JSONDict]:
    """``ModalityTokenCount`` entries (modality TEXT, IMAGE, VIDEO, AUDIO, DOCUMENT); zero counts omitted."""
    return [{"modality": m, "tokenCount": n} if n else {"modality": m} for m, n in counts.items()]


def gemini_usage(
    prompt: int,
    candidates: int,
    *,
    thoughts: int | None = None,
    cached: int | None = None,
    tool_use_prompt: int | None = None,
    prompt_details: Mapping[str, int] | None = None,
    candidates_details: Mapping[str, int] | None = None,
) -> JSONDict:
    """``usageMetadata`` of a GenerateContentResponse (https://ai.google.dev/api/generate-content#UsageMetadata).

    ``promptTokenCount`` includes cached tokens; ``totalTokenCount`` is prompt + candidates + thoughts +
    tool-use prompt. The per-modality details default to all TEXT; pass e.g. ``{"TEXT": 8, "AUDIO": 4}``
    (or ``{}`` to leave the list out).
    """
    usage: JSONDict = {}
    if prompt:
        usage["promptTokenCount"] = prompt
    if candidates:
        usage["candidatesTokenCount"] = candidates
    usage["totalTokenCount"] = prompt + candidates + (thoughts or 0) + (tool_use_prompt or 0)
    if cached:
        usage["cachedContentTokenCount"] = cached
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    if tool_use_prompt:
        usage["toolUsePromptTokenCount"] = tool_use_prompt
        usage["toolUsePromptTokensDetails"] = _modalities({"TEXT": tool_use_prompt})
    details = {"TEXT": prompt} if prompt_details is None else prompt_details
    if details:
        usage["promptTokensDetails"] = _modalities(details)
    if cached:
        usage["cacheTokensDetails"] = _modalities({"TEXT": cached})
    details = {"TEXT": candidates} if candidates_details is None else candidates_details
    if details and candidates:
        usage["candidatesTokensDetails"] = _modalities(details)
    return usage


# --------------------------------------------------------------------------------------------------
# Replies
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GenerateContent:
    """``:generateContent`` JSON. ``usage`` is emitted verbatim (``None`` omits ``usageMetadata``).

    ``thought`` adds a thought summary part (``"thought": true``) before the answer; ``function_call``
    (``{"name": ..., "args": {...}}``) replaces the text part with a ``functionCall`` part;
    ``search_queries`` adds Google Search ``groundingMetadata`` to the candidate.
    """

    model: str = "gemini-2.5-flash"
    text: str = "Hello there."
    usage: JSONDict | None = field(default_factory=lambda: gemini_usage(12, 3))
    finish_reason: str = "STOP"
    thought: str | None = None
    function_call: JSONDict | None = None
    search_queries: tuple[str, ...] = ()
    id: str | None = None


@dataclass(frozen=True, slots=True)
class GenerateContentStream:
    """``:streamGenerateContent?alt=sse``: one GenerateContentResponse per SSE event, no terminator.

    The last event carries ``finishReason`` and ``usage``. Before it, the Developer API sends a running
    ``usageMetadata`` on every event (prompt counts whole, ``candidatesTokenCount`` growing, so the
    last value wins); Vertex AI sends only ``{"trafficType": "ON_DEMAND"}`` until the end.
    ``die_after=N`` cuts the connection after N events; ``error_after=N`` sends an ``{"error": ...}``
    event (status ``error_status``) in place of event N, as the API does when it fails mid-stream.
    """

    model: str = "gemini-2.5-flash"
    chunks: tuple[str, ...] = ("Hel", "lo")
    usage: JSONDict | None = field(default_factory=lambda: gemini_usage(12, 2))
    finish_reason: str = "STOP"
    thought: str | None = None
    search_queries: tuple[str, ...] = ()
    die_after: int | None = None
    error_after: int | None = None
    error_status: int = 500
    id: str | None = None


@dataclass(frozen=True, slots=True)
class EmbedContent:
    """Embeddings, shaped by the route: ``:batchEmbedContents`` (what google-genai always sends to the
    Developer API, and to Vertex for several contents), ``:embedContent`` (one content) or ``:predict``
    (Vertex text-embedding models, per-instance ``statistics.token_count``). ``prompt_tokens`` is the
    request's total (split across ``predict`` instances); ``None`` leaves every count out.
    """

    prompt_tokens: int | None = 5
    dimensions: int = 8


@dataclass(frozen=True, slots=True)
class CountTokens:
    """``:countTokens`` (https://ai.google.dev/api/tokens#CountTokensResponse): not billed."""

    total_tokens: int = 12
    cached_tokens: int | None = None


#: The Gemini replies :meth:`FakeProvider.script` accepts.
GeminiReply: TypeAlias = GenerateContent | GenerateContentStream | EmbedContent | CountTokens
GEMINI_REPLIES = (GenerateContent, GenerateContentStream, EmbedContent, CountTokens)

# --------------------------------------------------------------------------------------------------
# Routing
# --------------------------------------------------------------------------------------------------

_ROUTES = _PathRoutes(
    re.compile(r"/(?:models|tunedModels|endpoints)/([^/:]+):(\w+)$"),
    {
        "generateContent": "gemini.generate",
        "streamGenerateContent": "gemini.stream",
        "embedContent": "gemini.embed",
        "batchEmbedContents": "gemini.batch_embed",
        "predict": "gemini.predict",
        "countTokens": "gemini.count_tokens",
    },
)
#: ``…/models/{model}:{method}`` (query string already stripped) to a ``gemini.*`` route.
route = _ROUTES.route


def _path_model(req: _Request) -> str:
    return _ROUTES.model(req) or "gemini"


def _vertex(req: _Request) -> bool:
    return "/publishers/" in req.path or "/projects/" in req.path


def default_reply(req: _Request) -> GeminiReply:
    """What an unscripted Gemini request gets, echoing the model named in the path."""
    if req.route == "gemini.generate":
        return GenerateContent(model=_path_model(req))
    if req.route == "gemini.stream":
        return GenerateContentStream(model=_path_model(req))
    if req.route == "gemini.count_tokens":
        return CountTokens()
    return EmbedContent()


# --------------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------------


def _grounding(queries: tuple[str, ...], text: str) -> JSONDict:
    """Google Search grounding (https://ai.google.dev/gemini-api/docs/google-search#understanding-the-grounding-response):
    the queries the model ran (billed per query on Gemini 3, per grounded prompt before), the web
    sources and which span of the answer each supports."""
    return {
        "webSearchQueries": list(queries),
        "searchEntryPoint": {"renderedContent": "<div>fake search widget</div>"},
        "groundingChunks": [
            {
                "web": {
                    "uri": f"https://vertexaisearch.cloud.google.com/grounding-api-redirect/fake{i}",
                    "title": "example.com",
                }
            }
            for i in range(len(queries))
        ],
        "groundingSupports": [
            {
                "segment": {"startIndex": 0, "endIndex": len(text), "text": text},
                "groundingChunkIndices": list(range(len(queries))),
            }
        ],
    }


def _candidate(
    parts: list[JSONDict], finish: str | None, grounding: JSONDict | None, vertex: bool
) -> JSONDict:
    candidate: JSONDict = {"content": {"parts": parts, "role": "model"}}
    if finish is not None:
        candidate["finishReason"] = finish
    if grounding is not None:
        candidate["groundingMetadata"] = grounding
    if not vertex:  # the Developer API numbers its candidates; Vertex AI leaves the index out
        candidate["index"] = 0
    return candidate


def _response(
    *, model: str, resp_id: str, candidate: JSONDict, usage: JSONDict | None, vertex: bool
) -> JSONDict:
    """A GenerateContentResponse with the fields each API sends, in the API's own order."""
    body: JSONDict = {"candidates": [candidate]}
    if usage is not None:
        body["usageMetadata"] = {**usage, "trafficType": "ON_DEMAND"} if vertex else usage
    body["modelVersion"] = model
    if vertex:
        body["createTime"] = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
    body["responseId"] = resp_id
    return body


def _render_generate(r: GenerateContent, req: _Request) -> _Body:
    """https://ai.google.dev/api/generate-content#v1beta.GenerateContentResponse (Developer API) and
    https://cloud.google.com/vertex-ai/generative-ai/docs/reference/rest/v1/GenerateContentResponse."""
    vertex = _vertex(req)
    parts: list[JSONDict] = []
    if r.thought is not None:
        parts.append({"text": r.thought, "thought": True})
    parts.append({"functionCall": r.function_call} if r.function_call is not None else {"text": r.text})
    grounding = _grounding(r.search_queries, r.text) if r.search_queries else None
    candidate = _candidate(parts, r.finish_reason, grounding, vertex)
    resp_id = r.id or _new_id("fake-gemini-")
    return _json(_response(model=r.model, resp_id=resp_id, candidate=candidate, usage=r.usage, vertex=vertex))


def _running_usage(usage: JSONDict, done: int, total: int) -> JSONDict:
    """The Developer API's usage part-way through a stream: prompt-side counts whole, candidates so far."""
    running = {k: v for k, v in usage.items() if not k.startswith(("candidates", "total"))}
    candidates = cast(int, usage.get("candidatesTokenCount", 0)) * done // total
    if candidates:
        running["candidatesTokenCount"] = candidates
    running["totalTokenCount"] = candidates + sum(
        cast(int, usage.get(k, 0))
        for k in ("promptTokenCount", "thoughtsTokenCount", "toolUsePromptTokenCount")
    )
    return running


def _render_stream(r: GenerateContentStream, req: _Request) -> _Stream:
    """SSE events as streamGenerateContent sends them (https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent).

    Recorded Vertex AI traffic shows ``"usageMetadata": {"trafficType": "ON_DEMAND"}`` on every event
    but the last (https://alm.pragmatismo.com.br/GeneralBots/gb/raw/commit/144c4b0b79e3ada32911f430eda31de3a6fe84fc/out.txt).
    Events end in CRLF CRLF, which the SDK splits like LF (google/genai/_api_client.py ``_SseLineDecoder``).
    """
    vertex = _vertex(req)
    resp_id = r.id or _new_id("fake-gemini-")
    pieces: list[list[JSONDict]] = [[{"text": c}] for c in r.chunks] or [[{"text": ""}]]
    if r.thought is not None:
        pieces.insert(0, [{"text": r.thought, "thought": True}])
    text_events = len(pieces) - (r.thought is not None)
    events: list[bytes] = []
    for n, parts in enumerate(pieces):
        last = n == len(pieces) - 1
        usage: JSONDict | None = r.usage
        if r.usage is not None and not last:
            done = n + 1 - (r.thought is not None)
            usage = {} if vertex else _running_usage(r.usage, done, text_events)
        grounding = _grounding(r.search_queries, "".join(r.chunks)) if last and r.search_queries else None
        candidate = _candidate(parts, r.finish_reason if last else None, grounding, vertex)
        body = _response(model=r.model, resp_id=resp_id, candidate=candidate, usage=usage, vertex=vertex)
        events.append(_data_event(body, end="\r\n\r\n"))
    if r.error_after is not None:
        events[r.error_after :] = [_data_event(gemini_error(r.error_status), end="\r\n\r\n")]
    return _Stream(events, r.die_after)


def _dimensions(*configs: object) -> int | None:
    """``outputDimensionality`` wherever this route's request body carries it."""
    for config in configs:
        if isinstance(config, dict):
            for holder in (config, config.get("embedContentConfig"), config.get("parameters")):
                if isinstance(holder, dict) and isinstance(holder.get("outputDimensionality"), int):
                    return cast(int, holder["outputDimensionality"])
    return None


def _vector(i: int, size: int) -> list[float]:
    return [round(((i + 1) * 31 + j * 17) % 100 / 100 - 0.5, 4) for j in range(size)]


def _split(total: int, n: int) -> list[int]:
    """``total`` tokens over ``n`` inputs, the remainder to the first ones, so the parts sum exactly."""
    return [total // n + (i < total % n) for i in range(n)]


def _render_embed(r: EmbedContent, req: _Request) -> _Body:
    """Embedding bodies per endpoint. The SDK's own tests fake them the same way
    (google/genai/tests/models/test_embed_content.py ``test_endpoint_routing``); ``predict`` is
    https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/text-embeddings-api#response_body.
    """
    vertex = _vertex(req)
    body = req.body
    usage: JSONDict | None = None
    if r.prompt_tokens is not None:
        usage = {"promptTokenCount": r.prompt_tokens, **({"trafficType": "ON_DEMAND"} if vertex else {})}
    if req.route == "gemini.predict":
        instances = cast(list[Any], body.get("instances") or [{}])
        size = _dimensions(body) or r.dimensions
        counts = _split(r.prompt_tokens or 0, len(instances))
        predictions = []
        for i, count in enumerate(counts):
            embedding: JSONDict = {"values": _vector(i, size)}
            if r.prompt_tokens is not None:
                embedding["statistics"] = {"token_count": count, "truncated": False}
            predictions.append({"embeddings": embedding})
        characters = sum(len(str(x.get("content", ""))) for x in instances if isinstance(x, dict))
        return _json({"predictions": predictions, "metadata": {"billableCharacterCount": characters}})
    if req.route == "gemini.embed":
        out: JSONDict = {"embedding": {"values": _vector(0, _dimensions(body) or r.dimensions)}}
        if usage is not None:
            out["usageMetadata"] = usage
        if vertex:
            out["truncated"] = False
        return _json(out)
    requests = cast(list[Any], body.get("requests") or [{}])
    size = _dimensions(*requests) or r.dimensions
    out = {"embeddings": [{"values": _vector(i, size)} for i in range(len(requests))]}
    if usage is not None:
        out["usageMetadata"] = usage
    return _json(out)


def _render_count(r: CountTokens, req: _Request) -> _Body:
    body: JSONDict = {"totalTokens": r.total_tokens}
    if r.cached_tokens and not _vertex(req):
        body["cachedContentTokenCount"] = r.cached_tokens
    if r.total_tokens:
        body["promptTokensDetails"] = _modalities({"TEXT": r.total_tokens})
    return _json(body)


def render(reply: GeminiReply, req: _Request) -> _Body | _Stream:
    if isinstance(reply, GenerateContent):
        return _render_generate(reply, req)
    if isinstance(reply, GenerateContentStream):
        return _render_stream(reply, req)
    if isinstance(reply, EmbedContent):
        return _render_embed(reply, req)
    return _render_count(reply, req)


# --------------------------------------------------------------------------------------------------
# Errors: google.rpc.Status as JSON (https://cloud.google.com/apis/design/errors#http_mapping), with
# the statuses the Gemini API documents (https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes).
# --------------------------------------------------------------------------------------------------

_STATUSES: dict[int, tuple[str, str]] = {
    400: ("INVALID_ARGUMENT", "Request contains an invalid argument."),
    401: ("UNAUTHENTICATED", "API key not valid. Please pass a valid API key."),
    403: ("PERMISSION_DENIED", "The caller does not have permission."),
    404: ("NOT_FOUND", "Requested entity was not found."),
    409: ("ABORTED", "The operation was aborted."),
    429: (
        "RESOURCE_EXHAUSTED",
        "You exceeded your current quota, please check your plan and billing details. For more "
        "information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.",
    ),
    499: ("CANCELLED", "The operation was cancelled."),
    500: (
        "INTERNAL",
        "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
    ),
    503: ("UNAVAILABLE", "The model is overloaded. Please try again later."),
    504: ("DEADLINE_EXCEEDED", "The request timed out. Please try again."),
}


_QUOTA_METRIC = "generativelanguage.googleapis.com/generate_content_free_tier_requests"


def gemini_error(
    status: int, *, quota_id: str = "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"
) -> JSONDict:
    """The error body the Gemini API sends with ``status``. A 429 names the quota it hit in a
    ``QuotaFailure`` detail (``...PerDay...`` for a daily quota, ``...PerMinute...`` for a rate limit)
    and carries a ``RetryInfo`` delay, as the live API does."""
    name, message = _STATUSES.get(
        status, ("INTERNAL" if status >= 500 else "FAILED_PRECONDITION", f"Error {status}.")
    )
    error: JSONDict = {"code": status, "message": f"{message} (fake provider)", "status": name}
    if status == 429:
        error["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                    {
                        "quotaMetric": _QUOTA_METRIC,
                        "quotaId": quota_id,
                        "quotaDimensions": {"location": "global", "model": "gemini-2.5-flash"},
                        "quotaValue": "10",
                    }
                ],
            },
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1s"},
        ]
    return {"error": error}


def error(status: int, headers: Mapping[str, str]) -> _Body:
    """The fake provider's generic :class:`Error` on a Gemini route."""
    return _json(gemini_error(status), status, headers)
