"""Dashboards and rules only use the contract's families, correctly: counters through rate/increase,
Grafana's windows, the dashboard filters, guarded ratios, recorded series named for what they keep. The
committed JSON must be what the generator writes, every alert has a runbook section in the README, and,
when ``promtool`` is installed, every query must parse and every alert must fire on synthetic data (and
stay silent when it should).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from llm_telemetry.contract import BUILD_INFO_LABELS

try:
    from tests import promql
except ImportError:  # tests/ is not a package: pytest puts it on sys.path itself
    import promql

all_queries = promql.all_queries  # re-exported for the end-to-end test

# The telemetry contract's Prometheus families (hard-coded on purpose: renaming one must fail here).
COUNTERS = frozenset(
    {
        "llm_telemetry_requests_total",
        "llm_telemetry_errors_total",
        "llm_telemetry_retries_total",
        "llm_telemetry_input_tokens_total",
        "llm_telemetry_output_tokens_total",
        "llm_telemetry_cache_read_tokens_total",
        "llm_telemetry_cache_write_tokens_total",
        "llm_telemetry_reasoning_tokens_total",
        "llm_telemetry_cost_usd_total",
        "llm_telemetry_unpriced_requests_total",
        "llm_telemetry_usage_missing_total",
        "llm_telemetry_finish_reasons_total",
        "llm_telemetry_internal_errors_total",
        "llm_telemetry_series_folded_total",
        # v1.1 billed units, created on first use
        "llm_telemetry_audio_input_tokens_total",
        "llm_telemetry_audio_output_tokens_total",
        "llm_telemetry_image_input_tokens_total",
        "llm_telemetry_image_output_tokens_total",
        "llm_telemetry_server_tool_calls_total",
    }
)
HISTOGRAMS = frozenset(
    {
        "llm_telemetry_request_duration_seconds",
        "llm_telemetry_time_to_first_token_seconds",
        "llm_telemetry_time_per_output_token_seconds",
    }
)
GAUGES = frozenset({"llm_telemetry_in_flight_requests", "llm_telemetry_build_info"})
HISTOGRAM_SERIES = frozenset(f"{h}{s}" for h in HISTOGRAMS for s in ("_bucket", "_sum", "_count"))
#: Series that only make sense through rate()/increase().
MONOTONIC = COUNTERS | HISTOGRAM_SERIES
#: Recorded series (already rates) -> the labels each keeps.
RECORDED = promql.recorded_series()
KNOWN = MONOTONIC | GAUGES | RECORDED.keys()
#: Families without the base labels: only job/instance can filter them.
PROCESS_LEVEL = frozenset(
    {"llm_telemetry_internal_errors_total", "llm_telemetry_series_folded_total", "llm_telemetry_build_info"}
)

DS = {"type": "prometheus", "uid": "${datasource}"}
VARIABLES = ("datasource", "job", "instance", "provider", "model")
BASE_FILTER = {"job": "$job", "instance": "$instance", "provider": "$provider", "request_model": "$model"}
GRAFANA_WINDOWS = ("$__rate_interval", "$__range")
UNITS = frozenset({"currencyUSD", "percentunit", "s", "short", "reqps"})
KEYWORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset"}
)

gen = promql.load_generator()
DASHBOARD_FILES = promql.dashboard_files()
TARGETS = promql.dashboard_targets()
RULES = promql.rules()
RUNBOOK_BASE = "https://github.com/llm-telemetry/llm-telemetry/blob/main/README.md#"
README = promql.ROOT / "README.md"
needs_promtool = pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not on PATH")


# --------------------------------------------------------------------------------------------- PromQL helpers


def blank_strings(expr: str) -> str:
    """String literals' contents replaced by ``x`` (same length), so label values cannot look like syntax."""
    return re.sub(r'"(?:[^"\\]|\\.)*"', lambda m: '"' + "x" * (len(m.group()) - 2) + '"', expr)


