"""Overhead of llm-telemetry on real openai SDK calls: the contract's budgets, measured in one run.

Run on demand (never from the test suite)::

    .venv/bin/python benchmarks/overhead.py            # full run (~2-4 min on 2 shared cores)
    .venv/bin/python benchmarks/overhead.py --quick    # 12 rounds and 1,000 abandoned streams
    .venv/bin/python benchmarks/overhead.py --profile  # cProfile: where ours spends above the floor

One process, the real openai SDK over an in-process transport, a real OTel SDK TracerProvider with a
BatchSpanProcessor (``_wire.py``). Variants:

- ``bare``; ``ours`` (``instrument()``: spans, Prometheus, OTel metrics on the global MeterProvider,
  cost); ``ours-no-tracing`` (``tracing=False``); ``ours-sampled-10`` (a TracerProvider sampling
  ``ParentBased(TraceIdRatioBased(0.1))``, handed to ``instrument(tracer_provider=...)``);
- ``floor``: the lean floor, hand-written below: one span with the attributes ours sets, the same
  Prometheus samples, a price from cached rates (``check_floor`` proves it records what ours records);
- ``passthrough``: a ``wrapt.ObjectProxy`` stream proxy whose ``__next__`` only forwards;
- ``openllmetry`` and ``openai-v2`` (the OTel contrib instrumentation) when importable.

Everything is measured in one run, interleaved and paired (``_timing.py``): in process CPU time (the
span processor's thread included) and wall time. Prints a table, each budget of the contract's
"Overhead" section (v1.1), the memory checks and the "Series budget" with PASS/FAIL; exit status 1
if one fails.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import math
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from time import perf_counter
from typing import Any, NamedTuple

import _memory
import _profile
import _series
import wrapt
from _timing import (
    PIECE_CALLS,
    WALL,
    WINDOW,
    Mode,
    Switchboard,
    Workload,
    added,
    calls,
    chat_piece,
    estimate,
    level,
    point,
    ratio,
    run_rounds,
    stream_piece,
    windows,
)
from _wire import (
    HTTP,
    PROVIDER,
    RESPONSE_MODEL,
    SAMPLED_PROVIDER,
    STREAM_SIZES,
    call_plain,
    streamer,
)
from opentelemetry import context, trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

import llm_telemetry
from llm_telemetry.pricing import Pricer

# The contract's budgets (v1.1, "Overhead").
#: Full telemetry's added cost, at most this multiple of the floor's (non-streamed chat).
FLOOR_RATIO_BUDGET = 1.15
#: Tracing off, or a 10% sampler: at most this fraction added to a non-streamed call.
CALL_BUDGET = 0.05
#: Streams: added us per chunk, and at most this much above the pass-through proxy's.
CHUNK_BUDGET_US = 1.0
CHUNK_PASSTHROUGH_BUDGET_US = 0.3
ABANDONED = 10_000

REGISTRY = CollectorRegistry()
FLOOR_REGISTRY = CollectorRegistry()

Verdict = tuple[str, bool, str]
results: list[Verdict] = []


# -- the variants ---------------------------------------------------------------------------------


def ours(name: str, kinds: Iterable[str] = ("chat", "stream"), **options: Any) -> Mode:
    """``llm_telemetry.instrument(**options)`` with the benchmark's registry."""
    return Mode(
        name,
        lambda: llm_telemetry.instrument(registry=REGISTRY, **options),
        llm_telemetry.uninstrument,
        frozenset(kinds),
    )


def instrumentor_mode(name: str, module: str) -> Mode | None:
    """An OTel ``OpenAIInstrumentor`` with its defaults, when ``module`` is importable."""
    try:
        instrumentor = importlib.import_module(module).OpenAIInstrumentor()
    except ImportError:
        return None
    return Mode(name, lambda: instrumentor.instrument(), lambda: instrumentor.uninstrument())


class Rates(NamedTuple):
    """USD per token, looked up once: what "price from cached rates" means for the floor."""

    input: float
    cache_read: float
    output: float


