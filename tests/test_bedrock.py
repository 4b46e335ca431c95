"""Bedrock integration: the real boto3 ``bedrock-runtime`` client over real HTTP to the fake provider.

Converse, ConverseStream, InvokeModel (each model family's body) and InvokeModelWithResponseStream, with
botocore's own retries and error classes: every family, cost component, span and retry asserted exactly
(``test_openai.check``), streams ended once however the caller leaves them, and the caller's response
(InvokeModel's body included, which is never read for it) exactly what it is uninstrumented.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
import wrapt
from botocore import client as botocore_client
from botocore import endpoint as botocore_endpoint
from botocore.config import Config
from botocore.eventstream import EventStream
from botocore.exceptions import EventStreamError, NoCredentialsError, ParamValidationError
from botocore.response import StreamingBody
from urllib3.exceptions import ProtocolError

import llm_telemetry
from llm_telemetry.integrations.bedrock import operation_of
from llm_telemetry.testing import (
    Converse,
    ConverseStream,
    CountBedrockTokens,
    Error,
    FakeProvider,
    InvokeModel,
    InvokeModelStream,
    bedrock_usage,
)
from llm_telemetry.usage import Usage

from .sdk_checks import assert_costs, collected, in_flight, same_for_caller
from .sdk_checks import frozen_heap as frozen_heap
from .test_fakeprovider_bedrock import CLAUDE, FAMILY_MODELS, HI
from .test_openai import Expect, Tokens, check

if TYPE_CHECKING:
    from tests.conftest import Telemetry

CONVERSE = Expect(
    request_model=CLAUDE,
    response_model=None,
    operation="chat",
    provider="aws.bedrock",
    tokens=Tokens(12, 3),
    finish_reasons=("end_turn",),
)
HOOKED = [(botocore_client.BaseClient, "_make_api_call"), (botocore_endpoint.Endpoint, "_needs_retry")]
#: The clients keep Bedrock's own endpoint (what provider detection, pricing and ``server.address`` see:
#: at a loopback address an open-weight model is not priced); each request is sent to the fake provider.
AWS = "bedrock-runtime.us-east-1.amazonaws.com"
SERVER = {"server.address": AWS, "server.port": 443}


def _client(fp: FakeProvider, **retries: Any) -> Any:
    """A ``bedrock-runtime`` client for Bedrock's us-east-1 endpoint whose requests go to ``fp``
    (``redirect_boto3``: a ``before-send`` handler points each prepared request at it)."""
    client = boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries=retries) if retries else None,
    )
    assert client.meta.endpoint_url == f"https://{AWS}"
    return fp.redirect_boto3(client)


def bedrock(rid: str | None, **changes: Any) -> Expect:
    """A Bedrock expectation: ``rid`` is the response's RequestId (the fake provider numbers them)."""
    changes["span_extra"] = {**SERVER, **changes.get("span_extra", {})}
    return dataclasses.replace(CONVERSE, response_id=rid, **changes)


def streamed(rid: str | None, **changes: Any) -> Expect:
    """A stream whose output arrived."""
    return bedrock(rid, stream=True, first_token=True, **changes)


def broken(rid: str | None, error_type: str, **changes: Any) -> Expect:
    """A stream that failed after it began (so before its finish reason)."""
    return streamed(rid, outcome="error", error_type=error_type, finish_reasons=(), **changes)


#: An InvokeModel text-completion family.
LLAMA = {"request_model": "meta.llama3-8b-instruct-v1:0", "operation": "text_completion"}


def failed(error_type: str, **changes: Any) -> Expect:
    """A request that failed with no response (its RequestId is not a response id)."""
    return bedrock(None, outcome="error", error_type=error_type, tokens=None, finish_reasons=(), **changes)


def rid(response: dict[str, Any]) -> str:
    return str(response["ResponseMetadata"]["RequestId"])


@pytest.fixture(scope="module")
def clients(server: FakeProvider) -> Iterator[dict[str, Any]]:
    """The module's clients: botocore's defaults (standard mode, 3 attempts), no retries, 2 attempts."""
    made = {
        "default": _client(server),
        "once": _client(server, mode="standard", total_max_attempts=1),
        "twice": _client(server, mode="standard", total_max_attempts=2),
    }
    yield made
    for made_client in made.values():
        made_client.close()


@pytest.fixture
def brt(clients: dict[str, Any]) -> Any:
    return clients["default"]


def _events(stream: Any) -> list[Any]:
    return list(stream)