def metric_names(expr: str) -> set[str]:
    """Every metric name an expression selects (functions, keywords, labels and durations excluded)."""
    s = blank_strings(expr)
    s = re.sub(r"\{[^}]*\}", " ", s)
    s = re.sub(r"\[[^\]]*\]", " ", s)
    s = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)
    names = set()
    for m in re.finditer(r"\d+(?:\.\d+)?(?:[eE][-+]?\d+)?[a-z]*|([a-zA-Z_:][\w:]*)", s):
        word = m.group(1)
        if word is None or word in KEYWORDS or re.match(r"\s*\(", s[m.end() :]):
            continue
        names.add(word)
    return names


def enclosing_function(expr: str, pos: int) -> str | None:
    """Name of the innermost function call whose parentheses contain ``pos``."""
    depth = 0
    for i in range(pos - 1, -1, -1):
        if expr[i] == ")":
            depth += 1
        elif expr[i] == "(":
            if depth == 0:
                m = re.search(r"([a-zA-Z_]\w*)\s*$", expr[:i])
                return m.group(1) if m else None
            depth -= 1
    return None


def selectors(expr: str) -> list[tuple[str, dict[str, str], int, int]]:
    """``(metric, {label: value}, start, end)`` of every ``llm_telemetry_*`` selector, recorded or not."""
    blank = blank_strings(expr)
    out = []
    for m in re.finditer(r"(?<![\w:])((?:\w+:)?llm_telemetry_\w+(?::\w+)?)(?![\w:])(\{[^}]*\})?", blank):
        text = expr[m.start(2) : m.end(2)] if m.group(2) else ""
        matchers = dict(re.findall(r'(\w+)\s*=~?\s*"((?:[^"\\]|\\.)*)"', text))
        out.append((m.group(1), matchers, m.start(), m.end()))
    return out


def assert_well_formed(where: str, expr: str, *, dashboard: bool) -> None:
    """The rules every shipped query obeys (see the module docstring)."""
    unknown = metric_names(expr) - KNOWN
    assert not unknown, f"{where}: not a contract family: {sorted(unknown)}"
    blank = blank_strings(expr)
    for name, matchers, start, end in selectors(expr):
        fn = enclosing_function(blank, start)
        if name in MONOTONIC:
            assert fn in ("rate", "increase"), f"{where}: {name} outside rate()/increase() (in {fn})"
            assert blank[end:].lstrip().startswith("["), f"{where}: {name} in {fn}() without a range"
        else:
            assert fn not in ("rate", "increase"), f"{where}: gauge {name} inside {fn}()"
        if dashboard:
            if name in RECORDED:  # instance and the rest are summed away
                keeps = RECORDED[name]
            elif name in PROCESS_LEVEL:
                keeps = frozenset({"job", "instance"})
            else:
                keeps = frozenset(BASE_FILTER)
            wanted = {k: v for k, v in BASE_FILTER.items() if k in keeps}
            missing = {k: v for k, v in wanted.items() if matchers.get(k) != v}
            assert not missing, f"{where}: {name} lacks filters {missing}"
    if dashboard:
        for window in re.findall(r"\[([^\]]*)\]", blank):
            assert window in GRAFANA_WINDOWS, f"{where}: range [{window}] is not a Grafana window"
        for m in re.finditer(r"histogram_quantile\(", blank):
            rest = blank[m.end() :]
            assert re.match(
                r"[\d.]+, sum by \(le(, \w+)*\) \((rate\(\w+_bucket|\w+_le:\w+_bucket:rate5m)\{", rest
            ), f"{where}: {rest[:80]}"
        buckets = len(re.findall(r"_bucket(:rate5m)?\{", blank))
        grouped = len(
            re.findall(r"sum by \(le(?:, \w+)*\) \((rate\(\w+_bucket|\w+_le:\w+_bucket:rate5m)\{", blank)
        )
        assert buckets == grouped, f"{where}: _bucket not summed by le over rate()"


# --------------------------------------------------------------------------------------------- generator


