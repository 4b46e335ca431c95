"""One normalized token usage, and pure parsers for every provider's usage shape (its dialect).

Every field means the same thing for every provider (see the token table in the README):

* ``input``: every billed input token, cache reads and cache writes included;
* ``output``: every output token, reasoning included;
* ``cache_read`` / ``cache_write``: subsets of ``input``;
* ``reasoning``: subset of ``output``;
* ``billed`` (:class:`Billed`, None when there is nothing to say): the units of contract v1.1 beyond
  text tokens (audio and image tokens, subsets again; server tool calls), the amount the provider
  says it billed, and the price context the response gives (service tier, speed).

``None`` means "the provider did not report this field", which is different from a reported 0.
Parsers accept SDK objects (pydantic models) and plain dicts alike, never raise, and drop any value
that is not a plausible token count (negative, bool, non-integral, absurdly large, wrong type).

Dialects: the OpenAI shape is read first with plain attribute access. Fields other providers add
live in the SDK object's ``__pydantic_extra__``, so they are looked for only when that is non-empty,
and only in the meaning their provider documents. Two kinds exist:

* gap fillers with names no provider uses differently, read for every provider and only when the
  standard field is absent: DeepSeek's ``prompt_cache_hit_tokens``, Mistral's ``num_cached_tokens``;
* rules that change a standard field's meaning, applied only for the provider whose documentation
  says so (selected by the ``provider`` argument, the OTel ``gen_ai.provider.name``): xAI's
  ``reasoning_tokens`` outside ``completion_tokens``, Gemini's thinking tokens counted only in
  ``total_tokens``, OpenRouter's ``usage.cost``, xAI's ``cost_in_usd_ticks``, Mistral preferring
  ``num_cached_tokens``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, Final

from .contract import SERVER_TOOLS
from .record.telemetry import internal_error

__all__ = [
    "ANTHROPIC_NESTED_FIELDS",
    "ANTHROPIC_USAGE_FIELDS",
    "MAX_TOKENS",
    "PRICED_TIERS",
    "SERVER_TOOLS",
    "Billed",
    "Usage",
    "from_anthropic",
    "from_groq_x",
    "from_litellm",
    "from_openai_chat",
    "from_openai_images",
    "from_openai_responses",
    "token_count",
]

#: Larger than any context window plus output (10M-token contexts exist): beyond this a value is
#: garbage, not usage (``2**32 - 1`` from a server's unsigned overflow, say), and never billed.
MAX_TOKENS: Final = 10**8
#: Largest plausible amount billed for one response, in USD; beyond this a reported cost is garbage.
MAX_COST_USD: Final = 10**6


#: Service tiers that change a price (``service_tier`` in OpenAI, Anthropic, Groq responses). The
#: default tiers (``default``, ``auto``, ``standard``, ``on_demand``) price as no tier at all, and an
#: unknown value is dropped so that a server cannot grow the price cache with made-up strings.
PRICED_TIERS: Final = frozenset({"flex", "priority", "scale", "fast", "ultrafast", "batch"})

#: xAI reports its bill in ticks: 1 USD = 10^10 ticks (https://docs.x.ai/developers/cost-tracking).
XAI_TICKS_PER_USD: Final = 10**10


@dataclass(frozen=True, slots=True)
class Billed:
    """What a response bills beyond text tokens, and what it says about its price.

    Zero counts are left out (None): they add nothing to any family or cost, and an all-zero
    ``Billed`` would cost the hot path a check per unit. A reported cost of 0 is kept: it is an answer.
    """

    #: Input tokens that were audio / images (subsets of ``Usage.input``).
    audio_input: int | None = None
    image_input: int | None = None
    #: Output tokens that were audio / images (subsets of ``Usage.output``).
    audio_output: int | None = None
    image_output: int | None = None
    #: Server-side tool calls billed per call, by ``SERVER_TOOLS`` label.
    web_search_calls: int | None = None
    web_fetch_calls: int | None = None
    file_search_calls: int | None = None
    code_interpreter_calls: int | None = None
    other_tool_calls: int | None = None
    #: What the provider says it billed for this response, in USD (OpenRouter, xAI): the whole cost.
    reported_cost: float | None = None
    #: Price context: a non-default service tier (``PRICED_TIERS``) and Anthropic's ``speed="fast"``.
    service_tier: str | None = None
    speed: str | None = None

    def tool_calls(self) -> tuple[tuple[str, int], ...]:
        """``(("web_search", 2), ...)``: the non-zero server tool call counts by ``tool`` label."""
        counts = (
            self.web_search_calls,
            self.web_fetch_calls,
            self.file_search_calls,
            self.code_interpreter_calls,
            self.other_tool_calls,
        )
        return tuple((tool, n) for tool, n in zip(SERVER_TOOLS, counts, strict=True) if n)

    def __add__(self, other: Billed) -> Billed:
        """Counts and costs add up; a price context survives only where both sides agree."""
        values: list[Any] = []
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if f.name in ("service_tier", "speed"):
                values.append(a if a == b else None)
            else:
                values.append(_add(a, b))
        return Billed(*values)


def _through_billed(name: str) -> Any:
    """A read-only ``Usage`` attribute for a :class:`Billed` field (None when there is no ``billed``)."""

    def read(usage: Usage) -> Any:
        billed = usage.billed
        return None if billed is None else getattr(billed, name)

    read.__doc__ = f"``billed.{name}``, or None."
    return property(read)


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
    #: Units beyond text tokens and the price context; None (the usual case) when there are none.
    billed: Billed | None = None

    @property
    def reported(self) -> bool:
        """True when the provider reported at least the input or the output count."""
        return self.input is not None or self.output is not None

    # The v1.1 units, read through ``billed`` (one None check on the hot path covers them all).
    audio_input = _through_billed("audio_input")
    audio_output = _through_billed("audio_output")
    image_input = _through_billed("image_input")
    image_output = _through_billed("image_output")
    reported_cost = _through_billed("reported_cost")
    service_tier = _through_billed("service_tier")
    speed = _through_billed("speed")

    def tool_calls(self) -> tuple[tuple[str, int], ...]:
        """The non-zero server tool call counts by ``tool`` label (see :meth:`Billed.tool_calls`)."""
        return () if self.billed is None else self.billed.tool_calls()

    def __add__(self, other: Usage) -> Usage:
        a, b = self.billed, other.billed
        billed = a if b is None else b if a is None else a + b
        return _usage(
            _add(self.input, other.input),
            _add(self.output, other.output),
            _add(self.cache_read, other.cache_read),
            _add(self.cache_write, other.cache_write),
            _add(self.reasoning, other.reasoning),
            _add(self.cache_write_5m, other.cache_write_5m),
            _add(self.cache_write_1h, other.cache_write_1h),
            billed,
        )


class _Building:
    """A usage being assembled: the slots of :class:`Usage`, but assignable, with ``billed`` a dict
    of the non-zero :class:`Billed` units until :meth:`done` relabels the object as a ``Usage``
    (identical slot layout). Why: a response is parsed on the hot path, and a frozen dataclass's
    ``__init__`` sets each field through ``object.__setattr__`` (about 3x slower)."""

    __slots__ = Usage.__slots__

    def __init__(
        self,
        input: int | None,
        output: int | None,
        cache_read: int | None,
        cache_write: int | None,
        reasoning: int | None,
        cache_write_5m: int | None = None,
        cache_write_1h: int | None = None,
        billed: Any = None,
    ) -> None:
        self.input = input
        self.output = output
        self.cache_read = cache_read
        self.cache_write = cache_write
        self.reasoning = reasoning
        self.cache_write_5m = cache_write_5m
        self.cache_write_1h = cache_write_1h
        self.billed = billed

    def note(self, name: str, value: Any) -> None:
        """Keep a :class:`Billed` count or amount when it says something (zero and None say nothing)."""
        if value:
            self.units()[name] = value

    def units(self) -> dict[str, Any]:
        if self.billed is None:
            self.billed = {}
        units: dict[str, Any] = self.billed
        return units

    def subset_of_input(self, name: str, value: int | None) -> None:
        self.note(name, _subset(value, self.input))

    def subset_of_output(self, name: str, value: int | None) -> None:
        self.note(name, _subset(value, self.output))

    def add_calls(self, name: str, value: Any) -> None:
        count = token_count(value)
        if count:
            units = self.units()
            units[name] = units.get(name, 0) + count

    def done(self) -> Usage:
        units = self.billed
        self.billed = Billed(**units) if units else None
        built: Any = self
        built.__class__ = Usage
        usage: Usage = built
        return usage


def _usage(
    input: int | None,
    output: int | None,
    cache_read: int | None,
    cache_write: int | None,
    reasoning: int | None,
    cache_write_5m: int | None,
    cache_write_1h: int | None,
    billed: Billed | None,
) -> Usage:
    """``Usage(...)`` with every field positional, built the fast way (see :class:`_Building`; its
    ``__init__`` skipped too: the slots are set here)."""
    built: Any = object.__new__(_Building)
    built.input = input
    built.output = output
    built.cache_read = cache_read
    built.cache_write = cache_write
    built.reasoning = reasoning
    built.cache_write_5m = cache_write_5m
    built.cache_write_1h = cache_write_1h
    built.billed = billed
    built.__class__ = Usage
    usage: Usage = built
    return usage


def _add(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    return a + b


# -- reading untrusted values ----------------------------------------------------------------------


def token_count(value: Any) -> int | None:
    """A token count from an untrusted value, or None when it is not one.

    A number above :data:`MAX_TOKENS` is a provider's bug, not a bill: it is dropped and counted as
    an internal error (stage ``result``) so that it shows up, instead of a bill of billions.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not value.is_integer():
            return None
        value = int(value)
    if isinstance(value, int):
        if 0 <= value <= MAX_TOKENS:
            return value
        if value > MAX_TOKENS:
            internal_error("result", ValueError(f"implausible token count {value}"))
    return None