def cached_rates(model: str) -> Rates:
    """Per-token rates of ``model`` from the price data llm-telemetry bundles (so the costs agree)."""
    pricer, million = Pricer(), 1_000_000
    read = pricer.price("openai", model, llm_telemetry.Usage(input=million, cache_read=million))
    out = pricer.price("openai", model, llm_telemetry.Usage(input=0, output=million))
    inp = pricer.price("openai", model, llm_telemetry.Usage(input=million, output=0))
    assert read is not None and out is not None and inp is not None, f"{model} has no price"
    return Rates(inp.input / million, read.cache_read / million, out.output / million)


DURATION_BUCKETS = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92, 163.84,
    327.68, 655.36,
)  # fmt: skip
TOKEN_KINDS = ("input", "output", "cache_read", "reasoning")


def floor_mode(provider: trace.TracerProvider, registry: CollectorRegistry, name: str = "floor") -> Mode:
    """The lean floor: a hand-written wrapper around ``Completions.create`` for non-streamed chat.

    One CLIENT span with the attributes ours sets, the Prometheus samples ours changes (in flight,
    requests, tokens per family, cost per component, finish reasons, the duration histogram; children
    bound once per model and cached), a price from cached per-token rates. No validation, no error
    handling, no configuration: nothing else.
    """
    from openai.resources.chat import completions as chat

    original = vars(chat.Completions)["create"]
    tracer = provider.get_tracer("floor")
    rates = cached_rates(RESPONSE_MODEL)
    base = ("provider", "request_model", "operation")
    model_labels = (*base, "response_model")
    requests = Counter("llm_telemetry_requests", "", (*base, "stream", "outcome"), registry=registry)
    in_flight = Gauge("llm_telemetry_in_flight_requests", "", base, registry=registry)
    duration = Histogram(
        "llm_telemetry_request_duration_seconds",
        "",
        (*base, "stream"),
        registry=registry,
        buckets=DURATION_BUCKETS,
    )
    finish = Counter("llm_telemetry_finish_reasons", "", (*base, "finish_reason"), registry=registry)
    tokens = {
        k: Counter(f"llm_telemetry_{k}_tokens", "", model_labels, registry=registry) for k in TOKEN_KINDS
    }
    cost = Counter("llm_telemetry_cost_usd", "", (*model_labels, "component"), registry=registry)
    by_model: dict[str, tuple[Any, Any, Any]] = {}
    by_response: dict[tuple[str, str], tuple[Any, ...]] = {}
    by_reason: dict[tuple[str, str], Any] = {}

    def bind_model(model: str) -> tuple[Any, Any, Any]:
        key = ("openai", model, "chat")
        bound = (
            in_flight.labels(*key),
            requests.labels(*key, "false", "success"),
            duration.labels(*key, "false"),
        )
        by_model[model] = bound
        return bound

    def bind_response(model: str, response_model: str) -> tuple[Any, ...]:
        key = ("openai", model, "chat", response_model)
        bound = (
            *(tokens[kind].labels(*key) for kind in TOKEN_KINDS),
            *(cost.labels(*key, component) for component in ("input", "cache_read", "output")),
        )
        by_response[(model, response_model)] = bound
        return bound

    def bind_reason(model: str, reason: str) -> Any:
        child = by_reason[(model, reason)] = finish.labels("openai", model, "chat", reason)
        return child

    def create(self: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("stream"):
            return original(self, *args, **kwargs)
        start = perf_counter()
        model = kwargs["model"]
        flying, succeeded, took = by_model.get(model) or bind_model(model)
        flying.inc()
        span = tracer.start_span(
            f"chat {model}",
            kind=trace.SpanKind.CLIENT,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": model,
                "server.address": "api.openai.com",
                "server.port": 443,
                "gen_ai.request.stream": False,
                "gen_ai.system": "openai",
            },
        )
        token = context.attach(trace.set_span_in_context(span))
        try:
            result = original(self, *args, **kwargs)
        finally:
            context.detach(token)
        usage = result.usage
        n_in, n_out = usage.prompt_tokens, usage.completion_tokens
        n_read = usage.prompt_tokens_details.cached_tokens
        n_reasoning = usage.completion_tokens_details.reasoning_tokens
        c_in, c_read, c_out = (n_in - n_read) * rates.input, n_read * rates.cache_read, n_out * rates.output
        total = c_in + c_read + c_out
        span.set_attributes(
            {
                "gen_ai.response.model": result.model,
                "gen_ai.response.id": result.id,
                "gen_ai.response.finish_reasons": tuple(c.finish_reason for c in result.choices),
                "gen_ai.usage.input_tokens": n_in,
                "gen_ai.usage.output_tokens": n_out,
                "gen_ai.usage.cache_read.input_tokens": n_read,
                "gen_ai.usage.reasoning.output_tokens": n_reasoning,
                "llm_telemetry.cost.usd": total,
                "llm.cost.usd": total,
                "llm_telemetry.cost.source": "computed",
            }
        )
        span.end()
        bound = by_response.get((model, result.model)) or bind_response(model, result.model)
        for child, amount in zip(bound, (n_in, n_out, n_read, n_reasoning, c_in, c_read, c_out), strict=True):
            if amount:
                child.inc(amount)
        for choice in result.choices:
            reason = choice.finish_reason
            (by_reason.get((model, reason)) or bind_reason(model, reason)).inc()
        succeeded.inc()
        took.observe(perf_counter() - start)
        flying.dec()
        return result

    return Mode(
        name,
        lambda: setattr(chat.Completions, "create", create),
        lambda: setattr(chat.Completions, "create", original),
        frozenset({"chat"}),
        light=True,
    )


