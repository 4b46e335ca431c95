"""One normalized token usage, and pure parsers for every provider's usage shape.

Every field means the same thing for every provider (see the token table in the README):

* ``input``: every billed input token, cache reads and cache writes included;
* ``output``: every output token, reasoning included;
* ``cache_read`` / ``cache_write``: subsets of ``input``;
* ``reasoning``: subset of ``output``.

``None`` means "the provider did not report this field", which is different from a reported 0.
Parsers accept SDK objects (pydantic models) and plain dicts alike, never raise, and drop any value
that is not a plausible token count (negative, bool, non-integral, absurdly large, wrong type).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Usage",
    "from_anthropic",
    "from_litellm",
    "from_openai_chat",
    "from_openai_responses",
    "token_count",
]

#: Larger than any context window plus output; beyond this a value is garbage, not usage.
MAX_TOKENS = 10**12


@dataclass(frozen=True, slots=True)
class Usage:
    """Token usage of one billed provider response, in the contract's meaning."""

    input: int | None = None
    output: int | None = None
    cache_read: int | None = None
    cache_write: int | None = None
    reasoning: int | None = None
    #: Anthropic's split of cache writes by TTL (span attributes only).
    cache_write_5m: int | None = None
    cache_write_1h: int | None = None

    @property
    def reported(self) -> bool:
        """True when the provider reported at least the input or the output count."""
        return self.input is not None or self.output is not None

    def __add__(self, other: Usage) -> Usage:
        return Usage(*(_add(a, b) for a, b in zip(_fields(self), _fields(other), strict=True)))


def _fields(u: Usage) -> tuple[int | None, ...]:
    return (u.input, u.output, u.cache_read, u.cache_write, u.reasoning, u.cache_write_5m, u.cache_write_1h)


def _add(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def token_count(value: Any) -> int | None:
    """A token count from an untrusted value, or None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= MAX_TOKENS else None
    if isinstance(value, float) and value.is_integer():
        return int(value) if 0 <= value <= MAX_TOKENS else None
    return None


def _get(obj: Any, name: str) -> Any:
    """Field ``name`` of a dict or an object; None when absent. Never raises."""
    if obj is None:
        return None
    if type(obj) is dict:
        return obj.get(name)
    try:
        value = getattr(obj, name, None)  # SDK objects: the hot path, so the slow checks come after
    except Exception:
        return None
    if value is None:
        if isinstance(obj, Mapping):
            return obj.get(name)
        # pydantic models keep unknown provider fields in model_extra.
        extra = getattr(obj, "__pydantic_extra__", None)
        if isinstance(extra, dict):
            return extra.get(name)
    return value


def _count(obj: Any, *path: str) -> int | None:
    for name in path:
        obj = _get(obj, name)
        if obj is None:
            return None
    return token_count(obj)


def _subset(part: int | None, whole: int | None) -> int | None:
    """A subset count (cached, reasoning) never exceeds its whole; drop it if it does."""
    if part is not None and whole is not None and part > whole:
        return None
    return part


def _parts(first: int | None, second: int | None, whole: int | None) -> tuple[int | None, int | None]:
    """Two disjoint subsets of ``whole`` (cache reads and writes): the second goes if they overflow it."""
    first, second = _subset(first, whole), _subset(second, whole)
    if first is not None and second is not None and whole is not None and first + second > whole:
        second = None
    return first, second


def from_openai_chat(usage: Any) -> Usage | None:
    """OpenAI Chat Completions / legacy Completions / Embeddings ``usage``."""
    if usage is None or isinstance(usage, (str, bytes, int, float, list)):
        return None
    prompt = _count(usage, "prompt_tokens")
    completion = _count(usage, "completion_tokens")
    details = _get(usage, "prompt_tokens_details")
    read = write = None
    if details is not None:  # embeddings and many compatible APIs have none
        read, write = _parts(_count(details, "cached_tokens"), _count(details, "cache_write_tokens"), prompt)
    reasoning = _subset(_count(usage, "completion_tokens_details", "reasoning_tokens"), completion)
    # Positional (input, output, cache_read, cache_write, reasoning): cheaper than keywords per call.
    return Usage(prompt, completion, read, write, reasoning)


def from_openai_responses(usage: Any) -> Usage | None:
    """OpenAI Responses API ``usage``."""
    if usage is None or isinstance(usage, (str, bytes, int, float, list)):
        return None
    inp = _count(usage, "input_tokens")
    out = _count(usage, "output_tokens")
    details = _get(usage, "input_tokens_details")
    read, write = _parts(_count(details, "cached_tokens"), _count(details, "cache_write_tokens"), inp)
    return Usage(
        input=inp,
        output=out,
        cache_read=read,
        cache_write=write,
        reasoning=_subset(_count(usage, "output_tokens_details", "reasoning_tokens"), out),
    )


def from_anthropic(usage: Any) -> Usage | None:
    """Anthropic Messages ``usage``: ``input_tokens`` excludes cache reads and writes, so add them."""
    if usage is None or isinstance(usage, (str, bytes, int, float, list)):
        return None
    uncached = _count(usage, "input_tokens")
    read = _count(usage, "cache_read_input_tokens")
    write = _count(usage, "cache_creation_input_tokens")
    out = _count(usage, "output_tokens")
    total_input = None if uncached is None else uncached + (read or 0) + (write or 0)
    creation = _get(usage, "cache_creation")
    five, hour = _count(creation, "ephemeral_5m_input_tokens"), _count(creation, "ephemeral_1h_input_tokens")
    if write is None or (five or 0) + (hour or 0) > write:  # a split that does not add up is noise
        five = hour = None
    return Usage(
        input=total_input,
        output=out,
        cache_read=read,
        cache_write=write,
        reasoning=_subset(_count(usage, "output_tokens_details", "thinking_tokens"), out),
        cache_write_5m=five,
        cache_write_1h=hour,
    )


def from_litellm(usage: Any) -> Usage | None:
    """LiteLLM's OpenAI-shaped ``usage``.

    LiteLLM already folds Anthropic cache reads and writes into ``prompt_tokens``; it reports them
    again as ``cache_read_input_tokens`` / ``cache_creation_input_tokens``, which are read here as
    subsets and never added to the input count a second time.
    """
    base = from_openai_chat(usage)
    if base is None:
        return None
    read = base.cache_read
    if read is None:
        read = _subset(_count(usage, "cache_read_input_tokens"), base.input)
    write = base.cache_write
    if write is None:
        write = _subset(_count(usage, "cache_creation_input_tokens"), base.input)
    reasoning = base.reasoning
    if reasoning is None:
        reasoning = _subset(_count(usage, "reasoning_tokens"), base.output)
    return Usage(base.input, base.output, read, write, reasoning)
