"""Bounded cardinality: past the cap, label sets fold into _OTHER and every sum stays exact."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from llm_telemetry import attributes
from llm_telemetry.testing import Chat, FakeProvider, openai_usage

from .conftest import Telemetry

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def client() -> Iterator[openai.OpenAI]:
    with FakeProvider() as fp:
        fp.script(*(Chat(usage=openai_usage(10 + i, 1, cached=i)) for i in range(8)))
        yield openai.OpenAI(base_url=fp.openai_base_url, api_key="x", max_retries=0)


@pytest.mark.instrument(metric_attributes=["tenant"], max_label_sets=3)
def test_overflow_folds_into_other_and_sums_stay_exact(telemetry: Telemetry, client: openai.OpenAI) -> None:
    for i in range(8):
        with attributes(tenant=f"tenant-{i}"):
            client.chat.completions.create(model=f"model-{i % 2}", messages=MESSAGES)

    requests = telemetry.samples("llm_telemetry_requests_total")
    seen = {(labels["request_model"], labels["tenant"]) for labels, value in requests if value}
    admitted = {("model-0", "tenant-0"), ("model-1", "tenant-1"), ("model-0", "tenant-2")}
    assert seen == admitted | {("_OTHER", "_OTHER")}
    assert telemetry.value("llm_telemetry_requests_total") == 8
    assert telemetry.value("llm_telemetry_requests_total", tenant="_OTHER", request_model="_OTHER") == 5
    # 10+11+...+17 input tokens and 0+1+...+7 cached, whatever the folding.
    assert telemetry.value("llm_telemetry_input_tokens_total") == sum(range(10, 18))
    assert telemetry.value("llm_telemetry_cache_read_tokens_total") == sum(range(8))
    assert telemetry.value("llm_telemetry_input_tokens_total", tenant="_OTHER") == sum(range(13, 18))
    assert telemetry.value("llm_telemetry_series_folded_total") == 5
    # The provider and operation labels are bounded, so they are kept.
    assert {labels["provider"] for labels, _ in requests} == {"openai"}
    # Admission is shared by every family: no family has more than cap + 1 base label sets.
    for family in ("llm_telemetry_input_tokens_total", "llm_telemetry_request_duration_seconds_count"):
        bases = {(s["request_model"], s["tenant"]) for s, _ in telemetry.samples(family)}
        assert len(bases) == 4


@pytest.mark.instrument()
def test_model_names_are_normalized_not_guessed(telemetry: Telemetry, client: openai.OpenAI) -> None:
    client.chat.completions.create(model=" GPT-4o-Mini ", messages=MESSAGES)
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    client.chat.completions.create(model="gpt-4o-mini-2024-07-18", messages=MESSAGES)
    assert telemetry.value("llm_telemetry_requests_total", request_model="gpt-4o-mini") == 2
    assert telemetry.value("llm_telemetry_requests_total", request_model="gpt-4o-mini-2024-07-18") == 1


@pytest.mark.instrument(metric_attributes=["tenant"])
def test_first_sight_creates_zero_series(telemetry: Telemetry, client: openai.OpenAI) -> None:
    with attributes(tenant="acme"):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    outcomes = {s["outcome"]: v for s, v in telemetry.samples("llm_telemetry_requests_total")}
    assert outcomes == {"success": 1.0, "error": 0.0, "cancelled": 0.0}
    components = {s["component"] for s, _ in telemetry.samples("llm_telemetry_cost_usd_total")}
    assert components == {"input", "cache_read", "cache_write", "output", "request"}
    for family in ("cache_write", "reasoning"):
        assert [v for _, v in telemetry.samples(f"llm_telemetry_{family}_tokens_total")] == [0.0]


def _samples_per_label_set(telemetry: Telemetry) -> dict[str, int]:
    """Samples in the exposition carrying the base labels, by family (per-process families apart)."""
    from prometheus_client import generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    text = generate_latest(telemetry.registry).decode()
    counts: dict[str, int] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if "request_model" in sample.labels:
                counts[family.name] = counts.get(family.name, 0) + 1
    return counts


@pytest.mark.parametrize(
    ("stream", "operation", "expected"),
    [(False, "chat", 36), (True, "chat", 62), (False, "embeddings", 28)],
    ids=["chat", "stream", "embeddings"],
)
def test_series_per_label_set_stay_within_the_budget(
    telemetry: Telemetry, stream: bool, operation: str, expected: int
) -> None:
    """Contract v1.1: at most 40 samples per base label set and response model for a non-streamed chat
    call (what cannot apply is not pre-created); the exact counts are what the README's sizing uses."""
    from llm_telemetry.testing import ChatStream, Embeddings

    with FakeProvider() as fp:
        fp.script(ChatStream() if stream else Embeddings() if operation == "embeddings" else Chat())
        client = openai.OpenAI(base_url=fp.openai_base_url, api_key="x", max_retries=0)
        if operation == "embeddings":
            client.embeddings.create(model="text-embedding-3-small", input="hi")
        elif stream:
            list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
        else:
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    counts = _samples_per_label_set(telemetry)
    assert sum(counts.values()) == expected, counts
    if not stream:
        assert "llm_telemetry_time_to_first_token_seconds" not in counts
        assert sum(counts.values()) <= 40
    if operation == "embeddings":
        assert "llm_telemetry_output_tokens" not in counts
