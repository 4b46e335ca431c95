"""/metrics: the exported WSGI and ASGI apps, and the standalone server's bounds on idle connections."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Counter

import llm_telemetry


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    Counter("llm_telemetry_probe", "probe", registry=registry).inc(3)
    return registry


def test_wsgi_app_serves_the_exposition() -> None:
    app = llm_telemetry.wsgi_app(_registry())
    status: list[str] = []
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/metrics",
        "QUERY_STRING": "",
        "wsgi.input": io.BytesIO(),
    }
    body = b"".join(app(environ, lambda s, headers: status.append(s)))
    assert status == ["200 OK"]
    assert b"llm_telemetry_probe_total 3.0" in body


def test_asgi_app_serves_the_exposition() -> None:
    app = llm_telemetry.asgi_app(_registry())
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/metrics", "query_string": b"", "headers": []}
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 200
    assert b"llm_telemetry_probe_total 3.0" in b"".join(m.get("body", b"") for m in sent[1:])


def test_idle_connections_hold_bounded_threads_and_are_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    """Half-sent or idle connections to /metrics cannot pile up threads, and time out."""
    import socket
    import threading
    import time
    import urllib.request

    from llm_telemetry.exporters import server

    monkeypatch.setattr(server._Handler, "timeout", 0.5)
    metrics = server.serve(0, "127.0.0.1", CollectorRegistry())
    port = metrics.server_port
    try:
        before = threading.active_count()
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(3 * server.MAX_THREADS)]
        time.sleep(0.2)
        assert threading.active_count() - before <= server.MAX_THREADS
        for sock in idle:  # each is dropped after the timeout (EOF), oldest first
            sock.settimeout(10)
            assert sock.recv(1) == b""
            sock.close()
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
        assert body.startswith(b"#") or body == b""
    finally:
        metrics.shutdown()
        metrics.server_close()
