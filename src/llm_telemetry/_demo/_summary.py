"""Reading back what the telemetry recorded, and the summary table.

The summary shows the Prometheus counters, not the driver's view: the demo is where users first
compare our numbers with theirs, so what it prints must be exactly what ``/metrics`` says.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, fields

from prometheus_client import CollectorRegistry

from ._scenarios import Skipped

__all__ = ["DemoSummary", "Reading", "Totals", "format_summary", "read"]

#: Counter sample -> Totals field.
_SAMPLES = {
    "llm_telemetry_requests_total": "requests",
    "llm_telemetry_errors_total": "errors",
    "llm_telemetry_retries_total": "retries",
    "llm_telemetry_input_tokens_total": "input_tokens",
    "llm_telemetry_output_tokens_total": "output_tokens",
    "llm_telemetry_cache_read_tokens_total": "cache_read_tokens",
    "llm_telemetry_cache_write_tokens_total": "cache_write_tokens",
    "llm_telemetry_reasoning_tokens_total": "reasoning_tokens",
    "llm_telemetry_cost_usd_total": "spend_usd",
}


@dataclass(frozen=True, slots=True)
class Totals:
    """Counter totals, for one provider or all of them, as the Prometheus families hold them."""

    requests: int = 0
    errors: int = 0
    cancelled: int = 0
    retries: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    spend_usd: float = 0.0

    @property
    def cache_hit_ratio(self) -> float:
        """Share of input tokens served from a prompt cache."""
        return self.cache_read_tokens / self.input_tokens if self.input_tokens else 0.0

    @classmethod
    def of(cls, values: dict[str, float]) -> Totals:
        """From summed sample values: counts are whole numbers, spend is not."""
        counts = {f.name: int(values.get(f.name, 0.0)) for f in fields(cls) if f.name != "spend_usd"}
        return cls(**counts, spend_usd=values.get("spend_usd", 0.0))

    def combine(self, other: Totals, sign: int = 1) -> Totals:
        return Totals(*(getattr(self, f.name) + sign * getattr(other, f.name) for f in fields(self)))


@dataclass(frozen=True, slots=True)
class Reading:
    """The counters at one instant, by ``provider`` label (and errors by type)."""

    by_provider: dict[str, Totals]
    error_types: Counter[str]

    @property
    def total(self) -> Totals:
        total = Totals()
        for totals in self.by_provider.values():
            total = total.combine(totals)
        return total

    def since(self, baseline: Reading) -> Reading:
        """The change since ``baseline`` (counters are monotonic while we run)."""
        return Reading(
            {p: t.combine(baseline.by_provider.get(p, Totals()), -1) for p, t in self.by_provider.items()},
            self.error_types - baseline.error_types,
        )


def read(registry: CollectorRegistry) -> Reading:
    """Sum every counter the summary shows, by provider (and errors by type), from ``registry``."""
    values: dict[str, dict[str, float]] = {}
    error_types: Counter[str] = Counter()
    for family in registry.collect():
        if not family.name.startswith("llm_telemetry_"):
            continue
        for sample in family.samples:
            name = _SAMPLES.get(sample.name)
            if name is None:
                continue
            totals = values.setdefault(sample.labels.get("provider", ""), {})
            totals[name] = totals.get(name, 0.0) + sample.value
            if name == "requests" and sample.labels.get("outcome") == "cancelled":
                totals["cancelled"] = totals.get("cancelled", 0.0) + sample.value
            elif name == "errors":
                error_types[sample.labels.get("error_type", "other")] += int(sample.value)
    return Reading({p: Totals.of(v) for p, v in values.items()}, error_types)


@dataclass(frozen=True)
class DemoSummary:
    """What a demo run did: the telemetry's counters (changes over the run) and the driver's tally."""

    elapsed: float
    seed: int
    metrics_url: str
    #: Counter changes by ``provider`` label, and their sum.
    by_provider: dict[str, Totals]
    total: Totals
    error_types: dict[str, int]
    #: SDK calls the driver made, by provider and by scenario.
    calls_by_provider: dict[str, int]
    scenarios: dict[str, int]
    #: Calls that raised as their scenario intends (5xx after retries, 400, cut streams).
    expected_failures: int
    #: What went wrong that no scenario intended; empty on a healthy run.
    unexpected: tuple[str, ...] = ()
    #: Scenarios left out because their SDK is not installed.
    skipped: Skipped = field(default_factory=Skipped)

    @property
    def calls(self) -> int:
        return sum(self.calls_by_provider.values())

    @property
    def requests_per_second(self) -> float:
        return self.total.requests / self.elapsed if self.elapsed > 0 else 0.0


_HEADER: tuple[str, ...] = (
    "provider",
    "calls",
    "requests",
    "errors",
    "cancelled",
    "retries",
    "in tokens",
    "out tokens",
    "cache hit",
    "spend USD",
)


def _row(name: str, calls: int, t: Totals) -> tuple[str, ...]:
    numbers = (calls, t.requests, t.errors, t.cancelled, t.retries, t.input_tokens, t.output_tokens)
    return (name, *(f"{n:,}" for n in numbers), f"{t.cache_hit_ratio:.1%}", f"{t.spend_usd:.6f}")


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    """Left-aligned first column, right-aligned numbers."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]


def format_summary(summary: DemoSummary) -> str:
    """The final table: the counters by provider next to the calls the driver made, then details."""
    providers = sorted(summary.calls_by_provider.keys() | summary.by_provider.keys())
    rows: list[tuple[str, ...]] = [_HEADER]
    rows += [
        _row(p, summary.calls_by_provider.get(p, 0), summary.by_provider.get(p, Totals())) for p in providers
    ]
    rows.append(_row("total", summary.calls, summary.total))
    t = summary.total
    lines = [
        f"llm-telemetry demo summary: {summary.elapsed:.1f} s, seed {summary.seed}, "
        f"{summary.requests_per_second:.1f} req/s, metrics at {summary.metrics_url}",
        *_table(rows),
        f"tokens: cache read {t.cache_read_tokens:,}, cache write {t.cache_write_tokens:,}, "
        f"reasoning {t.reasoning_tokens:,}",
    ]
    if summary.error_types:
        lines.append(
            "errors by type: " + ", ".join(f"{k} {v}" for k, v in sorted(summary.error_types.items()))
        )
    lines.append("scenarios: " + ", ".join(f"{k} {v}" for k, v in sorted(summary.scenarios.items())))
    if summary.skipped:
        skipped = summary.skipped
        lines.append(
            f"skipped: {', '.join(skipped.scenarios)} ({skipped.missing}; {skipped.install} adds them)"
        )
    for provider in providers:
        calls = summary.calls_by_provider.get(provider, 0)
        counted = summary.by_provider.get(provider, Totals()).requests
        if calls != counted:
            lines.append(f"note: {provider}: {calls:,} SDK calls made, {counted:,} counted")
    lines.append(
        f"driver: {summary.calls:,} SDK calls, {summary.expected_failures:,} failed as scripted, "
        f"{len(summary.unexpected)} unexpected"
    )
    lines.extend(f"  unexpected: {problem}" for problem in summary.unexpected[:10])
    return "\n".join(lines) + "\n"
