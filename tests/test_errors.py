"""error_type: every SDK failure maps onto the contract's closed set."""

from __future__ import annotations

import asyncio

import pytest

from llm_telemetry.errors import ERROR_TYPES, classify, classify_status


class StatusError(Exception):
    def __init__(self, status_code: int, body: object = None, message: str = "") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body


class BodyError(Exception):
    def __init__(self, body: object) -> None:
        super().__init__("An error occurred during streaming")
        self.body = body


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (StatusError(429, {"error": {"code": "rate_limit_exceeded"}}), "rate_limit"),
        (
            StatusError(429, {"error": {"code": "insufficient_quota", "message": "check your billing"}}),
            "quota",
        ),
        (StatusError(529, {"type": "error", "error": {"type": "overloaded_error"}}), "overloaded"),
        (StatusError(503, {"error": {"message": "Overloaded"}}), "overloaded"),
        (StatusError(500), "server"),
        (StatusError(502), "server"),
        (StatusError(401), "auth"),
        (StatusError(403), "permission"),
        (StatusError(404), "not_found"),
        (StatusError(408), "timeout"),
        (StatusError(409), "conflict"),
        (StatusError(413), "request_too_large"),
        (StatusError(400, {"error": {"code": "context_length_exceeded"}}), "context_length"),
        (
            StatusError(400, {"type": "error", "error": {"message": "prompt is too long: 210000 tokens"}}),
            "context_length",
        ),
        (StatusError(400, {"error": {"code": "content_filter"}}), "content_filter"),
        (StatusError(400, {"error": {"message": "invalid model"}}), "bad_request"),
        (StatusError(422), "bad_request"),
        (BodyError({"type": "error", "error": {"type": "rate_limit_error"}}), "rate_limit"),
        (BodyError({"type": "error", "error": {"type": "overloaded_error"}}), "overloaded"),
        (BodyError({"error": {"code": "server_error"}}), "server"),
        (TimeoutError(), "timeout"),
        (asyncio.TimeoutError(), "timeout"),
        (ConnectionResetError(), "connection"),
        (ValueError("boom"), "other"),
    ],
)
def test_classify(exc: BaseException, expected: str) -> None:
    assert classify(exc) == expected
    assert expected in ERROR_TYPES


def test_every_status_maps_into_the_closed_set() -> None:
    assert {classify_status(status) for status in range(400, 600)} <= set(ERROR_TYPES)
