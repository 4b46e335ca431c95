"""google-genai (Gemini Developer API and Vertex AI): its tables, usage and stream state on the skeleton.

Hooked, sync and async (``client.aio.models``): ``Models._generate_content``, ``_generate_content_stream``
and ``_embed_content``, the private methods that each send exactly one billed HTTP request. The public
``generate_content`` / ``generate_content_stream`` run automatic function calling and automatic
continuation above them (several billed requests, only the last or a merged response returned to the
caller), and ``Chats.send_message`` runs ``generate_content``: one level down, every billed response is
recorded once, like an instructor attempt. ``count_tokens``, ``compute_tokens``, files, caches and
batches bill nothing here and are not hooked.

Retries: the SDK retries only when given ``HttpRetryOptions``, through tenacity around
``_request_once`` / ``_async_request_once`` (one HTTP attempt each). Those are wrapped: within the call
that owns them, every attempt after a failed one is a retry for that failure's reason. An attempt also
proves a request went out: a call that fails before any (pydantic validation of ``config``, a
``ValueError`` about raw responses on streams) was refused locally and is not a request.

Errors are the SDK's ``APIError`` (``code``, ``status``, the Google error body in ``details``): a 429
``RESOURCE_EXHAUSTED`` is a rate limit unless its ``QuotaFailure`` names a daily or monthly quota.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from ..contract import GenAI
from ..errors import classify, classify_status
from ..record import Call, begin, current_call, internal_error
from ..streams import StreamRequest, StreamState
from ..usage import Billed, Usage, token_count
from ._patch import Patch
from ._skeleton import (
    NO_STREAM_REQUEST,
    Endpoint,
    async_wrapper,
    classified,
    field,
    guarded,
    server_of_url,
    sync_wrapper,
)

__all__ = ["GenerateState", "error_type", "gemini_usage", "modalities", "patches"]

#: ``GenerateContentConfig`` field -> span attribute.
REQUEST_ATTRIBUTES = {
    "temperature": GenAI.REQUEST_TEMPERATURE,
    "top_p": GenAI.REQUEST_TOP_P,
    "top_k": GenAI.REQUEST_TOP_K,
    "max_output_tokens": GenAI.REQUEST_MAX_TOKENS,
    "frequency_penalty": GenAI.REQUEST_FREQUENCY_PENALTY,
    "presence_penalty": GenAI.REQUEST_PRESENCE_PENALTY,
    "seed": GenAI.REQUEST_SEED,
    "candidate_count": GenAI.REQUEST_CHOICE_COUNT,
}

# -- usage ----------------------------------------------------------------------------------------

#: ``UsageMetadata`` counts as the SDK's objects name them, and as the REST API's JSON does (dspy).
_SNAKE = (
    "prompt_token_count",
    "candidates_token_count",
    "thoughts_token_count",
    "cached_content_token_count",
    "tool_use_prompt_token_count",
)
_CAMEL = (
    "promptTokenCount",
    "candidatesTokenCount",
    "thoughtsTokenCount",
    "cachedContentTokenCount",
    "toolUsePromptTokenCount",
)


def gemini_usage(meta: Any) -> Usage | None:
    """Contract usage of a Gemini ``usageMetadata`` (SDK object or REST JSON); None when it has no counts.

    input = prompt (cached included) + tool-use prompt; output = candidates + thoughts; cache_read =
    cached content; reasoning = thoughts (https://ai.google.dev/api/generate-content#UsageMetadata);
    the AUDIO and IMAGE entries of the per-modality details are the v1.1 audio/image units. The API
    omits zero counts (proto3 JSON), so an absent count adds 0; a metadata with none of them (Vertex
    AI's ``{"trafficType": ...}`` on stream events before the last) reports nothing.
    """
    if meta is None:
        return None
    names = _CAMEL if isinstance(meta, dict) else _SNAKE
    prompt, candidates, thoughts, cached, tool_use = (token_count(field(meta, n)) for n in names)
    if prompt is None and candidates is None and thoughts is None:
        return None
    inp = (prompt or 0) + (tool_use or 0)
    out = (candidates or 0) + (thoughts or 0)
    cache_read = cached if cached is None or cached <= inp else None
    return Usage(inp, out, cache_read, None, thoughts, billed=modalities(meta))


def _by_modality(details: Any, count: str) -> dict[str, int]:
    """``ModalityTokenCount`` entries summed per modality name (``AUDIO``, ``IMAGE``, ``TEXT``...)."""
    counts: dict[str, int] = {}
    for entry in details or ():
        modality = field(entry, "modality")
        name = str(getattr(modality, "value", modality) or "")
        counts[name] = counts.get(name, 0) + (token_count(field(entry, count)) or 0)
    return counts


def modalities(meta: Any) -> Billed | None:
    """The AUDIO and IMAGE entries of ``promptTokensDetails`` / ``candidatesTokensDetails`` (contract
    v1.1 billed units, subsets of input and output); None when every token was text."""
    if isinstance(meta, dict):
        prompt = _by_modality(meta.get("promptTokensDetails"), "tokenCount")
        output = _by_modality(meta.get("candidatesTokensDetails"), "tokenCount")
    else:
        prompt = _by_modality(getattr(meta, "prompt_tokens_details", None), "token_count")
        output = _by_modality(getattr(meta, "candidates_tokens_details", None), "token_count")
    audio_in, image_in = prompt.get("AUDIO") or None, prompt.get("IMAGE") or None
    audio_out, image_out = output.get("AUDIO") or None, output.get("IMAGE") or None
    if audio_in is None and image_in is None and audio_out is None and image_out is None:
        return None
    return Billed(audio_input=audio_in, image_input=image_in, audio_output=audio_out, image_output=image_out)


# -- finish reasons -------------------------------------------------------------------------------


def _reason(candidate: Any) -> str | None:
    """A candidate's finish reason as the provider's word in lower case (``stop``, ``max_tokens``,
    ``safety``...), ``tool_calls`` for a STOP that asks for function calls; None while unfinished and
    for a hop that continues (``CONTINUATION``: the response goes on in the next request)."""
    reason = candidate.finish_reason
    if reason is None:
        return None
    word = str(getattr(reason, "value", reason)).lower()
    if word == "continuation":
        return None
    if word == "stop":
        content = candidate.content
        for part in (content.parts if content is not None else None) or ():
            if part.function_call is not None:
                return "tool_calls"
    return word


def _reasons(response: Any) -> list[str]:
    """Finish reasons of a response's candidates; ``content_filter`` for a prompt blocked outright."""
    reasons = [r for r in (_reason(c) for c in response.candidates or ()) if r is not None]
    if not reasons and getattr(response.prompt_feedback, "block_reason", None) is not None:
        reasons.append("content_filter")
    return reasons


# -- errors ---------------------------------------------------------------------------------------

_LONG_TERM_QUOTAS = ("PerDay", "PerMonth")


def _quota_ids(error: Any) -> list[str]:
    """The ``quotaId`` of every ``QuotaFailure`` violation in a Google error body."""
    ids: list[str] = []
    for detail in field(error, "details") or ():
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("QuotaFailure"):
            ids.extend(
                str(v.get("quotaId", "")) for v in detail.get("violations") or () if isinstance(v, dict)
            )
    return ids


def _reasons_of(error: Any) -> list[str]:
    """The ``reason`` of every ``ErrorInfo`` detail (``API_KEY_INVALID``...)."""
    details = field(error, "details") or ()
    return [str(d.get("reason", "")) for d in details if isinstance(d, dict) and "reason" in d]


def error_type(exc: BaseException) -> str:
    """The contract's ``error_type`` of what google-genai raised."""
    code = getattr(exc, "code", None)
    body = getattr(exc, "details", None)
    if not isinstance(code, int) or isinstance(code, bool) or not isinstance(body, dict):
        return classify(exc)  # httpx/httpx2/aiohttp transport errors, google-auth ones
    error = body.get("error", body)
    text = f"{getattr(exc, 'status', '')} {getattr(exc, 'message', '')}".lower()
    if code == 429:
        daily = any(period in q for q in _quota_ids(error) for period in _LONG_TERM_QUOTAS)
        return "quota" if daily else "rate_limit"
    if code == 400 and "API_KEY_INVALID" in _reasons_of(error):
        return "auth"  # the Developer API answers a bad key with 400
    if code == 400 and "exceeds the maximum number of tokens" in text:
        return "context_length"
    if code == 504:
        return "timeout"  # DEADLINE_EXCEEDED
    if code == 499:
        return "other"  # CANCELLED
    return classify_status(code, text)


# -- attempts: retries, and proof that a request went out -----------------------------------------


class _Attempts:
    """The HTTP attempts of one call in this context; ``failure``: the last one's ``error_type``."""

    __slots__ = ("call", "failure")

    def __init__(self, call: Call) -> None:
        self.call = call
        self.failure: str | None = None


_attempts: ContextVar[_Attempts | None] = ContextVar("llm_telemetry_genai_attempts", default=None)


@guarded("retry", None)
def _attempt(call: Call) -> _Attempts | None:
    """Note one attempt of ``call``; one after a failed attempt is a retry for that failure."""
    attempts = _attempts.get()
    if attempts is None or attempts.call is not call:
        attempts = _Attempts(call)
        _attempts.set(attempts)
    elif attempts.failure is not None:
        call.retry(attempts.failure)
        attempts.failure = None
    return attempts


def _failed(attempts: _Attempts | None, exc: BaseException) -> None:
    if attempts is not None:
        try:
            attempts.failure = error_type(exc)
        except Exception as err:
            internal_error("retry", err)


def _request_once(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    """Wraps ``BaseApiClient._request_once``: one HTTP attempt of the owning call."""
    call = current_call()
    if call is None:
        return wrapped(*args, **kwargs)
    attempts = _attempt(call)
    try:
        return wrapped(*args, **kwargs)
    except Exception as exc:
        _failed(attempts, exc)
        raise


async def _async_request_once(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    """Wraps ``BaseApiClient._async_request_once`` (tenacity awaits it in the caller's context)."""
    call = current_call()
    if call is None:
        return await wrapped(*args, **kwargs)
    attempts = _attempt(call)
    try:
        return await wrapped(*args, **kwargs)
    except Exception as exc:
        _failed(attempts, exc)
        raise


def _sent(call: Call | None) -> bool:
    """At least one HTTP attempt of ``call`` was made in this context."""
    attempts = _attempts.get()
    return attempts is not None and attempts.call is call


def _refused(exc: BaseException) -> bool:
    """Nothing was sent for the call failing now (the one this context owns): a local refusal."""
    return not _sent(current_call())


# -- results --------------------------------------------------------------------------------------


class GenerateState(StreamState):
    """``GenerateContentResponse`` stream events: usage is cumulative, the last reported value wins.

    Per event only references are kept; the usage is read once, from the event that finishes the
    response (or, for an interrupted stream, the last event that carried counts).
    """

    __slots__ = ("meta",)

    def __init__(self, call: Call, request: StreamRequest) -> None:
        super().__init__(call, request)
        self.meta: Any = None

    def observe(self, chunk: Any) -> bool:
        if self.response_id is None:
            self.response_model = chunk.model_version
            self.response_id = chunk.response_id
        meta = chunk.usage_metadata
        if meta is not None and (meta.total_token_count is not None or meta.prompt_token_count is not None):
            self.meta = meta
        candidates = chunk.candidates
        if candidates:
            if self.call.first_output is None:  # output is looked for until the first token only
                self._output(candidates)
            for candidate in candidates:
                if candidate.finish_reason is not None:
                    self._finished(candidate)
        elif chunk.prompt_feedback is not None and chunk.prompt_feedback.block_reason is not None:
            self.finished(0, "content_filter")
        return False

    def _output(self, candidates: Any) -> None:
        for candidate in candidates:
            content = candidate.content
            if content is not None and content.parts:  # text, thoughts and function calls alike
                self.call.output_seen()
                return

    def _finished(self, candidate: Any) -> None:
        """A candidate's last event: its finish reason and the response's final usage."""
        self.usage = gemini_usage(self.meta)
        reason = _reason(candidate)
        if reason is not None:
            self.finished(candidate.index or 0, reason)
        elif not self.complete:  # a hop that continues in the next request: complete, no finish reason
            self.complete = True
            self.call.output_done()

    def end(self, how: str, exc: BaseException | None = None) -> None:
        if how == "error" and self.response_id is None and not _sent(self.call):
            self.call.discard()  # the first read raised before any request was sent
            return
        if self.usage is None and self.meta is not None:
            self.usage = gemini_usage(self.meta)
        super().end(how, exc)

    def _error_type(self, exc: BaseException) -> str:
        kind = error_type(exc)
        if (
            self.response_id is not None
            and kind in ("connection", "other")
            and getattr(exc, "code", None) is None
        ):
            return "stream_interrupted"  # the connection broke under a stream already under way
        return kind


def _finish_generate(call: Call, response: Any) -> None:
    meta = getattr(response, "usage_metadata", None)
    call.succeed(
        gemini_usage(meta),
        getattr(response, "model_version", None),
        getattr(response, "response_id", None),
        _reasons(response),
    )


def _finish_embed(call: Call, response: Any) -> None:
    """Embeddings: ``usage_metadata.prompt_token_count`` where sent (not in google-genai 2.0), else the
    per-embedding ``statistics.token_count`` Vertex AI's ``predict`` reports, summed."""
    prompt = token_count(getattr(getattr(response, "usage_metadata", None), "prompt_token_count", None))
    if prompt is None:
        counts = [
            token_count(getattr(getattr(e, "statistics", None), "token_count", None))
            for e in getattr(response, "embeddings", None) or ()
        ]
        prompt = sum(c for c in counts if c is not None) if any(c is not None for c in counts) else None
    call.succeed(None if prompt is None else Usage(input=prompt))


GENERATE = Endpoint("generate_content", _finish_generate, refused=_refused)
#: The sync stream method is a generator function: its request goes out on the first ``next()``.
STREAM = Endpoint("generate_content", _finish_generate, GenerateState, lazy_stream=True, refused=_refused)
#: The async one awaits the request, then returns an async generator.
ASYNC_STREAM = Endpoint("generate_content", _finish_generate, GenerateState, refused=_refused)
EMBED = Endpoint("embeddings", _finish_embed, refused=_refused)


def _base_url(api_client: Any, config: Any) -> Any:
    """The request's base URL: the per-request ``config.http_options`` one, else the client's."""
    options = field(config, "http_options") if config is not None else None
    url = field(options, "base_url") if options is not None else None
    return url or getattr(api_client._http_options, "base_url", None)


def _prepare(
    ep: Endpoint, instance: Any, args: Any, kwargs: dict[str, Any]
) -> tuple[Call | None, StreamRequest]:
    api_client = instance._api_client
    config = kwargs.get("config")
    address, port = server_of_url(_base_url(api_client, config))
    call = begin(
        "gcp.vertex_ai" if api_client.vertexai else "gcp.gemini",
        ep.operation,
        kwargs.get("model"),
        stream=ep.state is not None,
        address=address,
        port=port,
        params=config if isinstance(config, dict) else getattr(config, "__dict__", None),
        table=REQUEST_ATTRIBUTES,
    )
    return call, NO_STREAM_REQUEST


_invoke, _invoke_async = classified(error_type)


def patches() -> list[Patch]:
    """Every hook this integration installs (classes resolved from the installed SDK)."""
    from google.genai import _api_client, models

    out = [
        Patch(_api_client.BaseApiClient, "_request_once", _request_once),
        Patch(_api_client.BaseApiClient, "_async_request_once", _async_request_once),
    ]
    for name, sync_ep, async_ep in (
        ("_generate_content", GENERATE, GENERATE),
        ("_generate_content_stream", STREAM, ASYNC_STREAM),
        ("_embed_content", EMBED, EMBED),
    ):
        out.append(Patch(models.Models, name, sync_wrapper(sync_ep, _prepare, _invoke)))
        out.append(Patch(models.AsyncModels, name, async_wrapper(async_ep, _prepare, _invoke_async)))
    return out
