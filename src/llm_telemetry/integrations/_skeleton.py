"""The shape every SDK integration shares: prepare -> the owned SDK call -> settle, sync and async.

An integration supplies tables (its :class:`Endpoint` per hooked method, its request-attribute table)
and one ``prepare`` that reads the SDK call's arguments into a started :class:`~..record.Call`.
This module turns them into ``wrapt`` wrappers: the SDK call runs inside ``with call`` (inner
instrumented layers stay silent, an exception ends the call), a raw response is parsed, a stream is
wrapped in the one stream proxy, any other result is handed to the endpoint's ``finish``.

One guard per boundary: ``prepare`` failing leaves the call unrecorded (guarded here, so an
integration's ``prepare`` needs no guard of its own), ``finish`` failing records a success without
usage; both are counted as internal errors, neither reaches the caller.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar, cast
from urllib.parse import urlsplit

from ..contract import is_cancellation
from ..record import Call, current_call, internal_error
from ..streams import AsyncStreamProxy, StreamProxy, StreamRequest, StreamState

__all__ = [
    "NO_STREAM_REQUEST",
    "Endpoint",
    "StreamRequest",
    "async_wrapper",
    "classified",
    "field",
    "guarded",
    "is_raw_response",
    "refused_locally",
    "server_of_url",
    "settle",
    "sync_wrapper",
]

P = ParamSpec("P")
T = TypeVar("T")
Wrapper = Callable[[Callable[..., Any], Any, Any, Any], Any]


#: For calls that ask nothing of the stream (usage always arrives, or is never reported).
NO_STREAM_REQUEST = StreamRequest(requested=True)

#: ``prepare(endpoint, instance, args, kwargs) -> (call, stream request)``; call None: not recorded.
Prepare = Callable[["Endpoint", Any, Any, dict[str, Any]], tuple[Call | None, StreamRequest]]
#: Runs the SDK method for a recorded call (a policy may send the request once more).
Invoke = Callable[[Callable[..., Any], Any, dict[str, Any], StreamRequest], Any]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """How one hooked SDK method maps onto the recording path."""

    operation: str
    #: Records a complete (non-streamed) result on the call.
    finish: Callable[[Call, Any], None]
    #: The stream state for streamed results (None: this method never streams).
    state: type[StreamState] | None = None
    #: The stream sends its request on the first ``next()`` (LiteLLM): own that first read too.
    lazy_stream: bool = False
    #: Tells the SDK's local refusals (raised before anything is sent) from failed requests.
    refused: Callable[[BaseException], bool] | None = None


def guarded(stage: str, fallback: Any) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """The entry-point guard: ``func`` returns ``fallback`` instead of raising into the LLM call."""

    def decorate(func: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(func)
        def safe(*args: P.args, **kwargs: P.kwargs) -> T:
            try:
                return func(*args, **kwargs)
            except Exception as exc:
                internal_error(stage, exc)
                return cast(T, fallback)

        return safe

    return decorate


def field(obj: Any, name: str) -> Any:
    """``obj[name]`` for dicts, ``obj.name`` otherwise; None when absent."""
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def refused_locally(exc: BaseException) -> bool:
    """Stainless SDKs validate arguments before sending and raise a plain ``ValueError`` /
    ``TypeError`` (Anthropic's "streaming is required", missing arguments); everything raised after
    a request went out is one of the SDK's own exception classes."""
    return type(exc) is ValueError or type(exc) is TypeError


_servers: dict[str, tuple[str | None, int | None]] = {}


def server_of_url(url: object) -> tuple[str | None, int | None]:
    """``server.address`` and ``server.port`` of a base URL (cached per URL; (None, None) if not one)."""
    if not isinstance(url, str) or not url:
        return None, None
    found = _servers.get(url)
    if found is None:
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            port = None
        found = (
            (parts.hostname, port or (443 if parts.scheme == "https" else 80))
            if parts.hostname
            else (None, None)
        )
        if len(_servers) < 1024:
            _servers[url] = found
    return found


def classified(error_type: Callable[[BaseException], str]) -> tuple[Invoke, Invoke]:
    """Sync and async invokes that end a failed call with the SDK's own ``error_type`` of the exception
    (SDKs whose errors carry no ``status_code``), or discard it when the endpoint says it was refused
    locally; cancellations are left to the call itself."""

    def failed(exc: BaseException) -> None:
        call = current_call()
        if call is None or call.done or is_cancellation(exc):
            return
        try:
            if call.refused is not None and call.refused(exc):
                call.discard()
            else:
                call.fail(exc, error_type(exc))
        except Exception as err:
            internal_error("result", err)

    def invoke(wrapped: Callable[..., Any], args: Any, kwargs: dict[str, Any], request: StreamRequest) -> Any:
        try:
            return wrapped(*args, **kwargs)
        except BaseException as exc:
            failed(exc)
            raise

    async def invoke_async(
        wrapped: Callable[..., Awaitable[Any]], args: Any, kwargs: dict[str, Any], request: StreamRequest
    ) -> Any:
        try:
            return await wrapped(*args, **kwargs)
        except BaseException as exc:
            failed(exc)
            raise

    return invoke, invoke_async


#: Result type -> whether it is a raw-response wrapper (a handful of types per SDK: decided once each,
#: since a failed ``hasattr`` on a pydantic model costs microseconds).
_raw_types: dict[type, bool] = {}


def is_raw_response(result: Any) -> bool:
    """True for Stainless SDKs' ``with_raw_response`` / ``with_streaming_response`` wrappers."""
    cls = type(result)
    found = _raw_types.get(cls)
    if found is None:
        found = _raw_types[cls] = hasattr(result, "http_response") and hasattr(result, "_parsed_by_type")
    return found


def _replace_parsed(raw: Any, parsed: Any, replacement: Any) -> None:
    """Make the raw response's cached ``parse()`` result our stream proxy, so the caller iterates it."""
    cache = raw._parsed_by_type
    for key, value in list(cache.items()):
        if value is parsed:
            cache[key] = replacement


def _is_stream(result: Any) -> bool:
    cls = type(result)
    return hasattr(cls, "__next__") or hasattr(cls, "__anext__")


def _plain(wrapped: Callable[..., Any], args: Any, kwargs: dict[str, Any], request: StreamRequest) -> Any:
    return wrapped(*args, **kwargs)


async def _plain_async(
    wrapped: Callable[..., Awaitable[Any]], args: Any, kwargs: dict[str, Any], request: StreamRequest
) -> Any:
    return await wrapped(*args, **kwargs)


def settle(
    ep: Endpoint, call: Call, result: Any, parsed: Any, request: StreamRequest, proxy: type[Any]
) -> Any:
    """Record a complete result, or wrap a stream (inside a raw response too); returns the caller's result."""
    try:
        if call.stream and ep.state is not None and _is_stream(parsed):
            state = ep.state(call, request)
            state.attach(parsed)
            next_chunk = _owned_first(call, proxy, parsed) if ep.lazy_stream else None
            wrapped = proxy(parsed, state, next_chunk)
            if parsed is result:
                return wrapped
            _replace_parsed(result, parsed, wrapped)
            return result
        ep.finish(call, parsed)
    except Exception as exc:
        internal_error("result", exc)
        call.succeed(None)
    return result


def sync_wrapper(ep: Endpoint, prepare: Prepare, invoke: Invoke | None = None) -> Wrapper:
    """The ``wrapt`` wrapper of a synchronous SDK method."""
    run = invoke or _plain

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        try:
            call, request = prepare(ep, instance, args, kwargs)
        except Exception as exc:
            internal_error("begin", exc)
            call = None
        if call is None:
            return wrapped(*args, **kwargs)
        call.refused = ep.refused
        with call:
            result = run(wrapped, args, kwargs, request)
        parsed = result
        if _raw_types.get(type(result)) is not False and is_raw_response(result):
            try:
                parsed = result.parse()
            except Exception as exc:  # the caller meets the same error when it parses
                call.fail(exc)
                return result
        return settle(ep, call, result, parsed, request, StreamProxy)

    return wrapper


def async_wrapper(ep: Endpoint, prepare: Prepare, invoke: Invoke | None = None) -> Wrapper:
    """The ``wrapt`` wrapper of an asynchronous SDK method (``invoke`` returns an awaitable)."""
    run = invoke or _plain_async

    async def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        try:
            call, request = prepare(ep, instance, args, kwargs)
        except Exception as exc:
            internal_error("begin", exc)
            call = None
        if call is None:
            return await wrapped(*args, **kwargs)
        call.refused = ep.refused
        with call:
            result = await run(wrapped, args, kwargs, request)
        parsed = result
        if _raw_types.get(type(result)) is not False and is_raw_response(result):
            try:
                parsed = result.parse()
                if inspect.isawaitable(parsed):
                    parsed = await parsed
            except Exception as exc:
                call.fail(exc)
                return result
        return settle(ep, call, result, parsed, request, AsyncStreamProxy)

    return wrapper


def _owned_first(call: Call, proxy: type[Any], stream: Any) -> Callable[[], Any]:
    """The stream's ``next`` whose first call runs as the call's own invocation (later ones add one check)."""
    if proxy is AsyncStreamProxy:
        inner_async: Callable[[], Awaitable[Any]] = (
            stream.__anext__ if hasattr(type(stream), "__anext__") else stream.__aiter__().__anext__
        )
        started_async = False

        async def first() -> Any:
            call.__enter__()  # owned, but the proxy (not an exception here) ends the call
            try:
                return await inner_async()
            finally:
                call.__exit__(None, None, None)

        def next_async() -> Awaitable[Any]:
            nonlocal started_async
            if started_async:
                return inner_async()
            started_async = True
            return first()

        return next_async

    inner: Callable[[], Any] = stream.__next__ if hasattr(type(stream), "__next__") else iter(stream).__next__
    started = False

    def next_chunk() -> Any:
        nonlocal started
        if started:
            return inner()
        started = True
        call.__enter__()
        try:
            return inner()
        finally:
            call.__exit__(None, None, None)

    return next_chunk