def _amount(value: Any, per_usd: int = 1) -> float | None:
    """A USD amount from an untrusted value in 1/``per_usd`` USD (0 <= x <= MAX_COST_USD), or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        amount = value / per_usd
    except OverflowError:  # an int too large for a float
        return None
    return amount if 0.0 <= amount <= MAX_COST_USD else None  # NaN fails both comparisons


def _get(obj: Any, name: str) -> Any:
    """Field ``name`` of a dict or an object; None when absent. Never raises."""
    if obj is None:
        return None
    if type(obj) is dict:
        return obj.get(name)
    try:  # pydantic models: declared fields in __dict__, undeclared ones (other providers') in the extra
        extra = obj.__pydantic_extra__
        value = obj.__dict__.get(name)
        return extra.get(name) if value is None and extra else value
    except AttributeError:
        pass
    except Exception:
        return None
    try:
        value = getattr(obj, name, None)
        if value is None and isinstance(obj, Mapping):
            return obj.get(name)
    except Exception:
        return None
    return value


def _count(obj: Any, *path: str) -> int | None:
    for name in path:
        obj = _get(obj, name)
        if obj is None:
            return None
    return token_count(obj)


_EMPTY: Final[Mapping[str, Any]] = {}


class _Attributes:
    """``get`` over any object's attributes, for :func:`_view` (the general, slower path)."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def get(self, name: str) -> Any:
        return _get(self.obj, name)


