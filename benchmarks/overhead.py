"""Overhead of llm-telemetry on real openai SDK calls, against the bare SDK and OpenLLMetry.

Run on demand (never from the test suite)::

    .venv/bin/python benchmarks/overhead.py            # full run (~2-3 min on 2 cores)
    .venv/bin/python benchmarks/overhead.py --quick    # 15 rounds and 1,000 abandoned streams
    .venv/bin/python benchmarks/overhead.py --profile  # cProfile of the instrumented hot paths

Everything runs in ONE process over an in-process HTTP transport (``MockTransport`` of the HTTP
library the installed openai uses) that answers with pre-encoded bytes, so only client-side work is
measured. A real OTel SDK ``TracerProvider`` (``BatchSpanProcessor`` into an exporter that drops
everything) is installed for every mode. Modes are measured interleaved: per workload, every round
runs one short batch of each mode, switched on and off around it (``instrument()``/``uninstrument()``)
in a rotating order; the overhead is the median over rounds of the paired per-round difference of
process CPU time, so machine noise cancels. ``span-only`` (one SDK span with the same attributes and
nothing else) is the floor of any OpenTelemetry instrumentation; OpenLLMetry
(``opentelemetry-instrumentation-openai``) runs with its defaults when it is importable.

Targets (the contract's budget): <= 5% added to a non-streamed call, <= 1 us per streamed chunk
(marginal: the overhead's growth from 50 to 500 chunks, per chunk), a live stream's memory constant
in its number of chunks, and no growth after 10,000 abandoned streams once ``gc.collect()`` and
``llm_telemetry.flush()`` ran. Prints PASS/FAIL per target; exit status 1 if one is missed.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import importlib
import json
import os
import pstats
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import openai
from opentelemetry import context, trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from prometheus_client import CollectorRegistry

import llm_telemetry

MODEL = "gpt-4o-mini"
MESSAGES: Any = [{"role": "user", "content": "Say hello."}]
STREAM_SIZES = (50, 500)
#: Non-streamed overhead budget (fraction of the bare call) and streamed budget (us per chunk).
CALL_BUDGET = 0.05
CHUNK_BUDGET_US = 1.0
#: A live stream may not retain more than this many extra bytes after 500 chunks than after 50.
STREAM_GROWTH_BUDGET = 1024
ABANDONED = 10_000
#: Traced bytes (and RSS) allowed to remain after the abandoned streams were collected and flushed.
ABANDON_TRACED_BUDGET = 64 * 1024
ABANDON_RSS_BUDGET = 8 * 1024 * 1024


# -- the in-process provider ----------------------------------------------------------------------


def http_module() -> ModuleType:
    """The HTTP library the installed openai is built on: ``httpx2`` (openai 3.x) or ``httpx`` (2.x)."""
    base = importlib.import_module("openai._base_client")
    for name in ("httpx2", "httpx"):
        module = getattr(base, name, None)
        if isinstance(module, ModuleType):
            return module
    raise RuntimeError("cannot tell which HTTP library openai uses")


HTTP = http_module()


def chat_body() -> bytes:
    """A non-streamed chat completion, as the API encodes it."""
    return json.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1700000000,
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "Hello! How can I help you today?"},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": 12,
                "completion_tokens": 9,
                "total_tokens": 21,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
            },
            "system_fingerprint": "fp_bench",
        }
    ).encode()


def stream_body(chunks: int) -> bytes:
    """An SSE chat stream of exactly ``chunks`` events: content deltas, the finish, the usage chunk."""

    def event(choices: list[dict[str, Any]], usage: dict[str, Any] | None = None) -> bytes:
        chunk = {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": "gpt-4o-mini-2024-07-18",
            "system_fingerprint": "fp_bench",
            "choices": choices,
            "usage": usage,
        }
        return b"data: " + json.dumps(chunk).encode() + b"\n\n"

    parts = [event([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])]
    parts += [
        event([{"index": 0, "delta": {"content": f" tok{i}"}, "finish_reason": None}])
        for i in range(chunks - 3)
    ]
    parts.append(event([{"index": 0, "delta": {}, "finish_reason": "stop"}]))
    parts.append(
        event([], {"prompt_tokens": 12, "completion_tokens": chunks - 3, "total_tokens": chunks + 9})
    )
    parts.append(b"data: [DONE]\n\n")
    return b"".join(parts)


def client_for(body: bytes, content_type: str) -> openai.OpenAI:
    """A real ``openai.OpenAI`` whose transport answers every request with ``body``, in process."""
    headers = {"content-type": content_type, "x-request-id": "req_bench"}

    def handler(request: Any) -> Any:
        return HTTP.Response(200, headers=headers, content=body)

    http_client = HTTP.Client(transport=HTTP.MockTransport(handler))
    return openai.OpenAI(api_key="sk-bench", base_url="https://api.openai.com/v1", http_client=http_client,
                         max_retries=0)  # fmt: skip


class DropExporter(SpanExporter):
    """Accepts every span and keeps none."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


