"""Structured-output attempts (instructor): successful ends wait for the validation verdict.

Why: a response that then fails validation is an error (``validation``, tokens kept), but the SDK call
ends before instructor validates it. Ends are kept as frozen :class:`~.call.Ending` values, so
instructor rewriting the response's ``usage`` afterwards changes nothing.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..usage import Usage
    from .call import Call, Ending

__all__ = ["HOLD", "Hold"]

#: The structured-output attempt in progress in this context, if any (read by every call's end).
HOLD: ContextVar[Hold | None] = ContextVar("llm_telemetry_hold", default=None)


class Hold:
    """The calls ending inside one attempt. Use as a context manager around the attempt's SDK call,
    then :meth:`release` with the verdict."""

    __slots__ = ("_token", "cost", "kept", "last", "usage")

    def __init__(self) -> None:
        self.kept: list[tuple[Call, Ending]] = []
        #: The last call that ended in the attempt, whatever its outcome (labels for a retry).
        self.last: Call | None = None
        #: Reported usage of every call that ended in the attempt, and its cost in USD (None: unpriced).
        self.usage: Usage | None = None
        self.cost: float | None = None
        self._token: Token[Hold | None] | None = None

    def __enter__(self) -> Hold:
        self._token = HOLD.set(self)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._token is not None:
            HOLD.reset(self._token)
            self._token = None

    def keep(self, call: Call, ending: Ending) -> bool:
        """Take note of an ending call; True when its record waits for :meth:`release`."""
        self.last = call
        if ending.usage is not None:
            self.usage = ending.usage if self.usage is None else self.usage + ending.usage
        if ending.cost is not None:
            self.cost = ending.cost.total + (self.cost or 0.0)
        if ending.outcome != "success":
            return False
        self.kept.append((call, ending))
        return True

    def retried(self, error_type: str) -> None:
        """The attempt is being retried: one retry, on the labels of the attempt's call."""
        if self.last is not None:
            self.last.retry(error_type)

    def release(self, outcome: str = "success", error_type: str | None = None) -> None:
        """Record the kept calls with the verdict (``error``/``cancelled`` keep their usage)."""
        kept, self.kept = self.kept, []
        for call, ending in kept:
            if outcome != "success":
                ending = ending._replace(outcome=outcome, error_type=error_type)
            call.commit(ending)
