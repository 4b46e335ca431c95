"""End to end: a real Prometheus scrapes the demo; every dashboard and alert query is evaluated against it.

The demo runs as its own process (exactly what ``llm-telemetry demo`` does), Prometheus (Debian's
``prometheus`` package) scrapes it every second on a free loopback port with our alert rules loaded,
and each shipped PromQL expression goes through Prometheus's HTTP API.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from .promql import RULES_FILE, all_queries, dashboard_targets, substitute

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("prometheus") is None or shutil.which("promtool") is None,
        reason="needs Debian's prometheus package (installed by .ci/run)",
    ),
]

#: Queries whose value must be strictly positive once the demo has run for a while.
MUST_BE_POSITIVE = (
    "llm-overview.json: Spend",
    "llm-overview.json: Requests",
    "llm-overview.json: Tokens",
    "llm-overview.json: Cache hit",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, timeout: float = 5.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return str(response.read().decode())


def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


class Stack:
    """The demo process and a Prometheus scraping it."""

    def __init__(self, demo_port: int, prom_port: int) -> None:
        self.metrics_url = f"http://127.0.0.1:{demo_port}/metrics"
        self.api = f"http://127.0.0.1:{prom_port}/api/v1"

    def query(self, expr: str) -> dict[str, Any]:
        url = f"{self.api}/query?" + urllib.parse.urlencode({"query": expr})
        try:
            body = _get(url)
        except urllib.error.HTTPError as exc:
            body = exc.read().decode()
        result: dict[str, Any] = json.loads(body)
        return result


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("prometheus")
    demo_port, prom_port = _free_port(), _free_port()
    env = {**os.environ, "OTEL_TRACES_EXPORTER": "none"}
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llm_telemetry",
            "demo",
            "--duration",
            "0",
            "--rate",
            "25",
            "--port",
            str(demo_port),
            "--quiet",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    config = tmp / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"rule_files:\n  - {RULES_FILE}\n"
        "scrape_configs:\n  - job_name: llm-app\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{demo_port}']\n"
    )
    prometheus = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp / 'data'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
            "--log.level=error",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    s = Stack(demo_port, prom_port)
    try:
        _wait(lambda: "llm_telemetry_requests_total" in _get(s.metrics_url), 60, "the demo's /metrics")
        _wait(
            lambda: s.query("up{job='llm-app'} == 1")["data"]["result"], 60, "Prometheus to scrape the demo"
        )
        # rate() over [1m] needs two samples of counters that the demo has already moved.
        _wait(
            lambda: s.query("sum(rate(llm_telemetry_retries_total[1m])) > 0")["data"]["result"],
            60,
            "two scrapes with retries under way",
        )
        time.sleep(3)
        yield s
    finally:
        for proc in (prometheus, demo):
            proc.terminate()
        for proc in (prometheus, demo):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_every_dashboard_and_alert_query_evaluates(stack: Stack) -> None:
    empty, failed = [], []
    for where, expr in all_queries():
        answer = stack.query(expr)
        if answer.get("status") != "success":
            failed.append(f"{where}: {answer.get('error')}")
            continue
        is_alert = where.startswith(RULES_FILE.name)
        if not is_alert and not answer["data"]["result"]:
            empty.append(f"{where}: {expr}")
    assert failed == []
    assert empty == [], "dashboard queries with no data:\n" + "\n".join(empty)


def test_key_panels_show_non_zero_values(stack: Stack) -> None:
    checked = 0
    for where, expr in dashboard_targets():
        if where.startswith(MUST_BE_POSITIVE):
            result = stack.query(substitute(expr))["data"]["result"]
            assert result, where
            assert max(float(r["value"][1]) for r in result) > 0, where
            checked += 1
    assert checked >= len(MUST_BE_POSITIVE)


def test_alert_rules_are_loaded_and_healthy(stack: Stack) -> None:
    def rules() -> list[dict[str, Any]]:
        groups = json.loads(_get(f"{stack.api}/rules"))["data"]["groups"]
        return [rule for group in groups for rule in group["rules"]]

    _wait(lambda: rules() and all(r.get("health") == "ok" for r in rules()), 20, "rules evaluated")
    assert len(rules()) >= 4


def test_every_metric_name_queried_is_exposed(stack: Stack) -> None:
    exposition = _get(stack.metrics_url)
    exposed = {
        line.split("{")[0].split(" ")[0] for line in exposition.splitlines() if line.startswith("llm_")
    }
    referenced = {
        name for _, expr in all_queries() for name in re.findall(r"\b(llm_telemetry_[a-z_]+)\b", expr)
    }
    assert referenced, "no metric referenced"
    assert sorted(referenced - exposed) == []


def test_promtool_accepts_the_exposition(stack: Stack) -> None:
    exposition = _get(stack.metrics_url)
    command = ["promtool", "check", "metrics"]
    result = subprocess.run(command, input=exposition, capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")