def _without_volatile(response: dict[str, Any]) -> dict[str, Any]:
    """A response as the caller sees it, minus what differs between two identical requests."""
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


# -- Converse -------------------------------------------------------------------------------------


def test_converse_every_family_cost_and_span(telemetry: Telemetry, fp: FakeProvider, brt: Any) -> None:
    # TokenUsage: https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_TokenUsage.html
    usage = bedrock_usage(4, 37, cache_read=1500, cache_write=1755, cache_details={"5m": 1000, "1h": 755})
    fp.script(Converse(text="Bonjour.", usage=usage, stop_reason="max_tokens"))
    response = brt.converse(
        modelId=CLAUDE, messages=HI, inferenceConfig={"maxTokens": 37, "temperature": 0.5}
    )
    extra: dict[str, Any] = {"gen_ai.request.max_tokens": 37, "gen_ai.request.temperature": 0.5}
    split: tuple[int | None, int | None] = (None, None)
    # botocore before 1.43 does not model ``cacheDetails`` and drops it: the cache write is not split.
    if "cacheDetails" in brt.meta.service_model.shape_for("TokenUsage").members:
        split = (1000, 755)
        extra["llm_telemetry.usage.cache_write_5m.input_tokens"] = 1000
        extra["llm_telemetry.usage.cache_write_1h.input_tokens"] = 755
    check(
        telemetry,
        fp,
        bedrock(
            rid(response),
            tokens=Tokens(3259, 37, cache_read=1500, cache_write=1755),
            finish_reasons=("max_tokens",),
            span_extra=extra,
        ),
    )
    assert_costs(telemetry, "aws.bedrock", CLAUDE, Usage(3259, 37, 1500, 1755, None, *split))


@pytest.mark.parametrize(
    "model",
    ["us.anthropic.claude-sonnet-4-5-20250929-v1:0", "global.anthropic.claude-sonnet-4-5-20250929-v1:0"],
    ids=["us", "global"],
)
def test_cross_region_profiles_are_priced(
    telemetry: Telemetry, fp: FakeProvider, brt: Any, model: str
) -> None:
    fp.script(Converse(usage=bedrock_usage(100, 20)))
    response = brt.converse(modelId=model, messages=HI)
    check(telemetry, fp, bedrock(rid(response), request_model=model, tokens=Tokens(100, 20)))
    assert_costs(telemetry, "aws.bedrock", model, Usage(100, 20))


def test_converse_tool_use(telemetry: Telemetry, fp: FakeProvider, brt: Any) -> None:
    fp.script(Converse(tool_use={"name": "weather", "input": {"city": "Oslo"}}, stop_reason="tool_use"))
    response = brt.converse(modelId=CLAUDE, messages=HI)
    check(telemetry, fp, bedrock(rid(response), finish_reasons=("tool_use",)))
    assert telemetry.value("llm_telemetry_finish_reasons_total", finish_reason="tool_calls") == 1


@pytest.mark.parametrize(
    ("call", "tier", "context"),
    [
        ("converse", "flex", "flex"),
        ("stream", "priority", "priority"),
        ("invoke", "flex", "flex"),
        ("converse", "default", None),
    ],
)
def test_the_service_tier_is_the_price_context(
    telemetry: Telemetry, fp: FakeProvider, brt: Any, call: str, tier: str, context: str | None
) -> None:
    """``serviceTier`` (Converse, the stream's ``metadata``) and ``X-Amzn-Bedrock-Service-Tier``
    (InvokeModel) price the response; the default tier is no price context."""
    extra = {} if context is None else {"llm_telemetry.service_tier": context}
    if call == "converse":
        fp.script(Converse(service_tier=tier))
        response = brt.converse(modelId=CLAUDE, messages=HI)
        expect = bedrock(rid(response), span_extra=extra)
    elif call == "stream":
        fp.script(ConverseStream(service_tier=tier))
        response = brt.converse_stream(modelId=CLAUDE, messages=HI)
        _events(response["stream"])
        expect = streamed(rid(response), tokens=Tokens(12, 2), span_extra=extra)
    else:
        fp.script(InvokeModel(service_tier=tier))
        response = brt.invoke_model(modelId=CLAUDE, body=b"{}")
        expect = bedrock(rid(response), finish_reasons=(), span_extra=extra)
    check(telemetry, fp, expect)


