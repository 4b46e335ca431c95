"""Content capture: prompts and completions reach spans only when the user opts in."""

from __future__ import annotations

import json
from collections.abc import Iterator

import anthropic
import openai
import pytest

from llm_telemetry.testing import Chat, ChatStream, FakeProvider, Message, MessageStream, Responses

from .conftest import Telemetry

PROMPT = "What is the secret word?"
SECRET = "xyzzy-completion"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProvider]:
    with FakeProvider() as fp:
        yield fp


def _span_text(telemetry: Telemetry) -> str:
    return json.dumps([dict(s.attributes or {}) for s in telemetry.spans()], default=str)


def _drive(fake: FakeProvider) -> None:
    oc = openai.OpenAI(base_url=fake.openai_base_url, api_key="sk-secret-key", max_retries=0)
    ac = anthropic.Anthropic(base_url=fake.anthropic_base_url, api_key="sk-ant-secret", max_retries=0)
    fake.script(
        Chat(content=SECRET),
        ChatStream(chunks=("xyzzy-", "completion")),
        Responses(content=SECRET),
        Message(content=SECRET),
        MessageStream(chunks=("xyzzy-", "completion")),
    )
    messages = [{"role": "user", "content": PROMPT}]
    oc.chat.completions.create(model="gpt-4o-mini", messages=messages)  # type: ignore[arg-type]
    for _ in oc.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True):  # type: ignore[arg-type]
        pass
    oc.responses.create(model="gpt-4.1-mini", input=PROMPT, instructions="Be brief.")
    ac.messages.create(model="claude-sonnet-4-5", max_tokens=10, messages=messages)  # type: ignore[arg-type]
    with ac.messages.stream(model="claude-sonnet-4-5", max_tokens=10, messages=messages) as s:  # type: ignore[arg-type]
        s.until_done()


def test_nothing_captured_by_default(telemetry: Telemetry, fake: FakeProvider) -> None:
    _drive(fake)
    text = _span_text(telemetry)
    assert len(telemetry.spans()) == 5
    for secret in (PROMPT, SECRET, "xyzzy", "sk-secret-key", "sk-ant-secret", "Be brief"):
        assert secret not in text


@pytest.mark.instrument(capture_content=True)
def test_opt_in_captures_prompts_and_completions(telemetry: Telemetry, fake: FakeProvider) -> None:
    _drive(fake)
    spans = telemetry.spans()
    assert len(spans) == 5
    for span in spans:
        attrs = span.attributes or {}
        assert PROMPT in str(attrs["gen_ai.input.messages"])
        output = json.loads(str(attrs["gen_ai.output.messages"]))
        assert output[0]["role"] == "assistant"
        assert output[0]["parts"][0]["content"] == SECRET
        assert "sk-secret-key" not in json.dumps(dict(attrs), default=str)
    assert spans[2].attributes is not None
    assert spans[2].attributes["gen_ai.system_instructions"] == "Be brief."
