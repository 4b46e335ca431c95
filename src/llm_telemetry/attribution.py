"""``attributes(**labels)``: attach request metadata (feature, tenant, ...) to every LLM call in scope.

A context manager and a decorator (functions, coroutines, generators and async generators) over
ContextVars, so scopes follow threads' own contexts and asyncio tasks (each task copies its
creator's context) without leaking between them. Nested scopes merge, the inner value winning.

One ``attributes`` object may be entered from many threads and tasks at once: what each entry must
restore is kept in that context, not on the object. Leaving a scope in a context that never entered it
(an async generator closed by another task) changes nothing and never raises.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncGenerator, Callable, Generator, Mapping
from contextvars import ContextVar
from types import MappingProxyType, TracebackType
from typing import Any, TypeVar, cast

from .config import check_label_name
from .contract import valid_text

__all__ = ["attributes", "current_attributes"]

_EMPTY: Mapping[str, str] = MappingProxyType({})
_scope: ContextVar[Mapping[str, str]] = ContextVar("llm_telemetry_attributes", default=_EMPTY)
#: This context's open scopes, innermost last: (the attributes object, the mapping to restore).
_open: ContextVar[tuple[tuple[object, Mapping[str, str]], ...]] = ContextVar(
    "llm_telemetry_scopes", default=()
)
F = TypeVar("F", bound=Callable[..., Any])


#: ``current_attributes()``: the attribution in force in this context (read-only). The ContextVar's
#: own ``get``, so every recorded call reads it without a Python frame.
current_attributes: Callable[[], Mapping[str, str]] = _scope.get


class attributes:
    """Attribute the LLM calls made in this scope: ``with attributes(feature="search"):``.

    Values are converted to strings. Names must be valid Prometheus label names; only the names
    declared in ``instrument(metric_attributes=[...])`` become metric labels, all go onto spans.
    """

    __slots__ = ("_labels",)

    def __init__(self, **labels: object) -> None:
        for name in labels:
            check_label_name(name)
        self._labels = {name: valid_text(value) for name, value in labels.items()}

    def __enter__(self) -> attributes:
        previous = _scope.get()
        merged = dict(previous)
        merged.update(self._labels)
        _open.set((*_open.get(), (self, previous)))
        _scope.set(MappingProxyType(merged))
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        scopes = _open.get()
        for i in range(len(scopes) - 1, -1, -1):
            if scopes[i][0] is self:
                _scope.set(scopes[i][1])
                _open.set(scopes[:i])
                return

    async def __aenter__(self) -> attributes:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def __call__(self, func: F) -> F:
        """Use as a decorator: every run of ``func``'s body is in this scope (and only its body)."""
        if inspect.isasyncgenfunction(func):
            return cast(F, self._async_generator(func))
        if inspect.isgeneratorfunction(func):
            return cast(F, self._generator(func))
        labels = self._labels
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with attributes(**labels):
                    return await func(*args, **kwargs)

            return cast(F, async_wrapper)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with attributes(**labels):
                return func(*args, **kwargs)

        return cast(F, wrapper)

    def _generator(self, func: Callable[..., Generator[Any, Any, Any]]) -> Callable[..., Any]:
        """Each resumption of the generator runs in the scope; the consumer's code between them does not."""

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
            gen = func(*args, **kwargs)
            try:
                with self:
                    item = next(gen)
                while True:
                    try:
                        sent = yield item
                    except GeneratorExit:
                        with self:
                            gen.close()
                        raise
                    except BaseException as exc:
                        with self:
                            item = gen.throw(exc)
                    else:
                        with self:
                            item = gen.send(sent)
            except StopIteration as stop:
                return stop.value

        return wrapper

    def _async_generator(self, func: Callable[..., AsyncGenerator[Any, Any]]) -> Callable[..., Any]:
        """:meth:`_generator` for async generators."""

        @functools.wraps(func)
        async def wrapper(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
            gen = func(*args, **kwargs)
            try:
                with self:
                    item = await gen.__anext__()
                while True:
                    try:
                        sent = yield item
                    except GeneratorExit:
                        with self:
                            await gen.aclose()
                        raise
                    except BaseException as exc:
                        with self:
                            item = await gen.athrow(exc)
                    else:
                        with self:
                            item = await gen.asend(sent)
            except StopAsyncIteration:
                return

        return wrapper