async def test_the_caller_sees_what_it_would_uninstrumented(
    telemetry: Telemetry, fp: FakeProvider, brt: Any
) -> None:
    async def converse() -> Any:
        fp.script(Converse(usage=bedrock_usage(3, 4, cache_read=5)))
        return brt.converse(modelId=CLAUDE, messages=HI)

    await same_for_caller(telemetry, converse, _without_volatile)

    async def stream() -> Any:
        fp.script(ConverseStream(chunks=("a", "b"), reasoning="r"))
        response = brt.converse_stream(modelId=CLAUDE, messages=HI)
        return {**response, "stream": _events(response["stream"])}

    await same_for_caller(telemetry, stream, _without_volatile)

    async def invoke() -> Any:
        fp.script(InvokeModel(family="meta", input_tokens=3, output_tokens=2))
        response = brt.invoke_model(modelId="meta.llama3-8b-instruct-v1:0", body=b"{}")
        assert isinstance(response["body"], StreamingBody)
        return {**response, "body": response["body"].read()}

    await same_for_caller(telemetry, invoke, _without_volatile)

    async def invoke_stream() -> Any:
        fp.script(InvokeModelStream(family="mistral", chunks=("x", "y")))
        response = brt.invoke_model_with_response_stream(
            modelId="mistral.mistral-7b-instruct-v0:2", body=b"{}"
        )
        assert isinstance(response["body"], EventStream)
        return {**response, "body": _events(response["body"])}

    await same_for_caller(telemetry, invoke_stream, _without_volatile)

    async def rejected() -> Any:
        fp.script(Error(400))
        return _raises(brt.converse, modelId=CLAUDE, messages=HI)

    await same_for_caller(telemetry, rejected, lambda e: (e.response["Error"], e.operation_name))
    assert telemetry.value("llm_telemetry_requests_total") == 5  # the instrumented half only


# -- ConverseStream -------------------------------------------------------------------------------


def test_converse_stream(telemetry: Telemetry, fp: FakeProvider, brt: Any) -> None:
    fp.script(
        ConverseStream(chunks=("Hel", "lo", "!"), usage=bedrock_usage(12, 5, cache_read=30), reasoning="Hm.")
    )
    response = brt.converse_stream(modelId=CLAUDE, messages=HI, inferenceConfig={"maxTokens": 64})
    events = _events(response["stream"])
    assert [next(iter(e)) for e in events][-2:] == ["messageStop", "metadata"]
    check(
        telemetry,
        fp,
        streamed(
            rid(response), tokens=Tokens(42, 5, cache_read=30), span_extra={"gen_ai.request.max_tokens": 64}
        ),
    )
    assert_costs(telemetry, "aws.bedrock", CLAUDE, Usage(42, 5, 30))


def test_converse_stream_without_metadata(telemetry: Telemetry, fp: FakeProvider, brt: Any) -> None:
    fp.script(ConverseStream(usage=None))
    response = brt.converse_stream(modelId=CLAUDE, messages=HI)
    _events(response["stream"])
    check(
        telemetry,
        fp,
        streamed(rid(response), tokens=None, missing="not_reported"),
    )


@pytest.mark.parametrize(
    ("error", "error_type"),
    [
        ("throttlingException", "rate_limit"),
        ("modelStreamErrorException", "server"),
        ("serviceUnavailableException", "server"),
        ("validationException", "bad_request"),
        ("internalServerException", "server"),
    ],
)
def test_converse_stream_exception_event(
    telemetry: Telemetry, fp: FakeProvider, brt: Any, error: str, error_type: str
) -> None:
    fp.script(ConverseStream(error_after=2, error=error))
    response = brt.converse_stream(modelId=CLAUDE, messages=HI)
    seen: list[Any] = []
    with pytest.raises(EventStreamError):
        for event in response["stream"]:
            seen.append(event)
    assert len(seen) == 2
    check(
        telemetry,
        fp,
        broken(rid(response), error_type, tokens=None, missing="interrupted"),
    )


def test_converse_stream_cut(telemetry: Telemetry, fp: FakeProvider, brt: Any) -> None:
    fp.script(ConverseStream(die_after=2))
    response = brt.converse_stream(modelId=CLAUDE, messages=HI)
    with pytest.raises(ProtocolError):  # urllib3's own, unwrapped by botocore
        _events(response["stream"])
    check(
        telemetry,
        fp,
        broken(rid(response), "stream_interrupted", tokens=None, missing="interrupted"),
    )


