#!/usr/bin/env python3
"""Generate the committed Grafana dashboards from one place (stdlib only).

Dashboards are plain dicts so that every PromQL expression is built by the same few helpers: the
variable filter, the ``$__rate_interval`` window and the division guard cannot drift between panels.
Run ``python dashboards/generate.py`` to rewrite the JSON files, ``--check`` in CI to fail when the
committed JSON is stale. Family names are the telemetry contract's; renaming one breaks users' Grafana.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from llm_telemetry.contract import BUILD_INFO_LABELS

HERE = Path(__file__).resolve().parent
SCHEMA_VERSION = 39
TAG = "llm-telemetry"
DS: dict[str, str] = {"type": "prometheus", "uid": "${datasource}"}
RI = "$__rate_interval"
RANGE = "$__range"
#: Every base-labelled family is filtered by the dashboard variables.
FILTER = 'job=~"$job", instance=~"$instance", provider=~"$provider", request_model=~"$model"'
#: Process-level families (no base labels) can only be narrowed to the scrape target.
PROCESS_FILTER = 'job=~"$job", instance=~"$instance"'
#: Recorded series (alerts/llm-telemetry.recording.yml) sum every instance of a job: no instance filter.
RECORDED_FILTER = 'job=~"$job", provider=~"$provider", request_model=~"$model"'
#: Appended to the description of every panel that reads a recorded series.
RECORDED_NOTE = (
    " Read from the recording rules (alerts/llm-telemetry.recording.yml): 5-minute rates summed over every "
    "instance of the job, so the instance filter does not apply."
)
EPS = "1e-9"

REQUESTS = "llm_telemetry_requests_total"
ERRORS = "llm_telemetry_errors_total"
RETRIES = "llm_telemetry_retries_total"
COST = "llm_telemetry_cost_usd_total"
UNPRICED = "llm_telemetry_unpriced_requests_total"
USAGE_MISSING = "llm_telemetry_usage_missing_total"
FINISH = "llm_telemetry_finish_reasons_total"
DURATION = "llm_telemetry_request_duration_seconds"
TTFT = "llm_telemetry_time_to_first_token_seconds"
TPOT = "llm_telemetry_time_per_output_token_seconds"
IN_FLIGHT = "llm_telemetry_in_flight_requests"
BUILD_INFO = "llm_telemetry_build_info"
INTERNAL_ERRORS = "llm_telemetry_internal_errors_total"
SERIES_FOLDED = "llm_telemetry_series_folded_total"
SERVER_TOOL_CALLS = "llm_telemetry_server_tool_calls_total"
TOKEN_FAMILIES = ("input", "output", "cache_read", "cache_write", "reasoning")
PROCESS_FAMILIES = frozenset({BUILD_INFO, INTERNAL_ERRORS, SERIES_FOLDED})
OUTCOME_ERROR = 'outcome="error"'
COMPONENT_INPUT = 'component="input"'
COMPONENT_CACHE_READ = 'component="cache_read"'
COMPONENT_REPORTED = 'component="reported"'
#: Units beyond text tokens (contract v1.1): subsets of input or output, created on first use.
MEDIA_FAMILIES = ("audio_input", "audio_output", "image_input", "image_output")


def tokens(family: str) -> str:
    """The counter name of a token family of the contract."""
    return f"llm_telemetry_{family}_tokens_total"


INPUT, OUTPUT = tokens("input"), tokens("output")
CACHE_READ, CACHE_WRITE, REASONING = tokens("cache_read"), tokens("cache_write"), tokens("reasoning")
AUDIO_INPUT, AUDIO_OUTPUT = tokens("audio_input"), tokens("audio_output")


# --------------------------------------------------------------------------------------------- PromQL


def sel(metric: str, extra: str = "") -> str:
    """A selector carrying the dashboard filter (the process-level one for families without base labels)."""
    base = PROCESS_FILTER if metric in PROCESS_FAMILIES else FILTER
    return f"{metric}{{{base}{', ' + extra if extra else ''}}}"


def rate(metric: str, extra: str = "") -> str:
    """Per-second rate over Grafana's scrape-aware window."""
    return f"rate({sel(metric, extra)}[{RI}])"


def increase_range(metric: str, extra: str = "") -> str:
    """Total increase over the dashboard time range (for instant, whole-range panels)."""
    return f"increase({sel(metric, extra)}[{RANGE}])"