def _view(obj: Any) -> Mapping[str, Any] | _Attributes:
    """A ``get(name)`` over a usage object's fields: a pydantic model's own dicts when it is one."""
    if obj is None:
        return _EMPTY
    if type(obj) is dict:
        return obj
    try:
        extra, declared = obj.__pydantic_extra__, obj.__dict__
    except AttributeError:
        return _Attributes(obj)
    except Exception:
        return _EMPTY
    if type(declared) is not dict:
        return _Attributes(obj)
    return {**declared, **extra} if extra else declared


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


def _not_usage(usage: Any) -> bool:
    return usage is None or isinstance(usage, (str, bytes, int, float, list))


def _tier(value: Any) -> str | None:
    return value if isinstance(value, str) and value in PRICED_TIERS else None


# -- OpenAI Chat Completions and the compatible APIs -----------------------------------------------


_ChatFields = tuple[Any, Any, Any, Any, Any, Any, Any, Any, Any, Any]


def _chat_fields(usage: Any) -> _ChatFields | None:
    """The raw fields of a chat ``usage`` (None: not a usage at all), and whether extras may hold more.

    The hot path, written out: SDK (pydantic) objects keep declared fields in ``__dict__`` and others in
    ``__pydantic_extra__``; anything else (dicts, odd objects) raises into the general path.
    """
    try:
        prompt = usage.prompt_tokens
        completion = usage.completion_tokens
        details = usage.prompt_tokens_details
        out_details = usage.completion_tokens_details
        extra = usage.__pydantic_extra__
        if details is None:
            read = write = audio_in = image_in = None
        elif details.__pydantic_extra__:
            read, write, audio_in, image_in = _detail_values(details, _PROMPT_DETAILS)
        else:
            values = details.__dict__
            read, write = values.get("cached_tokens"), values.get("cache_write_tokens")
            audio_in, image_in = values.get("audio_tokens"), values.get("image_tokens")
        if out_details is None:
            reasoning = audio_out = image_out = None
        elif out_details.__pydantic_extra__:
            reasoning, audio_out, image_out = _detail_values(out_details, _COMPLETION_DETAILS)
        else:
            values = out_details.__dict__
            reasoning, audio_out = values.get("reasoning_tokens"), values.get("audio_tokens")
            image_out = values.get("image_tokens")
    except Exception:
        if _not_usage(usage):
            return None
        prompt = _get(usage, "prompt_tokens")
        completion = _get(usage, "completion_tokens")
        read, write, audio_in, image_in = _detail_values(
            _get(usage, "prompt_tokens_details"), _PROMPT_DETAILS
        )
        reasoning, audio_out, image_out = _detail_values(
            _get(usage, "completion_tokens_details"), _COMPLETION_DETAILS
        )
        extra = True  # a dict or an unknown object: any field may be a dialect's
    return prompt, completion, read, write, reasoning, audio_in, image_in, audio_out, image_out, extra