def test_committed_dashboards_are_generated() -> None:
    assert [p.name for p in DASHBOARD_FILES] == sorted(gen.DASHBOARDS)
    assert gen.stale() == [], "run: python dashboards/generate.py"


def test_generation_is_deterministic() -> None:
    assert gen.generate() == gen.generate()


def test_check_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert gen.main(["--check", "--out", str(tmp_path)]) == 1
    assert gen.main(["--out", str(tmp_path)]) == 0
    assert gen.main(["--check", "--out", str(tmp_path)]) == 0
    first = tmp_path / "llm-cost.json"
    first.write_text(first.read_text().replace("Spend", "Spent", 1))
    assert gen.main(["--check", "--out", str(tmp_path)]) == 1
    assert "llm-cost.json" in capsys.readouterr().err


def test_check_cli() -> None:
    run = subprocess.run(
        [sys.executable, str(promql.GENERATOR), "--check"], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr


# --------------------------------------------------------------------------------------------- dashboards


@pytest.fixture(params=DASHBOARD_FILES, ids=lambda p: p.name)
def board(request: pytest.FixtureRequest) -> dict[str, Any]:
    return promql.load_dashboard(request.param)


def test_dashboard_metadata(board: dict[str, Any]) -> None:
    assert board["uid"].startswith("llm-telemetry-") and len(board["uid"]) <= 40
    assert board["title"] and board["description"]
    assert board["schemaVersion"] >= 39
    assert board["id"] is None
    assert isinstance(board["__inputs"], list)
    required = {(r["type"], r["id"]) for r in board["__requires"]}
    assert {("grafana", "grafana"), ("datasource", "prometheus")} <= required
    assert {p["type"] for p in board["panels"]} == {i for t, i in required if t == "panel"}
    assert "DS_" not in json.dumps(board), "__inputs placeholders break file provisioning"


def test_uids_unique() -> None:
    uids = [promql.load_dashboard(p)["uid"] for p in DASHBOARD_FILES]
    assert len(set(uids)) == len(uids) == 5


def test_variables(board: dict[str, Any]) -> None:
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert tuple(variables) == VARIABLES
    ds = variables.pop("datasource")
    assert ds["type"] == "datasource" and ds["query"] == "prometheus"
    for name, v in variables.items():
        assert v["type"] == "query"
        assert v["datasource"] == DS
        assert v["multi"] and v["includeAll"] and v["allValue"] == ".*"
        label = "request_model" if name == "model" else name
        assert v["query"] == v["definition"]
        assert re.fullmatch(rf"label_values\(llm_telemetry_requests_total(\{{.*\}})?, {label}\)", v["query"])


def test_panels(board: dict[str, Any]) -> None:
    ids, names = set(), set()
    for panel in board["panels"]:
        title = panel.get("title")
        assert title and panel.get("description"), panel
        assert title not in names, f"duplicate title {title}"
        names.add(title)
        assert panel["id"] not in ids
        ids.add(panel["id"])
        assert panel["datasource"] == DS, title
        assert panel["fieldConfig"]["defaults"].get("unit") in UNITS, title
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24 and pos["h"] > 0, title
        assert panel["targets"], title
        assert [t["refId"] for t in panel["targets"]] == list("ABCDEFGHIJ"[: len(panel["targets"])])
        for t in panel["targets"]:
            assert t["datasource"] == DS, title
            # A whole-range increase only makes sense as one instant value.
            if "$__range" in t["expr"]:
                assert t["instant"] and not t["range"], title


def test_variables_used_are_defined(board: dict[str, Any]) -> None:
    defined = {f"${v}" for v in VARIABLES} | set(GRAFANA_WINDOWS)
    for panel in board["panels"]:
        for t in panel["targets"]:
            used = set(re.findall(r"\$\w+", t["expr"]))
            assert used <= defined, (panel["title"], used - defined)


@pytest.mark.parametrize(("where", "expr"), TARGETS, ids=[w for w, _ in TARGETS])
def test_dashboard_query(where: str, expr: str) -> None:
    assert_well_formed(where, expr, dashboard=True)


def test_every_family_is_charted() -> None:
    used = set().union(*(metric_names(e) for _, e in TARGETS))
    used |= {n.split(":")[1] for n in used & RECORDED.keys()}  # a recorded series charts its family
    charted = {n.removesuffix(s) for n in used for s in ("_bucket", "_sum", "_count") if n.endswith(s)}
    assert used >= COUNTERS | GAUGES
    assert charted >= HISTOGRAMS


def test_build_info_table_lists_every_label_of_the_contract() -> None:
    """The Build info table groups by every ``llm_telemetry_build_info`` label (v1.1 added google_genai,
    boto3 and dspy before ``prices``), so each running SDK version is a column."""
    (expr,) = [e for where, e in TARGETS if where == "llm-reliability.json: Build info [A]"]
    labels = ("version", "openai", "anthropic", "litellm", "instructor", "google_genai", "boto3", "dspy")
    assert expr.startswith(f"max by (job, instance, {', '.join(labels)}, prices) (llm_telemetry_build_info{{")
    assert (*labels, "prices") == BUILD_INFO_LABELS


def test_ratios_are_guarded() -> None:
    for where, expr in TARGETS:
        for m in re.finditer(r"\)\s*/\s*", expr):
            assert expr[m.end() :].startswith(("clamp_min(", "on() group_left() clamp_min(")), where


def test_checker_catches_mistakes() -> None:
    f = 'job=~"$job", instance=~"$instance", provider=~"$provider", request_model=~"$model"'
    bad = [
        f"sum(llm_telemetry_requests_total{{{f}}})",  # bare counter
        f"rate(llm_telemetry_request_total{{{f}}}[$__rate_interval])",  # not a contract name
        f"rate(llm_telemetry_requests_total{{{f}}}[5m])",  # fixed window in a dashboard
        'rate(llm_telemetry_requests_total{job=~"$job"}[$__rate_interval])',  # missing filters
        f"rate(llm_telemetry_in_flight_requests{{{f}}}[$__rate_interval])",  # gauge in rate
        # a quantile without sum by (le)
        f"histogram_quantile(0.5, rate(llm_telemetry_time_to_first_token_seconds_bucket{{{f}}}[$__range]))",
    ]
    for expr in bad:
        with pytest.raises(AssertionError):
            assert_well_formed("test", expr, dashboard=True)


# --------------------------------------------------------------------------------------------- alert rules


def rule_docs() -> list[dict[str, Any]]:
    """Every rule of every file we ship, as parsed YAML."""
    yaml = pytest.importorskip("yaml")
    return [
        r
        for path in promql.RULE_FILES
        for g in yaml.safe_load(path.read_text())["groups"]
        for r in g["rules"]
    ]


def test_alert_rules_structure() -> None:
    alerts = [r for r in rule_docs() if "alert" in r]
    names = {r["alert"] for r in alerts}
    assert {
        "LLMSpendSpike",
        "LLMErrorRateHigh",
        "LLMCacheHitRatioCollapse",
        "LLMUsageMissingRising",
        "LLMTelemetryInternalErrors",
        "LLMUnpricedRequests",
        "LLMTelemetrySeriesFolded",
    } <= names
    headings = set(re.findall(r"^### (\w+)$", README.read_text(), re.M))
    for rule in alerts:
        name = rule["alert"]
        assert re.fullmatch(r"\d+[smh]", rule["for"]), name
        assert rule["labels"]["severity"] in ("info", "warning", "critical"), name
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], name
        # GitHub's anchor of a "### Name" heading is the lower-cased name.
        assert rule["annotations"]["runbook_url"] == RUNBOOK_BASE + name.lower(), name
        assert name in headings, f"README has no runbook section '### {name}'"


