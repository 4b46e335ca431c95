"""One generic stream proxy (sync and async) with a single idempotent end.

The proxy is a transparent ``wrapt.ObjectProxy``: ``isinstance(proxy, openai.Stream)`` holds and
every attribute reaches the SDK's stream. Per chunk it only asks an SDK-specific
:class:`StreamState` what the chunk means; it keeps O(1) state however long the stream is.

A stream ends exactly once, by whichever comes first: exhaustion, ``close()``, context exit, an
exception while iterating, or garbage collection of an abandoned stream. Garbage collection can run
at any allocation, even inside a lock we or prometheus-client hold, so that last path only enqueues
the state; a daemon thread records it (``llm_telemetry.flush()`` waits for it).
"""

from __future__ import annotations

import os
import queue
import threading
from types import TracebackType
from typing import Any

import wrapt

from .content import OUTPUT, output_json
from .exporters import push
from .record import Call, internal_error
from .usage import Usage

__all__ = ["AsyncStreamProxy", "StreamProxy", "StreamState", "flush"]


class StreamState:
    """What an SDK's chunks mean. Subclasses implement :meth:`observe`; the end is shared."""

    __slots__ = (
        "blind",
        "call",
        "complete",
        "finish_reasons",
        "hide_usage_chunk",
        "response_id",
        "response_model",
        "text",
        "usage",
        "usage_requested",
    )

    def __init__(self, call: Call, usage_requested: bool = True, hide_usage_chunk: bool = False) -> None:
        self.call = call
        #: We, not the caller, asked for the usage-only chunk: hide it (see :func:`ask_for_usage`).
        self.hide_usage_chunk = hide_usage_chunk
        self.usage: Usage | None = None
        self.response_model: str | None = None
        self.response_id: str | None = None
        self.finish_reasons: list[str] = []
        #: A terminal event (finish reason, completed event, message_stop) arrived.
        self.complete = False
        self.usage_requested = usage_requested
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

    def awaiting_usage(self) -> bool:
        """The response ended (finish reason seen) but the usage chunk we asked for has not arrived."""
        return self.complete and self.usage is None and self.usage_requested and not self.call.done

    def failure(self) -> str | None:
        """An ``error_type`` when the stream completed but reported failure (e.g. ``response.failed``)."""
        return None

    def end(self, how: str, exc: BaseException | None = None) -> None:
        """Finish the call: ``exhausted``, ``error`` (with ``exc``) or ``cancelled``. Idempotent."""
        call = self.call
        if call.done:
            return
        try:
            if self.text is not None:
                call.capture(OUTPUT, output_json(["".join(self.text)], self.finish_reasons))
            args = (self.usage, self.response_model, self.response_id, self.finish_reasons)
            if how == "exhausted":
                failure = self.failure()
                if failure is not None:
                    call.fail(None, failure, *args)
                elif not self.complete and not self.blind:
                    call.fail(None, "stream_interrupted", *args, missing_reason="interrupted")
                else:
                    call.succeed(
                        *args, missing_reason="not_reported" if self.usage_requested else "not_requested"
                    )
            elif how == "error":
                call.fail(exc, None, *args, missing_reason="interrupted")
            else:
                call.cancel(*args, missing_reason="interrupted")
        except Exception as err:
            internal_error("stream_end", err)


def ask_for_usage(kwargs: dict[str, Any], inject: bool) -> tuple[bool, bool]:
    """For OpenAI-style chat streams: ask for the final usage chunk unless the caller decided.

    Returns ``(requested, hide)``: whether usage will arrive, and whether the usage-only chunk must be
    hidden because we, not the caller, asked for it. An explicit ``include_usage`` is respected.
    """
    options = kwargs.get("stream_options")
    if isinstance(options, dict) and "include_usage" in options:
        return bool(options["include_usage"]), False
    if not inject:
        return False, False
    kwargs["stream_options"] = (
        {**options, "include_usage": True} if isinstance(options, dict) else {"include_usage": True}
    )
    return True, True


def _observe_failed(state: StreamState, chunk: Any, err: Exception) -> bool:
    internal_error("stream_chunk", err)
    state.blind = True
    try:
        return state.restore(chunk)
    except Exception:
        return False


