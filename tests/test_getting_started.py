"""A newcomer's path through the README: its commands are what CI runs, its Quickstart is a script that
runs as is and counts exactly what it says, and its price-override formats are the ones accepted."""

from __future__ import annotations

import importlib.util
import json
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from types import ModuleType

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

import llm_telemetry
from llm_telemetry.pricing import ModelPrice, load_overrides

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
QUICKSTART = ROOT / "examples" / "quickstart.py"


def _blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^ *```{language}\n(.*?)^ *```$", text, re.M | re.S)


def _section(title: str) -> str:
    start = README.index(f"\n{title}\n")
    end = re.compile(r"^##+ ", re.M).search(README, start + len(title) + 2)
    return README[start : end.start() if end else None]


def test_readmes_first_two_commands_are_what_ci_runs() -> None:
    first, second = (line.split("   #")[0].rstrip() for line in _blocks(README, "bash")[0].splitlines())
    install = "python3 -m venv .venv && .venv/bin/pip install -e '.[openai,anthropic]'"
    assert first == f"{install} && .venv/bin/llm-telemetry demo"
    assert second == "scripts/test"
    ci = [
        line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")
    ]
    # The same install (quieter: this machine's pip warns about its index folders), then the demo
    # stopped by one SIGINT, then the test command exactly as written, last.
    assert "python3 -m venv .venv && quiet .venv/bin/pip install -q -e '.[openai,anthropic]'" in ci
    assert any(
        line.startswith("timeout --foreground --preserve-status --signal=INT")
        and line.endswith(".venv/bin/llm-telemetry demo --port 0")
        for line in ci
    )
    assert ci[-1] == second


def _load_dev_ready() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_dev_ready", ROOT / "scripts" / "_dev_ready.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_scripts_test_knows_when_the_dev_extras_are_missing(tmp_path: Path) -> None:
    dev_ready = _load_dev_ready()
    assert dev_ready.missing() == []  # this venv runs the test command
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "llm-telemetry"\ndependencies = ["pytest>=8"]\n'
        "[project.optional-dependencies]\n"
        'dev = ["llm-telemetry[lint]", "pytest>=999"]\n'
        'lint = ["ruff>=0.6", "surely-not-installed-here>=1", "old-only; python_version < \'3\'"]\n'
    )
    assert dev_ready.missing(tmp_path) == [
        f"llm-telemetry installed from {tmp_path} (pip install -e)",
        f"pytest>=999 (found {__import__('pytest').__version__})",
        "surely-not-installed-here>=1",
    ]


@pytest.mark.slow
def test_the_quickstart_script_runs_and_counts_exactly() -> None:
    process = subprocess.Popen(
        [sys.executable, str(QUICKSTART), "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "It shipped on Tuesday.\n"
        url = re.fullmatch(
            r"metrics at (http://127\.0\.0\.1:\d+/metrics); Ctrl-C to stop\n", process.stdout.readline()
        )
        assert url, "no metrics line"
        with urllib.request.urlopen(url[1], timeout=10) as response:
            exposition = response.read().decode()
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    labels = {"provider": "openai", "request_model": "gpt-4o-mini", "operation": "chat"}
    labels |= {"feature": "search", "tenant": "acme"}  # declared in metric_attributes, set per call
    token_labels = {**labels, "response_model": "gpt-4o-mini-2024-07-18"}
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(exposition)
        for s in family.samples
    }

    def value(name: str, **labels: str) -> float:
        return samples[(name, tuple(sorted(labels.items())))]

    assert value("llm_telemetry_requests_total", **labels, stream="false", outcome="success") == 1
    assert value("llm_telemetry_input_tokens_total", **token_labels) == 1200
    assert value("llm_telemetry_output_tokens_total", **token_labels) == 80
    assert value("llm_telemetry_cache_read_tokens_total", **token_labels) == 1024
    assert value("llm_telemetry_cache_write_tokens_total", **token_labels) == 0
    assert value("llm_telemetry_reasoning_tokens_total", **token_labels) == 0
    assert value("llm_telemetry_cost_usd_total", **token_labels, component="cache_read") > 0


def test_the_readme_quickstart_is_the_example_script() -> None:
    section = _section("## Quickstart")
    (script,) = _blocks(section, "python")
    assert script == QUICKSTART.read_text(encoding="utf-8")
    assert "python examples/quickstart.py" in section and "curl http://127.0.0.1:9464/metrics" in section
    assert "metrics_port=port" in script and "else 9464" in script  # the port the README scrapes


EXPECTED_PRICE = ModelPrice(input_mtok=0.3, output_mtok=1.2, cache_read_mtok=0.15)


def test_every_documented_price_override_form_is_accepted(tmp_path: Path) -> None:
    section = _section("### Price overrides")
    (as_json,) = _blocks(section, "json")
    (as_toml,) = _blocks(section, "toml")
    inline = re.search(r"LLM_TELEMETRY_PRICE_OVERRIDES='(\{.*?\})'", section)
    assert inline, section
    (tmp_path / "prices.json").write_text(as_json)
    (tmp_path / "prices.toml").write_text(as_toml)
    model = "ft:gpt-4o-mini:acme::abc"
    for source in (tmp_path / "prices.json", str(tmp_path / "prices.toml"), json.loads(as_json)):
        assert load_overrides(source) == {model: EXPECTED_PRICE}, source
    assert load_overrides(inline[1]) == {"my-vllm-model": ModelPrice(input_mtok=0, output_mtok=0)}
    # The option takes the path forms and the inline string (the mapping only through load_overrides).
    for option in (str(tmp_path / "prices.json"), str(tmp_path / "prices.toml"), inline[1]):
        try:
            llm_telemetry.instrument(registry=CollectorRegistry(), price_overrides=option)
        finally:
            llm_telemetry.uninstrument()