class PassThrough(wrapt.ObjectProxy[Any]):
    """The cheapest stream proxy that sees every chunk: ``__next__`` only forwards."""

    def __iter__(self) -> PassThrough:
        return self

    def __next__(self) -> Any:
        return self.__wrapped__.__next__()


def passthrough_mode() -> Mode:
    """``Completions.create`` wrapped (with wrapt, as ours is) to return streams in :class:`PassThrough`."""
    from openai.resources.chat import completions as chat

    original = vars(chat.Completions)["create"]

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        result = wrapped(*args, **kwargs)
        return PassThrough(result) if kwargs.get("stream") else result

    return Mode(
        "passthrough",
        lambda: setattr(chat.Completions, "create", wrapt.FunctionWrapper(original, wrapper)),
        lambda: setattr(chat.Completions, "create", original),
        frozenset({"stream"}),
        light=True,
    )


#: Every variant but bare, in the order they are reported.
VARIANTS = (
    "ours",
    "ours-no-tracing",
    "ours-sampled-10",
    "floor",
    "floor-no-tracing",
    "floor-sampled-10",
    "passthrough",
    "openllmetry",
    "openai-v2",
)
#: The floor under each of ours' tracing configurations (the no-op tracer: tracing off).
FLOORS = {"ours": "floor", "ours-no-tracing": "floor-no-tracing", "ours-sampled-10": "floor-sampled-10"}


def modes() -> list[Mode]:
    found = [
        ours("ours"),
        ours("ours-no-tracing", ("chat",), tracing=False),
        ours("ours-sampled-10", ("chat",), tracer_provider=SAMPLED_PROVIDER),
        floor_mode(PROVIDER, FLOOR_REGISTRY),
        floor_mode(trace.NoOpTracerProvider(), CollectorRegistry(), "floor-no-tracing"),
        floor_mode(SAMPLED_PROVIDER, CollectorRegistry(), "floor-sampled-10"),
        passthrough_mode(),
    ]
    for name, module in (
        ("openllmetry", "opentelemetry.instrumentation.openai"),
        ("openai-v2", "opentelemetry.instrumentation.openai_v2"),
    ):
        mode = instrumentor_mode(name, module)
        if mode is not None:
            found.append(mode)
    return found


# -- the floor records what ours records ----------------------------------------------------------


