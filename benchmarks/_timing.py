"""Interleaved, paired timing of variants that patch the openai SDK.

A *heavy* variant (``instrument()``, an OTel instrumentor) is switched on for one *period*; within
it, short timed *pieces* of it, of ``bare`` and of the workload's *light* variants (the floors, the
pass-through proxy) alternate in a shuffled order, cycle after cycle. Switching between them only
reassigns the SDK attributes the variants patched (captured once, while each was on), so consecutive
pieces are a few milliseconds apart and each cycle is a paired comparison under the same machine
load. The estimate is the median of the per-cycle differences; its 90% range resamples whole periods.
"""

from __future__ import annotations

import importlib
import random
import statistics
import sys
import time
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

from _wire import call_plain, open_stream

#: A non-streamed piece: this many calls.
PIECE_CALLS = 4
#: A stream piece: this many consecutive chunks of a long stream (steady state: neither its start nor end).
WINDOW = 25

Key = tuple[int, str]
Scan = dict[Key, tuple[Any, str, Any]]


def scan() -> Scan:
    """Every attribute of the openai package's modules and classes (its data types aside), by identity."""
    out: Scan = {}
    for name, module in list(sys.modules.items()):
        if not name.startswith("openai.") or name.startswith("openai.types"):
            continue
        owners = [module, *(c for c in vars(module).values() if isinstance(c, type) and c.__module__ == name)]
        for owner in owners:
            for attr, value in list(vars(owner).items()):
                out[(id(owner), attr)] = (owner, attr, value)
    return out


@dataclass
class Mode:
    """A way of running the SDK: ``on`` before its period, ``off`` after it."""

    name: str
    on: Callable[[], None]
    off: Callable[[], None]
    #: The workload kinds it runs on: "chat" (non-streamed), "stream".
    kinds: frozenset[str] = frozenset({"chat", "stream"})
    #: A light variant only reassigns SDK attributes (no global state): it runs inside other periods.
    light: bool = False


class Switchboard:
    """Turns variants on and off by assigning the SDK attributes each one patched."""

    def __init__(self) -> None:
        importlib.import_module("openai.resources")  # every resource module, before anything patches them
        self.originals = scan()
        self.keys: dict[str, list[Key]] = {}

    def capture(self, name: str) -> dict[Key, Any]:
        """What variant ``name`` (on right now) assigned; the attributes are found by a scan, once."""
        keys = self.keys.get(name)
        if keys is None:
            now = scan()
            keys = [k for k, v in now.items() if k in self.originals and self.originals[k][2] is not v[2]]
            self.keys[name] = keys
        return {k: vars(self.originals[k][0])[self.originals[k][1]] for k in keys}

    def restore(self) -> list[str]:
        """Put back every attribute a variant left patched (OpenLLMetry's ``uninstrument()`` on openai
        3.x unwraps nothing); returns what was left."""
        left = []
        for keys in self.keys.values():
            for k in keys:
                owner, attr, value = self.originals[k]
                if vars(owner).get(attr) is not value:
                    setattr(owner, attr, value)
                    left.append(f"{owner.__name__}.{attr}")
        return left

    def plan(self, patched: dict[str, dict[Key, Any]]) -> Callable[[str], None]:
        """``activate(name)``: the assignments that leave exactly variant ``name`` on."""
        union = {k for p in patched.values() for k in p}
        steps = {
            name: [
                (self.originals[k][0], self.originals[k][1], p.get(k, self.originals[k][2])) for k in union
            ]
            for name, p in patched.items()
        }

        def activate(name: str) -> None:
            for owner, attr, value in steps[name]:
                setattr(owner, attr, value)

        return activate


#: (process CPU seconds, wall seconds) per unit (call or chunk).
Times = tuple[float, float]
Piece = Callable[[], Times]


def chat_piece() -> Times:
    cpu, wall = time.process_time(), perf_counter()
    for _ in range(PIECE_CALLS):
        call_plain()
    return (time.process_time() - cpu) / PIECE_CALLS, (perf_counter() - wall) / PIECE_CALLS


def stream_piece(n: int) -> Piece:
    def piece() -> Times:
        cpu, wall = time.process_time(), perf_counter()
        for _ in open_stream(n):
            pass
        return time.process_time() - cpu, perf_counter() - wall

    return piece


Opener = Callable[[Callable[[str], None], list[str]], Generator[dict[str, Piece], None, None]]


def calls(piece: Piece) -> Opener:
    """Pieces that each make their own calls: the same for every variant."""

    def opener(activate: Callable[[str], None], names: list[str]) -> Generator[dict[str, Piece], None, None]:
        yield dict.fromkeys(names, piece)

    return opener


def windows(n: int) -> Opener:
    """Pieces of ``WINDOW`` chunks of one long stream per variant, opened while that variant is on.

    Each variant's stream keeps its own proxy whatever is switched on later, so windows of the
    variants' streams alternate: the per-chunk cost of each, a few milliseconds apart. The first
    window (the request, the first output) is read untimed; the stream is closed before its end.
    """

    def opener(activate: Callable[[str], None], names: list[str]) -> Generator[dict[str, Piece], None, None]:
        streams, chunks = {}, {}
        for name in names:
            activate(name)
            streams[name] = stream = open_stream(n)
            chunks[name] = iterator = iter(stream)
            for _ in range(WINDOW):
                next(iterator)
        try:
            yield {name: window(chunks[name].__next__) for name in names}
        finally:
            for stream in streams.values():  # ended now, not by the garbage collector during later pieces
                stream.close()  # type: ignore[attr-defined]

    def window(read: Callable[[], Any]) -> Piece:
        def piece() -> Times:
            cpu, wall = time.process_time(), perf_counter()
            for _ in range(WINDOW):
                read()
            return (time.process_time() - cpu) / WINDOW, (perf_counter() - wall) / WINDOW

        return piece

    return opener


