"""Series a base label set costs: samples in the exposition after one call of each kind.

Counted as Prometheus serves them (``generate_latest``, ``_created`` samples included if present),
per base label set (provider, request model, operation) and response model, on a fresh registry.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from _wire import STREAM_SIZES, call_embeddings, call_plain, streamer
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

import llm_telemetry

Verdict = tuple[str, bool, str]

#: Samples per base label set and response model, after a non-streamed chat call (contract v1.1).
SERIES_BUDGET = 40
BASE = ("provider", "request_model", "operation")
#: Families that cannot apply to a non-streamed call, and to embeddings: never pre-created.
NOT_FOR_PLAIN = ("llm_telemetry_time_to_first_token_seconds", "llm_telemetry_time_per_output_token_seconds")
NOT_FOR_EMBEDDINGS = (
    *NOT_FOR_PLAIN,
    "llm_telemetry_output_tokens",
    "llm_telemetry_reasoning_tokens",
    "llm_telemetry_cost_usd/output",
)


def per_label_set(registry: CollectorRegistry) -> dict[tuple[str, ...], Counter[str]]:
    """Samples per (base label set, response model), by family; per-process samples under ``()``.

    A sample without ``response_model`` counts towards every response model of its base label set.
    Cost samples are told apart by component (``llm_telemetry_cost_usd/input``).
    """
    shared: dict[tuple[str, ...], Counter[str]] = {}
    per_model: dict[tuple[str, ...], Counter[str]] = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        name = family.name.removesuffix("_created")
        for s in family.samples:
            if "component" in s.labels:
                name = f"{family.name}/{s.labels['component']}"
            if not all(b in s.labels for b in BASE):
                shared.setdefault((), Counter())[name] += 1
                continue
            base = tuple(s.labels[b] for b in BASE)
            if "response_model" in s.labels:
                per_model.setdefault((*base, s.labels["response_model"]), Counter())[name] += 1
            else:
                shared.setdefault(base, Counter())[name] += 1
    out = {key: tally + shared.get(key[:3], Counter()) for key, tally in per_model.items()}
    for base, tally in shared.items():  # a label set without usage still costs its own samples
        if base and not any(key[:3] == base for key in per_model):
            out[base] = tally
    if () in shared:
        out[()] = shared[()]
    return out


def report() -> list[Verdict]:
    """One call of each kind on a fresh registry: the series per label set, against the budget."""
    print("\nSeries (samples in the exposition, _created included) per base label set and response model:")
    verdicts = []
    stream = streamer(min(STREAM_SIZES))
    scenarios: tuple[tuple[str, tuple[Callable[[], None], ...], tuple[str, ...]], ...] = (
        ("one non-streamed chat call", (call_plain,), NOT_FOR_PLAIN),
        ("one stream", (stream,), ()),
        ("one chat call and one stream", (call_plain, stream), ()),
        ("one embeddings call", (call_embeddings,), NOT_FOR_EMBEDDINGS),
    )
    for title, calls, absent in scenarios:
        registry = CollectorRegistry()
        llm_telemetry.instrument(registry=registry)
        try:
            for call in calls:
                call()
        finally:
            llm_telemetry.uninstrument()
        found = per_label_set(registry)
        for key, tally in found.items():
            where = "/".join(key) if key else "per process, not per label set"
            parts = ", ".join(f"{n.removeprefix('llm_telemetry_')} {c}" for n, c in sorted(tally.items()))
            print(f"  {title}: {where}: {sum(tally.values())}  ({parts})")
        label_sets = [tally for key, tally in found.items() if key]
        if calls == (call_plain,):
            worst = max(sum(t.values()) for t in label_sets)
            verdicts.append(
                (
                    f"<= {SERIES_BUDGET} series per base label set and response model (non-streamed chat)",
                    worst <= SERIES_BUDGET,
                    f"{worst} samples; {sum(found.get((), Counter()).values())} more once per process",
                )
            )
        if absent:
            present = sorted({n for t in label_sets for n in t if n in absent})
            names = ", ".join(a.removeprefix("llm_telemetry_") for a in (present or absent))
            verdicts.append(
                (
                    f"no series that cannot apply ({title})",
                    not present,
                    f"pre-created: {names}" if present else f"none of {names}",
                )
            )
    return verdicts
