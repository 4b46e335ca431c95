"""instructor over real openai, anthropic and litellm clients, against the local fake provider.

Every attempt is a request with its own tokens (instructor later rewrites responses' ``usage`` with
running totals: the figures below would double if that leaked), validation failures are errors and
retries, and one INTERNAL parent span holds one CLIENT child per attempt.
"""

from __future__ import annotations

import logging
from typing import Any

import anthropic
import instructor
import litellm
import openai
import pydantic
import pytest
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client import CollectorRegistry

import llm_telemetry
from llm_telemetry.record import telemetry as telemetry_state
from llm_telemetry.testing import (
    Chat,
    Error,
    FakeProvider,
    Message,
    Reply,
    anthropic_usage,
    openai_usage,
)

from .conftest import EXPORTER, Telemetry

litellm.suppress_debug_info = True

HI: Any = [{"role": "user", "content": "hi"}]
MISSING, WRONG, VALID = '{"name": "a"}', '{"name": "a", "age": "x"}', '{"name": "a", "age": 3}'


class User(pydantic.BaseModel):
    name: str
    age: int


def _chat(content: str, prompt: int, completion: int, **extra: Any) -> Chat:
    return Chat(content=content, tool_call=True, usage=openai_usage(prompt, completion), **extra)


def _message(content: str, prompt: int, completion: int) -> Message:
    usage = anthropic_usage(prompt, completion, cache_read=50, cache_write=5)
    return Message(content=content, tool_call=True, usage=usage)


def _openai(fp: FakeProvider, is_async: bool) -> Any:
    cls = openai.AsyncOpenAI if is_async else openai.OpenAI
    return instructor.from_openai(cls(base_url=fp.openai_base_url, api_key="x", max_retries=0))


def _anthropic(fp: FakeProvider, is_async: bool) -> Any:
    cls = anthropic.AsyncAnthropic if is_async else anthropic.Anthropic
    return instructor.from_anthropic(cls(base_url=fp.anthropic_base_url, api_key="x", max_retries=0))


async def _create(client: Any, **kwargs: Any) -> Any:
    result = client.create(response_model=User, messages=HI, **kwargs)
    return await result if isinstance(client, instructor.AsyncInstructor) else result


def _count(telemetry: Telemetry, family: str, **labels: str) -> float:
    return telemetry.value(f"llm_telemetry_{family}", **labels)


def _parent_and_children(telemetry: Telemetry) -> tuple[Any, list[Any]]:
    spans = telemetry.spans()
    (parent,) = [s for s in spans if s.kind == SpanKind.INTERNAL]
    children = [s for s in spans if s.kind == SpanKind.CLIENT]
    assert all(c.parent is not None and c.parent.span_id == parent.context.span_id for c in children)
    return parent, children


def _assert_consistent(telemetry: Telemetry) -> None:
    """The contract's invariant: every error request has exactly one error_type."""
    assert _count(telemetry, "errors_total") == _count(telemetry, "requests_total", outcome="error")


def _assert_two_invalid_then_valid(telemetry: Telemetry, tokens: dict[str, float]) -> None:
    assert _count(telemetry, "requests_total", outcome="error") == 2
    assert _count(telemetry, "requests_total", outcome="success") == 1
    assert _count(telemetry, "errors_total", error_type="validation") == 2
    assert _count(telemetry, "retries_total", error_type="validation") == 2
    assert _count(telemetry, "retries_total") == 2
    for family, value in tokens.items():
        assert _count(telemetry, f"{family}_tokens_total") == value, family
    _assert_consistent(telemetry)
    parent, children = _parent_and_children(telemetry)
    assert parent.name == "instructor.create User"
    assert parent.attributes["llm_telemetry.attempts"] == 3
    assert parent.attributes["llm_telemetry.usage.input_tokens"] == tokens["input"]
    assert parent.attributes["llm_telemetry.usage.output_tokens"] == tokens["output"]
    assert not any(name.startswith("gen_ai.usage.") for name in parent.attributes)
    assert parent.status.status_code == StatusCode.UNSET
    assert [c.attributes.get("error.type") for c in children] == ["validation", "validation", None]
    assert sum(c.attributes["gen_ai.usage.input_tokens"] for c in children) == tokens["input"]
    # The parent's total spend is the attempts' own, under a name backends do not add up again.
    spent = sum(c.attributes["llm_telemetry.cost.usd"] for c in children)
    assert spent > 0
    assert all(c.attributes["llm.cost.usd"] == c.attributes["llm_telemetry.cost.usd"] for c in children)
    assert parent.attributes["llm_telemetry.total_cost.usd"] == pytest.approx(spent, rel=1e-12)
    assert _count(telemetry, "cost_usd_total") == pytest.approx(spent, rel=1e-12)
    assert "llm.cost.usd" not in parent.attributes and "llm_telemetry.cost.usd" not in parent.attributes