def from_openai_chat(usage: Any, provider: str = "openai", service_tier: Any = None) -> Usage | None:
    """OpenAI Chat Completions / legacy Completions / Embeddings ``usage``, in ``provider``'s dialect.

    ``service_tier`` is the response's (a field of the completion or chunk, not of its usage).
    """
    fields = _chat_fields(usage)
    if fields is None:
        return None
    prompt, completion, read, write, reasoning, audio_in, image_in, audio_out, image_out, extra = fields
    if type(prompt) is not int or prompt < 0 or prompt > MAX_TOKENS:
        prompt = token_count(prompt)
    if type(completion) is not int or completion < 0 or completion > MAX_TOKENS:
        completion = token_count(completion)
    if read is not None:
        if type(read) is not int or read < 0 or read > MAX_TOKENS:
            read = token_count(read)
        if read is not None and prompt is not None and read > prompt:
            read = None
    if write is not None:
        read, write = _parts(read, token_count(write), prompt)
    if reasoning is not None:
        if type(reasoning) is not int or reasoning < 0 or reasoning > MAX_TOKENS:
            reasoning = token_count(reasoning)
        if reasoning is not None and completion is not None and reasoning > completion:
            reasoning = None

    dialect = _CHAT_DIALECTS.get(provider)
    if not (extra or dialect or audio_in or image_in or audio_out or image_out or service_tier):
        return _usage(prompt, completion, read, write, reasoning, None, None, None)

    parts = _Building(prompt, completion, read, write, reasoning)
    parts.subset_of_input("audio_input", token_count(audio_in))
    parts.subset_of_input("image_input", token_count(image_in))
    parts.subset_of_output("audio_output", token_count(audio_out))
    parts.subset_of_output("image_output", token_count(image_out))
    parts.note("service_tier", _tier(service_tier))
    if extra and parts.cache_read is None:
        parts.cache_read = _gap_cache_read(usage, prompt, write)
    if dialect is not None:
        dialect(usage, parts)
    return parts.done()


