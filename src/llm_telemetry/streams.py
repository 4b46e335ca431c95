"""One generic stream proxy (sync and async) with a single idempotent end.

The proxy is a transparent ``wrapt.ObjectProxy``: ``isinstance(proxy, openai.Stream)`` holds and
every attribute reaches the SDK's stream. Per chunk it only asks an SDK-specific
:class:`StreamState` what the chunk means; it keeps O(1) state however long the stream is.

A stream ends exactly once, by whichever comes first: exhaustion, ``close()``, context exit, an
exception while iterating, or garbage collection of an abandoned stream. Ending never waits for the
provider: when the caller stops right after the finish reason, whatever the provider already sent
(the usage chunk, typically) is read within a few milliseconds at most, and the rest counts as
``usage_missing{reason="interrupted"}``. Garbage collection can run at any allocation, even inside a
lock we or prometheus-client hold, so that path only enqueues the state; a daemon thread records it
(``llm_telemetry.flush()`` waits for it).
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any

import wrapt

from .content import output_json
from .contract import GenAI, is_cancellation
from .errors import classify
from .exporters import push
from .record import Call, internal_error
from .usage import Usage

__all__ = ["AsyncStreamProxy", "StreamProxy", "StreamRequest", "StreamState", "flush"]

#: Chunks read at most when the caller stopped right after the finish reason (normally one).
DRAIN_LIMIT = 8
#: How long reading on may take when the caller closes a stream: enough for bytes the provider has
#: already sent to cross the loopback or LAN, never a wait for the provider to produce more.
CLOSE_READ_ON_SECONDS = 0.02
#: The same for a stream the garbage collector found abandoned: no caller waits on that thread.
ABANDONED_READ_ON_SECONDS = 0.25


class StreamRequest:
    """What a streamed call asked of the stream: whether usage will arrive, whether to hide its chunk."""

    __slots__ = ("choices", "hide", "host", "injected", "requested")

    def __init__(
        self, requested: bool, hide: bool = False, injected: bool = False, host: str = "", choices: int = 1
    ) -> None:
        self.requested = requested
        #: The usage-only chunk must not reach the caller (we, not they, asked for it).
        self.hide = hide
        #: We added ``stream_options`` to the request (a strict server may reject it).
        self.injected = injected
        #: The server's host (what policies remember).
        self.host = host
        #: Choices the response will carry (``n``): it is complete when every one has finished.
        self.choices = choices


class StreamState:
    """What an SDK's chunks mean. Subclasses implement :meth:`observe`; the end is shared."""

    __slots__ = (
        "blind",
        "call",
        "choices",
        "complete",
        "finish_reasons",
        "hide_usage_chunk",
        "response_id",
        "response_model",
        "text",
        "usage",
        "usage_requested",
    )

    def __init__(self, call: Call, request: StreamRequest) -> None:
        self.call = call
        self.usage_requested = request.requested
        #: We, not the caller, asked for the usage-only chunk: the caller must not see it.
        self.hide_usage_chunk = request.hide
        #: Choices the response carries: complete once each has its finish reason.
        self.choices = request.choices
        self.usage: Usage | None = None
        self.response_model: str | None = None
        self.response_id: str | None = None
        #: The raw finish reason of each choice, by choice index (one per choice per response).
        self.finish_reasons: dict[int, str] = {}
        #: The response is complete: every choice finished, or a terminal event arrived.
        self.complete = False
        #: :meth:`observe` failed on some chunk: a missing terminal event proves nothing.
        self.blind = False
        #: Output text pieces, kept only when the user opted into content capture.
        self.text: list[str] | None = [] if call.captures else None

    def observe(self, chunk: Any) -> bool:
        """Take what ``chunk`` carries; return True to hide it from the caller."""
        raise NotImplementedError

    def restore(self, chunk: Any) -> bool:
        """Undo what our request options changed in ``chunk``; True hides it. Runs even if observe fails."""
        return False

    def failure(self) -> str | None:
        """An ``error_type`` when the stream completed but reported failure (e.g. ``response.failed``)."""
        return None

    def attach(self, stream: Any) -> None:
        """The SDK stream this state observes, once, before its first chunk (headers are known)."""

    def http_response(self, stream: Any) -> Any:
        """The HTTP response the SDK stream reads (to read on without blocking), if reachable."""
        return getattr(stream, "response", None)

    def awaiting_usage(self) -> bool:
        """The response is complete but the usage chunk we asked for has not arrived yet."""
        return self.complete and self.usage is None and self.usage_requested and not self.call.done

    def end(self, how: str, exc: BaseException | None = None) -> None:
        """Finish the call once: ``exhausted``, ``error`` (with ``exc``) or ``stopped`` by the caller.

        The one rule: a stream whose response completed is a success however the caller left it;
        one left before that is cancelled; an exception while reading is an error.
        """
        call = self.call
        if call.done:
            return
        try:
            if self.text is not None:
                call.capture(GenAI.OUTPUT_MESSAGES, output_json(["".join(self.text)], self.reasons()))
            args = (self.usage, self.response_model, self.response_id, self.reasons())
            failure = self.failure()
            if how == "error" and exc is not None:
                call.fail(exc, self._error_type(exc), *args, missing_reason="interrupted")
            elif failure is not None:
                call.fail(None, failure, *args)
            elif self.complete or self.blind:
                missing = "not_requested" if not self.usage_requested else "not_reported"
                call.succeed(*args, missing_reason="interrupted" if how == "stopped" else missing)
            elif how == "exhausted":
                call.fail(None, "stream_interrupted", *args, missing_reason="interrupted")
            else:
                call.cancel(*args, missing_reason="interrupted")
        except Exception as err:
            internal_error("stream_end", err)

    def finished(self, index: int, reason: str) -> None:
        """Choice ``index`` ended with ``reason``; once every choice has, the response is complete
        (its time is the last output's, for time per output token)."""
        self.finish_reasons[index] = reason
        if len(self.finish_reasons) >= self.choices and not self.complete:
            self.complete = True
            self.call.output_done()

    def reasons(self) -> list[str]:
        """The finish reasons in choice order."""
        return [self.finish_reasons[i] for i in sorted(self.finish_reasons)]

    def _error_type(self, exc: BaseException) -> str:
        error_type = classify(exc)
        # A body dropped after chunks arrived: newer SDKs wrap it as a connection error.
        started = self.response_id is not None or self.response_model is not None or self.call.first_output
        if started and error_type == "connection":
            return "stream_interrupted"
        return error_type