@dataclass
class Workload:
    """One kind of timed piece, and every cycle measured: (period, {variant: times})."""

    name: str
    kind: str
    #: The light variants measured alongside each heavy one.
    lights: tuple[str, ...]
    unit: str
    cycles: int
    open: Opener
    #: Stream lengths (for "per chunk" columns of whole-stream workloads).
    chunks: int = 0
    records: list[tuple[int, dict[str, Times]]] = field(default_factory=list)

    def run(self, period: int, activate: Callable[[str], None], names: list[str], rng: random.Random) -> None:
        opened = self.open(activate, names)
        pieces = next(opened)
        try:
            for _ in range(self.cycles):
                rng.shuffle(names)
                cycle = {}
                for name in names:
                    activate(name)
                    cycle[name] = pieces[name]()
                self.records.append((period, cycle))
        finally:
            opened.close()

    def variants(self) -> list[str]:
        seen: dict[str, None] = {}
        for _, cycle in self.records:
            seen.update(dict.fromkeys(cycle))
        return sorted(seen, key=lambda n: (n != "bare", n))


def run_rounds(works: list[Workload], all_modes: list[Mode], rounds: int, board: Switchboard) -> None:
    """Each round: one period per heavy variant, in a shuffled order; in each, every workload's cycles."""
    rng = random.Random(1)
    lights: dict[str, dict[Key, Any]] = {"bare": {}}
    for mode in all_modes:
        if mode.light:
            mode.on()
            lights[mode.name] = board.capture(mode.name)
            mode.off()
    heavies: list[Mode | None] = [m for m in all_modes if not m.light] or [None]
    for r in range(rounds):
        rng.shuffle(heavies)
        for i, heavy in enumerate(heavies):
            period(r * len(heavies) + i, heavy, lights, works, board, rng)
        print(f"  round {r + 1}/{rounds}", end="\r", file=sys.stderr, flush=True)
    print(file=sys.stderr)


def period(
    number: int,
    heavy: Mode | None,
    lights: dict[str, dict[Key, Any]],
    works: list[Workload],
    board: Switchboard,
    rng: random.Random,
) -> None:
    """``heavy`` on; every workload's cycles of it, bare and the workload's light variants; ``heavy`` off."""
    if heavy is not None:
        heavy.on()
    try:
        patched = dict(lights)
        if heavy is not None:
            patched[heavy.name] = board.capture(heavy.name)
        activate = board.plan(patched)
        for work in works:
            if heavy is not None and work.kind not in heavy.kinds:
                continue
            names = [n for n in ("bare", *work.lights) if n in patched]
            if heavy is not None:
                names.append(heavy.name)
            if len(names) > 1:
                work.run(number, activate, names, rng)
        activate(heavy.name if heavy is not None else "bare")  # its own state, for its off()
    finally:
        if heavy is not None:
            heavy.off()
        board.restore()


# -- estimates ------------------------------------------------------------------------------------

WALL = 1
CPU = 0


def _cycles(work: Workload, names: Iterable[str]) -> dict[int, list[dict[str, Times]]]:
    """Cycles that measured every variant in ``names``, by period."""
    wanted = set(names)
    found: dict[int, list[dict[str, Times]]] = {}
    for period, cycle in work.records:
        if wanted <= cycle.keys():
            found.setdefault(period, []).append(cycle)
    return found


Estimate = Callable[[list[dict[str, Times]]], float]


def point(work: Workload, names: Iterable[str], of: Estimate) -> float:
    """``of`` every cycle that measured each of ``names``."""
    return of([c for cycles in _cycles(work, names).values() for c in cycles])


def estimate(work: Workload, names: Iterable[str], of: Estimate) -> tuple[float, float, float]:
    """``of`` the cycles measuring ``names``, and its 90% range over 1,000 resamplings of the periods."""
    by_period = _cycles(work, names)
    periods = list(by_period)
    rng = random.Random(0)
    samples = []
    for _ in range(1000):
        picked = [c for _ in periods for c in by_period[rng.choice(periods)]]
        samples.append(of(picked))
    samples.sort()
    return of([c for p in periods for c in by_period[p]]), samples[50], samples[949]


def added(a: str, b: str = "bare", clock: int = CPU) -> Estimate:
    """Median over cycles of (a - b): the paired added cost of ``a`` over ``b``, per unit."""
    return lambda cycles: statistics.median(c[a][clock] - c[b][clock] for c in cycles)


def level(a: str, clock: int = CPU) -> Estimate:
    """Median over cycles of ``a``'s own time per unit."""
    return lambda cycles: statistics.median(c[a][clock] for c in cycles)


def ratio(top: Estimate, bottom: Estimate) -> Estimate:
    return lambda cycles: top(cycles) / bottom(cycles)