def _detail_values(details: Any, names: tuple[str, ...]) -> list[Any]:
    """The named fields of a ``*_tokens_details`` object or dict, declared or extra (None when absent)."""
    return [_get(details, name) for name in names]


_PROMPT_DETAILS: Final = ("cached_tokens", "cache_write_tokens", "audio_tokens", "image_tokens")
_COMPLETION_DETAILS: Final = ("reasoning_tokens", "audio_tokens", "image_tokens")


def _gap_cache_read(usage: Any, prompt: int | None, write: int | None) -> int | None:
    """Cache reads under a name only one provider uses, when the OpenAI field is absent."""
    read = _count(usage, "prompt_cache_hit_tokens")  # DeepSeek's 2024 shape, and relays forwarding it
    if read is None:
        read = _count(usage, "num_cached_tokens")  # Mistral
    if read is None:
        read = _count(usage, "prompt_token_details", "cached_tokens")  # Mistral's alternate spelling
    return _parts(read, write, prompt)[0]


def _mistral(usage: Any, parts: _Building) -> None:
    """Mistral reports cache reads as ``num_cached_tokens``; when both are sent, that one is current."""
    cached = _subset(_count(usage, "num_cached_tokens"), parts.input)
    if cached is not None:
        parts.cache_read = cached


def _xai(usage: Any, parts: _Building) -> None:
    """xAI bills ``reasoning_tokens`` as output but leaves them out of ``completion_tokens``.

    Its ``total_tokens`` tells (prompt + completion + reasoning); a relay that already folded the
    reasoning in reports total = prompt + completion and is left alone. Docs:
    https://docs.x.ai/developers/rate-limits (usage example), https://docs.x.ai/developers/cost-tracking.
    """
    _add_outside_reasoning(usage, parts, "completion_tokens_details")
    _xai_billed(usage, parts)


def _add_outside_reasoning(usage: Any, parts: _Building, details: str) -> None:
    """Reasoning billed as output but outside the output count: add it when the total says so."""
    reasoning = _count(usage, details, "reasoning_tokens")
    if not reasoning or parts.output is None:
        return
    total = _count(usage, "total_tokens")
    if total is None or total == (parts.input or 0) + parts.output + reasoning:
        parts.output += reasoning
        parts.reasoning = reasoning


_XAI_TOOLS: Final = (
    ("web_search_calls", "web_search_calls"),
    ("x_search_calls", "other_tool_calls"),
    ("code_interpreter_calls", "code_interpreter_calls"),
    ("file_search_calls", "file_search_calls"),
    ("document_search_calls", "file_search_calls"),
    ("mcp_calls", "other_tool_calls"),
)


def _xai_billed(usage: Any, parts: _Building) -> None:
    cost = _amount(_get(usage, "cost_in_usd_ticks"), XAI_TICKS_PER_USD)
    if cost is not None:
        parts.units()["reported_cost"] = cost
    tools = _get(usage, "server_side_tool_usage_details")
    if tools is not None:
        for source, target in _XAI_TOOLS:
            parts.add_calls(target, _get(tools, source))


def _gemini(usage: Any, parts: _Building) -> None:
    """Gemini's OpenAI-compatible endpoint counts thinking tokens only in ``total_tokens``.

    They are billed as output (https://ai.google.dev/gemini-api/docs/thinking#pricing), so when
    total > prompt + completion the difference is output, and reasoning. Docs of the endpoint:
    https://ai.google.dev/gemini-api/docs/openai.
    """
    total = _count(usage, "total_tokens")
    if total is None or parts.input is None or parts.output is None:
        return
    thinking = total - parts.input - parts.output
    if thinking > 0:
        parts.output += thinking
        if parts.reasoning is None or parts.reasoning < thinking:
            parts.reasoning = thinking


def _openrouter(usage: Any, parts: _Building) -> None:
    """OpenRouter's ``usage.cost`` is what it charged (https://openrouter.ai/docs/use-cases/usage-accounting).

    With your own provider key (``is_byok``), ``cost`` is only OpenRouter's fee and the provider
    billed ``cost_details.upstream_inference_cost`` to that key: the response cost both.
    """
    cost = _amount(_get(usage, "cost"))
    if cost is None:
        return
    if _get(usage, "is_byok") is True:
        upstream = _amount(_get(_get(usage, "cost_details"), "upstream_inference_cost"))
        if upstream is not None:
            cost += upstream
    parts.units()["reported_cost"] = cost


