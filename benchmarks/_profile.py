"""cProfile, differentially: where a variant spends its time above a cheaper one, per call."""

from __future__ import annotations

import cProfile
import pstats
import statistics
from collections.abc import Callable
from typing import Any

from _timing import Mode

Key = tuple[str, int, str]
#: Rows shown whatever their call counts: the instrumentation's own code and the libraries it drives.
INSTRUMENTATION = ("llm_telemetry", "opentelemetry", "prometheus_client", "wrapt", "overhead.py")
#: Profiles per variant, alternated: cProfile times in wall clock, so a repeat can catch a preemption.
REPEATS = 5


def profiled(mode: Mode, run: Callable[[], None], calls: int) -> dict[Key, tuple[float, float]]:
    """cProfile ``calls`` calls of ``run`` under ``mode``: per function, (calls, own seconds) per call."""
    mode.on()
    try:
        run()
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(calls):
            run()
        profiler.disable()
    finally:
        mode.off()
    stats: Any = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    return {key: (nc / calls, tt / calls) for key, (_, nc, tt, _, _) in stats.items()}


def typical(runs: list[dict[Key, tuple[float, float]]]) -> dict[Key, tuple[float, float]]:
    """Per function, the median over repeats of its calls and own time per call."""
    keys = {key for run in runs for key in run}
    return {
        key: (
            statistics.median(run.get(key, (0.0, 0.0))[0] for run in runs),
            statistics.median(run.get(key, (0.0, 0.0))[1] for run in runs),
        )
        for key in keys
    }


def where(key: Key) -> str:
    path, line, func = key
    if path == "~":
        return func
    for marker in ("site-packages/", "src/", "benchmarks/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{path}:{line}({func})"


def above(title: str, run: Callable[[], None], calls: int, mode: Mode, base: Mode, top: int = 25) -> None:
    """The ``top`` functions by own time per call under ``mode`` above ``base``.

    For the instrumentation's code and the libraries it drives, the whole difference of own time. For
    everything else (the SDK, builtins such as ``isinstance``, the standard library), only the calls
    ``mode`` adds, at their mean cost: the SDK's own work, the same in both, cancels out instead of
    showing the machine's noise. cProfile inflates small functions and times in wall clock (a
    preemption lands in whatever function was running: the median over repeats sets it aside), so
    the shares matter more than the µs.
    """
    runs: dict[str, list[dict[Key, tuple[float, float]]]] = {mode.name: [], base.name: []}
    for _ in range(REPEATS):  # alternated; the median per function sets a preempted repeat aside
        for variant in (mode, base):
            runs[variant.name].append(profiled(variant, run, calls // REPEATS))
    a, b = typical(runs[mode.name]), typical(runs[base.name])
    rows = []
    for key in a.keys() | b.keys():
        (na, ta), (nb, tb) = a.get(key, (0.0, 0.0)), b.get(key, (0.0, 0.0))
        ours = any(m in key[0] for m in INSTRUMENTATION)
        rows.append((ta - tb if ours else (na - nb) * (ta + tb) / (na + nb), key, na, ta, nb, tb))
    rows.sort(reverse=True)
    more = sum(r[0] for r in rows if r[0] > 0)
    less = sum(r[0] for r in rows if r[0] < 0)
    print(
        f"\n== {title}: {mode.name} above {base.name}, {calls} calls each, under cProfile: "
        f"+{more * 1e6:.1f} us per call in functions {mode.name} spends more in, {less * 1e6:.1f} in those "
        f"{base.name} does: net {(more + less) * 1e6:+.1f} =="
    )
    header = ("+us/call", "share", mode.name[:12], "calls", base.name[:12], "calls")
    print("{:>9}{:>7}{:>13}{:>9}{:>13}{:>9}  function".format(*header))
    for diff, key, na, ta, nb, tb in rows[:top]:
        row = f"{diff * 1e6:9.2f}{diff / more:7.1%}{ta * 1e6:13.2f}{na:9.1f}{tb * 1e6:13.2f}{nb:9.1f}"
        print(f"{row}  {where(key)}")
    shown = sum(r[0] for r in rows[:top])
    print(
        f"{shown * 1e6:9.2f}{shown / more:7.1%}  in these {min(top, len(rows))} rows (shares of the "
        f"+{more * 1e6:.1f})"
    )