async def test_converse_stream_broken_off_collected(telemetry: Telemetry, fp: FakeProvider, brt: Any) -> None:
    fp.script(ConverseStream(chunks=("a", "b", "c")))
    response = brt.converse_stream(modelId=CLAUDE, messages=HI)
    for _ in response["stream"]:
        break
    request_id = rid(response)
    del response
    await collected()
    check(
        telemetry,
        fp,
        bedrock(
            request_id,
            stream=True,
            outcome="cancelled",
            tokens=None,
            missing="interrupted",
            finish_reasons=(),
        ),
    )


def test_converse_stream_closed_after_its_stop(telemetry: Telemetry, fp: FakeProvider, brt: Any) -> None:
    """Left after ``messageStop``, before ``metadata``: the response is complete, its usage never came."""
    fp.script(ConverseStream(chunks=("a",)))
    response = brt.converse_stream(modelId=CLAUDE, messages=HI)
    stream = response["stream"]
    for event in stream:
        if "messageStop" in event:
            break
    stream.close()
    check(
        telemetry,
        fp,
        streamed(rid(response), tokens=None, missing="interrupted"),
    )
    assert in_flight(telemetry) == 0


# -- InvokeModel ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("family", "model_id"), FAMILY_MODELS, ids=[f for f, _ in FAMILY_MODELS])
def test_invoke_model_families(
    telemetry: Telemetry, fp: FakeProvider, brt: Any, family: str, model_id: str
) -> None:
    fp.script(InvokeModel(input_tokens=12, output_tokens=3))
    response = brt.invoke_model(modelId=model_id, body=json.dumps({"prompt": "hi"}))
    body = response["body"]
    assert body._amount_read == 0  # the body is the caller's: nothing was read from it
    assert json.loads(body.read())  # and it reads whole
    embeddings = family == "titan-embed"
    operation = {"anthropic": "chat", "titan-embed": "embeddings"}.get(family, "text_completion")
    assert operation_of(model_id) == operation
    check(
        telemetry,
        fp,
        bedrock(
            rid(response),
            request_model=model_id,
            operation=operation,
            tokens=Tokens(12, None if embeddings else 3),
            finish_reasons=(),
        ),
    )
    assert_costs(telemetry, "aws.bedrock", model_id, Usage(12, None if embeddings else 3))


def test_invoke_model_cache_counts_from_the_headers(telemetry: Telemetry, fp: FakeProvider, brt: Any) -> None:
    fp.script(InvokeModel(input_tokens=5, output_tokens=9, cache_read=200, cache_write=40))
    response = brt.invoke_model(modelId=CLAUDE, body=b"{}")
    check(
        telemetry,
        fp,
        bedrock(rid(response), tokens=Tokens(245, 9, cache_read=200, cache_write=40), finish_reasons=()),
    )
    assert_costs(telemetry, "aws.bedrock", CLAUDE, Usage(245, 9, 200, 40))


def test_invoke_model_without_count_headers(telemetry: Telemetry, fp: FakeProvider, brt: Any) -> None:
    fp.script(InvokeModel(count_headers=False))
    response = brt.invoke_model(modelId=CLAUDE, body=b"{}")
    assert json.loads(response["body"].read())["usage"] == {"input_tokens": 12, "output_tokens": 3}
    check(telemetry, fp, bedrock(rid(response), tokens=None, missing="not_reported", finish_reasons=()))


# -- InvokeModelWithResponseStream ----------------------------------------------------------------


def _chunks(response: dict[str, Any]) -> list[Any]:
    return [json.loads(event["chunk"]["bytes"]) for event in response["body"]]


def test_invoke_stream_anthropic(telemetry: Telemetry, fp: FakeProvider, brt: Any) -> None:
    fp.script(InvokeModelStream(chunks=("Hel", "lo"), input_tokens=12, output_tokens=7, cache_read=100))
    response = brt.invoke_model_with_response_stream(modelId=CLAUDE, body=b"{}")
    chunks = _chunks(response)
    message = chunks[0]["message"]
    check(
        telemetry,
        fp,
        streamed(
            message["id"], response_model="claude-3-haiku-20240307", tokens=Tokens(112, 7, cache_read=100)
        ),
    )
    assert_costs(telemetry, "aws.bedrock", "claude-3-haiku-20240307", Usage(112, 7, 100))