def agg(inner: str, by: Sequence[str] = (), op: str = "sum") -> str:
    """``sum(...)`` or ``sum by (a, b) (...)``."""
    return f"{op} by ({', '.join(by)}) ({inner})" if by else f"{op}({inner})"


def srate(metric: str, extra: str = "", by: Sequence[str] = ()) -> str:
    """Summed rate, optionally grouped."""
    return agg(rate(metric, extra), by)


def ratio(numerator: str, denominator: str) -> str:
    """A ratio that reads 0, not NaN, while the denominator is idle (0 / 1e-9 = 0)."""
    return f"{numerator} / clamp_min({denominator}, {EPS})"


def recorded_buckets(histogram: str) -> str:
    """The recording rule's per-model bucket rates of ``histogram``, filtered by the dashboard variables.

    Quantiles over many replicas x label sets x buckets are what gets slow at fleet scale; the
    recording rule sums them once per evaluation.
    """
    return f"job_provider_request_model_le:{histogram}_bucket:rate5m{{{RECORDED_FILTER}}}"


def quantile(q: float, histogram: str, by: Sequence[str] = ()) -> str:
    """``histogram_quantile`` over the recorded bucket rates, keeping ``le`` plus ``by``."""
    return f"histogram_quantile({q}, {agg(recorded_buckets(histogram), ('le', *by))})"


def per_hour(expr: str) -> str:
    """USD/s to USD/hour: the unit people budget in."""
    return f"{expr} * 3600"


def cache_savings(window: Callable[[str, str], str], by: Sequence[str]) -> str:
    """What cache reads saved versus paying the uncached input price, per group, never negative.

    The uncached input price is derived from the metrics themselves (input-component spend divided
    by uncached input tokens), so no price table is needed; minus what the cache reads did cost.
    """

    def s(metric: str, extra: str = "") -> str:
        return agg(window(metric, extra), by)

    uncached = f"{s(INPUT)} - {s(CACHE_READ)} - {s(CACHE_WRITE)}"
    saved = f"{ratio(s(COST, COMPONENT_INPUT), uncached)} * {s(CACHE_READ)} - {s(COST, COMPONENT_CACHE_READ)}"
    return f"clamp_min({saved}, 0)"


# --------------------------------------------------------------------------------------------- panels


class Grid:
    """Left-to-right, top-to-bottom placement on Grafana's 24-column grid."""

    def __init__(self) -> None:
        self.x = 0
        self.y = 0
        self.row_height = 0

    def place(self, w: int, h: int) -> dict[str, int]:
        """The next free slot of width ``w``; wraps to a new row when the current one is full."""
        if self.x + w > 24:
            self.x, self.y, self.row_height = 0, self.y + self.row_height, 0
        pos = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.x += w
        self.row_height = max(self.row_height, h)
        return pos


def target(
    expr: str, legend: str = "__auto", *, instant: bool = False, fmt: str = "time_series"
) -> dict[str, Any]:
    """One Prometheus query; refId is assigned by the panel."""
    return {
        "datasource": DS,
        "editorMode": "code",
        "expr": expr,
        "format": fmt,
        "instant": instant,
        "legendFormat": legend,
        "range": not instant,
    }


def thresholds(*steps: tuple[str, float]) -> dict[str, Any]:
    """Absolute thresholds starting green."""
    return {
        "mode": "absolute",
        "steps": [{"color": "green", "value": None}, *({"color": c, "value": v} for c, v in steps)],
    }


def _panel(
    kind: str,
    title: str,
    description: str,
    unit: str,
    targets: Sequence[dict[str, Any]],
    defaults: dict[str, Any],
    options: dict[str, Any],
) -> dict[str, Any]:
    refs = "ABCDEFGHIJ"
    if any(RECORDED_FILTER in t["expr"] for t in targets):
        description += RECORDED_NOTE
    return {
        "datasource": DS,
        "description": description,
        "fieldConfig": {"defaults": {"unit": unit, **defaults}, "overrides": []},
        "options": options,
        "targets": [{**t, "refId": refs[i]} for i, t in enumerate(targets)],
        "title": title,
        "type": kind,
    }


