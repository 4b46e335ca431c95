"""``attributes(**labels)``: attach request metadata (feature, tenant, ...) to every LLM call in scope.

A context manager and a decorator (sync and async) over a ContextVar, so scopes follow threads'
own contexts and asyncio tasks (each task copies its creator's context) without leaking between them.
Nested scopes merge, the inner value winning.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from contextvars import ContextVar, Token
from types import MappingProxyType, TracebackType
from typing import Any, TypeVar, cast

from .config import check_label_name

__all__ = ["attributes", "current_attributes"]

_EMPTY: Mapping[str, str] = MappingProxyType({})
_scope: ContextVar[Mapping[str, str]] = ContextVar("llm_telemetry_attributes", default=_EMPTY)
F = TypeVar("F", bound=Callable[..., Any])


def current_attributes() -> Mapping[str, str]:
    """The attribution in force in this context (read-only)."""
    return _scope.get()


class attributes:
    """Attribute the LLM calls made in this scope: ``with attributes(feature="search"):``.

    Values are converted to strings. Names must be valid Prometheus label names; only the names
    declared in ``instrument(metric_attributes=[...])`` become metric labels, all go onto spans.
    """

    __slots__ = ("_labels", "_tokens")

    def __init__(self, **labels: object) -> None:
        for name in labels:
            check_label_name(name)
        self._labels = {
            name: value if isinstance(value, str) else str(value) for name, value in labels.items()
        }
        self._tokens: list[Token[Mapping[str, str]]] = []

    def __enter__(self) -> attributes:
        merged = dict(_scope.get())
        merged.update(self._labels)
        self._tokens.append(_scope.set(MappingProxyType(merged)))
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        _scope.reset(self._tokens.pop())

    async def __aenter__(self) -> attributes:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def __call__(self, func: F) -> F:
        """Use as a decorator: every call of ``func`` runs in this scope."""
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
