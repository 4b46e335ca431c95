"""AWS Bedrock through boto3's ``bedrock-runtime`` client: its tables, usage and stream states.

Hooked: botocore's ``BaseClient._make_api_call`` for the ``bedrock-runtime`` operations ``Converse``,
``ConverseStream``, ``InvokeModel`` and ``InvokeModelWithResponseStream`` (every other call passes
straight through after one dict lookup), and ``Endpoint._needs_retry``, the one place botocore decides
to retry an attempt (throttling included), restorable exactly on ``uninstrument()`` unlike handlers on
each client's event emitter. ``CountTokens`` bills nothing and is not recorded.

Usage: Converse's ``usage`` (``inputTokens`` excludes cache reads and writes); InvokeModel's body
belongs to the caller and is never read: its usage comes from Bedrock's token-count response headers.
Streams are ``EventStream`` objects, replaced in the caller's own response dict by the one stream proxy:
Converse's ``metadata`` event carries the usage; InvokeModel's last ``chunk`` carries
``amazon-bedrock-invocationMetrics`` for every model family, and only chunks that can carry usage are
decoded (a substring test on their bytes), the first and last ones at the end of an interrupted stream.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from ..contract import GenAI
from ..errors import classify, classify_status
from ..record import Call, begin, current_call, internal_error
from ..streams import StreamProxy, StreamRequest, StreamState
from ..usage import PRICED_TIERS, Billed, Usage, token_count
from ._patch import Patch
from ._skeleton import NO_STREAM_REQUEST, Endpoint, classified, guarded, server_of_url, sync_wrapper

__all__ = ["ConverseState", "InvokeState", "converse_usage", "error_type", "operation_of", "patches"]

SERVICE = "bedrock-runtime"

#: Converse ``inferenceConfig`` field -> span attribute.
REQUEST_ATTRIBUTES = {
    "maxTokens": GenAI.REQUEST_MAX_TOKENS,
    "temperature": GenAI.REQUEST_TEMPERATURE,
    "topP": GenAI.REQUEST_TOP_P,
}

# -- model families -------------------------------------------------------------------------------

#: A cross-region inference profile's prefix (``us.``, ``eu.``, ``apac.``, ``global.``...).
_REGION_PREFIX = re.compile(r"^(?:[a-z]{2}(?:-[a-z]+)?|apac|global)\.(?=[a-z0-9-]+\.)")
#: InvokeModel bodies that take a ``prompt`` string (text completion), by model id prefix.
_TEXT_COMPLETION = ("meta.", "mistral.", "amazon.titan-text", "cohere.command-text", "cohere.command-light")


def _base_model(model_id: str) -> str:
    """The foundation model of a model id, inference profile id or ARN (``us.meta.x`` -> ``meta.x``)."""
    return _REGION_PREFIX.sub("", model_id.rsplit("/", 1)[-1])


def operation_of(model_id: object) -> str:
    """InvokeModel's operation by the model family's body: embeddings, text completion, else chat."""
    name = _base_model(model_id) if isinstance(model_id, str) else ""
    if "embed" in name:
        return "embeddings"
    return "text_completion" if name.startswith(_TEXT_COMPLETION) else "chat"


# -- usage ----------------------------------------------------------------------------------------


def converse_usage(usage: Any, tier: Any = None) -> Usage | None:
    """Converse ``TokenUsage``: input = inputTokens + cacheReadInputTokens + cacheWriteInputTokens
    (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_TokenUsage.html), the 1-hour
    share of the cache write from ``cacheDetails``; ``tier``: the response's service tier (``flex``,
    ``priority``...), its price context."""
    if not isinstance(usage, dict):
        return None
    uncached = token_count(usage.get("inputTokens"))
    read = token_count(usage.get("cacheReadInputTokens"))
    write = token_count(usage.get("cacheWriteInputTokens"))
    five = hour = None
    for detail in usage.get("cacheDetails") or ():
        if isinstance(detail, dict) and detail.get("ttl") in ("5m", "1h"):
            count = token_count(detail.get("inputTokens"))
            if detail["ttl"] == "5m":
                five = count
            else:
                hour = count
    if write is None or (five or 0) + (hour or 0) > write:
        five = hour = None
    total = None if uncached is None else uncached + (read or 0) + (write or 0)
    billed = Billed(service_tier=tier) if tier in PRICED_TIERS else None
    return Usage(total, token_count(usage.get("outputTokens")), read, write, None, five, hour, billed)


def _tier(holder: dict[str, Any]) -> Any:
    """Converse's ``serviceTier.type`` (in the response, or the stream's ``metadata`` event)."""
    tier = holder.get("serviceTier")
    return tier.get("type") if isinstance(tier, dict) else None


def _counted(inp: Any, out: Any, read: Any, write: Any, tier: Any = None) -> Usage | None:
    """Usage from Bedrock's own counts (headers, invocation metrics): input excludes cache, as Converse's."""
    counts = {"inputTokens": inp, "outputTokens": out}
    return converse_usage({**counts, "cacheReadInputTokens": read, "cacheWriteInputTokens": write}, tier)


def _header_usage(response: dict[str, Any]) -> Usage | None:
    """``X-Amzn-Bedrock-*-Token-Count`` headers of an InvokeModel response (botocore lower-cases them)."""
    headers = response.get("ResponseMetadata", {}).get("HTTPHeaders") or {}

    def count(name: str) -> int | None:
        value = headers.get(f"x-amzn-bedrock-{name}-token-count")
        return int(value) if isinstance(value, str) and value.isdigit() else None

    return _counted(
        count("input"),
        count("output"),
        count("cache-read-input"),
        count("cache-write-input"),
        response.get("serviceTier"),  # modeled from X-Amzn-Bedrock-Service-Tier
    )


# -- errors ---------------------------------------------------------------------------------------

#: Bedrock error codes (``x-amzn-ErrorType``, and the lowerCamel exception events of streams).
_BY_CODE = {
    "throttlingexception": "rate_limit",
    "servicequotaexceededexception": "quota",
    "modelnotreadyexception": "overloaded",
    "serviceunavailableexception": "server",
    "internalserverexception": "server",
    "modelerrorexception": "server",
    "modelstreamerrorexception": "server",
    "modeltimeoutexception": "timeout",
    "accessdeniedexception": "permission",
    "unrecognizedclientexception": "auth",
    "invalidsignatureexception": "auth",
    "expiredtokenexception": "auth",
    "resourcenotfoundexception": "not_found",
    "conflictexception": "conflict",
}


def _by_code(code: str, status: object, message: str) -> str:
    found = _BY_CODE.get(code.lower())
    if found is not None:
        return found
    text = message.lower()
    if code.lower() == "validationexception":
        return "context_length" if "input is too long" in text else classify_status(400, text)
    return classify_status(status, text) if isinstance(status, int) and status >= 400 else "other"


def error_type(exc: BaseException) -> str:
    """The contract's ``error_type`` of what botocore raised (``ClientError`` carries no ``status_code``)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return classify(exc)  # connection and timeout errors, urllib3's ProtocolError
    error = response.get("Error") or {}
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    return _by_code(str(error.get("Code") or ""), status, str(error.get("Message") or ""))