PROVIDER = TracerProvider()
PROVIDER.add_span_processor(BatchSpanProcessor(DropExporter()))
trace.set_tracer_provider(PROVIDER)

PLAIN = client_for(chat_body(), "application/json")
STREAMS = {n: client_for(stream_body(n), "text/event-stream") for n in STREAM_SIZES}
#: For the live-stream memory check: long enough to stay open after the largest count of chunks read.
LONG_STREAM = client_for(stream_body(max(STREAM_SIZES) + 100), "text/event-stream")


def call_plain() -> None:
    PLAIN.chat.completions.create(model=MODEL, messages=MESSAGES)


def streamer(n: int) -> Callable[[], None]:
    client = STREAMS[n]

    def call_stream() -> None:
        # The default call: llm-telemetry then asks for the usage chunk and hides it from the caller.
        for _ in client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True):
            pass

    return call_stream


# -- the modes ------------------------------------------------------------------------------------

REGISTRY = CollectorRegistry()


@dataclass
class Mode:
    """A way of running the SDK: switched on before its turn in a round and off after it."""

    name: str
    on: Callable[[], None]
    off: Callable[[], None]


def peel_wrappers() -> int:
    """Restore every wrapt-wrapped method of ``openai.resources``; returns how many were left wrapped.

    OpenLLMetry 0.62's ``uninstrument()`` unwraps nothing on openai 3.x (its dotted paths such as
    ``("openai.resources.chat.completions", "Completions.create")`` resolve to a module, not the
    class), so its wrappers would stay active, stacking up, in the bare rounds that follow.
    """
    import wrapt

    peeled = 0
    for name, module in list(sys.modules.items()):
        if not name.startswith("openai.resources"):
            continue
        for cls in list(vars(module).values()):
            if not isinstance(cls, type) or cls.__module__ != name:
                continue
            for attr, value in list(vars(cls).items()):
                original = value
                while isinstance(original, wrapt.FunctionWrapper):
                    original = original.__wrapped__
                if original is not value:
                    setattr(cls, attr, original)
                    peeled += 1
    return peeled


def openllmetry_mode() -> Mode | None:
    """OpenLLMetry (``opentelemetry-instrumentation-openai``) with its defaults, when importable."""
    try:
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor
    except ImportError:
        return None
    instrumentor = OpenAIInstrumentor()

    def off() -> None:
        instrumentor.uninstrument()
        peel_wrappers()

    return Mode("openllmetry", lambda: instrumentor.instrument(), off)


