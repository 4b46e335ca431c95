"""Stopping right after the finish reason still counts the usage chunk we asked for."""

from __future__ import annotations

from typing import Any

import openai

from llm_telemetry.testing import ChatStream, FakeProvider, openai_usage

from .conftest import Telemetry

HI: Any = [{"role": "user", "content": "hi"}]


def _assert_one_success(telemetry: Telemetry, calls: int = 1) -> None:
    assert telemetry.value("llm_telemetry_requests_total", outcome="success") == calls
    assert telemetry.value("llm_telemetry_requests_total", outcome="cancelled") == 0
    assert telemetry.value("llm_telemetry_input_tokens_total") == 30 * calls
    assert telemetry.value("llm_telemetry_output_tokens_total") == 4 * calls
    assert telemetry.value("llm_telemetry_usage_missing_total") == 0
    assert telemetry.value("llm_telemetry_in_flight_requests") == 0


def test_break_on_finish_reason_then_close(telemetry: Telemetry, fp: FakeProvider) -> None:
    fp.script(ChatStream(usage=openai_usage(30, 4)), ChatStream(usage=openai_usage(30, 4)))
    client = openai.OpenAI(base_url=fp.openai_base_url, api_key="x", max_retries=0)
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=HI, stream=True)
    seen = []
    for chunk in stream:
        seen.append(chunk)
        if chunk.choices and chunk.choices[0].finish_reason:
            break
    assert fp.wait_streamed()  # what the provider already sent is read on close, never waited for
    stream.close()
    assert seen[-1].choices[0].finish_reason == "stop"
    with client.chat.completions.create(model="gpt-4o-mini", messages=HI, stream=True) as second:
        for chunk in second:
            if chunk.choices and chunk.choices[0].finish_reason:
                break
        assert fp.wait_streamed(2)
    _assert_one_success(telemetry, calls=2)
    assert len(telemetry.spans()) == 2


async def test_async_break_on_finish_reason_then_close(telemetry: Telemetry, fp: FakeProvider) -> None:
    fp.script(ChatStream(usage=openai_usage(30, 4)))
    client = openai.AsyncOpenAI(base_url=fp.openai_base_url, api_key="x", max_retries=0)
    async with await client.chat.completions.create(model="gpt-4o-mini", messages=HI, stream=True) as stream:
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].finish_reason:
                break
    _assert_one_success(telemetry)


def test_break_before_the_finish_reason_is_cancelled(telemetry: Telemetry, fp: FakeProvider) -> None:
    fp.script(ChatStream(chunks=("a", "b", "c"), usage=openai_usage(30, 4)))
    client = openai.OpenAI(base_url=fp.openai_base_url, api_key="x", max_retries=0)
    with client.chat.completions.create(model="gpt-4o-mini", messages=HI, stream=True) as stream:
        for _ in zip(range(2), stream, strict=False):
            pass
    assert telemetry.value("llm_telemetry_requests_total", outcome="cancelled") == 1
    assert telemetry.value("llm_telemetry_usage_missing_total", reason="interrupted") == 1
    assert telemetry.value("llm_telemetry_input_tokens_total") == 0
