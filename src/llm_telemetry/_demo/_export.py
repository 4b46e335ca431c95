"""Where the demo's spans (and OTel metrics) go: nowhere by default, the console, or an OTLP endpoint.

Chosen by the command's entry point before the workload starts, not by ``run_demo``: a process has
one global TracerProvider, which only an application's entry point should choose.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from opentelemetry import metrics, trace

from ._errors import DemoError

__all__ = ["SpanExport", "export_spans"]

_INSTALL = "pip install 'llm-telemetry[otel]'"


def _nothing() -> None:
    pass


@dataclass(frozen=True)
class SpanExport:
    """Where spans go, for the banner (None: nowhere), and what flushes them at the end."""

    where: str | None = None
    shutdown: Callable[[], None] = field(default=_nothing)


def export_spans(console: bool, otlp: str | None, err: TextIO) -> SpanExport:
    """Install the global providers for ``--spans console`` and ``--otlp ENDPOINT`` (or, as in the
    compose stack, ``OTEL_EXPORTER_OTLP_ENDPOINT``). A missing SDK is a :class:`DemoError` when a flag
    asked for it, a note when only the environment did."""
    endpoint = otlp or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if not console and not endpoint:
        return SpanExport()
    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return SpanExport(
            "sent to this process's TracerProvider (configured before, e.g. opentelemetry-instrument)"
        )
    try:
        return _install(console, endpoint, otlp)
    except ImportError as exc:
        missing = f"{exc.name or 'the OpenTelemetry SDK'} is not installed; install it with {_INSTALL}"
        if console or otlp:
            flag = "--spans console" if console else "--otlp"
            raise DemoError(f"{flag} needs the OpenTelemetry SDK and exporters: {missing}") from None
        err.write(f"note: OTEL_EXPORTER_OTLP_ENDPOINT is set but {missing}; nothing is exported over OTLP\n")
        return SpanExport()


def _install(console: bool, endpoint: str | None, flag_endpoint: str | None) -> SpanExport:
    """Import everything first (an ImportError leaves the process untouched), then set the providers.
    ``flag_endpoint`` is ``--otlp``'s; without it the exporters read OTEL_EXPORTER_OTLP_ENDPOINT."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor

    protocol = "grpc" if os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc") == "grpc" else "http/protobuf"
    exporters = _otlp_exporters(protocol, flag_endpoint) if endpoint else None
    tracer_provider = TracerProvider()  # resource from OTEL_SERVICE_NAME & co.
    shutdowns: list[Callable[[], Any]] = [tracer_provider.shutdown]
    where = []
    if console:

        def one_line(span: ReadableSpan) -> str:
            return f"{span.to_json(indent=None)}\n"

        exporter = ConsoleSpanExporter(out=sys.stderr, formatter=one_line)
        tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
        where.append("printed to stderr, one JSON object per line")
    if exporters is not None:
        spans, points = exporters
        tracer_provider.add_span_processor(BatchSpanProcessor(spans))
        meter_provider = MeterProvider(metric_readers=[PeriodicExportingMetricReader(points)])
        metrics.set_meter_provider(meter_provider)
        shutdowns.append(meter_provider.shutdown)
        where.append(f"sent over OTLP ({protocol}) to {endpoint}, with the gen_ai.client.* metrics")
    trace.set_tracer_provider(tracer_provider)

    def shutdown() -> None:
        for stop in shutdowns:
            stop()

    return SpanExport("; ".join(where), shutdown)


def _otlp_exporters(protocol: str, endpoint: str | None) -> tuple[Any, Any]:
    """(span exporter, metric exporter). Without an endpoint they read the OTEL_EXPORTER_OTLP_* variables
    themselves; an http/protobuf endpoint is a base URL, as in those variables."""
    kind = "grpc" if protocol == "grpc" else "http"
    spans = importlib.import_module(f"opentelemetry.exporter.otlp.proto.{kind}.trace_exporter")
    points = importlib.import_module(f"opentelemetry.exporter.otlp.proto.{kind}.metric_exporter")
    if endpoint is None:
        return spans.OTLPSpanExporter(), points.OTLPMetricExporter()
    if kind == "http":
        base = endpoint.rstrip("/")
        return spans.OTLPSpanExporter(endpoint=f"{base}/v1/traces"), points.OTLPMetricExporter(
            endpoint=f"{base}/v1/metrics"
        )
    return spans.OTLPSpanExporter(endpoint=endpoint), points.OTLPMetricExporter(endpoint=endpoint)