def span_only_mode() -> Mode:
    """The floor of any OTel instrumentation: one CLIENT span with the same attributes, nothing else.

    Streams are not followed (the span ends when ``create`` returns), so only its non-streamed row is a floor.
    """
    from openai.resources.chat import completions as chat

    tracer = trace.get_tracer("span-only")
    original = vars(chat.Completions)["create"]

    def create(self: Any, *args: Any, **kwargs: Any) -> Any:
        model = kwargs["model"]
        attributes = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": model,
            "gen_ai.request.stream": bool(kwargs.get("stream")),
            "gen_ai.system": "openai",
            "server.address": "api.openai.com",
            "server.port": 443,
        }
        span = tracer.start_span(f"chat {model}", kind=trace.SpanKind.CLIENT, attributes=attributes)
        token = context.attach(trace.set_span_in_context(span))
        try:
            result = original(self, *args, **kwargs)
        finally:
            context.detach(token)
        usage = getattr(result, "usage", None)
        if usage is not None:
            span.set_attributes(
                {
                    "gen_ai.response.model": result.model,
                    "gen_ai.response.id": result.id,
                    "gen_ai.response.finish_reasons": tuple(c.finish_reason for c in result.choices),
                    "gen_ai.usage.input_tokens": usage.prompt_tokens,
                    "gen_ai.usage.output_tokens": usage.completion_tokens,
                    "gen_ai.usage.cache_read.input_tokens": 0,
                    "gen_ai.usage.reasoning.output_tokens": 0,
                    "llm.cost.usd": 1e-5,
                }
            )
        span.end()
        return result

    return Mode(
        "span-only",
        lambda: setattr(chat.Completions, "create", create),
        lambda: setattr(chat.Completions, "create", original),
    )


def modes() -> list[Mode]:
    found = [
        Mode("bare", lambda: None, lambda: None),
        Mode("ours", lambda: llm_telemetry.instrument(registry=REGISTRY), llm_telemetry.uninstrument),
        span_only_mode(),
    ]
    other = openllmetry_mode()
    if other is not None:
        found.append(other)
    return found


# -- timing ---------------------------------------------------------------------------------------


@dataclass
class Workload:
    name: str
    run: Callable[[], None]
    calls: int
    chunks: int = 0
    times: dict[str, list[float]] = field(default_factory=dict)
    wall: dict[str, list[float]] = field(default_factory=dict)


def measure(work: Workload) -> tuple[float, float]:
    """Mean process CPU seconds and wall seconds per call over ``work.calls`` calls.

    CPU time of the whole process (the span processor's and the finalizer's threads included) is the
    primary measure: on a shared 2-core machine it is far less disturbed by other processes than wall time.
    """
    run = work.run
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(work.calls):
        run()
    return (time.process_time() - cpu) / work.calls, (time.perf_counter() - wall) / work.calls


def run_rounds(workloads: list[Workload], all_modes: list[Mode], rounds: int) -> None:
    """Interleaved rounds: per workload, every mode runs one short batch, in an order rotated each round.

    Each batch switches its mode on (``instrument()``) and off (``uninstrument()``) around it and warms
    up with one call; paired batches are a few tens of milliseconds apart, so slow drifts of the
    machine's load cancel in their difference.
    """
    for r in range(rounds):
        order = all_modes[r % len(all_modes) :] + all_modes[: r % len(all_modes)]
        for work in workloads:
            for mode in order:
                mode.on()
                try:
                    work.run()
                    cpu, wall = measure(work)
                finally:
                    mode.off()
                work.times.setdefault(mode.name, []).append(cpu)
                work.wall.setdefault(mode.name, []).append(wall)
        print(f"  round {r + 1}/{rounds}", end="\r", file=sys.stderr, flush=True)
    print(file=sys.stderr)


def paired_overhead(work: Workload, mode: str, rounds: Sequence[int] | None = None) -> float:
    """Median over rounds (all, or those given) of (mode - bare), in seconds per call."""
    picked = range(len(work.times["bare"])) if rounds is None else rounds
    return statistics.median(work.times[mode][r] - work.times["bare"][r] for r in picked)