#: Provider (OTel name) -> its chat dialect, for rules that change what a standard field means.
_CHAT_DIALECTS: Final[Mapping[str, Callable[[Any, _Building], None]]] = {
    "mistral_ai": _mistral,
    "x_ai": _xai,
    "gcp.gemini": _gemini,
    "openrouter": _openrouter,
}


def from_groq_x(x_groq: Any) -> Usage | None:
    """Groq streams: the usage of the last chunk's ``x_groq`` field (``chunk.x_groq.usage``)."""
    return from_openai_chat(_get(x_groq, "usage"), "groq")


# -- OpenAI Responses ------------------------------------------------------------------------------

#: Responses API output item type -> server tool label; other ``*_call`` items run on the client.
_RESPONSES_TOOLS: Final[Mapping[str, str]] = {
    "web_search_call": "web_search_calls",
    "file_search_call": "file_search_calls",
    "code_interpreter_call": "code_interpreter_calls",
    "image_generation_call": "other_tool_calls",
    "mcp_call": "other_tool_calls",
}


def from_openai_responses(
    usage: Any, provider: str = "openai", output: Any = None, service_tier: Any = None
) -> Usage | None:
    """OpenAI Responses API ``usage``; ``output`` (the response's output items) adds server tool calls."""
    if _not_usage(usage):
        return None
    fields = _view(usage)
    inp, out = token_count(fields.get("input_tokens")), token_count(fields.get("output_tokens"))
    details, out_details = (
        _view(fields.get("input_tokens_details")),
        _view(fields.get("output_tokens_details")),
    )
    read, write = _parts(
        token_count(details.get("cached_tokens")), token_count(details.get("cache_write_tokens")), inp
    )
    reasoning = _subset(token_count(out_details.get("reasoning_tokens")), out)
    audio_in, image_in, audio_out = (
        details.get("audio_tokens"),
        details.get("image_tokens"),
        out_details.get("audio_tokens"),
    )
    tools = [item for item in output if _tool_item(item)] if isinstance(output, (list, tuple)) else ()
    special = provider in ("x_ai", "openrouter")
    if not (audio_in or image_in or audio_out or tools or service_tier or special):
        return _usage(inp, out, read, write, reasoning, None, None, None)

    parts = _Building(inp, out, read, write, reasoning)
    parts.subset_of_input("audio_input", token_count(audio_in))
    parts.subset_of_input("image_input", token_count(image_in))
    parts.subset_of_output("audio_output", token_count(audio_out))
    for item in tools:
        parts.add_calls(_RESPONSES_TOOLS[_get(item, "type")], 1)
    parts.note("service_tier", _tier(service_tier))
    if provider == "x_ai":
        _add_outside_reasoning(usage, parts, "output_tokens_details")
        _xai_billed(usage, parts)
    elif provider == "openrouter":
        _openrouter(usage, parts)
    return parts.done()


def _tool_item(item: Any) -> bool:
    """True for an output item that is a server tool call."""
    kind = _get(item, "type")
    return isinstance(kind, str) and kind in _RESPONSES_TOOLS


# -- OpenAI Images API -----------------------------------------------------------------------------


def from_openai_images(usage: Any) -> Usage | None:
    """``images.generate`` / ``images.edit`` usage (gpt-image-1): token-billed, output is image tokens.

    https://platform.openai.com/docs/api-reference/images/object: ``input_tokens`` (text and image),
    ``input_tokens_details.{text_tokens,image_tokens}``, ``output_tokens`` (the generated image).
    """
    if _not_usage(usage):
        return None
    fields = _view(usage)
    inp, out = token_count(fields.get("input_tokens")), token_count(fields.get("output_tokens"))
    details = _view(fields.get("input_tokens_details"))
    parts = _Building(inp, out, _subset(token_count(details.get("cached_tokens")), inp), None, None)
    parts.subset_of_input("image_input", token_count(details.get("image_tokens")))
    image_out = token_count(_view(fields.get("output_tokens_details")).get("image_tokens"))
    parts.subset_of_output("image_output", out if image_out is None else image_out)
    return parts.done()