# ------------------------------------------------------------------------ two failures, then a success


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_openai_two_invalid_attempts_then_valid(
    telemetry: Telemetry, fp: FakeProvider, is_async: bool
) -> None:
    fp.script(_chat(MISSING, 100, 10), _chat(WRONG, 110, 11), _chat(VALID, 120, 12))
    user = await _create(_openai(fp, is_async), model="gpt-4o-mini", max_retries=2)
    assert user.model_dump() == {"name": "a", "age": 3}
    assert len(fp.requests) == 3
    _assert_two_invalid_then_valid(telemetry, {"input": 330, "output": 33})


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_anthropic_two_invalid_attempts_then_valid(
    telemetry: Telemetry, fp: FakeProvider, is_async: bool
) -> None:
    fp.script(_message(MISSING, 100, 10), _message(WRONG, 110, 11), _message(VALID, 120, 12))
    client = _anthropic(fp, is_async)
    user = await _create(client, model="claude-sonnet-4-5", max_tokens=100, max_retries=2)
    assert user.model_dump() == {"name": "a", "age": 3}
    # input includes each attempt's 50 cache reads and 5 cache writes
    tokens = {"input": 330 + 165, "output": 33, "cache_read": 150, "cache_write": 15}
    _assert_two_invalid_then_valid(telemetry, tokens)
    assert _count(telemetry, "requests_total", provider="anthropic") == 3


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_litellm_two_invalid_attempts_then_valid(
    telemetry: Telemetry, fp: FakeProvider, is_async: bool
) -> None:
    fp.script(_chat(MISSING, 100, 10), _chat(WRONG, 110, 11), _chat(VALID, 120, 12))
    client = instructor.from_litellm(litellm.acompletion if is_async else litellm.completion)
    model = "openai/gpt-4o-mini"
    await _create(client, model=model, api_base=fp.openai_base_url, api_key="x", max_retries=2)
    _assert_two_invalid_then_valid(telemetry, {"input": 330, "output": 33})
    assert _count(telemetry, "requests_total", request_model=model) == 3  # LiteLLM's record, not the SDK's


# -------------------------------------------------------------------------------- failed structured calls


def test_retries_exhausted(telemetry: Telemetry, fp: FakeProvider) -> None:
    fp.script(_chat(MISSING, 100, 10), _chat(WRONG, 110, 11))
    with pytest.raises(instructor.core.InstructorRetryException):
        _openai(fp, False).create(response_model=User, messages=HI, model="gpt-4o-mini", max_retries=1)
    assert _count(telemetry, "requests_total", outcome="error") == 2
    assert _count(telemetry, "errors_total", error_type="validation") == 2
    assert _count(telemetry, "retries_total", error_type="validation") == 1
    assert (_count(telemetry, "input_tokens_total"), _count(telemetry, "output_tokens_total")) == (210, 21)
    _assert_consistent(telemetry)
    parent, children = _parent_and_children(telemetry)
    assert (parent.attributes["error.type"], parent.status.status_code) == ("validation", StatusCode.ERROR)
    assert parent.attributes["llm_telemetry.attempts"] == 2
    assert len(children) == 2