def min_overhead(work: Workload, mode: str) -> float:
    """min(mode) - min(bare): the undisturbed cost, since interference only ever adds time."""
    return min(work.times[mode]) - min(work.times["bare"])


def marginal_per_chunk(small: Workload, large: Workload, mode: str) -> tuple[float, float, float]:
    """(Overhead at the large size - at the small size) / extra chunks, with its 90% bootstrap range."""
    extra = large.chunks - small.chunks

    def estimate(rounds: Sequence[int] | None) -> float:
        return (paired_overhead(large, mode, rounds) - paired_overhead(small, mode, rounds)) / extra

    count = len(large.times["bare"])
    rng = random.Random(0)
    samples = sorted(estimate([rng.randrange(count) for _ in range(count)]) for _ in range(1000))
    return estimate(None), samples[50], samples[949]


# -- memory ---------------------------------------------------------------------------------------


def live_stream_bytes(n_consumed: int, repeats: int = 7) -> int:
    """Traced bytes held while a stream is live (open, unfinished) after ``n_consumed`` chunks (median)."""
    client = LONG_STREAM
    sizes = []
    for _ in range(repeats):
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        stream = client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
        iterator = iter(stream)
        for _ in range(n_consumed):
            next(iterator)
        gc.collect()
        sizes.append(tracemalloc.get_traced_memory()[0] - before)
        stream.close()
        del stream, iterator
    return int(statistics.median(sizes))