@pytest.mark.parametrize(
    ("model_id", "operation", "reason"),
    [
        ("meta.llama3-8b-instruct-v1:0", "text_completion", "stop"),
        ("amazon.titan-text-express-v1", "text_completion", "finish"),
        ("mistral.mixtral-8x7b-instruct-v0:1", "text_completion", "stop"),
    ],
    ids=["meta", "titan-text", "mistral"],
)
def test_invoke_stream_families(
    telemetry: Telemetry, fp: FakeProvider, brt: Any, model_id: str, operation: str, reason: str
) -> None:
    fp.script(InvokeModelStream(chunks=("a", "b", "c"), input_tokens=12, output_tokens=6))
    response = brt.invoke_model_with_response_stream(modelId=model_id, body=b"{}")
    assert len(_chunks(response)) == 3
    check(
        telemetry,
        fp,
        streamed(
            rid(response),
            request_model=model_id,
            operation=operation,
            tokens=Tokens(12, 6),
            finish_reasons=(reason,),
        ),
    )
    assert_costs(telemetry, "aws.bedrock", model_id, Usage(12, 6))


def test_invoke_stream_without_metrics_counts_as_the_family_does(
    telemetry: Telemetry, fp: FakeProvider, brt: Any
) -> None:
    """No invocation metrics: Llama's own running counts (prompt in the first chunk, output so far)."""
    fp.script(InvokeModelStream(chunks=("a", "b", "c"), input_tokens=12, output_tokens=6, metrics=False))
    response = brt.invoke_model_with_response_stream(modelId=LLAMA["request_model"], body=b"{}")
    _chunks(response)
    check(telemetry, fp, streamed(rid(response), tokens=Tokens(12, 6), finish_reasons=("stop",), **LLAMA))


def test_invoke_stream_cut_counts_what_was_generated(
    telemetry: Telemetry, fp: FakeProvider, brt: Any
) -> None:
    fp.script(InvokeModelStream(chunks=("a", "b", "c"), input_tokens=12, output_tokens=6, die_after=2))
    response = brt.invoke_model_with_response_stream(modelId=LLAMA["request_model"], body=b"{}")
    with pytest.raises(ProtocolError):
        _chunks(response)
    check(telemetry, fp, broken(rid(response), "stream_interrupted", tokens=Tokens(12, 4), **LLAMA))


def test_invoke_stream_anthropic_error_event_keeps_the_billed_input(
    telemetry: Telemetry, fp: FakeProvider, brt: Any
) -> None:
    """Billed tokens count whatever the outcome: ``message_start`` already carried the input."""
    fp.script(InvokeModelStream(chunks=("a", "b"), input_tokens=12, output_tokens=4, error_after=3))
    response = brt.invoke_model_with_response_stream(modelId=CLAUDE, body=b"{}")
    seen: list[Any] = []
    with pytest.raises(EventStreamError):
        for event in response["body"]:
            seen.append(json.loads(event["chunk"]["bytes"]))
    expect = broken(
        seen[0]["message"]["id"], "server", response_model="claude-3-haiku-20240307", tokens=Tokens(12, 1)
    )
    check(telemetry, fp, expect)


async def test_invoke_stream_closed_early(telemetry: Telemetry, fp: FakeProvider, brt: Any) -> None:
    fp.script(InvokeModelStream(chunks=("a", "b", "c"), family="meta"))
    response = brt.invoke_model_with_response_stream(modelId="meta.llama3-8b-instruct-v1:0", body=b"{}")
    body = response["body"]
    next(iter(body))
    body.close()
    body.close()  # twice: still one end
    await collected()
    assert telemetry.value("llm_telemetry_requests_total", outcome="cancelled") == 1
    assert telemetry.value("llm_telemetry_requests_total") == 1
    assert in_flight(telemetry) == 0
    assert len(telemetry.spans()) == 1


# -- retries and errors ---------------------------------------------------------------------------


def test_server_errors_are_retried_with_their_reasons(
    telemetry: Telemetry, fp: FakeProvider, brt: Any
) -> None:
    fp.script(Error(500), Error(503), Converse())
    response = brt.converse(modelId=CLAUDE, messages=HI)
    assert response["ResponseMetadata"]["RetryAttempts"] == 2
    check(telemetry, fp, bedrock(rid(response), retries=("server", "server")))


def test_throttling_is_retried(telemetry: Telemetry, fp: FakeProvider, brt: Any) -> None:
    fp.script(Error(429), Error(429, headers={"x-amzn-ErrorType": "ModelNotReadyException"}), Converse())
    response = brt.converse(modelId=CLAUDE, messages=HI)
    check(telemetry, fp, bedrock(rid(response), retries=("rate_limit", "overloaded")))