def _observe(state: StreamState, chunk: Any) -> bool:
    """The stream observer's guard: a chunk we cannot read is counted, never raised, never hidden wrongly."""
    try:
        return state.observe(chunk)
    except Exception as err:
        return _observe_failed(state, chunk, err)


def _observe_failed(state: StreamState, chunk: Any, err: Exception) -> bool:
    """After :meth:`StreamState.observe` failed on ``chunk``: count it, go blind, hide only what is ours."""
    internal_error("stream_chunk", err)
    state.blind = True
    try:
        return state.restore(chunk)
    except Exception:
        return False


# -- reading on without blocking ------------------------------------------------------------------


@contextlib.contextmanager
def _no_wait(response: Any, budget: float) -> Iterator[bool]:
    """Make the HTTP response's reads take only what arrives within ``budget`` seconds, all reads
    together (the SDK's own read timeout is 10 minutes by default).

    httpcore passes a timeout to every read of its network stream: an instance attribute shadows the
    stream's ``read`` for the read-on only. Yields False when the stream is not reachable.
    """
    extensions = getattr(response, "extensions", None)
    network: Any = extensions.get("network_stream") if isinstance(extensions, dict) else None
    original = getattr(network, "read", None)
    if network is None or original is None:
        yield False
        return
    deadline = time.monotonic() + budget

    def read(max_bytes: int, timeout: float | None = None) -> Any:
        return original(max_bytes, timeout=max(0.0, deadline - time.monotonic()))

    network.read = read
    try:
        yield True
    finally:
        with contextlib.suppress(AttributeError):
            del network.read


def _read_on(state: StreamState, stream: Any, next_chunk: Callable[[], Any], budget: float) -> None:
    """The caller stopped right after the finish reason: take the usage chunk if it already arrived."""
    with _no_wait(state.http_response(stream), budget) as reachable:
        if not reachable:
            return
        for _ in range(DRAIN_LIMIT):
            try:
                _observe(state, next_chunk())
            except Exception:  # StopIteration, or nothing more arrived yet
                return
            if state.usage is not None:
                return


async def _read_on_async(state: StreamState, stream: Any, next_chunk: Callable[[], Any]) -> None:
    """:func:`_read_on` for async streams."""
    with _no_wait(state.http_response(stream), CLOSE_READ_ON_SECONDS) as reachable:
        if not reachable:
            return
        for _ in range(DRAIN_LIMIT):
            try:
                _observe(state, await next_chunk())
            except Exception:
                return
            if state.usage is not None:
                return


# -- the proxies ----------------------------------------------------------------------------------


class _Chunks:
    """Iterates a sync stream for :class:`StreamProxy`, observing every chunk."""

    __slots__ = ("_next", "_proxy", "_state")

    def __init__(self, state: StreamState, next_chunk: Callable[[], Any], proxy: StreamProxy | None) -> None:
        self._state = state
        self._next = next_chunk
        #: Keeps the proxy, whose collection means "abandoned", alive while its iterator is in use.
        self._proxy = proxy

    def __iter__(self) -> _Chunks:
        return self

    def __next__(self) -> Any:
        state = self._state
        next_chunk = self._next
        while True:
            try:
                chunk = next_chunk()
            except StopIteration:
                state.end("exhausted")
                raise
            except BaseException as exc:
                state.end("stopped" if is_cancellation(exc) else "error", exc)
                raise
            try:  # the stream observer's guard, inlined: this runs for every chunk
                if not state.observe(chunk):
                    return chunk
            except Exception as err:
                if not _observe_failed(state, chunk, err):
                    return chunk


