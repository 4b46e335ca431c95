"""Assertions the google-genai, boto3 and dspy integration tests share, beside ``test_openai.check``."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

import llm_telemetry
from llm_telemetry.pricing import Pricer
from llm_telemetry.usage import Usage

if TYPE_CHECKING:
    from tests.conftest import Telemetry

T = TypeVar("T")


def costs(t: Telemetry) -> dict[str, float]:
    """Every non-zero ``llm_telemetry_cost_usd_total`` component recorded so far, summed over series."""
    out: dict[str, float] = {}
    for labels, value in t.samples("llm_telemetry_cost_usd_total"):
        if value:
            out[labels["component"]] = out.get(labels["component"], 0.0) + value
    return out


def assert_costs(t: Telemetry, provider: str, model: str, *usages: Usage) -> None:
    """Each cost component is what the price data gives for these usages, exactly (no other component)."""
    expected: dict[str, float] = {}
    for usage in usages:
        cost = Pricer().price(provider, model, usage)
        assert cost is not None, (provider, model)
        for component, amount in cost.components():
            if amount:
                expected[component] = expected.get(component, 0.0) + amount
    assert costs(t) == pytest.approx(expected, rel=1e-9)


def in_flight(t: Telemetry) -> float:
    return t.value("llm_telemetry_in_flight_requests")


async def collected() -> None:
    """Collect abandoned streams and wait until their records are written (the finalizer's thread).

    An abandoned async generator is closed by a task its event loop schedules when it is collected, so
    the loop runs a few times in between.
    """
    for _ in range(3):
        gc.collect()
        for _ in range(4):
            await asyncio.sleep(0)
    llm_telemetry.flush()


@pytest.fixture(scope="module", autouse=True)
def frozen_heap() -> Iterator[None]:
    """What exists when a module starts is never garbage: keeps the tests' ``gc.collect()`` cheap."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


async def uninstrumented(t: Telemetry, run: Callable[[], Awaitable[T]]) -> T:
    """``run()`` with nothing hooked (the telemetry fixture's session is resumed afterwards)."""
    llm_telemetry.uninstrument()
    try:
        return await run()
    finally:
        llm_telemetry.instrument(registry=t.registry)


async def same_for_caller(t: Telemetry, run: Callable[[], Awaitable[T]], view: Callable[[T], Any]) -> T:
    """Run ``run`` uninstrumented, then instrumented: the caller must see the same (as ``view`` shows it)
    and get objects of the same types. Returns the instrumented result."""
    baseline = await uninstrumented(t, run)
    result = await run()
    assert type(result) is type(baseline)
    assert view(result) == view(baseline)
    return result


async def raised(run: Callable[[], Awaitable[Any]]) -> BaseException:
    """The exception ``run()`` raises (it must raise one)."""
    try:
        await run()
    except Exception as exc:
        return exc
    raise AssertionError("expected an exception")
