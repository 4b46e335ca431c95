"""The demo stack (docker-compose.yml, Dockerfile, deploy/): safe to run on a laptop, wired so the OTel
metrics reach Prometheus, pinned to the SDKs CI tests, and valid for a real compose implementation.

There is no container engine here: Debian's docker-compose (installed by .ci/run) validates the file
with ``config``, promtool checks the Prometheus configuration, and the hardening is read from the
YAML with the defaults of its ``${VAR:-default}`` variables, as compose resolves them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"


def _with_defaults(text: str) -> str:
    """``${NAME:-default}`` -> ``default``; a variable without a default would be a surprise."""
    assert not re.search(r"\$\{\w+\}", text), "every variable needs a default"
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", text)


def _yaml(path: Path) -> Any:
    return yaml.safe_load(_with_defaults(path.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    services: dict[str, Any] = _yaml(COMPOSE)["services"]
    assert set(services) == {"demo", "prometheus", "grafana", "otel-collector", "jaeger"}
    return services


def test_ports_are_published_on_loopback_only(services: dict[str, Any]) -> None:
    published = {name: s.get("ports", []) for name, s in services.items()}
    assert published == {
        "demo": ["127.0.0.1:9464:9464"],
        "prometheus": ["127.0.0.1:9090:9090"],
        "grafana": ["127.0.0.1:3000:3000"],
        "otel-collector": ["127.0.0.1:4317:4317", "127.0.0.1:4318:4318"],
        "jaeger": ["127.0.0.1:16686:16686"],
    }
    raw = COMPOSE.read_text(encoding="utf-8")
    assert raw.count('"${LLM_TELEMETRY_BIND_ADDRESS:-127.0.0.1}:') == 6  # one knob for every port


def test_grafana_has_no_anonymous_admin(services: dict[str, Any]) -> None:
    env = services["grafana"]["environment"]
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "true" and env["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"
    assert "GF_AUTH_DISABLE_LOGIN_FORM" not in env  # the admin signs in
    assert (env["GF_SECURITY_ADMIN_USER"], env["GF_SECURITY_ADMIN_PASSWORD"]) == ("admin", "admin")
    assert "GF_SECURITY_ADMIN_PASSWORD: ${GRAFANA_ADMIN_PASSWORD:-admin}" in COMPOSE.read_text()


def test_prometheus_has_no_lifecycle_api(services: dict[str, Any]) -> None:
    flags = services["prometheus"]["command"]
    assert flags == ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]


def test_every_service_is_healthchecked_and_waits_for_healthy_dependencies(services: dict[str, Any]) -> None:
    probes = {name: s["healthcheck"]["test"] for name, s in services.items()}
    assert probes["prometheus"][-1] == "http://127.0.0.1:9090/-/healthy"
    assert probes["grafana"][-1] == "http://127.0.0.1:3000/api/health"
    assert probes["jaeger"][-1] == "http://127.0.0.1:13133/status"
    assert probes["otel-collector"][:2] == ["CMD", "/busybox"]
    assert probes["otel-collector"][-1] == "http://127.0.0.1:13133/"
    assert "http://127.0.0.1:9464/metrics" in probes["demo"][-1]
    waits = {name: s.get("depends_on", {}) for name, s in services.items()}
    assert {name: sorted(deps) for name, deps in waits.items()} == {
        "demo": ["otel-collector"],
        "prometheus": ["demo", "otel-collector"],
        "grafana": ["prometheus"],
        "otel-collector": ["jaeger"],
        "jaeger": [],
    }
    assert all(dep == {"condition": "service_healthy"} for deps in waits.values() for dep in deps.values())


def test_the_collector_image_carries_what_its_healthcheck_runs() -> None:
    dockerfile = (ROOT / "deploy" / "otel-collector.Dockerfile").read_text()
    assert "FROM busybox:1.36.1-musl AS busybox" in dockerfile  # musl: a static binary
    assert "FROM otel/opentelemetry-collector-contrib:0.120.0" in dockerfile
    assert "COPY --from=busybox /bin/busybox /busybox" in dockerfile
    collector = _yaml(ROOT / "deploy" / "otel-collector.yml")
    assert collector["extensions"]["health_check"]["endpoint"] == "127.0.0.1:13133"
    assert collector["service"]["extensions"] == ["health_check"]


def test_the_collectors_otel_metrics_reach_prometheus(services: dict[str, Any]) -> None:
    collector = _yaml(ROOT / "deploy" / "otel-collector.yml")
    pipelines = collector["service"]["pipelines"]
    assert pipelines["metrics"] == {
        "receivers": ["otlp"],
        "processors": ["batch"],
        "exporters": ["prometheus", "debug"],
    }
    assert pipelines["traces"]["exporters"] == ["otlp/jaeger", "debug"]
    assert collector["exporters"]["prometheus"]["endpoint"] == "0.0.0.0:8889"
    assert "8889" in services["otel-collector"]["expose"]
    scrape = _yaml(ROOT / "deploy" / "prometheus" / "prometheus.yml")["scrape_configs"]
    targets = {job["job_name"]: job["static_configs"][0]["targets"] for job in scrape}
    assert targets["otel-collector"] == ["otel-collector:8889"]
    assert targets["llm-app"] == ["demo:9464"]
    env = services["demo"]["environment"]
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4317"


def test_the_demo_image_pins_the_sdk_versions_ci_tests() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    pins = dict(re.findall(r'"(openai|anthropic|google-genai|boto3)==([^"]+)"', dockerfile))
    assert pins == {sdk: metadata.version(sdk) for sdk in ("openai", "anthropic", "google-genai", "boto3")}


def test_the_compose_header_and_readme_give_the_same_command() -> None:
    header = COMPOSE.read_text().split("services:")[0]
    readme = (ROOT / "README.md").read_text()
    assert "#   docker compose up --build\n" in header
    assert "`docker compose up --build`" in readme
    assert re.findall(r"docker compose up(?! --build)", readme) == []


compose = shutil.which("docker-compose")


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.skipif(compose is None, reason="needs Debian's docker-compose (installed by .ci/run)")
def test_a_real_compose_implementation_accepts_the_file(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}  # no LLM_TELEMETRY_BIND_ADDRESS & co.
    command = [str(compose), "--project-directory", str(ROOT), "-f", str(COMPOSE), "config"]
    quiet = subprocess.run([*command, "-q"], capture_output=True, text=True, env=env, timeout=120)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    resolved = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert resolved.returncode == 0, resolved.stderr
    ports = [p for s in yaml.safe_load(resolved.stdout)["services"].values() for p in s.get("ports", [])]
    assert len(ports) == 6 and all(str(p).startswith("127.0.0.1:") for p in ports), ports


@pytest.mark.e2e
@pytest.mark.skipif(
    shutil.which("promtool") is None, reason="needs Debian's prometheus (installed by .ci/run)"
)
def test_promtool_accepts_the_prometheus_configuration() -> None:
    config = ROOT / "deploy" / "prometheus" / "prometheus.yml"
    result = subprocess.run(
        ["promtool", "check", "config", str(config)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rule_files = _yaml(config)["rule_files"]
    assert f"SUCCESS: {len(rule_files)} rule files found" in result.stdout + result.stderr