def stat(
    title: str,
    description: str,
    unit: str,
    targets: Sequence[dict[str, Any]],
    *,
    decimals: int | None = None,
    steps: Sequence[tuple[str, float]] = (),
) -> dict[str, Any]:
    """A single headline number (last value) with a sparkline."""
    defaults: dict[str, Any] = {"color": {"mode": "thresholds"}, "thresholds": thresholds(*steps)}
    if decimals is not None:
        defaults["decimals"] = decimals
    options = {
        "colorMode": "value",
        "graphMode": "area",
        "justifyMode": "auto",
        "orientation": "auto",
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "textMode": "auto",
    }
    return _panel("stat", title, description, unit, targets, defaults, options)


def timeseries(
    title: str,
    description: str,
    unit: str,
    targets: Sequence[dict[str, Any]],
    *,
    stack: bool = False,
    max_one: bool = False,
) -> dict[str, Any]:
    """A line chart with a table legend (mean/max/last), optionally stacked."""
    defaults: dict[str, Any] = {
        "color": {"mode": "palette-classic"},
        "custom": {
            "drawStyle": "line",
            "fillOpacity": 20 if stack else 5,
            "lineWidth": 1,
            "showPoints": "never",
            "spanNulls": False,
            "stacking": {"group": "A", "mode": "normal" if stack else "none"},
        },
        "min": 0,
    }
    if max_one:
        defaults["max"] = 1
    options = {
        "legend": {
            "calcs": ["mean", "max", "lastNotNull"],
            "displayMode": "table",
            "placement": "bottom",
            "showLegend": True,
        },
        "tooltip": {"mode": "multi", "sort": "desc"},
    }
    return _panel("timeseries", title, description, unit, targets, defaults, options)