def exposed(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The non-zero samples a call leaves (durations' buckets and sums, timestamps, build info aside)."""
    out = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for s in family.samples:
            skip = s.name.endswith(("_bucket", "_sum", "_created")) or "build_info" in s.name
            if s.value and not skip and "internal_errors" not in s.name:
                out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9)
    return bool(a == b)


def differences(what: str, ours: dict[Any, Any], floor: dict[Any, Any]) -> list[str]:
    found = [f"{what} ours only: {k}={ours[k]!r}" for k in sorted(ours.keys() - floor.keys())]
    found += [f"{what} floor only: {k}={floor[k]!r}" for k in sorted(floor.keys() - ours.keys())]
    both = sorted(ours.keys() & floor.keys())
    return found + [
        f"{what} {k}: ours {ours[k]!r}, floor {floor[k]!r}" for k in both if not same(ours[k], floor[k])
    ]


def check_floor() -> Verdict:
    """One non-streamed call through ``ours`` and one through ``floor``: the same span, the same samples.

    The floor is a floor for the budget only while it records what ours records; when ours changes
    what it records, this says what the floor must change too.
    """
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    ours_registry, floor_registry = CollectorRegistry(), CollectorRegistry()
    llm_telemetry.instrument(registry=ours_registry, tracer_provider=provider)
    try:
        call_plain()
    finally:
        llm_telemetry.uninstrument()
    floor = floor_mode(provider, floor_registry)
    floor.on()
    try:
        call_plain()
    finally:
        floor.off()
    a, b = exporter.get_finished_spans()
    attrs = {"(name, kind)": (a.name, a.kind), **(a.attributes or {})}
    problems = differences("span", attrs, {"(name, kind)": (b.name, b.kind), **(b.attributes or {})})
    samples = exposed(ours_registry)
    problems += differences("sample", samples, exposed(floor_registry))
    for problem in problems:
        print(f"  floor differs from ours: {problem}")
    return (
        "the floor records what ours records",
        not problems,
        f"{len(attrs) - 1} span attributes, {len(samples)} non-zero samples compared: {len(problems)} differ",
    )


# -- timing ---------------------------------------------------------------------------------------


def workloads(quick: bool) -> list[Workload]:
    return [
        Workload("chat", "chat", tuple(FLOORS.values()), "call", 6 if quick else 8, calls(chat_piece)),
        Workload("stream 50", "stream", ("passthrough",), "call", 3, calls(stream_piece(50)), chunks=50),
        Workload("stream", "stream", ("passthrough",), "chunk", 16, windows(max(STREAM_SIZES))),
    ]


def us(seconds: float, width: int = 9, digits: int = 1) -> str:
    return f"{seconds * 1e6:{width}.{digits}f}"


def timing_table(works: list[Workload]) -> None:
    print(
        "\nus per call (chat, stream 50) or per chunk (stream: windows of 25 chunks inside a 500-chunk\n"
        "stream). cpu, wall: median over cycles. +cpu, +wall: added over bare, the median of the paired\n"
        "per-cycle differences, with the 90% range of +cpu (resampling periods). ratio = 1 + (+cpu) / bare."
    )
    header = ("workload", "variant", "cpu", "wall", "+cpu", "90% range", "+wall", "ratio")
    print("{:<11}{:<17}{:>10}{:>10}{:>9}{:>20}{:>9}{:>8}".format(*header))
    for work in works:
        digits = 3 if work.unit == "chunk" else 1
        for name in work.variants():
            line = f"{work.name:<11}{name:<17}{us(point(work, [name], level(name)), 10, digits)}"
            line += us(point(work, [name], level(name, WALL)), 10, digits)
            if name != "bare":
                pair = [name, "bare"]
                mid, low, high = estimate(work, pair, added(name))
                span = f"[{us(low, 0, digits)}, {us(high, 0, digits)}]"
                wall = point(work, pair, added(name, clock=WALL))
                line += f"{us(mid, 9, digits)}{span:>20}{us(wall, 9, digits)}"
                line += f"{1 + mid / point(work, pair, level('bare')):>7.3f}x"
            print(line)


def chat_budgets(chat: Workload) -> None:
    """Full telemetry against the floor; tracing off and a 10% sampler against the bare call.

    Each compares cycles of one period: ``ours`` with the floor and bare measured alongside it.
    """
    names = chat.variants()
    if {"ours", "floor"} <= set(names):
        trio = ["ours", "floor", "bare"]
        mine, floor = point(chat, trio, added("ours")), point(chat, trio, added("floor"))
        times, low, high = estimate(chat, trio, ratio(added("ours"), added("floor")))
        beyond, b_low, b_high = estimate(chat, trio, added("ours", "floor"))
        wall = point(chat, trio, ratio(added("ours", clock=WALL), added("floor", clock=WALL)))
        print(
            f"\nNon-streamed chat, in ours' periods: ours +{us(mine, 0)} us, floor +{us(floor, 0)} us; "
            f"ours - floor, paired: {us(beyond, 0)} us [90%: {us(b_low, 0)}, {us(b_high, 0)}]"
        )
        results.append(
            (
                f"full telemetry <= {FLOOR_RATIO_BUDGET}x the floor's added cost (non-streamed chat)",
                times <= FLOOR_RATIO_BUDGET,
                f"+{us(mine, 0)} us vs floor +{us(floor, 0)} us = {times:.3f}x [90%: {low:.3f}-{high:.3f}]; "
                f"wall {wall:.3f}x",
            )
        )
    for mode, what in (("ours-no-tracing", "tracing off"), ("ours-sampled-10", "10% sampler")):
        if FLOORS[mode] in names and mode in names:
            reference(chat, mode, what)
        if mode in names:
            pair = [mode, "bare"]
            share, low, high = estimate(chat, pair, ratio(added(mode), level("bare")))
            extra, bare = point(chat, pair, added(mode)), point(chat, pair, level("bare"))
            wall = point(chat, pair, ratio(added(mode, clock=WALL), level("bare", WALL)))
            results.append(
                (
                    f"{what} <= {CALL_BUDGET:.0%} added to a non-streamed call",
                    share <= CALL_BUDGET,
                    f"+{us(extra, 0)} us = {share:.2%} of {us(bare, 0)} us [90%: {low:.2%}-{high:.2%}]; "
                    f"wall {wall:.2%}",
                )
            )


def reference(chat: Workload, mode: str, what: str) -> None:
    """What the lean floor adds under the same tracing configuration, in ``mode``'s own periods: the
    5% budgets are absolute, so this says how much of them the floor itself already takes."""
    floor, trio = FLOORS[mode], [mode, FLOORS[mode], "bare"]
    mine, base = point(chat, trio, added(mode)), point(chat, trio, added(floor))
    bare = point(chat, trio, level("bare"))
    times, low, high = estimate(chat, trio, ratio(added(mode), added(floor)))
    print(
        f"{what}, in {mode}'s periods: ours +{us(mine, 0)} us ({mine / bare:.2%}), the floor the same way "
        f"+{us(base, 0)} us ({base / bare:.2%}): {times:.3f}x the floor's [90%: {low:.3f}-{high:.3f}]"
    )


def stream_budgets(chunks: Workload) -> None:
    """Added per chunk inside a stream: at most 1 us, and at most 0.3 us above the pass-through proxy."""
    names = chunks.variants()
    if "ours" not in names:
        return
    mid, low, high = estimate(chunks, ["ours", "bare"], added("ours"))
    wall = point(chunks, ["ours", "bare"], added("ours", clock=WALL))
    bare = point(chunks, ["ours", "bare"], level("bare"))
    results.append(
        (
            f"streams <= {CHUNK_BUDGET_US:g} us per chunk",
            mid * 1e6 <= CHUNK_BUDGET_US,
            f"+{us(mid, 0, 3)} us/chunk [90%: {us(low, 0, 3)}-{us(high, 0, 3)}] on the SDK's "
            f"{us(bare, 0)} us (absolute: grows with the machine's load); wall {us(wall, 0, 3)}",
        )
    )
    if "passthrough" in names:
        trio = ["ours", "passthrough", "bare"]
        mid, low, high = estimate(chunks, trio, added("ours", "passthrough"))
        alone = point(chunks, trio, added("passthrough"))
        results.append(
            (
                f"streams within {CHUNK_PASSTHROUGH_BUDGET_US:g} us per chunk of the pass-through proxy",
                mid * 1e6 <= CHUNK_PASSTHROUGH_BUDGET_US,
                f"ours - passthrough {us(mid, 0, 3)} us/chunk [90%: {us(low, 0, 3)}, {us(high, 0, 3)}]; "
                f"passthrough alone +{us(alone, 0, 3)}",
            )
        )


# -- main -----------------------------------------------------------------------------------------


def versions() -> Iterator[str]:
    from importlib import metadata

    for dist in ("openai", HTTP.__name__, "opentelemetry-sdk", "prometheus-client", "wrapt",
                 "opentelemetry-instrumentation-openai", "opentelemetry-instrumentation-openai-v2",
                 "llm-telemetry"):  # fmt: skip
        try:
            yield f"{dist} {metadata.version(dist)}"
        except metadata.PackageNotFoundError:
            yield f"{dist} (not installed)"


def load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def profile(by_name: dict[str, Mode]) -> None:
    """Where ours spends its time above the floor (and above bare, above the pass-through proxy)."""
    bare = Mode("bare", lambda: None, lambda: None)
    for title, run, count, mode, base in (
        ("non-streamed chat", call_plain, 2000, "ours", by_name["floor"]),
        ("non-streamed chat", call_plain, 2000, "ours-no-tracing", bare),
        ("non-streamed chat", call_plain, 2000, "ours-sampled-10", bare),
        ("stream of 500 chunks", streamer(500), 50, "ours", by_name["passthrough"]),
    ):
        _profile.above(title, run, count, by_name[mode], base)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and abandoned streams")
    parser.add_argument("--rounds", type=int, default=None, help="rounds of periods (default 50, quick 12)")
    parser.add_argument("--modes", default=None, help="comma-separated subset of variants (bare always runs)")
    parser.add_argument("--profile", action="store_true", help="only profile ours above the floor")
    args = parser.parse_args(argv)
    by_name = {m.name: m for m in modes()}
    if args.profile:
        profile(by_name)
        return 0
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {load()}; " + ", ".join(versions()))
    wanted = set(VARIANTS) if args.modes is None else set(args.modes.split(",")) - {"bare"}
    if wanted - set(VARIANTS):
        parser.error(f"unknown variants {sorted(wanted - set(VARIANTS))}; known: bare, {', '.join(VARIANTS)}")
    for name in sorted(wanted - by_name.keys()):
        print(f"{name} not importable: skipped (see benchmarks/README.md)")
    chosen = [by_name[name] for name in VARIANTS if name in wanted and name in by_name]
    results.append(check_floor())
    results.extend(_series.report())
    board = Switchboard()  # after the checks above imported everything the variants use
    works = workloads(args.quick)
    rounds = args.rounds or (12 if args.quick else 50)
    print(f"{rounds} rounds of periods of bare, {', '.join(m.name for m in chosen)} ...", file=sys.stderr)
    started = perf_counter()
    gc.collect()
    gc.freeze()  # start-up objects out of the collector's way, for every variant alike
    run_rounds(works, chosen, rounds, board)
    gc.unfreeze()
    took = perf_counter() - started
    print(f"\nTiming: {took:.0f} s, {PIECE_CALLS} calls or {WINDOW} chunks per piece; {load()}")
    timing_table(works)
    chat_budgets(works[0])
    stream_budgets(works[2])
    instrument = by_name["ours"].on
    results.append(_memory.live_stream(instrument))
    results.extend(_memory.abandoned(1_000 if args.quick else ABANDONED, 1_000, instrument, REGISTRY))
    print()
    for target, ok, detail in results:
        print(f"{'PASS' if ok else 'FAIL'}  {target}: {detail}")
    return 0 if all(ok for _, ok, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
