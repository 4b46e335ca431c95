"""Every PromQL query we ship (dashboard targets and alert rules), ready for a real Prometheus.

Shared by ``test_dashboards.py`` (static checks, promtool) and the end-to-end test that evaluates each
query against Prometheus scraping the demo: both must see exactly what users get, so queries are read
from the committed files, not rebuilt.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD_DIR = ROOT / "dashboards"
GENERATOR = DASHBOARD_DIR / "generate.py"
RULES_DIR = ROOT / "alerts"
#: The alerting rules; the recording rules they and the dashboards read live next to them.
RULES_FILE = RULES_DIR / "llm-telemetry.rules.yml"
RECORDING_FILE = RULES_DIR / "llm-telemetry.recording.yml"
RULE_FILES = (RECORDING_FILE, RULES_FILE)
PROMETHEUS_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"

#: Grafana's built-in and dashboard variables, as a plain Prometheus query needs them.
GRAFANA_VARIABLES: dict[str, str] = {
    "__rate_interval": "1m",
    "__range": "5m",
    "__interval": "15s",
    "job": ".*",
    "instance": ".*",
    "provider": ".*",
    "model": ".*",
}
_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


def substitute(expr: str, values: dict[str, str] | None = None) -> str:
    """Replace ``$var`` / ``${var}`` with concrete values; an unknown variable is an error, not a guess."""
    table = GRAFANA_VARIABLES if values is None else values

    def repl(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in table:
            raise ValueError(f"no value for Grafana variable ${name} in {expr!r}")
        return table[name]

    return _VARIABLE.sub(repl, expr)


def load_script(path: Path, name: str) -> ModuleType:
    """A generator script as a module (its directory holds assets, not a package), loaded once."""
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # loaded once, shared by every caller
        spec.loader.exec_module(module)
    return module


def load_generator() -> ModuleType:
    """``dashboards/generate.py``."""
    return load_script(GENERATOR, "llm_telemetry_dashboards_generate")


def dashboard_files() -> list[Path]:
    """The committed dashboard JSON files, in a stable order."""
    return sorted(DASHBOARD_DIR.glob("*.json"))


def load_dashboard(path: Path) -> dict[str, Any]:
    """One dashboard JSON document."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def dashboard_targets() -> list[tuple[str, str]]:
    """``(where, expr)`` of every dashboard target, Grafana variables left in place."""
    out = []
    for path in dashboard_files():
        for panel in load_dashboard(path)["panels"]:
            for t in panel.get("targets", []):
                out.append((f"{path.name}: {panel['title']} [{t['refId']}]", t["expr"]))
    return out


def _rules_without_yaml(text: str) -> list[tuple[str, str]]:
    """Fallback reader for our rules file's layout (``- alert: X`` then ``expr: |`` block or one line)."""
    out: list[tuple[str, str]] = []
    lines = text.splitlines()
    name = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        head = re.match(r"-\s+(alert|record):\s*(\S+)", stripped)
        if head:
            name = f"{head.group(1)} {head.group(2)}"
        elif stripped.startswith("expr:"):
            rest = stripped[len("expr:") :].strip()
            if rest in ("|", "|-", ">", ">-"):
                indent = len(line) - len(line.lstrip())
                block: list[str] = []
                i += 1
                while i < len(lines) and (
                    not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent
                ):
                    block.append(lines[i])
                    i += 1
                body = [b for b in block if b.strip()]
                margin = min(len(b) - len(b.lstrip()) for b in body)
                joiner = "\n" if rest.startswith("|") else " "
                out.append((name, joiner.join(b[margin:] for b in body).strip()))
                continue
            out.append((name, rest.strip("'\"")))
        i += 1
    return out


def alert_rules(path: Path = RULES_FILE) -> list[tuple[str, str]]:
    """``(rule name, expr)`` of every rule; PyYAML when installed, else the fallback reader."""
    text = path.read_text(encoding="utf-8")
    try:
        import yaml
    except ImportError:  # pragma: no cover - depends on the environment
        return _rules_without_yaml(text)
    doc = yaml.safe_load(text)
    out = []
    for group in doc["groups"]:
        for rule in group["rules"]:
            kind = "alert" if "alert" in rule else "record"
            out.append((f"{kind} {rule[kind]}", str(rule["expr"]).strip()))
    return out


def rules() -> list[tuple[str, str]]:
    """``(file: rule name, expr)`` of every recording and alerting rule we ship."""
    return [(f"{path.name}: {name}", expr) for path in RULE_FILES for name, expr in alert_rules(path)]


def recorded_series() -> dict[str, frozenset[str]]:
    """Recorded series name -> the labels it keeps (its ``sum by (...)``), from the recording rules."""
    out = {}
    for name, expr in alert_rules(RECORDING_FILE):
        by = re.match(r"sum by \(([^)]*)\)", expr)
        assert by, f"{name}: a recording rule is one sum by (...) so its level is explicit"
        out[name.removeprefix("record ")] = frozenset(label.strip() for label in by.group(1).split(","))
    return out


def all_queries() -> list[tuple[str, str]]:
    """``(where, PromQL)`` of every dashboard target and rule, variables substituted."""
    return [(where, substitute(expr)) for where, expr in dashboard_targets()] + rules()