class StreamProxy(wrapt.ObjectProxy[Any]):
    """Transparent proxy over a synchronous SDK stream."""

    def __init__(self, wrapped: Any, state: StreamState, next_chunk: Callable[[], Any] | None = None) -> None:
        super().__init__(wrapped)
        self._self_state = state
        if next_chunk is None:
            next_chunk = wrapped.__next__ if hasattr(type(wrapped), "__next__") else iter(wrapped).__next__
        self._self_next = next_chunk
        _ensure_worker()

    def __iter__(self) -> _Chunks:
        # A plain iterator: a wrapt proxy's ``_self_*`` attribute costs ~0.15 us a read, too much per chunk.
        return _Chunks(self._self_state, self._self_next, self)

    def __next__(self) -> Any:
        return _Chunks(self._self_state, self._self_next, None).__next__()

    def close(self) -> None:
        state = self._self_state
        try:
            if state.awaiting_usage():
                _read_on(state, self.__wrapped__, self._self_next, CLOSE_READ_ON_SECONDS)
        finally:
            state.end("stopped")
            self.__wrapped__.close()

    def __enter__(self) -> StreamProxy:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        state = self._self_state
        if not state.call.done:
            _pending.put((state, self.__wrapped__, self._self_next))  # SimpleQueue.put is safe here


class AsyncStreamProxy(wrapt.ObjectProxy[Any]):
    """Transparent proxy over an asynchronous SDK stream."""

    def __init__(self, wrapped: Any, state: StreamState, next_chunk: Callable[[], Any] | None = None) -> None:
        super().__init__(wrapped)
        self._self_state = state
        if next_chunk is None:
            next_chunk = (
                wrapped.__anext__ if hasattr(type(wrapped), "__anext__") else wrapped.__aiter__().__anext__
            )
        self._self_anext = next_chunk
        _ensure_worker()

    def __aiter__(self) -> AsyncStreamProxy:
        return self

    async def __anext__(self) -> Any:
        state = self._self_state
        while True:
            try:
                chunk = await self._self_anext()
            except StopAsyncIteration:
                state.end("exhausted")
                raise
            except BaseException as exc:
                state.end("stopped" if is_cancellation(exc) else "error", exc)
                raise
            try:  # the stream observer's guard, inlined: this runs for every chunk
                if not state.observe(chunk):
                    return chunk
            except Exception as err:
                if not _observe_failed(state, chunk, err):
                    return chunk

    async def close(self) -> None:
        state = self._self_state
        try:
            if state.awaiting_usage():
                await _read_on_async(state, self.__wrapped__, self._self_anext)
        finally:  # a cancelled close still ends the record and closes the request
            state.end("stopped")
            wrapped = self.__wrapped__
            closer = getattr(wrapped, "close", None) or getattr(wrapped, "aclose", None)
            if closer is not None:
                result = closer()
                if hasattr(result, "__await__"):
                    await result

    async def aclose(self) -> None:
        await self.close()

    async def __aenter__(self) -> AsyncStreamProxy:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def __del__(self) -> None:
        state = self._self_state
        if not state.call.done:
            _pending.put((state, None, None))  # an async stream cannot be read from another thread


# -- abandoned streams: recorded off the garbage collector's path ---------------------------------

_Abandoned = tuple[StreamState, Any, Callable[[], Any] | None]
_pending: queue.SimpleQueue[_Abandoned | threading.Event] = queue.SimpleQueue()
_worker_pid: int | None = None
_worker_lock = threading.Lock()


def _settle_abandoned(item: _Abandoned) -> None:
    state, stream, next_chunk = item
    try:
        if next_chunk is not None and state.awaiting_usage():
            _read_on(state, stream, next_chunk, ABANDONED_READ_ON_SECONDS)
    finally:
        state.end("stopped")


def _work() -> None:
    while True:
        item = _pending.get()
        if isinstance(item, threading.Event):
            item.set()
            continue
        try:
            _settle_abandoned(item)
        except Exception as exc:
            internal_error("stream_end", exc)


def _ensure_worker() -> None:
    global _worker_pid
    if _worker_pid == os.getpid():
        return
    with _worker_lock:
        if _worker_pid != os.getpid():
            threading.Thread(target=_work, name="llm-telemetry-finalizer", daemon=True).start()
            _worker_pid = os.getpid()


def _after_fork() -> None:
    global _pending, _worker_lock, _worker_pid
    _pending = queue.SimpleQueue()
    _worker_lock = threading.Lock()
    _worker_pid = None


os.register_at_fork(after_in_child=_after_fork)


def flush(timeout: float = 5.0) -> bool:
    """Record abandoned streams collected so far, then push if a Pushgateway is configured.

    True when the streams were recorded within ``timeout`` and the push (if any) succeeded.
    """
    _ensure_worker()
    done = threading.Event()
    _pending.put(done)
    recorded = done.wait(timeout)
    return push.push_now() and recorded
