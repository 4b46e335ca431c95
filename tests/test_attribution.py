"""attributes(): who spent what on which feature, across nesting, threads and asyncio tasks."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import openai
import pytest

import llm_telemetry
from llm_telemetry import attributes, current_attributes
from llm_telemetry.testing import Chat, FakeProvider, openai_usage

from .conftest import Telemetry

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProvider]:
    with FakeProvider() as fp:
        yield fp


def test_nested_scopes_merge_inner_wins() -> None:
    assert dict(current_attributes()) == {}
    with attributes(feature="search", tenant="acme"):
        with attributes(tenant="globex", user="u1"):
            assert dict(current_attributes()) == {"feature": "search", "tenant": "globex", "user": "u1"}
        assert dict(current_attributes()) == {"feature": "search", "tenant": "acme"}
    assert dict(current_attributes()) == {}


def test_values_become_strings_and_bad_names_fail_fast() -> None:
    with attributes(shard=3):
        assert current_attributes()["shard"] == "3"
    with pytest.raises(ValueError, match="not a valid Prometheus label name"):
        attributes(**{"bad-name": "x"})
    with pytest.raises(ValueError, match="reserved"):
        attributes(provider="x")


async def test_decorator_sync_and_async() -> None:
    @attributes(feature="sync")
    def sync_fn() -> dict[str, str]:
        return dict(current_attributes())

    @attributes(feature="async")
    async def async_fn() -> dict[str, str]:
        await asyncio.sleep(0)
        return dict(current_attributes())

    assert sync_fn() == {"feature": "sync"}
    assert await async_fn() == {"feature": "async"}
    assert dict(current_attributes()) == {}


@pytest.mark.instrument(metric_attributes=["feature", "tenant"])
def test_declared_names_are_labels_every_name_is_on_the_span(
    telemetry: Telemetry, fake: FakeProvider
) -> None:
    client = openai.OpenAI(base_url=fake.openai_base_url, api_key="x", max_retries=0)
    fake.script(Chat(usage=openai_usage(100, 10)))
    with attributes(feature="search", tenant="acme", user_id="u-42"):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    labels = {"feature": "search", "tenant": "acme", "outcome": "success"}
    assert telemetry.value("llm_telemetry_requests_total", **labels) == 1
    samples = telemetry.samples("llm_telemetry_input_tokens_total")
    assert [(s["feature"], s["tenant"], v) for s, v in samples] == [("search", "acme", 100.0)]
    assert all("user_id" not in s for s, _ in samples)
    (span,) = telemetry.spans()
    assert span.attributes is not None
    assert span.attributes["llm_telemetry.attr.feature"] == "search"
    assert span.attributes["llm_telemetry.attr.user_id"] == "u-42"


@pytest.mark.instrument(metric_attributes=["tenant"])
async def test_concurrent_tasks_keep_their_own_attribution(telemetry: Telemetry, fake: FakeProvider) -> None:
    client = openai.AsyncOpenAI(base_url=fake.openai_base_url, api_key="x", max_retries=0)

    async def work(tenant: str, calls: int) -> None:
        with attributes(tenant=tenant):
            for _ in range(calls):
                await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
                await asyncio.sleep(0)

    await asyncio.gather(work("acme", 5), work("globex", 3), work("initech", 4))
    # Default fake chat usage: 12 input tokens per call.
    for tenant, calls in (("acme", 5), ("globex", 3), ("initech", 4)):
        assert telemetry.value("llm_telemetry_requests_total", tenant=tenant) == calls
        assert telemetry.value("llm_telemetry_input_tokens_total", tenant=tenant) == 12 * calls
    assert telemetry.value("llm_telemetry_requests_total", tenant="") == 0


@pytest.mark.instrument(metric_attributes=["tenant"])
def test_threads_keep_their_own_attribution(telemetry: Telemetry, fake: FakeProvider) -> None:
    client = openai.OpenAI(base_url=fake.openai_base_url, api_key="x", max_retries=0)

    def work(tenant: str) -> None:
        with attributes(tenant=tenant):
            for _ in range(4):
                client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    with attributes(tenant="main-thread"):
        threads = [threading.Thread(target=work, args=(f"t{i}",)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    for i in range(4):
        assert telemetry.value("llm_telemetry_requests_total", tenant=f"t{i}") == 4
    assert telemetry.value("llm_telemetry_requests_total", tenant="main-thread") == 1
    assert telemetry.value("llm_telemetry_requests_total") == 17
    llm_telemetry.flush()


def test_one_object_reused_across_threads_and_tasks_never_raises() -> None:
    """What each entry restores lives in that thread's or task's context, not on the object."""
    shared = attributes(feature="batch")
    errors: list[BaseException] = []
    gate = threading.Barrier(8)

    def worker(n: int) -> None:
        try:
            gate.wait()
            with shared, attributes(worker=n), shared:
                assert current_attributes()["feature"] == "batch"
            assert dict(current_attributes()) == {}
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []

    async def task() -> None:
        with shared:
            await asyncio.sleep(0)
            assert current_attributes()["feature"] == "batch"

    async def main() -> None:
        await asyncio.gather(*(task() for _ in range(8)))

    asyncio.run(main())


def test_decorated_generators_run_their_body_in_scope_only() -> None:
    @attributes(feature="gen")
    def numbers() -> Iterator[dict[str, str]]:
        yield dict(current_attributes())
        yield dict(current_attributes())

    seen = []
    for labels in numbers():
        seen.append(labels)
        assert dict(current_attributes()) == {}  # the consumer's code between items is not in scope
    assert seen == [{"feature": "gen"}, {"feature": "gen"}]


async def test_decorated_async_generators_and_aclose_from_another_task() -> None:
    @attributes(feature="agen")
    async def numbers() -> Any:
        yield dict(current_attributes())
        yield dict(current_attributes())

    gen = numbers()
    assert await gen.__anext__() == {"feature": "agen"}
    assert dict(current_attributes()) == {}
    await asyncio.get_running_loop().create_task(gen.aclose())  # closed by another task: no error
    assert [x async for x in numbers()] == [{"feature": "agen"}] * 2
