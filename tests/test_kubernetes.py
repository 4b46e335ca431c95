"""The Kubernetes base (deploy/kubernetes/): generated from alerts/ and dashboards/ without drift, and valid.

Validity is checked with real validators from PyPI, installed by ``.ci/run``: ``kubernetes-validate``
(the Kubernetes API's JSON schemas, strict: unknown fields are errors) for the built-in kinds, and the
``cloudcoil-models-prometheus-operator`` models for ``PodMonitor`` and ``PrometheusRule``, generated from
the CRDs of the operator's release ``bundle.yaml`` (see github.com/cloudcoil/cloudcoil,
models/prometheus-operator/cookiecutter.yaml; 0.80.x is operator v0.80.1). Those are strict by round
trip: the models drop unknown fields as the API server prunes them, so a field lost on the way back is
a field the operator does not know.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from . import promql

yaml = pytest.importorskip("yaml")

k8s = promql.load_script(promql.ROOT / "deploy" / "kubernetes" / "generate.py", "llm_telemetry_k8s_generate")
MANIFESTS = sorted(p for p in k8s.HERE.glob("*.yaml") if p.name != "kustomization.yaml")
#: The newest Kubernetes whose schemas kubernetes-validate bundles is used; the kinds are all GA.
OPERATOR_GROUP = "monitoring.coreos.com/"


def load(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return doc


def by_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for doc in map(load, MANIFESTS) if doc["kind"] == kind]


def validate(doc: dict[str, Any]) -> None:
    """Raise unless ``doc`` is valid for the Kubernetes API (or the Prometheus Operator's CRDs)."""
    if doc["apiVersion"].startswith(OPERATOR_GROUP):
        operator = pytest.importorskip(
            "cloudcoil.models.prometheus_operator.v1", reason="cloudcoil-models-prometheus-operator (.ci/run)"
        )
        model = getattr(operator, doc["kind"]).model_validate(doc)
        back = model.model_dump(by_alias=True, exclude_unset=True, mode="json")
        assert back == doc, f"fields unknown to the operator's {doc['kind']} schema were dropped"
    else:
        kv = pytest.importorskip("kubernetes_validate", reason="kubernetes-validate (.ci/run)")
        from kubernetes_validate.utils import latest_version

        kv.validate(doc, latest_version(), strict=True)


# --------------------------------------------------------------------------------------------- generated


def test_committed_manifests_are_generated() -> None:
    assert k8s.stale() == [], "run: python deploy/kubernetes/generate.py"


def test_check_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert k8s.main(["--check", "--out", str(tmp_path)]) == 1
    assert k8s.main(["--out", str(tmp_path)]) == 0
    assert k8s.main(["--check", "--out", str(tmp_path)]) == 0
    (tmp_path / "service.yaml").write_text((tmp_path / "service.yaml").read_text().replace("9464", "9465"))
    (tmp_path / "leftover.yaml").write_text("kind: ConfigMap\n")
    assert k8s.main(["--check", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "service.yaml: out of date" in err and "leftover.yaml: out of date" in err


def test_check_cli() -> None:
    script = promql.ROOT / "deploy" / "kubernetes" / "generate.py"
    run = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr


def test_prometheus_rule_carries_every_rule_group() -> None:
    (rule,) = by_kind("PrometheusRule")
    expected = [g for path in promql.RULE_FILES for g in load(path)["groups"]]
    assert [g["name"] for g in expected] == ["llm-telemetry-recording", "llm-telemetry"]
    assert rule["spec"]["groups"] == expected


def test_each_dashboard_is_a_sidecar_config_map() -> None:
    maps = {name: cm for cm in by_kind("ConfigMap") for name in cm["data"]}
    assert sorted(maps) == [p.name for p in promql.dashboard_files()]
    for path in promql.dashboard_files():
        cm = maps[path.name]
        assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert cm["data"] == {path.name: path.read_text(encoding="utf-8")}  # byte for byte
        assert json.loads(cm["data"][path.name]) == promql.load_dashboard(path)
    assert len({cm["metadata"]["name"] for cm in maps.values()}) == len(maps)


def test_kustomization_lists_every_manifest() -> None:
    kustomization = load(k8s.HERE / "kustomization.yaml")
    assert kustomization["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
    assert kustomization["kind"] == "Kustomization"
    assert sorted(kustomization["resources"]) == [p.name for p in MANIFESTS]


def test_pod_monitor_scrapes_the_demo_pods() -> None:
    (deployment,) = by_kind("Deployment")
    (monitor,) = by_kind("PodMonitor")
    (service,) = by_kind("Service")
    pod = deployment["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    assert container["args"][:2] == ["llm-telemetry", "demo"]
    assert container["args"][2:6] == ["--host", "0.0.0.0", "--port", "9464"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"metrics": 9464}
    for selector in (
        monitor["spec"]["selector"]["matchLabels"],
        deployment["spec"]["selector"]["matchLabels"],
    ):
        assert selector.items() <= pod["metadata"]["labels"].items()
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    assert [e["port"] for e in monitor["spec"]["podMetricsEndpoints"]] == ["metrics"]


# --------------------------------------------------------------------------------------------- valid


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifest_is_valid(path: Path) -> None:
    validate(load(path))


def mistakes() -> list[tuple[str, dict[str, Any]]]:
    """Manifests each broken in one way a person could get wrong."""
    out = []
    (deployment,) = by_kind("Deployment")
    d = copy.deepcopy(deployment)
    d["spec"]["replica"] = 2  # typo
    out.append(("unknown Deployment field", d))
    d = copy.deepcopy(deployment)
    d["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "9464"
    out.append(("port as a string", d))
    (monitor,) = by_kind("PodMonitor")
    m = copy.deepcopy(monitor)
    m["spec"]["podMetricsEndpoints"][0]["targetPortt"] = "metrics"
    out.append(("unknown PodMonitor field", m))
    m = copy.deepcopy(monitor)
    m["spec"]["podMetricsEndpoints"][0]["interval"] = "15 seconds"
    out.append(("PodMonitor interval not a duration", m))
    (rule,) = by_kind("PrometheusRule")
    r = copy.deepcopy(rule)
    r["spec"]["groups"][1]["rules"][0]["for"] = "a while"
    out.append(("alert `for` not a duration", r))
    r = copy.deepcopy(rule)
    r["spec"]["groups"][1]["rules"][0]["annotation"] = {}
    out.append(("unknown rule field", r))
    return out


@pytest.mark.parametrize(("what", "doc"), mistakes(), ids=[w for w, _ in mistakes()])
def test_validators_reject_mistakes(what: str, doc: dict[str, Any]) -> None:
    kv = pytest.importorskip("kubernetes_validate", reason="kubernetes-validate (.ci/run)")
    # kubernetes-validate's schema errors, pydantic's (a ValueError), or our round-trip assertion.
    with pytest.raises((kv.ValidationError, ValueError, AssertionError)):
        validate(doc)