def test_recording_rules_follow_level_metric_operations() -> None:
    records = [r for r in rule_docs() if "record" in r]
    assert {r["record"] for r in records} == RECORDED.keys()
    for rule in records:
        level, metric, operation = rule["record"].split(":")
        window = re.fullmatch(r"rate(\d+[mh])", operation)
        assert window, rule["record"]
        # The level names the labels kept, in order; the metric is the family (counters without _total).
        by = re.match(r"sum by \(([^)]*)\) \(rate\((\w+)\[(\w+)\]\)\)$", rule["expr"].strip())
        assert by, rule["record"]
        assert level == "_".join(label.strip() for label in by.group(1).split(",")), rule["record"]
        assert by.group(2) in (metric, f"{metric}_total") and by.group(2) in MONOTONIC, rule["record"]
        assert by.group(3) == window.group(1), rule["record"]
        assert "instance" not in RECORDED[rule["record"]], "recorded series aggregate replicas"


def test_rules_reader_without_yaml() -> None:
    for path in promql.RULE_FILES:
        assert promql._rules_without_yaml(path.read_text()) == promql.alert_rules(path)


@pytest.mark.parametrize(("where", "expr"), RULES, ids=[w for w, _ in RULES])
def test_rule_query(where: str, expr: str) -> None:
    assert_well_formed(where, expr, dashboard=False)