# -- Anthropic -------------------------------------------------------------------------------------

#: Scalar usage fields a stream must carry from event to event (``message_delta`` usage is
#: cumulative and overwrites); the stream state merges these and :data:`ANTHROPIC_NESTED_FIELDS`.
ANTHROPIC_USAGE_FIELDS: Final = (
    "input_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "output_tokens",
    "service_tier",
    "speed",
)
ANTHROPIC_NESTED_FIELDS: Final = (
    ("cache_creation", ("ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens")),
    ("output_tokens_details", ("thinking_tokens",)),
    ("server_tool_use", ("web_search_requests", "web_fetch_requests")),
)


def from_anthropic(usage: Any) -> Usage | None:
    """Anthropic Messages ``usage``: ``input_tokens`` excludes cache reads and writes, so add them.

    Server tools are billed per request (``server_tool_use``), ``speed: "fast"`` and the batch tier
    at their own rates (https://docs.anthropic.com/en/api/messages, the ``usage`` object).
    """
    if _not_usage(usage):
        return None
    fields = _view(usage)
    uncached = token_count(fields.get("input_tokens"))
    read = token_count(fields.get("cache_read_input_tokens"))
    write = token_count(fields.get("cache_creation_input_tokens"))
    out = token_count(fields.get("output_tokens"))
    total_input = None if uncached is None else uncached + (read or 0) + (write or 0)
    thinking = token_count(_view(fields.get("output_tokens_details")).get("thinking_tokens"))
    parts = _Building(total_input, out, read, write, _subset(thinking, out))
    creation = fields.get("cache_creation")
    if creation is not None and write is not None:
        ttl = _view(creation)
        five = token_count(ttl.get("ephemeral_5m_input_tokens"))
        hour = token_count(ttl.get("ephemeral_1h_input_tokens"))
        if (five or 0) + (hour or 0) <= write:  # a split that does not add up is noise
            parts.cache_write_5m, parts.cache_write_1h = five, hour
    tools = fields.get("server_tool_use")
    if tools is not None:
        parts.add_calls("web_search_calls", _get(tools, "web_search_requests"))
        parts.add_calls("web_fetch_calls", _get(tools, "web_fetch_requests"))
    tier = fields.get("service_tier")
    if tier is not None:
        parts.note("service_tier", _tier(tier))
    if fields.get("speed") == "fast":
        parts.units()["speed"] = "fast"
    return parts.done()


# -- LiteLLM ---------------------------------------------------------------------------------------


def from_litellm(usage: Any, provider: str = "openai", service_tier: Any = None) -> Usage | None:
    """LiteLLM's OpenAI-shaped ``usage``, in the dialect of ``provider`` (the call's OTel name).

    LiteLLM already folds Anthropic cache reads and writes into ``prompt_tokens``; it reports them
    again as ``cache_read_input_tokens`` / ``cache_creation_input_tokens``, which are read here as
    subsets and never added to the input count a second time. Their TTL split is in
    ``prompt_tokens_details.cache_creation_token_details`` and web searches in ``server_tool_use``.
    """
    base = from_openai_chat(usage, provider, service_tier)
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
    ttl = _get(_get(usage, "prompt_tokens_details"), "cache_creation_token_details")
    five, hour = _count(ttl, "ephemeral_5m_input_tokens"), _count(ttl, "ephemeral_1h_input_tokens")
    if write is None or (five or 0) + (hour or 0) > write:
        five = hour = None
    billed = base.billed
    searches = token_count(_get(_get(usage, "server_tool_use"), "web_search_requests"))
    if searches and (billed is None or billed.web_search_calls is None):
        billed = (
            Billed(web_search_calls=searches)
            if billed is None
            else replace(billed, web_search_calls=searches)
        )
    return _usage(base.input, base.output, read, write, reasoning, five, hour, billed)
