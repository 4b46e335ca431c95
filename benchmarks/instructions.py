"""Instructions per non-streamed call of each variant, counted by valgrind's callgrind.

CPU time on a shared 2-core VM moves by tens of percent between runs, and most of what an
instrumentation adds there is cache misses (its code and data are cold after the SDK's 5M
instructions). Instruction counts are deterministic: they say how much work each variant does,
whatever the machine's load, and so what a change to the hot path saved. Run on demand::

    .venv/bin/python benchmarks/instructions.py            # ~1-2 min; needs valgrind and gcc
    .venv/bin/python benchmarks/instructions.py --calls 200

Each variant runs in a child process under ``valgrind --tool=callgrind`` with instrumentation off
until its warm-up is done: a tiny C helper built here from valgrind's ``callgrind.h`` switches
counting on for exactly ``--calls`` non-streamed calls. The sampled variants seed ``random`` (OTel's
trace ids), so the same calls are sampled in every run.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

#: Callgrind's client requests, for the child to count exactly its timed calls.
HELPER = """
#include <valgrind/callgrind.h>
void start(void) { CALLGRIND_ZERO_STATS; CALLGRIND_START_INSTRUMENTATION; CALLGRIND_TOGGLE_COLLECT; }
void stop(void) { CALLGRIND_TOGGLE_COLLECT; CALLGRIND_DUMP_STATS; CALLGRIND_STOP_INSTRUMENTATION; }
"""

#: The variants, in the order printed (``bare`` first: every other is counted above it).
VARIANTS = (
    "bare",
    "floor",
    "floor-no-tracing",
    "floor-sampled-10",
    "ours",
    "ours-no-tracing",
    "ours-sampled-10",
)
#: The same budgets as overhead.py (contract v1.1, "Overhead"), judged on instructions.
FLOOR_RATIO_BUDGET = 1.15
CALL_BUDGET = 0.05


def child(variant: str, calls: int, helper: str) -> None:
    """Runs in the child: the variant on, a warm-up, then ``calls`` counted calls."""
    random.seed(0)  # the sampled variants' trace ids, hence which calls are sampled
    sys.path.insert(0, str(Path(__file__).parent))
    import overhead
    from _wire import call_plain

    if variant != "bare":
        {m.name: m for m in overhead.modes()}[variant].on()
    for _ in range(30):
        call_plain()
    counting = ctypes.CDLL(helper)
    counting.start()
    for _ in range(calls):
        call_plain()
    counting.stop()


def build_helper(work: Path) -> Path:
    source, library = work / "count.c", work / "libcount.so"
    source.write_text(HELPER)
    subprocess.run(["gcc", "-shared", "-fPIC", "-O1", "-o", str(library), str(source)], check=True)
    return library


def per_call(variant: str, calls: int, work: Path, helper: Path) -> float:
    """Instructions per call of one child run under callgrind (its counted region only)."""
    out = work / f"{variant}.out"
    command = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        "--collect-atstart=no",
        f"--callgrind-out-file={out}",
        sys.executable,
        __file__,
        "--child",
        variant,
        str(calls),
        str(helper),
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=1800)
    dumped = Path(f"{out}.1")  # CALLGRIND_DUMP_STATS's file: the counted region
    found = re.search(r"^summary:\s+(\d+)", dumped.read_text(), re.MULTILINE)
    if found is None:
        raise RuntimeError(f"no summary in {dumped}")
    return int(found.group(1)) / calls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100, help="calls counted per variant (default 100)")
    parser.add_argument("--child", nargs=3, metavar=("VARIANT", "CALLS", "HELPER"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], int(args.child[1]), args.child[2])
        return 0
    if shutil.which("valgrind") is None or shutil.which("gcc") is None:
        parser.error("needs valgrind (with its headers: Debian's valgrind package) and gcc")
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        work = Path(tmp)
        helper = build_helper(work)
        found = pool.map(lambda v: per_call(v, args.calls, work, helper), VARIANTS)
        counts = dict(zip(VARIANTS, found, strict=True))
    bare = counts["bare"]
    print(f"Instructions per non-streamed chat call ({args.calls} calls per variant, callgrind):")
    for variant, value in counts.items():
        extra = "" if variant == "bare" else f"  +{value - bare:>9,.0f}  ({(value - bare) / bare:6.2%})"
        print(f"  {variant:<18}{value:>12,.0f}{extra}")
    print()
    verdicts = []
    for ours, floor, what in (
        ("ours", "floor", "full telemetry"),
        ("ours-no-tracing", "floor-no-tracing", "tracing off"),
        ("ours-sampled-10", "floor-sampled-10", "10% sampler"),
    ):
        times = (counts[ours] - bare) / (counts[floor] - bare)
        share = (counts[ours] - bare) / bare
        print(f"  {what}: {times:.3f}x the floor's added instructions the same way; {share:.2%} of the call")
        if ours == "ours":
            verdicts.append((f"{what} <= {FLOOR_RATIO_BUDGET}x the floor's", times <= FLOOR_RATIO_BUDGET))
        else:
            verdicts.append((f"{what} <= {CALL_BUDGET:.0%} added to the call", share <= CALL_BUDGET))
    print()
    for target, ok in verdicts:
        print(f"{'PASS' if ok else 'FAIL'}  {target} (instructions)")
    return 0 if all(ok for _, ok in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