def test_prometheus_config_points_at_rules() -> None:
    text = promql.PROMETHEUS_CONFIG.read_text()
    block = re.search(r"^rule_files:\n((?:[ #].*\n)+)", text, re.M)
    assert block
    listed = re.findall(r"^\s*-\s*(\S+)", block.group(1), re.M)
    assert {(promql.PROMETHEUS_CONFIG.parent / f).resolve() for f in listed} == set(promql.RULE_FILES)
    assert "demo:9464" in text and "job_name: llm-app" in text


# --------------------------------------------------------------------------------------------- all_queries


def test_all_queries() -> None:
    queries = all_queries()
    assert len(queries) == len(TARGETS) + len(RULES)
    assert len({w for w, _ in queries}) == len(queries)
    for where, expr in queries:
        assert "$" not in expr, where
    assert promql.substitute('x{job=~"$job"}[$__rate_interval]') == 'x{job=~".*"}[1m]'
    with pytest.raises(ValueError, match="unknown"):
        promql.substitute("$unknown")


# --------------------------------------------------------------------------------------------- promtool


def promtool(*args: str) -> str:
    run = subprocess.run(["promtool", *args], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


@pytest.mark.e2e
@needs_promtool
def test_promtool_check_rules() -> None:
    promtool("check", "rules", *map(str, promql.RULE_FILES))


@pytest.mark.e2e
@needs_promtool
def test_promtool_check_config() -> None:
    # rule_files resolve relative to the config file, whatever the working directory.
    assert "2 rule files found" in promtool("check", "config", str(promql.PROMETHEUS_CONFIG))


@pytest.mark.e2e
@needs_promtool
def test_promtool_parses_every_dashboard_query(tmp_path: Path) -> None:
    rules = [
        {"record": f"dashboard:query_{i}", "expr": e}
        for i, (_, e) in enumerate(all_queries()[: len(TARGETS)])
    ]
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(json.dumps({"groups": [{"name": "dashboards", "rules": rules}]}))  # JSON is YAML
    assert f"{len(rules)} rules found" in promtool("check", "rules", str(path))


# Synthetic series for `promtool test rules` (1-minute samples). The spec is written as JSON, which is YAML.
BASE = 'job="llm-app", instance="demo:9464", provider="openai", request_model="gpt-4o", operation="chat"'
TOKEN = BASE + ', response_model="gpt-4o-2024-08-06"'
SAVED = '{response_model="gpt-4o-2024-08-06"}'
MODEL = {"job": "llm-app", "provider": "openai", "request_model": "gpt-4o"}


def series(name: str, labels: str, values: str) -> dict[str, str]:
    return {"series": f"{name}{{{labels}}}", "values": values}


def traffic(errors: str, cost: tuple[str, str, str], minutes: int) -> list[dict[str, str]]:
    """One model under load: 45 successes/min, ``errors``, 1000 input tokens/min of which 600 cache reads and
    100 cache writes, 200 output of which 50 reasoning; cost of input, cache_read and output as given."""
    n = str(minutes)
    out = [
        series("llm_telemetry_requests_total", BASE + ', stream="false", outcome="success"', f"0+45x{n}"),
        series("llm_telemetry_requests_total", BASE + ', stream="false", outcome="error"', errors),
        series("llm_telemetry_requests_total", BASE + ', stream="false", outcome="cancelled"', f"0x{n}"),
        series("llm_telemetry_input_tokens_total", TOKEN, f"0+1000x{n}"),
        series("llm_telemetry_cache_read_tokens_total", TOKEN, f"0+600x{n}"),
        series("llm_telemetry_cache_write_tokens_total", TOKEN, f"0+100x{n}"),
        series("llm_telemetry_output_tokens_total", TOKEN, f"0+200x{n}"),
        series("llm_telemetry_reasoning_tokens_total", TOKEN, f"0+50x{n}"),
    ]
    for component, values in zip(("input", "cache_read", "output"), cost, strict=True):
        out.append(series("llm_telemetry_cost_usd_total", TOKEN + f', component="{component}"', values))
    for component in ("cache_write", "request"):
        out.append(series("llm_telemetry_cost_usd_total", TOKEN + f', component="{component}"', f"0x{n}"))
    return out


def panel_query(title: str, board: str) -> str:
    """A dashboard target with Grafana variables set for 1-minute synthetic samples."""
    for where, expr in TARGETS:
        if where.startswith(f"{board}: {title} ["):
            return promql.substitute(
                expr, {**promql.GRAFANA_VARIABLES, "__rate_interval": "5m", "__range": "10m"}
            )
    raise KeyError(title)


def expect(title: str, value: float, labels: str = "{}", board: str = "llm-overview.json") -> dict[str, Any]:
    """A ``promql_expr_test`` of a dashboard query at 30m, compared in thousandths: promtool compares floats
    exactly, and rate() extrapolation differs slightly between Prometheus versions."""
    return {
        "expr": f"round(({panel_query(title, board)}) * 1000)",
        "eval_time": "30m",
        "exp_samples": [{"labels": labels, "value": round(value * 1000)}],
    }


def render(template: str, labels: dict[str, str], value: str) -> str:
    """The subset of Prometheus alert templating our annotations use."""

    def repl(m: re.Match[str]) -> str:
        body = m.group(1).strip()
        if body.startswith("$labels."):
            return labels[body.removeprefix("$labels.")]
        assert body.startswith("$value"), body
        return value

    return re.sub(r"\{\{(.*?)\}\}", repl, template)


def fires(name: str, eval_time: str, labels: dict[str, str], value: str) -> dict[str, Any]:
    """An ``alert_rule_test`` expecting one firing alert; annotations rendered with ``value`` as $value."""
    rule = next(r for r in rule_docs() if r.get("alert") == name)
    annotations = {k: render(v, labels, value) for k, v in rule["annotations"].items()}
    exp = {"exp_labels": {**labels, **rule["labels"]}, "exp_annotations": annotations}
    return {"eval_time": eval_time, "alertname": name, "exp_alerts": [exp]}


def silent(name: str, eval_time: str) -> dict[str, Any]:
    return {"eval_time": eval_time, "alertname": name, "exp_alerts": []}


def durations(per_minute: int, bucket: float, minutes: int) -> list[dict[str, str]]:
    """Request duration buckets of ``per_minute`` requests a minute, every one in ``bucket``."""
    n = str(minutes)
    les = [*(str(b) for b in (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12)), "+Inf"]
    return [
        series(
            "llm_telemetry_request_duration_seconds_bucket",
            BASE + f', stream="false", le="{le}"',
            f"0+{per_minute}x{n}" if le == "+Inf" or float(le) >= bucket else f"0x{n}",
        )
        for le in les
    ]


def process(name: str, values: str, **extra: str) -> dict[str, str]:
    """A process-level family (job and instance only, plus ``extra``)."""
    labels = {"job": "llm-app", "instance": "demo:9464", **extra}
    return series(name, ", ".join(f'{k}="{v}"' for k, v in labels.items()), values)


@pytest.mark.e2e
@needs_promtool
def test_promtool_rule_unit_tests(tmp_path: Path) -> None:
    """Dashboard math on synthetic data (0, not NaN, when idle), and every alert fires and stays silent."""
    idle = {
        "interval": "1m",
        "input_series": [{**s, "values": "0x60"} for s in traffic("0x60", ("0x60", "0x60", "0x60"), 60)],
        "promql_expr_test": [
            *(expect(t, 0) for t in ("Error %", "Cache hit %", "Spend rate", "Tokens/s")),
            expect("Estimated cache savings USD/hour by model", 0, SAVED, "llm-cost.json"),
            expect("Cost per request", 0, board="llm-cost.json"),
            expect("Reasoning share (reasoning / output)", 0, board="llm-tokens.json"),
            # Families created on first use are absent here: their panels still read 0, not "no data".
            expect("Audio share of tokens", 0, board="llm-tokens.json"),
            expect("Reported vs computed spend USD/hour", 0, board="llm-cost.json"),
        ],
        "alert_rule_test": [
            silent(a, "60m")
            for a in (
                "LLMErrorRateHigh",
                "LLMSpendSpike",
                "LLMCacheHitRatioCollapse",
                "LLMUsageMissingRising",
                "LLMUnpricedRequests",
            )
        ],
    }
    # 15 errors/min next to 45 successes, all taking 0.32-0.64 s; $3 input + $1 cache read + $2 output per
    # minute; 0.3 unpriced requests/min (0.5%, under the 1% threshold); the instrumentation healthy.
    busy = {
        "interval": "1m",
        "input_series": [
            *traffic("0+15x60", ("0+3x60", "0+1x60", "0+2x60"), 60),
            *durations(60, 0.64, 60),
            series("llm_telemetry_unpriced_requests_total", BASE, "0+0.3x60"),
            process("llm_telemetry_series_folded_total", "0x60"),
            process("llm_telemetry_internal_errors_total", "0x60", stage="record"),
        ],
        "promql_expr_test": [
            expect("Error %", 0.25),
            expect("Cache hit %", 0.6),
            expect("Spend rate", 360),  # $6/min
            expect("Tokens/s", 20),  # (1000 + 200) / 60
            # Uncached input costs $3 per 300 tokens: 600 cache reads would cost $6 but cost $1, so $5/min.
            expect("Estimated cache savings USD/hour by model", 300, SAVED, "llm-cost.json"),
            expect("Cost per request", 0.1, board="llm-cost.json"),
            expect("Reasoning share (reasoning / output)", 0.25, board="llm-tokens.json"),
            # Through the recorded buckets: 95% of the way into the 0.32-0.64 bucket.
            expect("p95 latency", 0.624),
            expect("Request duration p95 by model", 0.624, '{request_model="gpt-4o"}', "llm-latency.json"),
        ],
        # Steady spend since start-up is not a spike, however short the history.
        "alert_rule_test": [
            fires("LLMErrorRateHigh", "30m", MODEL, "25%"),
            silent("LLMSpendSpike", "30m"),
            silent("LLMUnpricedRequests", "60m"),
            silent("LLMTelemetrySeriesFolded", "60m"),
            silent("LLMTelemetryInternalErrors", "60m"),
        ],
    }
    # Two quiet hours, then $100/min, usage missing on 10% of requests, and instrumentation failures. Checked
    # past a full hour of spend: rule groups evaluate concurrently, so an alert may read the recorded series
    # of the previous minute, which must then hold the same value.
    internal = {"job": "llm-app", "instance": "demo:9464", "stage": "record"}
    spike = {
        "interval": "1m",
        "input_series": [
            series("llm_telemetry_requests_total", BASE + ', stream="true", outcome="success"', "0+60x200"),
            series("llm_telemetry_cost_usd_total", TOKEN + ', component="output"', "0x119 0+100x80"),
            series("llm_telemetry_usage_missing_total", BASE + ', reason="interrupted"', "0x119 0+6x80"),
            process("llm_telemetry_internal_errors_total", "0+1x200", stage="record"),
        ],
        "alert_rule_test": [
            silent("LLMSpendSpike", "115m"),
            silent("LLMUsageMissingRising", "115m"),
            fires("LLMSpendSpike", "190m", {"job": "llm-app"}, "6000.00"),
            fires("LLMUsageMissingRising", "190m", MODEL, "10%"),
            fires("LLMTelemetryInternalErrors", "190m", internal, ""),
        ],
    }
    # A day caching 60% of input, then two hours without a single cache read.
    cached = {"job": "llm-app", "provider": "openai", "response_model": "gpt-4o-2024-08-06"}
    collapse = {
        "interval": "1m",
        "input_series": [
            series("llm_telemetry_input_tokens_total", TOKEN, "0+1000x1560"),
            series("llm_telemetry_cache_read_tokens_total", TOKEN, "0+600x1440 864000x120"),
        ],
        "alert_rule_test": [
            silent("LLMCacheHitRatioCollapse", "1440m"),
            fires("LLMCacheHitRatioCollapse", "1560m", cached, "0%"),
        ],
    }
    # A model nobody priced (3 of 60 requests a minute), and a process past its label-set cap folding 5
    # requests a minute into _OTHER.
    unpriced = {
        "interval": "1m",
        "input_series": [
            series("llm_telemetry_requests_total", BASE + ', stream="false", outcome="success"', "0+60x90"),
            series("llm_telemetry_unpriced_requests_total", BASE, "0+3x90"),
            process("llm_telemetry_series_folded_total", "0+5x90"),
        ],
        "alert_rule_test": [
            silent("LLMUnpricedRequests", "20m"),  # pending: the share is there, its 30 minutes are not
            fires("LLMUnpricedRequests", "90m", MODEL, "5%"),
            silent("LLMTelemetrySeriesFolded", "10m"),
            fires("LLMTelemetrySeriesFolded", "90m", {"job": "llm-app", "instance": "demo:9464"}, "0.08"),
        ],
    }
    # Audio and reported spend: 100 of the 1000 input tokens a minute were audio; a provider reported
    # billing $0.5 a minute next to $2 priced by us.
    media = {
        "interval": "1m",
        "input_series": [
            series("llm_telemetry_input_tokens_total", TOKEN, "0+1000x60"),
            series("llm_telemetry_audio_input_tokens_total", TOKEN, "0+100x60"),
            series("llm_telemetry_cost_usd_total", TOKEN + ', component="reported"', "0+0.5x60"),
            series("llm_telemetry_cost_usd_total", TOKEN + ', component="audio_input"', "0+2x60"),
        ],
        "promql_expr_test": [
            expect("Audio share of tokens", 0.1, board="llm-tokens.json"),
            expect("Reported vs computed spend USD/hour", 30, board="llm-cost.json"),
        ],
    }
    tests = [idle, busy, spike, collapse, unpriced, media]
    cases = [c for t in tests for c in t.get("alert_rule_test", [])]  # type: ignore[attr-defined]
    alerts = {r["alert"] for r in rule_docs() if "alert" in r}
    assert {c["alertname"] for c in cases if c["exp_alerts"]} == alerts, "an alert never shown firing"
    assert {c["alertname"] for c in cases if not c["exp_alerts"]} == alerts, "an alert never shown silent"
    spec = {"rule_files": [str(p) for p in promql.RULE_FILES], "evaluation_interval": "1m", "tests": tests}
    path = tmp_path / "rules-test.yml"
    path.write_text(json.dumps(spec, indent=1))
    promtool("test", "rules", str(path))
