"""Real Prometheus and Pushgateway processes on loopback ports, for the end-to-end tests.

Debian's ``prometheus`` and ``prometheus-pushgateway`` packages (installed by ``.ci/run``); each test
module starts its own on free ports and stops them, so tests never share state.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

PUSHGATEWAY = "prometheus-pushgateway"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, timeout: float = 5.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return str(response.read().decode())


def wait(predicate: Callable[[], Any], timeout: float, what: str) -> None:
    """Poll ``predicate`` until it is truthy; connection errors count as "not yet"."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def missing(*programs: str) -> bool:
    return any(shutil.which(p) is None for p in programs)


class Prometheus:
    """A running Prometheus: instant queries and the rules API."""

    def __init__(self, port: int) -> None:
        self.api = f"http://127.0.0.1:{port}/api/v1"

    def query(self, expr: str) -> dict[str, Any]:
        url = f"{self.api}/query?" + urllib.parse.urlencode({"query": expr})
        try:
            body = get(url)
        except urllib.error.HTTPError as exc:
            body = exc.read().decode()
        result: dict[str, Any] = json.loads(body)
        return result

    def values(self, expr: str) -> list[float]:
        """The sample values of an instant query (empty when it has no data)."""
        return [float(r["value"][1]) for r in self.query(expr)["data"]["result"]]

    def rules(self) -> list[dict[str, Any]]:
        groups = json.loads(get(f"{self.api}/rules"))["data"]["groups"]
        return [rule for group in groups for rule in group["rules"]]


def scrape_config(job: str, target: str, *, honor_labels: bool = False) -> str:
    """One entry of ``scrape_configs`` for :func:`prometheus`."""
    honor = "    honor_labels: true\n" if honor_labels else ""
    return f"  - job_name: {job}\n{honor}    static_configs:\n      - targets: ['{target}']\n"


def _stop(procs: Sequence[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def prometheus(
    tmp: Path, scrape_configs: str, rule_files: Sequence[Path] = (), interval: str = "1s"
) -> Iterator[Prometheus]:
    """Prometheus with ``scrape_configs`` (a YAML list, indented by two) and ``rule_files`` loaded."""
    port = free_port()
    rules = "".join(f"  - {path}\n" for path in rule_files)
    config = tmp / "prometheus.yml"
    config.write_text(
        f"global:\n  scrape_interval: {interval}\n  evaluation_interval: {interval}\n"
        + (f"rule_files:\n{rules}" if rules else "")
        + f"scrape_configs:\n{scrape_configs}"
    )
    proc = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=error",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait(lambda: get(f"http://127.0.0.1:{port}/-/ready"), 60, "Prometheus to be ready")
        yield Prometheus(port)
    finally:
        _stop([proc])


@contextmanager
def pushgateway() -> Iterator[str]:
    """A Pushgateway keeping metrics in memory only; yields its URL."""
    port = free_port()
    proc = subprocess.Popen(
        # Debian's build defaults to a persistence file under /var/lib: every run would inherit the last.
        [PUSHGATEWAY, f"--web.listen-address=127.0.0.1:{port}", "--persistence.file=", "--log.level=error"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait(lambda: get(f"{url}/-/ready"), 30, "the Pushgateway")
        yield url
    finally:
        _stop([proc])
