"""Opt-in content capture: prompts and completions as GenAI-convention span attributes.

Only ever called when ``capture_content`` is on (or ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``);
otherwise no text leaves the caller's objects and no work scales with prompt or stream length.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

__all__ = ["input_json", "output_json"]

#: Span attribute values are bounded so one huge prompt cannot blow up an exporter batch.
MAX_CHARS = 64 * 1024


def _bounded(text: str) -> str:
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS] + "...[truncated]"


def _plain(value: Any) -> Any:
    """SDK pydantic objects and iterables as JSON-able data."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json", exclude_none=True)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


def input_json(value: Any) -> str:
    """The request's messages (or prompt, or input) as a JSON string."""
    if isinstance(value, str):
        value = [{"role": "user", "parts": [{"type": "text", "content": value}]}]
    return _bounded(json.dumps(_plain(value), default=str, ensure_ascii=False))


def output_json(texts: Sequence[str], finish_reasons: Sequence[str]) -> str:
    """Assistant output in the conventions' shape: one message per choice."""
    messages = [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": text}],
            "finish_reason": finish_reasons[i] if i < len(finish_reasons) else "",
        }
        for i, text in enumerate(texts)
    ]
    return _bounded(json.dumps(messages, ensure_ascii=False))