def bargauge(title: str, description: str, unit: str, targets: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Horizontal bars for a ranking (instant queries)."""
    defaults = {"color": {"mode": "continuous-GrYlRd"}, "min": 0, "thresholds": thresholds()}
    options = {
        "displayMode": "gradient",
        "orientation": "horizontal",
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "showUnfilled": True,
    }
    return _panel("bargauge", title, description, unit, targets, defaults, options)


def piechart(title: str, description: str, unit: str, targets: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Shares of a whole (instant queries)."""
    defaults = {"color": {"mode": "palette-classic"}}
    options = {
        "legend": {
            "displayMode": "table",
            "placement": "right",
            "showLegend": True,
            "values": ["value", "percent"],
        },
        "pieType": "donut",
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "tooltip": {"mode": "single", "sort": "none"},
    }
    return _panel("piechart", title, description, unit, targets, defaults, options)


def heatmap(
    title: str, description: str, unit: str, targets: Sequence[dict[str, Any]], cell_unit: str = "reqps"
) -> dict[str, Any]:
    """A pre-bucketed (``format: heatmap``) histogram over time; Grafana must not re-bucket it."""
    options = {
        "calculate": False,
        "cellGap": 1,
        "cellValues": {"unit": cell_unit},
        "color": {"exponent": 0.5, "fill": "dark-orange", "mode": "scheme", "scheme": "Oranges", "steps": 64},
        "exemplars": {"color": "rgba(255,0,255,0.7)"},
        "filterValues": {"le": 1e-9},
        "legend": {"show": True},
        "rowsFrame": {"layout": "auto"},
        "tooltip": {"mode": "single", "show": True, "yHistogram": False},
        "yAxis": {"axisPlacement": "left", "reverse": False, "unit": unit},
    }
    return _panel("heatmap", title, description, unit, targets, {}, options)


def table(title: str, description: str, unit: str, targets: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Label values as rows (instant, table format); the sample value and timestamp are hidden."""
    panel = _panel("table", title, description, unit, targets, {}, {"cellHeight": "sm", "showHeader": True})
    panel["transformations"] = [
        {"id": "organize", "options": {"excludeByName": {"Time": True, "Value": True}, "renameByName": {}}}
    ]
    return panel


# --------------------------------------------------------------------------------------------- dashboard


def _variable(name: str, label: str, query: str) -> dict[str, Any]:
    definition = f"label_values({query})"
    return {
        "allValue": ".*",
        "current": {},
        "datasource": DS,
        "definition": definition,
        "hide": 0,
        "includeAll": True,
        "label": label,
        "multi": True,
        "name": name,
        "options": [],
        "query": definition,
        "refresh": 2,
        "regex": "",
        "skipUrlSync": False,
        "sort": 1,
        "type": "query",
    }


def variables() -> list[dict[str, Any]]:
    """``datasource`` then chained ``job`` > ``instance`` > ``provider`` > ``model`` (multi, All = ``.*``)."""
    return [
        {
            "current": {},
            "hide": 0,
            "includeAll": False,
            "label": "Data source",
            "multi": False,
            "name": "datasource",
            "options": [],
            "query": "prometheus",
            "refresh": 1,
            "regex": "",
            "skipUrlSync": False,
            "type": "datasource",
        },
        _variable("job", "Job", f"{REQUESTS}, job"),
        _variable("instance", "Instance", f'{REQUESTS}{{job=~"$job"}}, instance'),
        _variable("provider", "Provider", f'{REQUESTS}{{job=~"$job", instance=~"$instance"}}, provider'),
        _variable(
            "model",
            "Model",
            f'{REQUESTS}{{job=~"$job", instance=~"$instance", provider=~"$provider"}}, request_model',
        ),
    ]


Panel = dict[str, Any]
#: A row of equally sized panels: (width, height, panels).
Row = tuple[int, int, Sequence[Panel]]


def dashboard(uid: str, title: str, description: str, rows: Sequence[Row]) -> dict[str, Any]:
    """Wrap rows of panels into a dashboard that both file provisioning and UI import accept."""
    grid = Grid()
    panels: list[Panel] = []
    for w, h, row in rows:
        for panel in row:
            panels.append({**panel, "gridPos": grid.place(w, h), "id": len(panels) + 1})
        grid.x = 24  # the next row starts on a new line
    names = {
        "bargauge": "Bar gauge",
        "heatmap": "Heatmap",
        "piechart": "Pie chart",
        "stat": "Stat",
        "table": "Table",
        "timeseries": "Time series",
    }
    return {
        # No DS_* input: a ${DS_...} placeholder would break file provisioning (grafana/grafana#10786);
        # the datasource variable keeps the JSON portable for both provisioning and UI import.
        "__inputs": [],
        "__elements": {},
        "__requires": [
            {"id": "grafana", "name": "Grafana", "type": "grafana", "version": "10.4.0"},
            {"id": "prometheus", "name": "Prometheus", "type": "datasource", "version": "1.0.0"},
            *(
                {"id": k, "name": names[k], "type": "panel", "version": ""}
                for k in sorted({p["type"] for p in panels})
            ),
        ],
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                }
            ]
        },
        "description": description,
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": [
            {
                "asDropdown": True,
                "icon": "external link",
                "includeVars": True,
                "keepTime": True,
                "tags": [TAG],
                "targetBlank": False,
                "title": "LLM telemetry",
                "type": "dashboards",
            }
        ],
        "panels": panels,
        "refresh": "30s",
        "schemaVersion": SCHEMA_VERSION,
        "tags": [TAG],
        "templating": {"list": variables()},
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "timezone": "browser",
        "title": title,
        "uid": uid,
        "version": 1,
        "weekStart": "",
    }


# --------------------------------------------------------------------------------------------- shared panels
# Panels that appear on more than one dashboard, defined once so that they stay identical.


def percentiles(histogram: str, qs: Sequence[float]) -> list[dict[str, Any]]:
    """One target per quantile, legend ``pNN``."""
    return [target(quantile(q, histogram), f"p{round(q * 100)}") for q in qs]


def by_model_share(part: str, whole: str) -> list[dict[str, Any]]:
    """``part / whole`` overall and per response model (both guarded)."""
    m = ("response_model",)
    return [
        target(ratio(srate(part), srate(whole)), "all models"),
        target(ratio(srate(part, by=m), srate(whole, by=m)), "{{response_model}}"),
    ]


def error_ratio() -> str:
    """Share of finished requests that failed; the ``or vector(0)`` keeps it 0 when no errors exist."""
    return ratio(f"({srate(REQUESTS, OUTCOME_ERROR)} or vector(0))", srate(REQUESTS))


def spend_rate_stat() -> Panel:
    return stat(
        "Spend rate",
        "Estimated spend per hour at the current rate (sum of every non-overlapping cost component).",
        "currencyUSD",
        [target(per_hour(srate(COST)), "USD/hour")],
        decimals=2,
    )


def spend_range_stat() -> Panel:
    return stat(
        "Spend in range",
        "Estimated spend over the whole selected time range.",
        "currencyUSD",
        [target(agg(increase_range(COST)), "USD", instant=True)],
        decimals=2,
    )


def error_stat() -> Panel:
    return stat(
        "Error %",
        "Share of finished requests whose outcome is error; 0 while idle.",
        "percentunit",
        [target(error_ratio(), "error %")],
        decimals=2,
        steps=(("orange", 0.01), ("red", 0.05)),
    )


def spend_by_model() -> Panel:
    return timeseries(
        "Spend USD/hour by model",
        "Estimated spend per hour by the model that answered (response_model).",
        "currencyUSD",
        [target(per_hour(srate(COST, by=("response_model",))), "{{response_model}}")],
        stack=True,
    )


def tokens_by_family() -> Panel:
    return timeseries(
        "Tokens/s by family",
        "Token throughput per family; cache_read and cache_write are subsets of input, reasoning a subset "
        "of output, so do not add them up.",
        "short",
        [target(srate(tokens(f)), f) for f in TOKEN_FAMILIES],
    )


def duration_percentiles() -> Panel:
    return timeseries(
        "Request duration p50 / p95 / p99",
        "Whole-request latency percentiles: retries, backoff and the full stream included.",
        "s",
        percentiles(DURATION, (0.5, 0.95, 0.99)),
    )


# --------------------------------------------------------------------------------------------- dashboards


def overview() -> dict[str, Any]:
    """Headline numbers: what an on-call person checks first."""
    stats = [
        spend_rate_stat(),
        spend_range_stat(),
        stat(
            "Requests/s",
            "Finished requests per second, every outcome (a request is one SDK call, not an HTTP retry).",
            "reqps",
            [target(srate(REQUESTS), "requests/s")],
        ),
        stat(
            "Tokens/s",
            "Input plus output tokens per second (cache and reasoning tokens are subsets, not added).",
            "short",
            [target(f"{srate(INPUT)} + {srate(OUTPUT)}", "tokens/s")],
        ),
        error_stat(),
        stat(
            "p95 latency",
            "95th percentile of whole-request duration (retries, backoff and full stream included).",
            "s",
            [target(quantile(0.95, DURATION), "p95")],
            steps=(("orange", 10), ("red", 30)),
        ),
        stat(
            "p95 time to first token",
            "95th percentile of the time from request start to the first chunk with output (streams only).",
            "s",
            [target(quantile(0.95, TTFT), "p95 TTFT")],
            steps=(("orange", 2), ("red", 8)),
        ),
        stat(
            "Cache hit %",
            "Input tokens read from a prompt cache as a share of all input tokens; 0 while idle.",
            "percentunit",
            [target(ratio(srate(CACHE_READ), srate(INPUT)), "cache hit %")],
            decimals=1,
        ),
    ]
    charts = [
        timeseries(
            "Requests/s by outcome",
            "Finished requests per second split by outcome (success, error, cancelled).",
            "reqps",
            [target(srate(REQUESTS, by=("outcome",)), "{{outcome}}")],
            stack=True,
        ),
        spend_by_model(),
        tokens_by_family(),
        duration_percentiles(),
    ]
    return dashboard(
        "llm-telemetry-overview",
        "LLM / Overview",
        "Spend, traffic, errors, latency and cache efficiency of LLM SDK calls (llm-telemetry).",
        [(3, 4, stats), (12, 8, charts)],
    )


def cost() -> dict[str, Any]:
    """Where the money goes: by model, component, attribution label, and what caching saves."""
    model = ("response_model",)
    stats = [
        spend_rate_stat(),
        spend_range_stat(),
        stat(
            "Cost per request",
            "Average estimated spend per finished request (failed requests included: they may be billed).",
            "currencyUSD",
            [target(ratio(srate(COST), srate(REQUESTS)), "USD/request")],
            decimals=5,
        ),
        stat(
            "Estimated cache savings in range",
            "Cache-read tokens priced at each model's observed uncached input price, minus what the cache "
            "reads cost: an estimate derived from the metrics themselves, not from a price table.",
            "currencyUSD",
            [target(agg(cache_savings(increase_range, model)), "USD saved", instant=True)],
            decimals=2,
        ),
    ]
    breakdown = [
        spend_by_model(),
        timeseries(
            "Spend USD/hour by component",
            "Spend split into non-overlapping components: uncached text input, cache_read, cache_write, "
            "output, audio and image tokens at their own rates, server tool calls (tool), per-request fees, "
            "and what providers reported billing (reported).",
            "currencyUSD",
            [target(per_hour(srate(COST, by=("component",))), "{{component}}")],
            stack=True,
        ),
    ]
    billed = [
        timeseries(
            "Reported vs computed spend USD/hour",
            "Spend the provider itself reported billing (OpenRouter usage.cost, xAI cost_in_usd_ticks: the "
            "whole cost of those responses, component reported) next to spend computed from prices (every "
            "other component). 0 reported while no provider reports its bill.",
            "currencyUSD",
            [
                target(per_hour(f"({srate(COST, COMPONENT_REPORTED)} or vector(0))"), "reported by provider"),
                target(per_hour(srate(COST, 'component!="reported"')), "computed from prices"),
            ],
            stack=True,
        ),
        timeseries(
            "Server tool calls/s by tool",
            "Server-side tool calls billed per call (web_search, web_fetch, file_search, code_interpreter, "
            "other): Anthropic server_tool_use, OpenAI Responses *_call items. Their fees are the tool "
            "component of the spend.",
            "short",
            [target(srate(SERVER_TOOL_CALLS, by=("tool",)), "{{tool}}")],
            stack=True,
        ),
    ]
    attribution = [
        bargauge(
            "Top models by spend in range",
            "The ten models with the highest estimated spend over the selected time range.",
            "currencyUSD",
            [target(f"topk(10, {agg(increase_range(COST), model)})", "{{response_model}}", instant=True)],
        ),
        timeseries(
            "Spend USD/hour by feature",
            "Spend per hour by the `feature` attribution label (llm_telemetry.attributes(feature=...)); one "
            "unlabelled series when `feature` is not declared in metric_attributes.",
            "currencyUSD",
            [target(per_hour(srate(COST, by=("feature",))), "{{feature}}")],
            stack=True,
        ),
        piechart(
            "Spend share by feature in range",
            "Share of the selected range's estimated spend per `feature` attribution label.",
            "currencyUSD",
            [target(agg(increase_range(COST), ("feature",)), "{{feature}}", instant=True)],
        ),
    ]
    savings = [
        timeseries(
            "Estimated cache savings USD/hour by model",
            "Per model: cache-read tokens x observed uncached input price - cache-read spend. Zero for "
            "models without cache reads or without a known price.",
            "currencyUSD",
            [target(per_hour(cache_savings(rate, model)), "{{response_model}}")],
            stack=True,
        ),
    ]
    return dashboard(
        "llm-telemetry-cost",
        "LLM / Cost",
        "Estimated spend by model, cost component and attribution label, reported vs computed spend, server "
        "tool calls, plus prompt-cache savings.",
        [(6, 4, stats), (12, 8, breakdown), (12, 8, billed), (8, 8, attribution), (24, 8, savings)],
    )


def token_dashboard() -> dict[str, Any]:
    """Token throughput and the shares that explain the bill (cache, reasoning, request size)."""
    model, requested = ("response_model",), ("request_model",)
    throughput = [
        tokens_by_family(),
        timeseries(
            "Tokens/s by model",
            "Input and output tokens per second by the model that answered.",
            "short",
            [
                target(srate(INPUT, by=model), "{{response_model}} input"),
                target(srate(OUTPUT, by=model), "{{response_model}} output"),
            ],
        ),
    ]
    shares = [
        timeseries(
            "Cache hit ratio (cache_read / input)",
            "Share of input tokens served from a prompt cache, overall and by model; 0 while idle.",
            "percentunit",
            by_model_share(CACHE_READ, INPUT),
            max_one=True,
        ),
        timeseries(
            "Cache-write share (cache_write / input)",
            "Share of input tokens written to a prompt cache (billed at a premium by some providers).",
            "percentunit",
            by_model_share(CACHE_WRITE, INPUT),
            max_one=True,
        ),
        timeseries(
            "Reasoning share (reasoning / output)",
            "Share of output tokens spent on reasoning or thinking rather than on the visible answer.",
            "percentunit",
            by_model_share(REASONING, OUTPUT),
            max_one=True,
        ),
    ]
    media = [
        timeseries(
            "Audio share of tokens",
            "Share of input and of output tokens that were audio (billed at the model's audio rates, "
            "several times the text rates); 0 without audio.",
            "percentunit",
            [
                target(ratio(f"({srate(AUDIO_INPUT)} or vector(0))", srate(INPUT)), "audio / input"),
                target(ratio(f"({srate(AUDIO_OUTPUT)} or vector(0))", srate(OUTPUT)), "audio / output"),
            ],
            max_one=True,
        ),
        timeseries(
            "Audio and image tokens/s",
            "Tokens that were audio or images, in and out (subsets of input and output: the images API's "
            "output is image tokens).",
            "short",
            [target(srate(tokens(f)), f) for f in MEDIA_FAMILIES],
        ),
    ]
    size = [
        timeseries(
            "Tokens per request",
            "Average input and output tokens per finished request by requested model (failures included).",
            "short",
            [
                target(
                    ratio(srate(INPUT, by=requested), srate(REQUESTS, by=requested)),
                    "{{request_model}} input",
                ),
                target(
                    ratio(srate(OUTPUT, by=requested), srate(REQUESTS, by=requested)),
                    "{{request_model}} output",
                ),
            ],
        ),
    ]
    return dashboard(
        "llm-telemetry-tokens",
        "LLM / Tokens",
        "Token throughput by family and model, prompt-cache efficiency, reasoning and audio shares, audio "
        "and image tokens, and request size.",
        [(12, 8, throughput), (8, 8, shares), (12, 8, media), (24, 8, size)],
    )


def latency() -> dict[str, Any]:
    """Where the time goes: whole request, first token, and per-token streaming speed."""
    stream = ("stream",)
    duration = [
        duration_percentiles(),
        timeseries(
            "Request duration p95 by model",
            "95th percentile of whole-request duration per requested model.",
            "s",
            [target(quantile(0.95, DURATION, ("request_model",)), "{{request_model}}")],
        ),
    ]
    streaming = [
        timeseries(
            "Time to first token p50 / p95",
            "Streams only: from request start to the first chunk carrying any output delta.",
            "s",
            percentiles(TTFT, (0.5, 0.95)),
        ),
        timeseries(
            "Time per output token p50 / p95",
            "Successful streams with at least two output tokens: (t_last - t_first) / (n - 1).",
            "s",
            percentiles(TPOT, (0.5, 0.95)),
        ),
        timeseries(
            "Mean duration: stream vs non-stream",
            "Average whole-request duration (histogram _sum / _count) split by the stream flag.",
            "s",
            [
                target(
                    ratio(srate(DURATION + "_sum", by=stream), srate(DURATION + "_count", by=stream)),
                    "stream={{stream}}",
                )
            ],
        ),
    ]
    heat = [
        heatmap(
            "Request duration heatmap",
            "Finished requests per second in each duration bucket (the client histogram's own buckets, "
            "not re-bucketed by Grafana); the y axis is the bucket's upper bound.",
            "s",
            [target(agg(recorded_buckets(DURATION), ("le",)), "{{le}}", fmt="heatmap")],
        ),
    ]
    return dashboard(
        "llm-telemetry-latency",
        "LLM / Latency",
        "Percentiles of request duration, time to first token and time per output token; duration heatmap. "
        "Needs the recording rules of alerts/llm-telemetry.recording.yml.",
        [(12, 8, duration), (8, 8, streaming), (24, 10, heat)],
    )


def reliability() -> dict[str, Any]:
    """What fails and why: provider errors, retries, truncation, missing usage and our own health."""
    stats = [
        error_stat(),
        stat(
            "In-flight requests",
            "Requests under way right now (summed over processes).",
            "short",
            [target(agg(sel(IN_FLIGHT)), "in flight")],
        ),
        stat(
            "Unpriced requests in range",
            "Requests whose model has no known price: their spend is missing from the cost panels.",
            "short",
            [target(f"{agg(increase_range(UNPRICED))} or vector(0)", "unpriced", instant=True)],
            decimals=0,
            steps=(("orange", 1),),
        ),
        stat(
            "Internal errors in range",
            "Failures inside the instrumentation (swallowed, never seen by callers); should stay 0. Filtered "
            "by job and instance only.",
            "short",
            [target(f"{agg(increase_range(INTERNAL_ERRORS))} or vector(0)", "internal", instant=True)],
            decimals=0,
            steps=(("red", 1),),
        ),
    ]
    errors = [
        timeseries(
            "Errors/s by error_type",
            "Failed requests per second by normalized error type (rate_limit, timeout, server, ...).",
            "reqps",
            [target(srate(ERRORS, by=("error_type",)), "{{error_type}}")],
            stack=True,
        ),
        timeseries(
            "Error ratio by error_type",
            "Failed requests of each type as a share of all finished requests.",
            "percentunit",
            [
                target(
                    f"{srate(ERRORS, by=('error_type',))} / on() group_left() "
                    f"clamp_min({srate(REQUESTS)}, {EPS})",
                    "{{error_type}}",
                )
            ],
            stack=True,
        ),
        timeseries(
            "Retries/s by error_type",
            "Retried attempts per second (SDK HTTP retries and structured-output validation retries) by the "
            "error that caused them.",
            "reqps",
            [target(srate(RETRIES, by=("error_type",)), "{{error_type}}")],
            stack=True,
        ),
        timeseries(
            "Finish reasons/s",
            "How responses ended: stop, length (truncated), tool_calls, content_filter, refusal, other.",
            "reqps",
            [target(srate(FINISH, by=("finish_reason",)), "{{finish_reason}}")],
            stack=True,
        ),
        timeseries(
            "Usage missing/s by reason",
            "Requests that ended without provider-reported usage: not_requested (e.g. streams without "
            "include_usage), interrupted, not_reported. Their tokens and cost are not counted.",
            "reqps",
            [target(srate(USAGE_MISSING, by=("reason",)), "{{reason}}")],
            stack=True,
        ),
        timeseries(
            "In-flight requests by model",
            "Concurrent requests under way by requested model.",
            "short",
            [target(agg(sel(IN_FLIGHT), ("request_model",)), "{{request_model}}")],
            stack=True,
        ),
    ]
    health = [
        timeseries(
            "Unpriced requests/s by model",
            "Requests whose model has no known price, by requested model: add a price override for them.",
            "reqps",
            [target(srate(UNPRICED, by=("request_model",)), "{{request_model}}")],
        ),
        timeseries(
            "Series folded/s",
            "Requests recorded under _OTHER labels because the label-set cap was reached: sums stay exact "
            "but per-model detail is lost. Filtered by job and instance only.",
            "reqps",
            [target(f"{srate(SERIES_FOLDED)} or vector(0)", "folded")],
        ),
        timeseries(
            "Internal errors/s by stage",
            "Instrumentation failures by stage (swallowed, logged once per kind). Filtered by job and "
            "instance only.",
            "short",
            [target(srate(INTERNAL_ERRORS, by=("stage",)), "{{stage}}")],
        ),
    ]
    build_labels = ("job", "instance", *BUILD_INFO_LABELS)
    info = [
        table(
            "Build info",
            "Running versions of llm-telemetry, the instrumented SDKs and the price data, per instance.",
            "short",
            [target(agg(sel(BUILD_INFO), build_labels, op="max"), instant=True, fmt="table")],
        ),
    ]
    return dashboard(
        "llm-telemetry-reliability",
        "LLM / Reliability",
        "Errors and retries by type, finish reasons, missing usage, concurrency and the health of the "
        "instrumentation itself.",
        [(6, 4, stats), (12, 8, errors), (8, 8, health), (24, 5, info)],
    )


DASHBOARDS: dict[str, Callable[[], dict[str, Any]]] = {
    "llm-overview.json": overview,
    "llm-cost.json": cost,
    "llm-tokens.json": token_dashboard,
    "llm-latency.json": latency,
    "llm-reliability.json": reliability,
}


def render(board: dict[str, Any]) -> str:
    """Canonical JSON text: sorted keys and a trailing newline, so regeneration is byte-stable."""
    return json.dumps(board, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def generate() -> dict[str, str]:
    """File name -> JSON text of every dashboard."""
    return {name: render(build()) for name, build in DASHBOARDS.items()}


def stale(directory: Path = HERE) -> list[str]:
    """Names of committed dashboards that are missing or differ from what :func:`generate` produces."""
    out = []
    for name, text in generate().items():
        path = directory / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            out.append(name)
    return out


def cli(
    argv: Sequence[str] | None,
    doc: str | None,
    default_out: Path,
    files: Callable[[], dict[str, str]],
    stale_in: Callable[[Path], list[str]],
    script: str,
) -> int:
    """Write generated files, or with ``--check`` exit 1 naming the stale ones (shared by the generators)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed files are out of date")
    parser.add_argument("--out", type=Path, default=default_out, help="directory of the generated files")
    args = parser.parse_args(argv)
    if args.check:
        bad = stale_in(args.out)
        for name in bad:
            print(f"{args.out / name}: out of date; run python {script}", file=sys.stderr)
        return 1 if bad else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in files().items():
        (args.out / name).write_text(text, encoding="utf-8")
        print(f"wrote {args.out / name}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Write the dashboards, or with ``--check`` exit 1 when the committed ones are stale."""
    return cli(argv, __doc__, HERE, generate, stale, "dashboards/generate.py")


if __name__ == "__main__":
    sys.exit(main())
