"""The ``llm-telemetry`` command: ``demo`` (a no-key, no-network instrumented workload) and ``version``.

Heavy imports (the SDKs, the demo) happen inside the subcommand that needs them, so ``version`` and
``--help`` stay instant.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from ._version import __version__
from .config import ConfigError

__all__ = ["main"]


def _non_negative(text: str) -> float:
    value = float(text)
    if not value >= 0:  # also rejects nan
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0-65535, got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llm-telemetry",
        description="Exact token, cost, latency and error telemetry for LLM SDK calls.",
    )
    parser.add_argument("--version", action="version", version=f"llm-telemetry {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="run a realistic instrumented workload against a local fake provider (no API key, no network)",
        description="Drive a mixed OpenAI + Anthropic workload through the real SDKs against a local fake "
        "provider, serve the resulting Prometheus metrics until Ctrl-C, and print a live summary.",
    )
    demo.add_argument(
        "--duration",
        type=_non_negative,
        default=0.0,
        metavar="SECONDS",
        help="stop after this many seconds, for scripted use (default 0: until Ctrl-C)",
    )
    demo.add_argument("--rate", type=_positive, default=5.0, metavar="REQ_PER_SEC", help="default 5")
    demo.add_argument(
        "--port",
        type=_port,
        default=9464,
        help="port to serve /metrics on; 0 picks a free one (default 9464)",
    )
    demo.add_argument("--host", default="127.0.0.1", help="address to serve /metrics on (default 127.0.0.1)")
    demo.add_argument("--seed", type=int, default=0, help="seed of the request mix (default 0)")
    demo.add_argument("--quiet", action="store_true", help="no banner or live progress, only the summary")
    demo.add_argument(
        "--spans",
        choices=("console",),
        help="console: print each span to stderr as one JSON line (needs the otel extra)",
    )
    demo.add_argument(
        "--otlp",
        metavar="ENDPOINT",
        help="send spans and gen_ai.client.* metrics over OTLP, e.g. http://localhost:4317 (protocol from "
        "OTEL_EXPORTER_OTLP_PROTOCOL, default grpc; needs the otel extra)",
    )
    commands.add_parser("version", help="print the versions llm_telemetry_build_info reports")
    return parser


def _versions() -> list[tuple[str, str]]:
    """The labels of ``llm_telemetry_build_info``, read the same way."""
    from .instrumentation import sdk_versions
    from .pricing import Pricer

    sdks = [(name, version or "not installed") for name, version in sdk_versions().items()]
    return [("llm-telemetry", __version__), *sdks, ("prices", Pricer(None).version)]


def _demo(args: argparse.Namespace) -> int:
    missing = [sdk for sdk in ("openai", "anthropic") if importlib.util.find_spec(sdk) is None]
    if missing:
        print(
            f"llm-telemetry demo drives the real SDKs; missing: {', '.join(missing)}. "
            "Install them with: pip install 'llm-telemetry[openai,anthropic]'",
            file=sys.stderr,
        )
        return 1
    from ._demo import DemoError, SpanExport, export_spans, run_demo

    # The first Ctrl-C (or SIGTERM, e.g. docker stop) ends the run gracefully: calls under way
    # finish and the summary is printed. A second Ctrl-C interrupts at once.
    stop = threading.Event()

    def graceful(signum: int, frame: FrameType | None) -> None:
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = {sig: signal.signal(sig, graceful) for sig in (signal.SIGINT, signal.SIGTERM)}
    export = SpanExport()
    try:
        export = export_spans(args.spans == "console", args.otlp, sys.stderr)
        summary = run_demo(
            duration=args.duration,
            rate=args.rate,
            port=args.port,
            host=args.host,
            seed=args.seed,
            quiet=args.quiet,
            stop=stop,
            spans=export.where,
        )
    except (DemoError, ConfigError) as exc:  # e.g. the port is taken, the OTel SDK is missing
        print(f"llm-telemetry demo: {exc}", file=sys.stderr)
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        export.shutdown()
    return 0 if not summary.unexpected else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``llm-telemetry`` console script and of ``python -m llm_telemetry``."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "version":
            versions = _versions()
            width = max(len(name) for name, _ in versions)
            for name, version in versions:
                print(f"{name.ljust(width)}  {version}")
            return 0
        return _demo(args)
    except KeyboardInterrupt:  # a second Ctrl-C, or one before the demo could take over
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
