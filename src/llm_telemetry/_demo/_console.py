"""What the demo prints while it runs: the banner, where to look next, and the live progress line."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TextIO

from ._scenarios import OPTIONAL_SDKS, Skipped
from ._summary import Totals

__all__ = ["Progress", "banner", "display_host", "progress_line"]

#: In a checkout (``pip install -e .``), the dashboards sit next to ``src/``.
_DASHBOARDS = Path(__file__).resolve().parents[3] / "dashboards"


def display_host(host: str) -> str:
    """The host to put in a URL a user can open (a wildcard bind is reachable on localhost)."""
    if host in ("", "0.0.0.0", "::"):
        return "localhost"
    return f"[{host}]" if ":" in host else host


def _dashboards() -> str:
    if (_DASHBOARDS / "llm-overview.json").is_file():
        return f"{_DASHBOARDS}/*.json"
    return "dashboards/*.json from the llm-telemetry repository"


def banner(
    *,
    rate: float,
    duration: float,
    seed: int,
    lanes: tuple[int, int],
    url: str,
    spans: str | None,
    skipped: Skipped,
) -> str:
    """The opening lines: what runs, where /metrics is, and the next things to look at.

    ``spans`` says where spans go (None: nowhere, so the banner says how to see them); ``skipped``, the
    scenarios whose SDK is missing and how to add them."""
    length = "until Ctrl-C" if duration == 0 else f"for {duration:g} s"
    address = url.removeprefix("http://").removesuffix("/metrics")
    spans = spans or "not exported: add --spans console to print them, or --otlp http://localhost:4317"
    apis = [
        "OpenAI",
        "Anthropic",
        *(sdk.api for extra, sdk in OPTIONAL_SDKS.items() if extra not in skipped.extras),
    ]
    missing = (
        f"  skipped     the {skipped.apis} scenarios: {skipped.missing};\n"
        f"              {skipped.install} adds them\n"
        if skipped
        else ""
    )
    return (
        f"llm-telemetry demo: fake {', '.join(apis[:-1])} and {apis[-1]} APIs on loopback (no API key, "
        f"no network), {rate:g} req/s {length}, seed {seed}, {lanes[0]} threads + {lanes[1]} async slots\n"
        f"serving Prometheus metrics at {url}\n"
        "where to look next:\n"
        f"  metrics     curl {url}, or scrape {address} from your Prometheus\n"
        f"  dashboards  Grafana > Dashboards > New > Import: upload each of {_dashboards()},\n"
        "              then pick your Prometheus data source\n"
        "  full stack  docker compose up --build (in the repository): this demo, Prometheus, Grafana with\n"
        "              the dashboards (http://localhost:3000) and Jaeger for spans (http://localhost:16686)\n"
        f"  spans       {spans}\n"
        f"{missing}"
        "Ctrl-C stops: the calls under way finish, then the summary is printed.\n"
    )


def progress_line(elapsed: float, t: Totals) -> str:
    rate = t.requests / elapsed if elapsed > 0 else 0.0
    return (
        f"[{elapsed:6.1f}s] requests {t.requests:,}  errors {t.errors:,}  "
        f"tokens in {t.input_tokens:,} out {t.output_tokens:,}  cache hit {t.cache_hit_ratio:.1%}  "
        f"spend ${t.spend_usd:.4f}  {rate:.1f} req/s"
    )


class Progress:
    """The live line: rewritten in place on a terminal, plain lines at a calmer pace otherwise (logs).

    ``plain`` forces plain lines even on a terminal, when something else (spans) prints there too."""

    def __init__(self, out: TextIO, duration: float, start: float, plain: bool = False) -> None:
        self.out = out
        try:
            self.tty = out.isatty() and not plain
        except (AttributeError, ValueError, io.UnsupportedOperation):
            self.tty = False
        self.interval = 0.5 if self.tty else (1.0 if 0 < duration <= 10 else 5.0)
        self.next = start + self.interval
        self.shown = 0  # length of the line on screen, to blank what a shorter one leaves

    def due(self, now: float) -> bool:
        return now >= self.next

    def show(self, now: float, line: str) -> None:
        self.next = now + self.interval
        self.out.write("\r" + line.ljust(self.shown) if self.tty else line + "\n")
        self.out.flush()
        self.shown = len(line)

    def end(self) -> None:
        if self.tty and self.shown:
            self.out.write("\n")