def test_retries_that_give_up(telemetry: Telemetry, fp: FakeProvider, clients: dict[str, Any]) -> None:
    fp.script(Error(503), Error(500))
    error = _raises(clients["twice"].converse, modelId=CLAUDE, messages=HI)
    assert error.response["ResponseMetadata"]["RetryAttempts"] == 1
    check(telemetry, fp, failed("server", retries=("server",)))


def test_a_stream_retried_before_it_began(telemetry: Telemetry, fp: FakeProvider, brt: Any) -> None:
    fp.script(Error(500), ConverseStream(chunks=("ok",)))
    response = brt.converse_stream(modelId=CLAUDE, messages=HI)
    _events(response["stream"])
    check(
        telemetry,
        fp,
        streamed(rid(response), tokens=Tokens(12, 2), retries=("server",)),
    )


def test_legacy_retry_mode(telemetry: Telemetry, fp: FakeProvider) -> None:
    legacy = _client(fp, mode="legacy", max_attempts=2)
    fp.script(Error(503), InvokeModel())
    response = legacy.invoke_model(modelId=CLAUDE, body=b"{}")
    check(telemetry, fp, bedrock(rid(response), retries=("server",), finish_reasons=()))


def _raises(method: Any, **kwargs: Any) -> Any:
    with pytest.raises(Exception) as raised_:
        method(**kwargs)
    return raised_.value


def _too_long() -> dict[str, Any]:
    """Bedrock's ValidationException for an over-long prompt, as recorded in
    https://github.com/aws-samples/assessment-generator/issues/2."""
    return {"message": "Input is too long for requested model."}


@pytest.mark.parametrize(
    ("reply", "error_type"),
    [
        (Error(429), "rate_limit"),
        (Error(400, headers={"x-amzn-ErrorType": "ServiceQuotaExceededException"}), "quota"),
        (Error(429, headers={"x-amzn-ErrorType": "ModelNotReadyException"}), "overloaded"),
        (Error(400), "bad_request"),
        (Error(400, body=_too_long(), headers={"x-amzn-ErrorType": "ValidationException"}), "context_length"),
        (Error(403), "permission"),
        (Error(403, headers={"x-amzn-ErrorType": "UnrecognizedClientException"}), "auth"),
        (Error(404), "not_found"),
        (Error(408), "timeout"),
        (Error(424), "server"),
        (Error(500), "server"),
        (Error(503), "server"),
    ],
    ids=[
        "throttling",
        "quota",
        "not-ready",
        "validation",
        "too-long",
        "denied",
        "bad-key",
        "not-found",
        "model-timeout",
        "model-error",
        "internal",
        "unavailable",
    ],
)
def test_errors_are_classified(
    telemetry: Telemetry, fp: FakeProvider, clients: dict[str, Any], reply: Error, error_type: str
) -> None:
    fp.script(reply)
    error = _raises(clients["once"].converse, modelId=CLAUDE, messages=HI)
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == reply.status
    check(telemetry, fp, failed(error_type))


def test_local_refusals_are_not_requests(
    telemetry: Telemetry, fp: FakeProvider, brt: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ParamValidationError):
        brt.converse(modelId=CLAUDE, messages="not a list")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    anonymous = boto3.Session().client("bedrock-runtime", endpoint_url=fp.url, region_name="us-east-1")
    with pytest.raises(NoCredentialsError):
        anonymous.converse(modelId=CLAUDE, messages=HI)
    assert fp.requests == []
    assert telemetry.value("llm_telemetry_requests_total") == 0
    assert in_flight(telemetry) == 0
    assert telemetry.spans() == ()


def test_count_tokens_and_other_services_are_not_requests(
    telemetry: Telemetry, fp: FakeProvider, brt: Any
) -> None:
    fp.script(CountBedrockTokens(input_tokens=42))
    assert brt.count_tokens(modelId=CLAUDE, input={"converse": {"messages": HI}})["inputTokens"] == 42

    control = boto3.client(
        "bedrock",
        endpoint_url=fp.url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    with pytest.raises(control.exceptions.ClientError):  # the fake provider serves no control plane
        control.list_foundation_models()
    assert telemetry.samples("llm_telemetry_requests_total") == []
    assert telemetry.spans() == ()


def test_uninstrument_restores_every_original(telemetry: Telemetry) -> None:
    hooked = {(cls, name): vars(cls)[name] for cls, name in HOOKED}
    assert all(isinstance(v, wrapt.FunctionWrapper) for v in hooked.values())
    llm_telemetry.uninstrument()
    for (cls, name), hook in hooked.items():
        assert vars(cls)[name] is hook.__wrapped__
