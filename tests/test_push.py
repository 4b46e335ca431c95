"""Push to a Pushgateway: options, failures that never reach the app, flush(), interval and final pushes.

The pushing tests run against Debian's real ``prometheus-pushgateway`` (started on a loopback port)
and read back what it holds from its own ``/metrics``; the failure tests need no gateway at all.
"""

from __future__ import annotations

import logging
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

import llm_telemetry
from llm_telemetry.exporters import push
from llm_telemetry.record import telemetry as record_telemetry
from llm_telemetry.testing import Chat, FakeProvider, openai_usage

from . import services

HI: list[dict[str, str]] = [{"role": "user", "content": "hi"}]
INSTANCE = f"{socket.gethostname()}-{__import__('os').getpid()}"
needs_pushgateway = pytest.mark.skipif(
    services.missing(services.PUSHGATEWAY), reason="needs Debian's prometheus-pushgateway (.ci/run)"
)

Instrument = Callable[..., CollectorRegistry]


@pytest.fixture
def instrumented() -> Iterator[Instrument]:
    """``instrument(**options)`` on a fresh registry; uninstrumented afterwards."""

    def start(registry: CollectorRegistry | None = None, **options: Any) -> CollectorRegistry:
        registry = registry or CollectorRegistry()
        llm_telemetry.instrument(registry=registry, **options)
        return registry

    try:
        yield start
    finally:
        llm_telemetry.uninstrument()


@pytest.fixture(scope="module")
def gateway() -> Iterator[str]:
    if services.missing(services.PUSHGATEWAY):
        pytest.skip("needs Debian's prometheus-pushgateway (.ci/run)")
    with services.pushgateway() as url:
        yield url


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return sum(
        s.value
        for f in registry.collect()
        for s in f.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


def pushed(gateway: str, name: str, job: str) -> float | None:
    """The value the gateway holds for ``name`` summed over this process's group of ``job``."""
    total = None
    for family in text_string_to_metric_families(services.get(f"{gateway}/metrics")):
        for s in family.samples:
            if s.name == name and s.labels.get("job") == job and s.labels.get("instance") == INSTANCE:
                total = (total or 0.0) + s.value
    return total


def chat(fp: FakeProvider, n: int = 1) -> None:
    """``n`` chat calls of 1,200 input (200 cached) and 340 output tokens through the real SDK."""
    fp.script(*(Chat(model="gpt-4o-mini-2024-07-18", usage=openai_usage(1_200, 340, cached=200)),) * n)
    client = openai.OpenAI(base_url=fp.openai_base_url, api_key="x", max_retries=0)
    for _ in range(n):
        client.chat.completions.create(model="gpt-4o-mini", messages=HI)  # type: ignore[arg-type]


def push_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "llm_telemetry-push" and t.is_alive()]


# --------------------------------------------------------------------------------------------- options


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("push_gateway", "pushgateway:9091"),  # no scheme: urllib would guess, we refuse
        ("push_gateway", "ftp://pushgateway:9091"),
        ("push_gateway", "http://"),
        ("push_interval", 0),
        ("push_interval", -5),
        ("push_interval", "soon"),
        ("push_interval", 86_401),
        ("push_job", ""),
        ("push_job", "x" * 129),
    ],
)
def test_bad_values_fail_at_instrument_naming_the_option(option: str, value: object) -> None:
    with pytest.raises(llm_telemetry.ConfigError, match=rf"option '{option}'.*accepted: "):
        llm_telemetry.instrument(registry=CollectorRegistry(), **{option: value})
    assert not llm_telemetry.is_instrumented()


def test_options_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_TELEMETRY_PUSH_GATEWAY", "http://pushgateway:9091")
    monkeypatch.setenv("LLM_TELEMETRY_PUSH_INTERVAL", "2.5")
    monkeypatch.setenv("LLM_TELEMETRY_PUSH_JOB", "nightly-eval")
    settings = llm_telemetry.Settings.load({})
    assert (settings.push_gateway, settings.push_interval, settings.push_job) == (
        "http://pushgateway:9091",
        2.5,
        "nightly-eval",
    )
    monkeypatch.setenv("LLM_TELEMETRY_PUSH_INTERVAL", "soon")
    with pytest.raises(llm_telemetry.ConfigError, match="LLM_TELEMETRY_PUSH_INTERVAL"):
        llm_telemetry.Settings.load({})
    monkeypatch.setenv("LLM_TELEMETRY_PUSH_GATEWAY", "")  # empty: no push, like an unset variable
    assert llm_telemetry.Settings.load({"push_interval": 15}).push_gateway is None