#: Chunks read on ``close()`` to reach a usage chunk that follows the finish reason (normally one).
DRAIN_LIMIT = 8


def _drain(state: StreamState, next_chunk: Any) -> None:
    """The caller stopped right after the finish reason: read on to the usage chunk, then end once."""
    for _ in range(DRAIN_LIMIT):
        try:
            state.observe(next_chunk())
        except StopIteration:
            break
        except Exception:
            return
        if state.usage is not None:
            break
    state.end("exhausted")


async def _drain_async(state: StreamState, next_chunk: Any) -> None:
    """:func:`_drain` for async streams."""
    for _ in range(DRAIN_LIMIT):
        try:
            state.observe(await next_chunk())
        except StopAsyncIteration:
            break
        except Exception:
            return
        if state.usage is not None:
            break
    state.end("exhausted")


class _Chunks:
    """Iterates a sync stream for :class:`StreamProxy`, observing every chunk."""

    __slots__ = ("_next", "_proxy", "_state")

    def __init__(self, state: StreamState, next_chunk: Any, proxy: StreamProxy | None) -> None:
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
            except GeneratorExit:
                state.end("cancelled")
                raise
            except BaseException as exc:
                state.end("cancelled" if type(exc).__name__ == "KeyboardInterrupt" else "error", exc)
                raise
            try:
                hide = state.observe(chunk)
            except Exception as err:
                hide = _observe_failed(state, chunk, err)
            if not hide:
                return chunk


class StreamProxy(wrapt.ObjectProxy[Any]):
    """Transparent proxy over a synchronous SDK stream."""

    def __init__(self, wrapped: Any, state: StreamState) -> None:
        super().__init__(wrapped)
        self._self_state = state
        self._self_next = wrapped.__next__ if hasattr(type(wrapped), "__next__") else iter(wrapped).__next__
        _ensure_worker()

    def __iter__(self) -> _Chunks:
        # A plain iterator: a wrapt proxy's ``_self_*`` attribute costs ~0.15 us a read, too much per chunk.
        return _Chunks(self._self_state, self._self_next, self)

    def __next__(self) -> Any:
        return _Chunks(self._self_state, self._self_next, None).__next__()

    def close(self) -> None:
        state = self._self_state
        if state.awaiting_usage():
            _drain(state, self._self_next)
        state.end("cancelled")
        self.__wrapped__.close()

    def __enter__(self) -> StreamProxy:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        _abandoned(self._self_state)


class AsyncStreamProxy(wrapt.ObjectProxy[Any]):
    """Transparent proxy over an asynchronous SDK stream."""

    def __init__(self, wrapped: Any, state: StreamState) -> None:
        super().__init__(wrapped)
        self._self_state = state
        self._self_anext = (
            wrapped.__anext__ if hasattr(type(wrapped), "__anext__") else wrapped.__aiter__().__anext__
        )
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
                cancelled = type(exc).__name__ in ("CancelledError", "KeyboardInterrupt", "GeneratorExit")
                state.end("cancelled" if cancelled else "error", exc)
                raise
            try:
                hide = state.observe(chunk)
            except Exception as err:
                hide = _observe_failed(state, chunk, err)
            if not hide:
                return chunk

    async def close(self) -> None:
        state = self._self_state
        if state.awaiting_usage():
            await _drain_async(state, self._self_anext)
        state.end("cancelled")
        closer = getattr(self.__wrapped__, "close", None) or getattr(self.__wrapped__, "aclose", None)
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
        _abandoned(self._self_state)


# -- abandoned streams: recorded off the garbage collector's path ---------------------------------

_pending: queue.SimpleQueue[StreamState | threading.Event] = queue.SimpleQueue()
_worker_pid: int | None = None
_worker_lock = threading.Lock()


def _abandoned(state: StreamState) -> None:
    try:
        if not state.call.done:
            _pending.put(state)  # SimpleQueue.put is safe from __del__ and GC callbacks
    except Exception:
        pass


def _work() -> None:
    while True:
        item = _pending.get()
        if isinstance(item, threading.Event):
            item.set()
        else:
            item.end("cancelled")


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
