"""Serving ``/metrics``: a standalone HTTP server, or ASGI/WSGI apps to mount in your own server.

With ``PROMETHEUS_MULTIPROC_DIR`` set (gunicorn or uvicorn workers), every variant serves the
aggregate of all worker processes through prometheus-client's multiprocess collector.

The standalone server bounds what a scraper (or anything else on the port) can hold: each connection
gets a read/write timeout, and at most :data:`MAX_THREADS` requests are served at once, so idle or
half-sent connections cannot pile up threads forever.
"""

from __future__ import annotations

import os
import socket
import threading
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import REGISTRY, CollectorRegistry, make_asgi_app, make_wsgi_app
from prometheus_client import multiprocess as _multiprocess

__all__ = ["MetricsServer", "asgi_app", "mark_process_dead", "multiprocess_enabled", "serve", "wsgi_app"]

#: Seconds a connection may sit idle or half-sent before it is dropped.
REQUEST_TIMEOUT = 10.0
#: Requests served at once; further connections wait in the listen backlog.
MAX_THREADS = 8


def multiprocess_enabled() -> bool:
    """True when prometheus-client keeps values in files shared by worker processes."""
    env = os.environ
    return bool(env.get("PROMETHEUS_MULTIPROC_DIR") or env.get("prometheus_multiproc_dir"))


def exposition_registry(registry: CollectorRegistry | None = None) -> CollectorRegistry:
    """The registry to serve: this process's, or in multiprocess mode the aggregate of all workers."""
    if multiprocess_enabled():
        aggregate = CollectorRegistry()
        _multiprocess.MultiProcessCollector(aggregate)  # type: ignore[no-untyped-call]
        return aggregate
    return registry or REGISTRY


class _Handler(WSGIRequestHandler):
    timeout = REQUEST_TIMEOUT  # socketserver applies it to the connection: reads and writes time out

    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not worth a log line each."""


class MetricsServer(ThreadingMixIn, WSGIServer):
    """A threaded WSGI server with a bound on concurrent requests (daemon threads)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._slots = threading.BoundedSemaphore(MAX_THREADS)
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        self._slots.acquire()  # wait for a slot: the accept loop holds back, the backlog queues
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A scraper that hangs up or times out is not worth a traceback on the application's stderr."""

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


class _MetricsServerV6(MetricsServer):
    address_family = socket.AF_INET6


def serve(port: int, address: str = "127.0.0.1", registry: CollectorRegistry | None = None) -> MetricsServer:
    """Serve ``/metrics`` from a daemon thread; returns the server (``.server_port``, ``.shutdown()``)."""
    server_class = _MetricsServerV6 if ":" in address else MetricsServer
    server = make_server(
        address, port, make_wsgi_app(exposition_registry(registry)), server_class, handler_class=_Handler
    )
    threading.Thread(target=server.serve_forever, name="llm-telemetry-metrics", daemon=True).start()
    return server


def asgi_app(registry: CollectorRegistry | None = None) -> Any:
    """An ASGI app serving the exposition, e.g. ``app.mount("/metrics", llm_telemetry.asgi_app())``."""
    return make_asgi_app(exposition_registry(registry))


def wsgi_app(registry: CollectorRegistry | None = None) -> Any:
    """A WSGI app serving the exposition (Flask/Django: dispatch ``/metrics`` to it)."""
    return make_wsgi_app(exposition_registry(registry))


def mark_process_dead(pid: int) -> None:
    """Call from gunicorn's ``child_exit`` hook so a dead worker's live gauges stop counting."""
    _multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