def _refused(exc: BaseException) -> bool:
    """botocore refused the call before sending it: bad parameters, no credentials to sign with."""
    from botocore.exceptions import NoCredentialsError, ParamValidationError, PartialCredentialsError

    return isinstance(exc, (ParamValidationError, NoCredentialsError, PartialCredentialsError))


def _needs_retry(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> bool:
    """Wraps ``Endpoint._needs_retry(attempts, operation_model, request_dict, response, caught_exception)``:
    when botocore retries a bedrock-runtime attempt, the owning call counts it by the attempt's failure."""
    retry: bool = wrapped(*args, **kwargs)
    if retry:
        call = current_call()
        if call is not None:
            _count_retry(call, *args, **kwargs)
    return retry


@guarded("retry", None)
def _count_retry(
    call: Call,
    attempts: Any,
    operation_model: Any,
    request_dict: Any = None,
    response: Any = None,
    caught_exception: BaseException | None = None,
) -> None:
    if operation_model.service_model.service_name != SERVICE:
        return
    if caught_exception is not None:
        kind = error_type(caught_exception)
    else:
        http, parsed = response
        error = parsed.get("Error") or {}
        kind = _by_code(str(error.get("Code") or ""), http.status_code, str(error.get("Message") or ""))
    call.retry(kind)


# -- streams --------------------------------------------------------------------------------------


class _BedrockState(StreamState):
    """What both Bedrock streams share: an error event or a cut connection, classified the Bedrock way."""

    __slots__ = ()

    def _error_type(self, exc: BaseException) -> str:
        kind = error_type(exc)
        if kind in ("connection", "other") and getattr(exc, "response", None) is None:
            return "stream_interrupted"  # urllib3's ProtocolError escapes the EventStream unwrapped
        return kind

    def completed(self) -> None:
        """The response is complete (its last event arrived) even without a finish reason."""
        if not self.complete:
            self.complete = True
            self.call.output_done()


class ConverseState(_BedrockState):
    """ConverseStream events: ``contentBlockDelta``..., ``messageStop``, then ``metadata`` with the usage."""

    __slots__ = ()

    def observe(self, event: Any) -> bool:
        delta = event.get("contentBlockDelta")
        if delta is not None:
            if self.call.first_output is None:  # output is looked for until the first token only
                part = delta.get("delta") or {}
                if "text" in part or "toolUse" in part or "text" in (part.get("reasoningContent") or {}):
                    self.call.output_seen()
            return False
        stop = event.get("messageStop")
        if stop is not None:
            self.finished(0, str(stop.get("stopReason") or ""))
            return False
        metadata = event.get("metadata")
        if metadata is not None:
            self.usage = converse_usage(metadata.get("usage"), _tier(metadata))
            self.completed()
        return False


class InvokeState(_BedrockState):
    """InvokeModelWithResponseStream ``chunk`` events, each the model family's own stream event as bytes.

    Only three kinds of chunk are decoded: the last (``amazon-bedrock-invocationMetrics``: usage of every
    family), Anthropic's ``message_start`` / ``message_delta`` (model, id, stop reason, running usage).
    An interrupted stream of another family reads its first and last chunks at the end.
    """

    __slots__ = ("anthropic", "first", "last", "raw")

    def __init__(self, call: Call, request: StreamRequest) -> None:
        super().__init__(call, request)
        self.anthropic = _base_model(call.request_model).startswith("anthropic.")
        self.first: bytes | None = None
        self.last: bytes | None = None
        #: Anthropic's raw usage fields, merged (latest non-null wins), as its own integration does.
        self.raw: dict[str, Any] = {}

    def observe(self, event: Any) -> bool:
        chunk = event.get("chunk")
        if chunk is None:
            return False
        data = chunk.get("bytes") or b""
        self.last = data
        if self.first is None:
            self.first = data
        # Output is looked for until the first token only: other families' chunks, Anthropic's deltas.
        if self.anthropic:
            if b'"content_block_delta"' in data:  # nearly every chunk: text, nothing to decode
                if self.call.first_output is None:
                    self.call.output_seen()
                return False
        elif self.call.first_output is None:
            self.call.output_seen()
        if b"invocationMetrics" in data:
            self._final(json.loads(data))
        elif self.anthropic and (b'"message_start"' in data or b'"message_delta"' in data):
            self._anthropic(json.loads(data))
        return False

    def _anthropic(self, event: dict[str, Any]) -> None:
        message = event.get("message")
        if isinstance(message, dict):  # message_start
            self.response_model = message.get("model")
            self.response_id = message.get("id")
        usage = (message or event).get("usage")
        if isinstance(usage, dict):
            self.raw.update((k, v) for k, v in usage.items() if v is not None)
            raw = self.raw
            self.usage = _counted(
                raw.get("input_tokens"),
                raw.get("output_tokens"),
                raw.get("cache_read_input_tokens"),
                raw.get("cache_creation_input_tokens"),
            )
        reason = (event.get("delta") or {}).get("stop_reason")
        if reason:
            self.finished(0, reason)

    def _final(self, event: dict[str, Any]) -> None:
        """The last chunk: Bedrock's invocation metrics, and the family's stop reason if it has one."""
        if self.anthropic:
            self._anthropic(event)
        else:
            self._family_reason(event)
        metrics = event.get("amazon-bedrock-invocationMetrics") or {}
        self.usage = _counted(
            metrics.get("inputTokenCount"),
            metrics.get("outputTokenCount"),
            metrics.get("cacheReadInputTokenCount"),
            metrics.get("cacheWriteInputTokenCount"),
        )
        self.completed()

    def _family_reason(self, event: dict[str, Any]) -> None:
        """Llama ``stop_reason``, Titan ``completionReason``, Mistral ``outputs[0].stop_reason``."""
        outputs = event.get("outputs")
        first = outputs[0] if isinstance(outputs, list) and outputs and isinstance(outputs[0], dict) else {}
        reason = event.get("stop_reason") or event.get("completionReason") or first.get("stop_reason")
        if isinstance(reason, str) and reason:
            self.finished(0, reason.lower())  # Titan's FINISH, LENGTH, CONTENT_FILTERED

    def end(self, how: str, exc: BaseException | None = None) -> None:
        if self.usage is None and not self.anthropic and self.first is not None and self.last is not None:
            try:
                self._running_counts(json.loads(self.first), json.loads(self.last))
            except Exception as err:
                internal_error("stream_end", err)
        super().end(how, exc)

    def _running_counts(self, first: dict[str, Any], last: dict[str, Any]) -> None:
        """Llama and Titan Text count as they stream: the prompt in the first chunk, output so far in each."""
        self._family_reason(last)
        for prompt_key, output_key in (
            ("prompt_token_count", "generation_token_count"),
            ("inputTextTokenCount", "totalOutputTextTokenCount"),
        ):
            if prompt_key in first:
                self.usage = _counted(first.get(prompt_key), last.get(output_key), None, None)
                return


# -- results --------------------------------------------------------------------------------------


def _request_id(response: dict[str, Any]) -> str | None:
    rid = (response.get("ResponseMetadata") or {}).get("RequestId")
    return rid if isinstance(rid, str) else None


def _finish_converse(call: Call, response: Any) -> None:
    reason = response.get("stopReason")
    call.succeed(
        converse_usage(response.get("usage"), _tier(response)),
        None,
        _request_id(response),
        [reason] if reason else [],
    )


def _finish_invoke(call: Call, response: Any) -> None:
    call.succeed(_header_usage(response), None, _request_id(response))


def _streamed(key: str, state: type[StreamState]) -> Callable[[Call, Any], None]:
    """Replace the EventStream under ``key`` of the caller's own response dict with the stream proxy."""

    def wrap(call: Call, response: Any) -> None:
        stream_state = state(call, NO_STREAM_REQUEST)
        stream_state.response_id = _request_id(response)
        response[key] = StreamProxy(response[key], stream_state)

    return wrap


#: Operation name -> endpoint. The operation of InvokeModel calls is decided per model family.
ENDPOINTS = {
    "Converse": Endpoint("chat", _finish_converse, refused=_refused),
    "ConverseStream": Endpoint("chat", _streamed("stream", ConverseState), refused=_refused),
    "InvokeModel": Endpoint("", _finish_invoke, refused=_refused),
    "InvokeModelWithResponseStream": Endpoint("", _streamed("body", InvokeState), refused=_refused),
}
_STREAMED = frozenset(("ConverseStream", "InvokeModelWithResponseStream"))


def _prepare(
    ep: Endpoint, instance: Any, args: Any, kwargs: dict[str, Any]
) -> tuple[Call | None, StreamRequest]:
    operation_name, params = args
    model = params.get("modelId")
    address, port = server_of_url(instance.meta.endpoint_url)
    call = begin(
        "aws.bedrock",
        ep.operation or operation_of(model),
        model,
        stream=operation_name in _STREAMED,
        address=address,
        port=port,
        params=config if isinstance(config := params.get("inferenceConfig"), dict) else None,
        table=REQUEST_ATTRIBUTES,
    )
    return call, NO_STREAM_REQUEST


_invoke, _ = classified(error_type)
_WRAPPERS = {name: sync_wrapper(ep, _prepare, _invoke) for name, ep in ENDPOINTS.items()}


def _make_api_call(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    """Wraps ``BaseClient._make_api_call(operation_name, api_params)`` (boto3 calls it positionally)."""
    wrapper = _WRAPPERS.get(args[0]) if len(args) == 2 and not kwargs else None
    if wrapper is None or instance.meta.service_model.service_name != SERVICE:
        return wrapped(*args, **kwargs)
    return wrapper(wrapped, instance, args, kwargs)


def patches() -> list[Patch]:
    """Every hook this integration installs (botocore's classes)."""
    from botocore import client, endpoint

    return [
        Patch(client.BaseClient, "_make_api_call", _make_api_call),
        Patch(endpoint.Endpoint, "_needs_retry", _needs_retry),
    ]
