"""What every dialect of the fake provider renders to: a request view in, a body or an event stream out.

Kept apart from the HTTP server so each provider's wire format lives in its own module (OpenAI and
Anthropic in ``_fakeprovider``, Gemini in ``_gemini``, Bedrock in ``_bedrock``) and none imports another.
Standard library only.
"""

from __future__ import annotations

import itertools
import json
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

JSONDict: TypeAlias = dict[str, Any]

_ids = itertools.count(1)


def _new_id(prefix: str) -> str:
    """Unique, recognisably fake ids, so a test can tell two responses apart."""
    return f"{prefix}{next(_ids):06d}"


@dataclass(frozen=True, slots=True)
class _Request:
    """The request as the renderers see it: its route (``None`` if unknown), raw path and JSON body."""

    route: str | None
    path: str
    body: JSONDict

    @property
    def stream(self) -> bool:
        return self.body.get("stream") is True

    @property
    def include_usage(self) -> bool:
        options = self.body.get("stream_options")
        return isinstance(options, dict) and options.get("include_usage") is True

    @property
    def model(self) -> str | None:
        model = self.body.get("model")
        return model if isinstance(model, str) else None


@dataclass(frozen=True, slots=True)
class _Body:
    status: int
    content_type: str
    body: bytes
    headers: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class _Stream:
    """A 200 answered with chunked frames (SSE text or AWS event-stream binary), one write per frame.

    ``die_after=N`` closes the socket abruptly after N frames (no terminating chunk).
    """

    events: list[bytes]
    die_after: int | None
    content_type: str = "text/event-stream; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)
    #: Frame index -> seconds to wait before sending it.
    delays: Mapping[int, float] = field(default_factory=dict)


def _dumps(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"))


def _json(obj: object, status: int = 200, headers: Mapping[str, str] | None = None) -> _Body:
    return _Body(status, "application/json", _dumps(obj).encode(), headers or {})


def _data_event(obj: object, end: str = "\n\n") -> bytes:
    return f"data: {_dumps(obj)}{end}".encode()


def _named_event(name: str, obj: object) -> bytes:
    return f"event: {name}\ndata: {_dumps(obj)}\n\n".encode()


@dataclass(frozen=True, slots=True)
class _PathRoutes:
    """Routes of an API whose path names the model and the method (Gemini ``models/{m}:{method}``,
    Bedrock ``/model/{m}/{operation}``): ``pattern`` captures the two, ``methods`` maps a method to
    its route."""

    pattern: re.Pattern[str]
    methods: Mapping[str, str]

    def route(self, path: str) -> str | None:
        """The route of a path whose query string is already stripped."""
        match = self.pattern.search(path)
        return self.methods.get(match.group(2)) if match else None

    def model(self, req: _Request) -> str | None:
        """The model named in the request's path, URL-decoded."""
        match = self.pattern.search(req.path.split("?", 1)[0])
        return urllib.parse.unquote(match.group(1)) if match else None