def rss_bytes() -> int:
    """Resident set size of this process (Linux ``/proc``; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


def abandon(count: int) -> None:
    """Open ``count`` streams, read one chunk of each, and drop them unfinished."""
    client = STREAMS[min(STREAM_SIZES)]
    for _ in range(count):
        stream = client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
        next(iter(stream))
        del stream


def settle() -> None:
    gc.collect()
    llm_telemetry.flush()
    PROVIDER.force_flush()
    gc.collect()


def cancelled_total() -> float:
    return sum(
        s.value
        for f in REGISTRY.collect()
        for s in f.samples
        if s.name == "llm_telemetry_requests_total" and s.labels.get("outcome") == "cancelled"
    )


# -- reporting ------------------------------------------------------------------------------------

results: list[tuple[str, bool, str]] = []


def verdict(target: str, ok: bool, detail: str) -> None:
    results.append((target, ok, detail))


def us(seconds: float, width: int = 10) -> str:
    return f"{seconds * 1e6:{width}.1f}"


def timing_report(workloads: list[Workload], names: list[str]) -> None:
    print(
        "\nPer call, us: process CPU time (median and min of rounds), wall time (median of rounds); overhead"
    )
    print("over bare: median of the paired per-round CPU differences (+med) and min(mode) - min(bare) (+min)")
    print(f"{'workload':<12}{'mode':<13}{'cpu med':>10}{'cpu min':>10}{'wall med':>10}", end="")
    print(f"{'+med':>9}{'+min':>9}{'ratio':>8}{'+med/chunk':>11}")
    for work in workloads:
        bare = statistics.median(work.times["bare"])
        for name in names:
            line = f"{work.name:<12}{name:<13}{us(statistics.median(work.times[name]))}"
            line += f"{us(min(work.times[name]))}{us(statistics.median(work.wall[name]))}"
            if name != "bare":
                extra = paired_overhead(work, name)
                line += f"{us(extra, 9)}{us(min_overhead(work, name), 9)}{1 + extra / bare:>7.3f}x"
                if work.chunks:
                    line += f"{extra * 1e6 / work.chunks:>11.3f}"
            print(line)
    plain = workloads[0]
    beyond = paired_overhead(plain, "ours") - paired_overhead(plain, "span-only")
    print(f"\nNon-streamed, ours beyond the span-only floor: {beyond * 1e6:.1f} us per call")
    small, large = (next(w for w in workloads if w.chunks == n) for n in STREAM_SIZES)
    print(f"Per streamed chunk, marginal (overhead at {large.chunks} - at {small.chunks}) / "
          f"{large.chunks - small.chunks}, us [90% bootstrap range]:")  # fmt: skip
    for name in names[1:]:
        if name != "span-only":
            mid, low, high = marginal_per_chunk(small, large, name)
            print(f"  {name:<13}{mid * 1e6:8.3f}  [{low * 1e6:.3f}, {high * 1e6:.3f}]")
    extra = paired_overhead(plain, "ours")
    bare = statistics.median(plain.times["bare"])
    floor = paired_overhead(plain, "span-only")
    verdict(
        "non-streamed call <= 5%",
        extra / bare <= CALL_BUDGET,
        f"+{extra * 1e6:.1f} us = {extra / bare * 100:.2f}% (one SDK span alone: +{floor * 1e6:.1f} us = "
        f"{floor / bare * 100:.2f}%)",
    )
    mid, low, high = marginal_per_chunk(small, large, "ours")
    amortized = paired_overhead(large, "ours") / large.chunks
    verdict(
        "streamed chunk <= 1 us",
        mid * 1e6 <= CHUNK_BUDGET_US,
        f"marginal {mid * 1e6:.3f} us/chunk [90%: {low * 1e6:.3f}-{high * 1e6:.3f}]; whole-call overhead "
        f"/ {large.chunks} chunks {amortized * 1e6:.3f} us",
    )


def live_stream_report() -> None:
    """What a live stream holds after 50 and after 500 chunks, instrumented and bare."""
    tracemalloc.start()
    try:
        held: dict[str, dict[int, int]] = {}
        for mode in ("ours", "bare"):
            if mode == "ours":
                llm_telemetry.instrument(registry=REGISTRY)
            for n in STREAM_SIZES:
                live_stream_bytes(n, repeats=2)  # warm every cache before measuring
            sizes: dict[int, list[int]] = {n: [] for n in STREAM_SIZES}
            for _ in range(7):  # the chunk counts alternate, so slow drifts do not read as growth
                for n in STREAM_SIZES:
                    sizes[n].append(live_stream_bytes(n, repeats=1))
            held[mode] = {n: int(statistics.median(v)) for n, v in sizes.items()}
            llm_telemetry.uninstrument()
    finally:
        tracemalloc.stop()
    small, large = STREAM_SIZES
    print("\nLive stream, traced bytes held (the SDK's own buffers included), median of 7:")
    for n in STREAM_SIZES:
        ours, bare = held["ours"][n], held["bare"][n]
        print(
            f"  after {n:>3} chunks: instrumented {ours:>7} B, bare {bare:>7} B, ours adds {ours - bare:>6} B"
        )
    added = {n: held["ours"][n] - held["bare"][n] for n in STREAM_SIZES}
    verdict(
        "live stream memory constant in chunks",
        abs(added[large] - added[small]) <= STREAM_GROWTH_BUDGET,
        f"added per live stream {added[small]} B after {small} chunks, {added[large]} B after {large}",
    )


def abandoned_report(count: int) -> None:
    """``count`` abandoned streams: every one recorded, nothing retained once collected and flushed."""
    llm_telemetry.instrument(registry=REGISTRY)
    tracemalloc.start()
    try:
        abandon(500)
        settle()
        recorded0 = cancelled_total()
        traced0, blocks0, objects0, rss0 = traced_state()
        snapshot0 = tracemalloc.take_snapshot()
        started = time.perf_counter()
        abandon(count)
        settle()
        elapsed = time.perf_counter() - started
        traced1, blocks1, objects1, rss1 = traced_state()
        recorded = cancelled_total() - recorded0
        growth = tracemalloc.take_snapshot().compare_to(snapshot0, "lineno")
    finally:
        tracemalloc.stop()
        llm_telemetry.uninstrument()
    print(f"\n{count} abandoned streams ({elapsed:.0f} s under tracemalloc), after gc.collect() + flush():")
    print(f"  traced memory {traced0} B -> {traced1} B ({traced1 - traced0:+d} B)")
    print(f"  allocated blocks {blocks1 - blocks0:+d}, gc-tracked objects {objects1 - objects0:+d}, "
          f"RSS {rss0 >> 10} KiB -> {rss1 >> 10} KiB ({(rss1 - rss0) >> 10:+d} KiB)")  # fmt: skip
    print(f"  recorded as cancelled: {recorded:.0f}")
    ok = traced1 - traced0 <= ABANDON_TRACED_BUDGET and rss1 - rss0 <= ABANDON_RSS_BUDGET
    ok = ok and recorded == count
    if not ok:
        for stat in growth[:5]:
            print(f"    {stat}")
    verdict(
        f"{count} abandoned streams leave no growth",
        ok,
        f"traced {traced1 - traced0:+d} B, RSS {(rss1 - rss0) >> 10:+d} KiB, {recorded:.0f}/{count} recorded",
    )


def traced_state() -> tuple[int, int, int, int]:
    return tracemalloc.get_traced_memory()[0], sys.getallocatedblocks(), len(gc.get_objects()), rss_bytes()


def profile(seconds: float = 3.0) -> None:
    """cProfile the instrumented non-streamed and 500-chunk paths; print the top entries."""
    llm_telemetry.instrument(registry=REGISTRY)
    try:
        for name, run in (("non-streamed", call_plain), ("stream 500", streamer(500))):
            run()
            profiler = cProfile.Profile()
            deadline = time.perf_counter() + seconds
            profiler.enable()
            calls = 0
            while time.perf_counter() < deadline:
                run()
                calls += 1
            profiler.disable()
            print(f"\n== {name}: {calls} calls ==")
            stats = pstats.Stats(profiler)
            stats.sort_stats("tottime").print_stats(r"llm_telemetry|opentelemetry|prometheus|wrapt", 25)
    finally:
        llm_telemetry.uninstrument()


def versions() -> Iterator[str]:
    from importlib import metadata

    for dist in ("openai", HTTP.__name__, "opentelemetry-sdk", "prometheus-client", "wrapt",
                 "opentelemetry-instrumentation-openai", "llm-telemetry"):  # fmt: skip
        try:
            yield f"{dist} {metadata.version(dist)}"
        except metadata.PackageNotFoundError:
            yield f"{dist} (not installed)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and abandoned streams")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 100, quick 15)")
    parser.add_argument("--modes", default=None, help="comma-separated subset of modes (bare always runs)")
    parser.add_argument("--profile", action="store_true", help="only profile the instrumented hot paths")
    args = parser.parse_args(argv)
    if args.profile:
        profile()
        return 0
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; " + ", ".join(versions()))
    workloads = [Workload("chat", call_plain, 40)]
    workloads += [Workload(f"stream {n}", streamer(n), max(1, 400 // n), n) for n in STREAM_SIZES]
    all_modes = [m for m in modes() if args.modes is None or m.name in args.modes.split(",")]
    names = [m.name for m in all_modes]
    if "openllmetry" not in names:
        print("OpenLLMetry not importable (pip install opentelemetry-instrumentation-openai): skipped")
    rounds = args.rounds or (15 if args.quick else 100)
    print(f"{rounds} interleaved rounds of {', '.join(names)} ...", file=sys.stderr)
    gc.collect()
    gc.freeze()  # start-up objects out of the collector's way, for both modes alike
    run_rounds(workloads, all_modes, rounds)
    gc.unfreeze()
    timing_report(workloads, names)
    live_stream_report()
    abandoned_report(1_000 if args.quick else ABANDONED)
    print()
    for target, ok, detail in results:
        print(f"{'PASS' if ok else 'FAIL'}  {target}: {detail}")
    return 0 if all(ok for _, ok, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
