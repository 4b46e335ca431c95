"""Serving ``/metrics``: a standalone HTTP server, or ASGI/WSGI apps to mount in your own server.

With ``PROMETHEUS_MULTIPROC_DIR`` set (gunicorn or uvicorn workers), every variant serves the
aggregate of all worker processes through prometheus-client's multiprocess collector.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, make_asgi_app, make_wsgi_app, start_http_server
from prometheus_client import multiprocess as _multiprocess

__all__ = ["asgi_app", "mark_process_dead", "multiprocess_enabled", "serve", "wsgi_app"]


def multiprocess_enabled() -> bool:
    """True when prometheus-client keeps values in files shared by worker processes."""
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def exposition_registry(registry: CollectorRegistry | None = None) -> CollectorRegistry:
    """The registry to serve: this process's, or in multiprocess mode the aggregate of all workers."""
    if multiprocess_enabled():
        aggregate = CollectorRegistry()
        _multiprocess.MultiProcessCollector(aggregate)  # type: ignore[no-untyped-call]
        return aggregate
    return registry or REGISTRY


def serve(port: int, address: str = "127.0.0.1", registry: CollectorRegistry | None = None) -> Any:
    """Start a daemon HTTP server for ``/metrics``; returns the server (``.server_port``, ``.shutdown()``)."""
    result = start_http_server(port, addr=address, registry=exposition_registry(registry))
    return result[0] if isinstance(result, tuple) else result


def asgi_app(registry: CollectorRegistry | None = None) -> Any:
    """An ASGI app serving the exposition, e.g. ``app.mount("/metrics", llm_telemetry.asgi_app())``."""
    return make_asgi_app(exposition_registry(registry))


def wsgi_app(registry: CollectorRegistry | None = None) -> Any:
    """A WSGI app serving the exposition (Flask/Django: dispatch ``/metrics`` to it)."""
    return make_wsgi_app(exposition_registry(registry))


def mark_process_dead(pid: int) -> None:
    """Call from gunicorn's ``child_exit`` hook so a dead worker's live gauges stop counting."""
    _multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
