"""instrument(): configuration from keywords and LLM_TELEMETRY_* variables, failing early and clearly."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter

import llm_telemetry
from llm_telemetry import ConfigError, Settings


@pytest.fixture(autouse=True)
def _clean() -> object:
    yield
    llm_telemetry.uninstrument()


def test_keyword_wins_over_environment() -> None:
    env = {"LLM_TELEMETRY_MAX_LABEL_SETS": "50", "LLM_TELEMETRY_CAPTURE_CONTENT": "true"}
    settings = Settings.load({"max_label_sets": 7}, env)
    assert settings.max_label_sets == 7
    assert settings.capture_content is True


def test_environment_values_are_parsed() -> None:
    env = {
        "LLM_TELEMETRY_METRIC_ATTRIBUTES": "feature, tenant",
        "LLM_TELEMETRY_INJECT_STREAM_USAGE": "false",
        "LLM_TELEMETRY_METRICS_PORT": "9464",
    }
    settings = Settings.load({}, env)
    assert settings.metric_attributes == ("feature", "tenant")
    assert settings.inject_stream_usage is False
    assert settings.metrics_port == 9464


def test_otel_capture_content_variable_is_honoured() -> None:
    assert Settings.load({}, {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true"}).capture_content
    assert not Settings.load({}, {}).capture_content


@pytest.mark.parametrize(
    ("options", "env", "fragments"),
    [
        ({"metrics_port": "abc"}, {}, ["'metrics_port'", "keyword argument", "0 to 65535"]),
        ({}, {"LLM_TELEMETRY_METRICS_PORT": "70000"}, ["'metrics_port'", "LLM_TELEMETRY_METRICS_PORT"]),
        ({}, {"LLM_TELEMETRY_TRACING": "maybe"}, ["'tracing'", "true or false"]),
        ({"max_label_sets": 0}, {}, ["'max_label_sets'", "1 to 1000000"]),
        ({"metric_attributes": ["bad-name"]}, {}, ["'metric_attributes'", "not a valid Prometheus label"]),
        ({"metric_attributes": ["provider"]}, {}, ["'metric_attributes'", "reserved"]),
        ({"metric_attributes": ["a", "a"]}, {}, ["'metric_attributes'", "unique"]),
        ({"metrics_prot": 1}, {}, ["unknown option 'metrics_prot'", "metrics_port"]),
    ],
)
def test_bad_values_fail_naming_option_and_accepted_values(
    options: dict[str, object], env: dict[str, str], fragments: list[str]
) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.load(options, env)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_instrument_raises_config_error_and_hooks_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    import openai.resources.chat.completions as chat

    original = vars(chat.Completions)["create"]
    monkeypatch.setenv("LLM_TELEMETRY_MAX_LABEL_SETS", "lots")
    with pytest.raises(ConfigError, match="LLM_TELEMETRY_MAX_LABEL_SETS"):
        llm_telemetry.instrument(registry=CollectorRegistry())
    assert vars(chat.Completions)["create"] is original
    assert not llm_telemetry.is_instrumented()


def test_metric_registered_by_someone_else_is_named() -> None:
    registry = CollectorRegistry()
    Counter("llm_telemetry_errors", "someone else's", registry=registry)
    with pytest.raises(ConfigError, match="'llm_telemetry_errors_total' is already registered"):
        llm_telemetry.instrument(registry=registry)
    # Nothing half-registered is left behind: only the foreign collector remains.
    names = {metric.name for metric in registry.collect()}
    assert names == {"llm_telemetry_errors"}


def test_bad_price_override_file_fails_at_instrument(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"my-model": {"input_mtok": -1, "output_mtok": 2}}))
    with pytest.raises(ConfigError, match="price_overrides"):
        llm_telemetry.instrument(registry=CollectorRegistry(), price_overrides=str(path))


def test_metrics_endpoint_served_on_loopback() -> None:
    llm_telemetry.instrument(registry=CollectorRegistry(), metrics_port=0)
    port = llm_telemetry.metrics_server_port()
    assert port
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert "llm_telemetry_build_info{" in body
    assert "llm_telemetry_requests_total" in body or "# TYPE llm_telemetry_requests counter" in body
    llm_telemetry.uninstrument()
    assert llm_telemetry.metrics_server_port() is None


def test_instrument_is_idempotent_and_reconfigurable() -> None:
    import openai.resources.chat.completions as chat

    original = vars(chat.Completions)["create"]
    registry = CollectorRegistry()
    llm_telemetry.instrument(registry=registry)
    wrapped = vars(chat.Completions)["create"]
    llm_telemetry.instrument(registry=registry, tracing=False)
    assert vars(chat.Completions)["create"] is wrapped  # not wrapped twice
    llm_telemetry.uninstrument()
    assert vars(chat.Completions)["create"] is original


def test_opentelemetry_instrument_finds_the_entry_point() -> None:
    found = [ep for ep in entry_points(group="opentelemetry_instrumentor") if ep.name == "llm_telemetry"]
    assert len(found) == 1
    instrumentor = found[0].load()()
    instrumentor.instrument(tracer_provider=None)
    assert llm_telemetry.is_instrumented()
    instrumentor.uninstrument()
    assert not llm_telemetry.is_instrumented()


LAZY_HOOK = """
import sys
import llm_telemetry
from prometheus_client import CollectorRegistry, generate_latest
from llm_telemetry.testing import Chat, FakeProvider, openai_usage

