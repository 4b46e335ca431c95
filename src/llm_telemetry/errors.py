"""Map any SDK failure onto the contract's closed set of ``error_type`` values.

Works on duck-typed attributes (``status_code``, ``body``, ``code``, class names) so one function
serves the openai, anthropic and litellm exception hierarchies without importing any of them.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from .contract import ERROR_TYPES

__all__ = ["ERROR_TYPES", "classify", "classify_retry", "classify_status"]


_BY_STATUS: dict[int, str] = {
    400: "bad_request",
    401: "auth",
    402: "quota",
    403: "permission",
    404: "not_found",
    408: "timeout",
    409: "conflict",
    413: "request_too_large",
    422: "bad_request",
    429: "rate_limit",
    529: "overloaded",
}

_CONTEXT_MARKERS = (
    "context_length_exceeded",
    "context length",
    "context window",
    "maximum context",
    "prompt is too long",
    "too many tokens",
)
_FILTER_MARKERS = ("content_filter", "content_policy", "content management policy", "responsibleai")
_QUOTA_MARKERS = ("insufficient_quota", "billing", "quota")

# Class-name fallbacks for exceptions that carry no status (checked in order, most specific first).
_BY_NAME: tuple[tuple[str, str], ...] = (
    ("ContextWindowExceeded", "context_length"),
    ("ContentPolicy", "content_filter"),
    ("ValidationError", "validation"),
    ("InstructorRetryException", "validation"),
    ("IncompleteOutput", "length"),
    ("LengthFinishReason", "length"),
    ("Timeout", "timeout"),
    ("RateLimit", "rate_limit"),
    ("Overloaded", "overloaded"),
    ("Authentication", "auth"),
    ("PermissionDenied", "permission"),
    ("NotFound", "not_found"),
    ("RemoteProtocolError", "stream_interrupted"),
    ("ReadError", "stream_interrupted"),
    ("IncompleteRead", "stream_interrupted"),
    ("Connect", "connection"),
    ("Connection", "connection"),
    ("NetworkError", "connection"),
    ("ServiceUnavailable", "server"),
    ("InternalServer", "server"),
    ("BadRequest", "bad_request"),
)


#: Providers' error ``type``/``code`` strings (Anthropic's, OpenAI's) for errors with no HTTP status.
_BY_BODY_TYPE = {
    "overloaded_error": "overloaded",
    "rate_limit_error": "rate_limit",
    "rate_limit_exceeded": "rate_limit",
    "insufficient_quota": "quota",
    "billing_error": "quota",
    "api_error": "server",
    "server_error": "server",
    "timeout_error": "timeout",
    "authentication_error": "auth",
    "permission_error": "permission",
    "not_found_error": "not_found",
    "request_too_large": "request_too_large",
    "context_length_exceeded": "context_length",
    "content_filter": "content_filter",
    "invalid_request_error": "bad_request",
}


def _body_type(exc: BaseException) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            for key in ("type", "code"):
                value = err.get(key)
                if isinstance(value, str) and value in _BY_BODY_TYPE:
                    return value
    return ""


def _text(exc: BaseException) -> str:
    parts = [str(getattr(exc, "code", "") or ""), str(getattr(exc, "type", "") or "")]
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            parts.extend(str(err.get(k, "") or "") for k in ("code", "type", "message"))
    with contextlib.suppress(Exception):
        parts.append(str(exc))
    return " ".join(parts).lower()


def classify_status(status: int, text: str = "") -> str:
    """``error_type`` of an HTTP status, refined by the provider's error body text."""
    if status in (400, 413, 422) and any(m in text for m in _CONTEXT_MARKERS):
        return "context_length"
    if status in (400, 403, 422) and any(m in text for m in _FILTER_MARKERS):
        return "content_filter"
    if status == 429 and any(m in text for m in _QUOTA_MARKERS):
        return "quota"
    if "overloaded" in text and status in (503, 529):
        return "overloaded"
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return "server"
    if 400 <= status < 500:
        return "bad_request"
    return "other"


def classify(exc: BaseException) -> str:
    """The contract's ``error_type`` for an exception raised by an SDK or a layer above it."""
    status = getattr(exc, "status_code", None)
    if not isinstance(status, int):
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
    if isinstance(status, int) and not isinstance(status, bool) and status >= 400:
        return classify_status(status, _text(exc))
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return "timeout"
    by_type = _BY_BODY_TYPE.get(_body_type(exc))
    if by_type is not None:  # an error event inside a 200 stream carries only its body's type
        return by_type
    names = [cls.__name__ for cls in type(exc).__mro__]
    for marker, error_type in _BY_NAME:
        if any(marker in name for name in names):
            return error_type
    if isinstance(exc, ConnectionError):
        return "connection"
    return "other"


def classify_retry(exc: BaseException | None, response: Any) -> str:
    """``error_type`` of one SDK-level retried attempt (a failed response, or an exception)."""
    status = getattr(response, "status_code", None)
    if isinstance(status, int) and status >= 400:
        text = ""
        try:
            text = response.text.lower() if getattr(response, "is_closed", True) else ""
        except Exception:
            text = ""
        return classify_status(status, text)
    if exc is not None:
        error_type = classify(exc)
        return "connection" if error_type == "stream_interrupted" else error_type
    return "other"
