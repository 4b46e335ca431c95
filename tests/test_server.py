"""/metrics for users who mount it in their own server: the exported WSGI and ASGI apps."""

from __future__ import annotations

import asyncio
import io
from typing import Any

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