registry = CollectorRegistry()
llm_telemetry.instrument(registry=registry, tracing=False, otel_metrics=False)
assert "openai" not in sys.modules, "instrument() must not import the SDKs"
import openai  # hooked now, by the post-import hook

with FakeProvider() as fp:
    fp.script(Chat(usage=openai_usage(21, 4)))
    client = openai.OpenAI(base_url=fp.openai_base_url, api_key="x")
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
print(generate_latest(registry).decode())
"""


def test_instrument_before_the_sdk_is_imported_hooks_it_on_import() -> None:
    """The lazy path: no import cost for SDKs the app never uses, and hooked the moment it does."""
    run = subprocess.run(
        [sys.executable, "-c", LAZY_HOOK], capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    assert (
        'llm_telemetry_input_tokens_total{operation="chat",provider="openai",request_model="gpt-4o-mini"'
        in run.stdout
    )
    line = next(x for x in run.stdout.splitlines() if x.startswith("llm_telemetry_input_tokens_total{"))
    assert line.endswith(" 21.0")


def test_a_busy_port_leaves_nothing_hooked_or_registered() -> None:
    import socket

    import openai.resources.chat.completions as chat

    original = vars(chat.Completions)["create"]
    registry = CollectorRegistry()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(ConfigError, match="metrics_port"):
            llm_telemetry.instrument(registry=registry, metrics_port=busy.getsockname()[1])
    assert vars(chat.Completions)["create"] is original
    assert not llm_telemetry.is_instrumented()
    assert list(registry.collect()) == []


def test_a_bool_is_not_a_port() -> None:
    with pytest.raises(ConfigError, match="metrics_port"):
        llm_telemetry.instrument(registry=CollectorRegistry(), metrics_port=True)  # type: ignore[arg-type]


def test_reconfiguring_the_port_moves_the_server() -> None:
    registry = CollectorRegistry()
    llm_telemetry.instrument(registry=registry, metrics_port=0)
    first = llm_telemetry.metrics_server_port()
    llm_telemetry.instrument(registry=registry, metrics_port=0, metrics_address="127.0.0.1")
    second = llm_telemetry.metrics_server_port()
    assert first and second and first != second
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{first}/metrics", timeout=2)
    assert (
        b"llm_telemetry_build_info"
        in urllib.request.urlopen(f"http://127.0.0.1:{second}/metrics", timeout=5).read()
    )


@pytest.mark.parametrize("problem", ["missing", "file"])
def test_an_unusable_multiprocess_dir_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, problem: str
) -> None:
    path = tmp_path / "prom"
    if problem == "file":
        path.write_text("")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(path))
    registry = CollectorRegistry()
    with pytest.raises(ConfigError, match="PROMETHEUS_MULTIPROC_DIR"):
        llm_telemetry.instrument(registry=registry)
    assert list(registry.collect()) == []


def test_multiprocess_dir_set_after_prometheus_client_was_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """prometheus_client chose in-memory values at import: /metrics would serve the empty shared dir."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match="set after prometheus_client was imported"):
        llm_telemetry.instrument(registry=CollectorRegistry())


def test_new_metric_attributes_while_a_stream_is_live_lose_nothing() -> None:
    import openai

    from llm_telemetry.testing import ChatStream, FakeProvider

    registry = CollectorRegistry()
    llm_telemetry.instrument(registry=registry)
    with FakeProvider() as fp:
        fp.script(ChatStream())
        client = openai.OpenAI(base_url=fp.openai_base_url, api_key="x")
        stream = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        first = next(iter(stream))
        llm_telemetry.instrument(registry=registry, metric_attributes=["feature"])  # the families change
        rest = list(stream)
    assert first and len(rest) == 3
    samples = {
        (s.name, s.labels.get("feature"), s.labels.get("outcome")): s.value
        for family in registry.collect()
        for s in family.samples
    }
    assert samples[("llm_telemetry_requests_total", "", "success")] == 1
    assert samples[("llm_telemetry_input_tokens_total", "", None)] == 12
    assert samples[("llm_telemetry_in_flight_requests", "", None)] == 0


def test_the_otel_instrumentor_uses_the_providers_it_is_given() -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from llm_telemetry.instrumentor import LLMTelemetryInstrumentor
    from llm_telemetry.record import begin

    spans, reader = InMemorySpanExporter(), InMemoryMetricReader()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    instrumentor = LLMTelemetryInstrumentor()
    assert "openai >= 2.0" in instrumentor.instrumentation_dependencies()
    instrumentor.instrument(
        tracer_provider=tracer_provider, meter_provider=MeterProvider(metric_readers=[reader])
    )
    call = begin("openai", "chat", "gpt-4o-mini")
    assert call is not None
    call.succeed(None)
    instrumentor.uninstrument()
    assert [s.name for s in spans.get_finished_spans()] == ["chat gpt-4o-mini"]
    data = reader.get_metrics_data()
    assert data is not None
    names = {m.name for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    assert {"gen_ai.client.operation.duration", "llm_telemetry.requests"} <= names


def test_price_overrides_as_a_mapping() -> None:
    from llm_telemetry.record import active

    llm_telemetry.instrument(
        registry=CollectorRegistry(), price_overrides={"my-model": {"input_mtok": 1.0, "output_mtok": 2.0}}
    )
    tel = active()
    assert tel is not None
    from llm_telemetry.usage import Usage

    cost = tel.pricer.price("openai", "my-model", Usage(input=1_000_000, output=1_000_000))
    assert cost is not None and (cost.input, cost.output) == (1.0, 2.0)
