"""Shared fixtures: a fresh Prometheus registry per test, one in-memory OTel span exporter per session."""

from __future__ import annotations

import os

# LiteLLM: bundled cost map and catalogs only (no network here), before any test imports it.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry

import llm_telemetry
from llm_telemetry.testing import FakeProvider

# The global TracerProvider can be set once per process: every test module shares this exporter.
EXPORTER = InMemorySpanExporter()
_provider = TracerProvider()
_provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
trace.set_tracer_provider(_provider)
#: Likewise the global MeterProvider, read by tests of the gen_ai.client.* OTel metrics.
METRIC_READER = InMemoryMetricReader()
metrics.set_meter_provider(MeterProvider(metric_readers=[METRIC_READER]))


class Telemetry:
    """An instrumented session over a private registry, with exact readers for tests."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def value(self, name: str, **labels: str) -> float:
        """Sum of every sample of ``name`` whose labels include ``labels`` (0.0 when none)."""
        total = 0.0
        for family in self.registry.collect():
            for sample in family.samples:
                if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                    total += sample.value
        return total

    def samples(self, name: str) -> list[tuple[dict[str, str], float]]:
        return [
            (dict(s.labels), s.value) for f in self.registry.collect() for s in f.samples if s.name == name
        ]

    def spans(self) -> tuple[ReadableSpan, ...]:
        llm_telemetry.flush()
        return EXPORTER.get_finished_spans()


@pytest.fixture
def telemetry(request: pytest.FixtureRequest) -> Iterator[Telemetry]:
    """``instrument()`` on a fresh registry (options from ``@pytest.mark.instrument(...)``)."""
    marker = request.node.get_closest_marker("instrument")
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    registry = CollectorRegistry()
    EXPORTER.clear()
    llm_telemetry.instrument(registry=registry, **options)
    try:
        yield Telemetry(registry)
    finally:
        llm_telemetry.uninstrument()
        EXPORTER.clear()


@pytest.fixture(scope="module")
def server() -> Iterator[FakeProvider]:
    """A fake provider on loopback, shared by a test module."""
    with FakeProvider() as provider:
        yield provider


@pytest.fixture
def fp(server: FakeProvider) -> FakeProvider:
    """The module's fake provider with an empty script and request log."""
    server.reset()
    return server