def test_incomplete_output_is_a_length_error_with_tokens(telemetry: Telemetry, fp: FakeProvider) -> None:
    fp.script(_chat('{"name": "a", "ag', 100, 10, finish_reason="length"))
    with pytest.raises(instructor.core.IncompleteOutputException):
        _openai(fp, False).create(response_model=User, messages=HI, model="gpt-4o-mini", max_retries=2)
    assert _count(telemetry, "errors_total", error_type="length") == 1
    assert _count(telemetry, "finish_reasons_total", finish_reason="length") == 1
    assert _count(telemetry, "retries_total") == 0
    assert (_count(telemetry, "input_tokens_total"), _count(telemetry, "output_tokens_total")) == (100, 10)
    _assert_consistent(telemetry)
    parent, _ = _parent_and_children(telemetry)
    assert parent.attributes["error.type"] == "length"


def test_api_error_is_the_attempts_own(telemetry: Telemetry, fp: FakeProvider) -> None:
    fp.script(Error(400))
    with pytest.raises(instructor.core.InstructorRetryException):
        _openai(fp, False).create(response_model=User, messages=HI, model="gpt-4o-mini")
    assert _count(telemetry, "errors_total", error_type="bad_request") == 1
    assert _count(telemetry, "errors_total") == 1
    _assert_consistent(telemetry)
    parent, (child,) = _parent_and_children(telemetry)
    assert parent.attributes["error.type"] == child.attributes["error.type"] == "bad_request"


# ------------------------------------------------------------------------------- other client surfaces


def _surfaces(fp: FakeProvider) -> list[Any]:
    raw = openai.OpenAI(base_url=fp.openai_base_url, api_key="x", max_retries=0)
    return [
        instructor.patch(raw).chat.completions.create,
        instructor.from_provider("openai/gpt-4o-mini", base_url=fp.openai_base_url, api_key="x").create,
    ]


def test_patch_and_from_provider(telemetry: Telemetry, fp: FakeProvider) -> None:
    replies: list[Reply] = [_chat(MISSING, 100, 10), _chat(VALID, 120, 12)] * 2
    fp.script(*replies)
    for create in _surfaces(fp):
        create(model="gpt-4o-mini", response_model=User, messages=HI, max_retries=1)
    assert _count(telemetry, "requests_total") == 4
    assert _count(telemetry, "retries_total", error_type="validation") == 2
    assert _count(telemetry, "input_tokens_total") == 440
    assert len([s for s in telemetry.spans() if s.kind == SpanKind.INTERNAL]) == 2


def test_without_response_model_no_parent(telemetry: Telemetry, fp: FakeProvider) -> None:
    _openai(fp, False).create(response_model=None, messages=HI, model="gpt-4o-mini")
    assert [s.kind for s in telemetry.spans()] == [SpanKind.CLIENT]
    assert _count(telemetry, "requests_total", outcome="success") == 1


def test_client_created_before_instrument(fp: FakeProvider, caplog: pytest.LogCaptureFixture) -> None:
    telemetry_state._logged.discard("instructor_early_client")
    client = _openai(fp, False)  # captures the SDK's unhooked method
    registry = CollectorRegistry()
    EXPORTER.clear()
    llm_telemetry.instrument(registry=registry)
    try:
        fp.script(_chat(MISSING, 100, 10), _chat(VALID, 120, 12))
        with caplog.at_level(logging.WARNING, logger="llm_telemetry"):
            client.create(model="gpt-4o-mini", response_model=User, messages=HI, max_retries=1)
    finally:
        llm_telemetry.uninstrument()
    telemetry = Telemetry(registry)
    assert "before instrument()" in caplog.text
    assert _count(telemetry, "requests_total") == 2
    assert _count(telemetry, "retries_total", error_type="validation") == 1
    assert _count(telemetry, "input_tokens_total") == 220
    assert len(_parent_and_children(telemetry)[1]) == 2
