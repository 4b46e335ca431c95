"""The Prometheus writer's cells: every add of a call under one lock, and what stands in for them when
prometheus_client keeps a child's values elsewhere (multiprocess mode) or not where it keeps them today."""

from __future__ import annotations

import threading
from typing import Any

from prometheus_client import CollectorRegistry

from llm_telemetry.record.metrics import Families, _Cell, _observe, _observer, _Public, _Through, _value_cell


class FakeValue:
    """A value class of prometheus_client's interface that is not ``MutexValue`` (as ``MmapedValue``)."""

    def __init__(self) -> None:
        self.current = 0.0
        self.sets: list[float] = []

    def get(self) -> float:
        return self.current

    def set(self, value: float, timestamp: float | None = None) -> None:
        self.current = value
        self.sets.append(value)

    def inc(self, amount: float) -> None:
        self.set(self.current + amount)


class Unreachable:
    """A child whose values are not where prometheus_client keeps them today: only its public methods."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, float]] = []

    def inc(self, amount: float = 1) -> None:
        self.calls.append(("inc", amount))

    def observe(self, amount: float) -> None:
        self.calls.append(("observe", amount))


def exposed(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_a_cell_replaces_the_value_and_the_public_methods_still_add() -> None:
    registry = CollectorRegistry()
    families = Families(registry, ())
    child = families.requests.labels("openai", "gpt-4o", "chat", "false", "success")
    cell = _value_cell(child, families.cells_lock)
    assert isinstance(cell, _Cell) and child._value is cell
    with families.cells_lock:
        cell.value += 2
    child.inc(3)  # prometheus_client's own path: takes the same lock
    labels = dict(
        provider="openai", request_model="gpt-4o", operation="chat", stream="false", outcome="success"
    )
    assert exposed(registry, "llm_telemetry_requests_total", **labels) == 5
    # A child shared by two series (in flight has no stream label) keeps its one cell.
    assert _value_cell(child, families.cells_lock) is cell


def test_histogram_cells_give_prometheus_client_buckets_count_and_sum() -> None:
    registry = CollectorRegistry()
    families = Families(registry, ())
    observer = _observer(families.duration.labels("openai", "gpt-4o", "chat", "false"), families.cells_lock)
    with families.cells_lock:
        for amount in (0.005, 0.01, 0.3, 1000.0):
            _observe(observer, amount)
    labels = dict(provider="openai", request_model="gpt-4o", operation="chat", stream="false")
    name = "llm_telemetry_request_duration_seconds"
    assert exposed(registry, name + "_bucket", le="0.01", **labels) == 2  # an upper bound is inclusive
    assert exposed(registry, name + "_bucket", le="0.32", **labels) == 3
    assert exposed(registry, name + "_bucket", le="655.36", **labels) == 3
    assert exposed(registry, name + "_bucket", le="+Inf", **labels) == 4
    assert exposed(registry, name + "_count", **labels) == 4
    assert exposed(registry, name + "_sum", **labels) == 0.005 + 0.01 + 0.3 + 1000.0


def test_another_value_class_is_read_and_written_through() -> None:
    lock = threading.Lock()
    child: Any = type("Child", (), {})()
    child._value = source = FakeValue()
    cell = _value_cell(child, lock)
    assert isinstance(cell, _Through) and child._value is cell
    cell.value += 2
    cell.value -= 1
    cell.inc(5)
    assert source.current == 6 and cell.value == 6
    assert _value_cell(child, lock) is cell


def test_values_out_of_reach_are_added_through_the_public_methods() -> None:
    lock = threading.Lock()
    child = Unreachable()
    cell = _value_cell(child, lock)
    assert isinstance(cell, _Public)
    cell.value += 4
    cell.value -= 1  # a gauge's decrement: inc(-1)
    cell.inc(2)
    histogram = Unreachable()
    _observe(_observer(histogram, lock), 0.25)
    assert child.calls == [("inc", 4), ("inc", -1), ("inc", 2)]
    assert histogram.calls == [("observe", 0.25)]