@pytest.mark.parametrize(
    ("argv0", "job"),
    [
        ("/srv/jobs/eval.py", "eval.py"),
        ("/venv/lib/evals/__main__.py", "evals"),
        ("-c", "python"),
        ("", "python"),
    ],
)
def test_default_job_is_the_program_name(monkeypatch: pytest.MonkeyPatch, argv0: str, job: str) -> None:
    monkeypatch.setattr(sys, "argv", [argv0])
    assert push.default_job() == job


# --------------------------------------------------------------------------------------------- failures


def test_gateway_down_never_reaches_the_app(
    instrumented: Instrument,
    fp: FakeProvider,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(record_telemetry, "_stages_logged", set())  # "logged once" counts from this test on
    registry = instrumented(push_gateway=f"http://127.0.0.1:{services.free_port()}", push_interval=3600)
    with caplog.at_level(logging.WARNING, logger="llm_telemetry"):
        chat(fp)
        assert llm_telemetry.flush() is False
        assert llm_telemetry.flush() is False
    assert value(registry, "llm_telemetry_input_tokens_total") == 1_200  # the call itself was recorded
    assert value(registry, "llm_telemetry_internal_errors_total", stage="push") == 2
    logged = [r for r in caplog.records if "stage 'push'" in r.getMessage()]
    assert len(logged) == 1


def test_reconfiguring_keeps_one_pusher(instrumented: Instrument) -> None:
    url = f"http://127.0.0.1:{services.free_port()}"
    registry = instrumented(push_gateway=url, push_interval=3600)
    first = push_threads()
    instrumented(registry, push_gateway=url, push_interval=3600)
    assert push_threads() == first and len(first) == 1
    instrumented(registry, push_gateway=url, push_interval=1800)  # another configuration: the old one ends
    assert len(push_threads()) == 1 and push_threads() != first
    llm_telemetry.uninstrument()
    assert push_threads() == []


def test_no_gateway_no_pusher(instrumented: Instrument) -> None:
    instrumented()
    assert push_threads() == []
    assert llm_telemetry.flush() is True


# --------------------------------------------------------------------------------------------- real gateway


@pytest.mark.e2e
@needs_pushgateway
def test_flush_pushes_exact_values(instrumented: Instrument, fp: FakeProvider, gateway: str) -> None:
    instrumented(push_gateway=gateway, push_interval=3600, push_job="flush-test")
    chat(fp, 2)
    assert pushed(gateway, "llm_telemetry_input_tokens_total", "flush-test") is None  # nothing pushed yet
    assert llm_telemetry.flush() is True
    assert pushed(gateway, "llm_telemetry_input_tokens_total", "flush-test") == 2_400
    assert pushed(gateway, "llm_telemetry_output_tokens_total", "flush-test") == 680
    assert pushed(gateway, "llm_telemetry_cache_read_tokens_total", "flush-test") == 400
    # gpt-4o-mini: $0.15/M input, $0.075/M cached input, $0.60/M output.
    cost = pushed(gateway, "llm_telemetry_cost_usd_total", "flush-test")
    assert cost == pytest.approx(2 * (1_000 * 0.15e-6 + 200 * 0.075e-6 + 340 * 0.60e-6), rel=1e-12)


@pytest.mark.e2e
@needs_pushgateway
def test_interval_pushes_follow_the_counters(
    instrumented: Instrument, fp: FakeProvider, gateway: str
) -> None:
    instrumented(push_gateway=gateway, push_interval=0.2, push_job="interval-test")
    chat(fp)
    services.wait(
        lambda: pushed(gateway, "llm_telemetry_requests_total", "interval-test") == 1, 10, "an interval push"
    )
    chat(fp, 2)
    services.wait(
        lambda: pushed(gateway, "llm_telemetry_requests_total", "interval-test") == 3, 10, "a later push"
    )


@pytest.mark.e2e
@needs_pushgateway
def test_uninstrument_pushes_the_last_values(
    instrumented: Instrument, fp: FakeProvider, gateway: str
) -> None:
    instrumented(push_gateway=gateway, push_interval=3600, push_job="uninstrument-test")
    chat(fp, 3)
    llm_telemetry.uninstrument()
    assert pushed(gateway, "llm_telemetry_output_tokens_total", "uninstrument-test") == 1_020
    assert push_threads() == []
