"""instrument(): configuration from keywords and LLM_TELEMETRY_* variables, failing early and clearly."""

from __future__ import annotations

import json
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
