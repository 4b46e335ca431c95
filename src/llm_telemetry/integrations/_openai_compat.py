"""OpenAI-style chat streams, shared by the openai and litellm integrations: the usage-request policy.

An OpenAI-style chat stream reports usage only when asked (``stream_options.include_usage``), in a
final chunk with no choices. The policy, which cannot break a call:

* the caller's own ``include_usage`` is always respected, and we never hide what they asked for;
* we never add ``stream_options`` where the server is known to reject it (Mistral's API, Azure
  api-versions before 2024-09-01-preview), nor where the server sends usage anyway;
* a server that answers 400/422 naming ``stream_options`` gets the request once more, without it,
  transparently, and that host is remembered;
* the usage-only chunk we asked for is hidden from the caller (``choices`` is empty, so a plain
  ``chunk.choices[0]`` loop would fail), unless the server would have sent it uninstrumented
  (llama.cpp's ``timings`` chunk, LiteLLM proxy's headers): then the caller gets it, as before.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ._skeleton import StreamRequest

__all__ = [
    "always_sends_usage",
    "ask_for_usage",
    "hides",
    "invoke",
    "invoke_async",
    "learn_always",
    "sends_usage_anyway",
]

#: Hosts (dot boundary) whose API rejects unknown request fields such as ``stream_options``.
_STRICT_HOSTS = ("mistral.ai",)
#: Azure OpenAI accepts ``stream_options`` from this api-version on.
_AZURE_FIRST_VERSION = "2024-09-01"
_AZURE_VERSION = re.compile(r"^(\d{4}-\d{2}-\d{2})")
_MEMORY = 1024
#: Hosts that rejected ``stream_options``, and hosts seen sending usage without being asked.
_rejecting: set[str] = set()
_always: set[str] = set()


def _on(host: str, suffixes: tuple[str, ...]) -> bool:
    return any(host == s or host.endswith("." + s) for s in suffixes)


def _remember(hosts: set[str], host: str) -> None:
    if host and len(hosts) < _MEMORY:
        hosts.add(host)


def ask_for_usage(
    kwargs: dict[str, Any], inject: bool, host: str, azure_version: str | None = None
) -> StreamRequest:
    """Decide what to ask of a chat stream, adding ``stream_options`` to ``kwargs`` if we ask."""
    choices = kwargs.get("n")
    request = StreamRequest(False, host=host, choices=choices if type(choices) is int and choices > 1 else 1)
    options = kwargs.get("stream_options")
    if isinstance(options, dict) and "include_usage" in options:
        request.requested = bool(options["include_usage"])
    elif host in _always:
        request.requested = True
    elif inject and host not in _rejecting and not _on(host, _STRICT_HOSTS) and not _old_azure(azure_version):
        kwargs["stream_options"] = (
            {**options, "include_usage": True} if isinstance(options, dict) else {"include_usage": True}
        )
        request.requested = request.hide = request.injected = True
    return request


def _old_azure(version: str | None) -> bool:
    match = _AZURE_VERSION.match(version or "")
    return match is not None and match.group(1) < _AZURE_FIRST_VERSION


def _rejects_stream_options(exc: BaseException) -> bool:
    status = getattr(exc, "status_code", None)
    if status not in (400, 422):
        return False
    return "stream_options" in f"{exc} {getattr(exc, 'body', '')}"


def _without_stream_options(kwargs: dict[str, Any], request: StreamRequest) -> None:
    """Undo our ``stream_options`` after the server rejected it, and remember the host."""
    _remember(_rejecting, request.host)
    options = kwargs.pop("stream_options", None)
    if isinstance(options, dict) and len(options) > 1:  # the caller's own options stay
        kwargs["stream_options"] = {k: v for k, v in options.items() if k != "include_usage"}
    request.requested = request.hide = request.injected = False


def invoke(wrapped: Callable[..., Any], args: Any, kwargs: dict[str, Any], request: StreamRequest) -> Any:
    """Runs the SDK method; once more without ``stream_options`` if the server rejected ours."""
    try:
        return wrapped(*args, **kwargs)
    except Exception as exc:
        if not (request.injected and _rejects_stream_options(exc)):
            raise
    _without_stream_options(kwargs, request)
    return wrapped(*args, **kwargs)


async def invoke_async(
    wrapped: Callable[..., Awaitable[Any]], args: Any, kwargs: dict[str, Any], request: StreamRequest
) -> Any:
    """:func:`invoke` for async SDK methods."""
    try:
        return await wrapped(*args, **kwargs)
    except Exception as exc:
        if not (request.injected and _rejects_stream_options(exc)):
            raise
    _without_stream_options(kwargs, request)
    return await wrapped(*args, **kwargs)


def always_sends_usage(headers: Mapping[str, str] | None) -> bool:
    """The response comes from a server that streams usage whether asked or not (LiteLLM proxy).

    LiteLLM's proxy adds ``x-litellm-*`` headers to every response
    (https://docs.litellm.ai/docs/proxy/response_headers) and can be set to always include usage.
    """
    if not headers:
        return False
    return any(name.lower().startswith("x-litellm-") for name in headers)


def sends_usage_anyway(chunk_extra: Mapping[str, Any] | None) -> bool:
    """The usage chunk itself shows a server that always sends it: llama.cpp adds ``timings``.

    https://github.com/ggml-org/llama.cpp/issues/16048 (llama-server always sends the usage chunk,
    with ``timings``, since PR #15444).
    """
    return bool(chunk_extra) and "timings" in chunk_extra  # type: ignore[operator]


def hides(request_hide: bool, complete: bool, has_choices: bool) -> bool:
    """Whether a choice-less chunk is the usage chunk we asked for (and must not reach the caller).

    Only after every choice finished: Azure's first chunk (prompt filter results) has no choices too.
    """
    return request_hide and complete and not has_choices


def learn_always(host: str) -> None:
    """Remember a host that sends usage unasked: no injection, nothing hidden from now on."""
    _remember(_always, host)
