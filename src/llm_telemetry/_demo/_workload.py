"""``llm-telemetry demo``: realistic LLM traffic with no API key and no network, fully instrumented.

Why: the fastest way to see what the telemetry gives you (Prometheus families, dashboards, alert
rules) is to watch it record a believable workload. The workload goes through the *real* openai and
anthropic SDKs, async clients included, against :class:`~llm_telemetry.testing.FakeProvider`
on loopback, so retries, streams and error classes are exactly what production code exercises.

The mix is planned by one seeded :class:`random.Random`: the same seed gives the same sequence of
requests (token counts, errors, latencies), whichever worker ends up running each one.
"""

from __future__ import annotations

import asyncio
import io
import math
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal, TextIO

import anthropic
import openai
from prometheus_client import REGISTRY, CollectorRegistry

from ..attribution import attributes
from ..instrumentation import instrument, metrics_server_port, uninstrument
from ..integrations import INTEGRATIONS
from ..streams import flush
from ..testing import (
    Chat,
    ChatStream,
    Embeddings,
    Error,
    FakeProvider,
    Message,
    MessageStream,
    Reply,
    Responses,
    ResponsesStream,
    anthropic_usage,
    openai_usage,
    responses_usage,
)

__all__ = ["SCENARIOS", "DemoSummary", "Step", "Totals", "format_summary", "plan", "run_demo"]

#: The SDKs insist on a key; this one only ever reaches the local fake provider.
DEMO_API_KEY = "sk-demo-not-a-real-key"
METRIC_ATTRIBUTES = ("feature", "tenant")

# --------------------------------------------------------------------------------------------------
# The workload: each scenario turns the planner's random draws into one fully scripted SDK call.
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Step:
    """One SDK call and the fake provider's scripted answers to it (SDK retries included)."""

    scenario: str
    provider: Literal["openai", "anthropic"]
    #: ``messages.stream`` is Anthropic's stream helper; the others are ``<api>.create``.
    api: Literal["chat", "responses", "embeddings", "messages", "messages.stream"]
    kwargs: dict[str, Any]
    replies: tuple[Reply, ...]
    feature: str
    tenant: str
    #: Server think time before the answer (scripted errors come back at once), and the gap
    #: between stream events.
    latency: float = 0.0
    chunk_delay: float = 0.0
    #: A client with this ``max_retries`` instead of the SDK default (2).
    max_retries: int | None = None
    #: Stop reading a stream after this many items and close it (a user navigating away).
    read_at_most: int | None = None
    #: The call is meant to raise (error scenarios); anything else raising is a demo bug.
    fails: bool = False


@dataclass(frozen=True, slots=True)
class _Model:
    """A model as the demo plays it: the dated name responses carry, and a latency profile."""

    request: str
    response: str
    ttft: tuple[float, float]  # seconds before the first token
    tpot: tuple[float, float]  # seconds per output token


GPT_4O_MINI = _Model("gpt-4o-mini", "gpt-4o-mini-2024-07-18", (0.15, 0.45), (0.003, 0.007))
GPT_41 = _Model("gpt-4.1", "gpt-4.1-2025-04-14", (0.3, 0.8), (0.005, 0.01))
O4_MINI = _Model("o4-mini", "o4-mini-2025-04-16", (0.4, 1.0), (0.003, 0.006))
EMBEDDING = _Model("text-embedding-3-small", "text-embedding-3-small", (0.03, 0.12), (0.0, 0.0))
SONNET = _Model("claude-sonnet-4-5", "claude-sonnet-4-5-20250929", (0.4, 1.0), (0.006, 0.012))
HAIKU = _Model("claude-haiku-4-5", "claude-haiku-4-5-20251001", (0.15, 0.4), (0.002, 0.005))

_SENTENCE = (
    "the order shipped on tuesday and the refund was issued to the original card so the customer "
    "should see it within five business days according to the policy we agreed with the carrier"
)
_WORDS = _SENTENCE.split()
_SYSTEM = "You are a support assistant for an online store. Answer briefly and cite the policy."
_CONTEXT_ERROR: dict[str, Any] = {
    "error": {
        "message": "This model's maximum context length is 128000 tokens. However, your messages "
        "resulted in 131072 tokens. Please reduce the length of the messages.",
        "type": "invalid_request_error",
        "param": "messages",
        "code": "context_length_exceeded",
    }
}
_TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "lookup_order",
            "description": "Find an order by its id.",
            "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}},
        },
    }
]
_THINKING = {"type": "enabled", "budget_tokens": 2048}


class _Planner:
    """Draws every random choice of the workload, in order, from one seeded generator."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.warm: set[tuple[str, str, str]] = set()  # Anthropic prompt caches written so far

    # -- shared draws ------------------------------------------------------------------------------

    def n(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def tenant(self) -> str:
        return self.rng.choices(("acme", "globex"), (3, 2))[0]

    def chunks(self, output_tokens: int) -> tuple[str, ...]:
        """About four tokens per streamed chunk, bounded so a stream stays a few dozen events."""
        start = self.rng.randrange(len(_WORDS))
        return tuple(
            _WORDS[(start + i) % len(_WORDS)] + " " for i in range(max(4, min(40, output_tokens // 4)))
        )

    def text(self, output_tokens: int) -> str:
        return "".join(self.chunks(output_tokens)).strip()

    def timing(self, model: _Model, visible: int, hidden: int = 0, chunks: int = 0) -> tuple[float, float]:
        """(latency, chunk_delay). Hidden reasoning happens before the first token (compressed 10x so
        the demo keeps moving); a stream spreads the visible generation over its ``chunks``."""
        tpot = self.rng.uniform(*model.tpot)
        latency = self.rng.uniform(*model.ttft) + hidden * tpot / 10
        if chunks:
            return latency, visible * tpot / chunks
        return latency + visible * tpot, 0.0

    def messages(self, feature: str) -> list[dict[str, Any]]:
        return [
            {"role": "system", "content": _SYSTEM},
            {"role": "user", "content": f"[{feature}] {self.text(40)}?"},
        ]

    def openai_cached(self, prompt: int) -> int:
        """OpenAI caches prompt prefixes of 1024+ tokens in 128-token steps, when they are warm."""
        if prompt < 1024 or self.rng.random() < 0.4:
            return 0
        return (prompt - self.n(64, 512)) // 128 * 128

    def openai(
        self,
        scenario: str,
        model: _Model,
        feature: str,
        *,
        prompt: int,
        output: int,
        reasoning: int = 0,
        stream: bool = False,
        cached: int | None = None,
        **kwargs: Any,
    ) -> Step:
        """A chat completion (streamed or not) with realistic usage and timing."""
        usage = openai_usage(
            prompt,
            output,
            cached=self.openai_cached(prompt) if cached is None else cached,
            reasoning=reasoning,
        )
        visible = output - reasoning
        chunks = self.chunks(visible) if stream else ()
        latency, delay = self.timing(model, visible, reasoning, len(chunks))
        reply: Reply = (
            ChatStream(model=model.response, chunks=chunks, usage=usage)
            if stream
            else Chat(model=model.response, content=self.text(visible), usage=usage)
        )
        request = {"model": model.request, "messages": self.messages(feature), **kwargs}
        if stream:
            request["stream"] = True
        return Step(scenario, "openai", "chat", request, (reply,), feature, self.tenant(), latency, delay)

    def claude(
        self,
        scenario: str,
        model: _Model,
        feature: str,
        *,
        fresh: int,
        output: int,
        thinking: int = 0,
        cached_prefix: int = 0,
        api: Literal["messages", "messages.stream"] = "messages",
        stream: bool = False,
    ) -> Step:
        """A Messages call; a ``cached_prefix`` is a long system prompt marked ``cache_control``:
        the first call per (model, feature, tenant) writes the cache, later ones read it, and now
        and then it has expired (Anthropic's 5-minute TTL) and is written again."""
        tenant = self.tenant()
        read = write = 0
        system: Any = _SYSTEM
        if cached_prefix:
            key = (model.request, feature, tenant)
            if key in self.warm and self.rng.random() > 0.1:
                read = cached_prefix
            else:
                write = cached_prefix
                self.warm.add(key)
            system = [{"type": "text", "text": _SYSTEM * 40, "cache_control": {"type": "ephemeral"}}]
        usage = anthropic_usage(
            fresh, output, cache_read=read, cache_write=write, thinking=thinking if thinking else None
        )
        visible, thought = output - thinking, self.text(80) if thinking else None
        chunks = self.chunks(visible) if stream or api == "messages.stream" else ()
        latency, delay = self.timing(model, visible, thinking, len(chunks))
        reply: Reply = (
            MessageStream(model=model.response, chunks=chunks, usage=usage, thinking=thought)
            if chunks
            else Message(model=model.response, content=self.text(visible), usage=usage, thinking=thought)
        )
        request: dict[str, Any] = {
            "model": model.request,
            "max_tokens": 4096 if thinking else 1024,
            "system": system,
            "messages": [{"role": "user", "content": f"[{feature}] {self.text(40)}?"}],
        }
        if thinking:
            request["thinking"] = _THINKING
        if stream:
            request["stream"] = True
        return Step(scenario, "anthropic", api, request, (reply,), feature, tenant, latency, delay)

    # -- scenarios ---------------------------------------------------------------------------------

    def chat(self) -> Step:
        feature = self.rng.choice(("chat", "search"))
        return self.openai("chat", GPT_4O_MINI, feature, prompt=self.n(150, 2400), output=self.n(30, 220))

    def chat_stream(self) -> Step:
        model = self.rng.choice((GPT_4O_MINI, GPT_41))
        return self.openai(
            "chat_stream", model, "chat", prompt=self.n(200, 3000), output=self.n(40, 160), stream=True
        )

    def summarize_cached(self) -> Step:
        """A long shared document summarized again and again: OpenAI's automatic prompt caching."""
        prompt = self.n(3000, 9000)
        cached = (prompt - self.n(100, 600)) // 128 * 128
        return self.openai(
            "summarize_cached", GPT_41, "summarize", prompt=prompt, output=self.n(120, 300), cached=cached
        )

    def reasoning(self) -> Step:
        thought = self.n(200, 1500)
        return self.openai(
            "reasoning",
            O4_MINI,
            "extract",
            prompt=self.n(300, 2000),
            output=thought + self.n(40, 200),
            reasoning=thought,
            reasoning_effort="medium",
        )

    def tool_call(self) -> Step:
        step = self.openai("tool_call", GPT_4O_MINI, "chat", prompt=self.n(300, 1200), output=self.n(15, 40))
        args = f'{{"order_id": "A-{self.n(1000, 9999)}"}}'
        (reply,) = step.replies
        assert isinstance(reply, Chat)
        tool = replace(reply, content=args, tool_call=True, finish_reason="tool_calls")
        return replace(step, kwargs={**step.kwargs, "tools": _TOOLS}, replies=(tool,))

    def truncated(self) -> Step:
        """An answer cut off at ``max_tokens``: finish reason ``length``, billed all the same."""
        limit = self.rng.choice((64, 128, 256))
        step = self.openai(
            "truncated", GPT_4O_MINI, "summarize", prompt=self.n(500, 3000), output=limit, max_tokens=limit
        )
        (reply,) = step.replies
        assert isinstance(reply, Chat)
        return replace(step, replies=(replace(reply, finish_reason="length"),))

    def responses(self) -> Step:
        feature = self.rng.choice(("chat", "summarize"))
        prompt, output = self.n(300, 4000), self.n(50, 250)
        latency, _ = self.timing(GPT_41, output)
        status = "incomplete" if self.rng.random() < 0.15 else "completed"  # incomplete: "length"
        usage = responses_usage(prompt, output, cached=self.openai_cached(prompt), reasoning=0)
        reply = Responses(model=GPT_41.response, content=self.text(output), usage=usage, status=status)
        request = {"model": GPT_41.request, "input": f"[{feature}] {self.text(80)}", "max_output_tokens": 300}
        return Step("responses", "openai", "responses", request, (reply,), feature, self.tenant(), latency)

    def responses_stream(self) -> Step:
        prompt, visible, thought = self.n(300, 2500), self.n(40, 160), self.n(100, 900)
        chunks = self.chunks(visible)
        latency, delay = self.timing(O4_MINI, visible, thought, len(chunks))
        usage = responses_usage(
            prompt, visible + thought, cached=self.openai_cached(prompt), reasoning=thought
        )
        reply = ResponsesStream(model=O4_MINI.response, chunks=chunks, usage=usage)
        request = {"model": O4_MINI.request, "input": f"[extract] {self.text(80)}", "stream": True}
        return Step(
            "responses_stream",
            "openai",
            "responses",
            request,
            (reply,),
            "extract",
            self.tenant(),
            latency,
            delay,
        )

    def embeddings(self) -> Step:
        batch = self.rng.choice((1, 1, 4, 8, 16))
        tokens = sum(self.n(12, 300) for _ in range(batch))
        inputs = [self.text(32) for _ in range(batch)]
        request = {"model": EMBEDDING.request, "input": inputs[0] if batch == 1 else inputs}
        reply = Embeddings(model=EMBEDDING.response, prompt_tokens=tokens)
        latency = self.rng.uniform(*EMBEDDING.ttft)
        return Step("embeddings", "openai", "embeddings", request, (reply,), "search", self.tenant(), latency)

    def rate_limited(self) -> Step:
        """429, then the SDK's retry succeeds (after the server's ``retry-after-ms``)."""
        step = self.chat()
        limited = Error(429, headers={"retry-after-ms": str(self.n(100, 500))})
        return replace(step, scenario="rate_limited", replies=(limited, *step.replies))

    def server_error(self) -> Step:
        """500 twice with ``max_retries=1``: retries exhausted, the caller gets the error."""
        step = self.chat()
        failed = Error(500, headers={"retry-after-ms": "150"})
        return replace(step, scenario="server_error", replies=(failed, failed), max_retries=1, fails=True)

    def context_length(self) -> Step:
        step = self.chat()
        return replace(
            step, scenario="context_length", replies=(Error(400, body=_CONTEXT_ERROR),), fails=True
        )

    def abandoned_stream(self) -> Step:
        """The user navigated away: the app stops reading and closes the stream (outcome cancelled)."""
        return replace(self.chat_stream(), scenario="abandoned_stream", read_at_most=self.n(2, 5))

    def stream_no_usage(self) -> Step:
        """``include_usage`` explicitly off: the provider reports no usage, counted as missing."""
        step = self.chat_stream()
        kwargs = {**step.kwargs, "stream_options": {"include_usage": False}}
        return replace(step, scenario="stream_no_usage", kwargs=kwargs)

    def stream_cut(self) -> Step:
        """The connection drops mid-stream: ``stream_interrupted``."""
        step = self.chat_stream()
        (reply,) = step.replies
        assert isinstance(reply, ChatStream)
        return replace(step, scenario="stream_cut", replies=(replace(reply, die_after=3),), fails=True)

    def claude_cached(self) -> Step:
        """Sonnet with a long cached system prompt: one cache write, then cache reads."""
        feature = self.rng.choice(("summarize", "chat"))
        return self.claude(
            "claude_cached",
            SONNET,
            feature,
            fresh=self.n(40, 400),
            output=self.n(80, 300),
            cached_prefix=self.n(2000, 6000),
        )

    def claude_stream(self) -> Step:
        """Haiku through the ``messages.stream()`` helper, with a cached system prompt."""
        return self.claude(
            "claude_stream",
            HAIKU,
            "chat",
            fresh=self.n(20, 200),
            output=self.n(40, 160),
            cached_prefix=self.n(1500, 4000),
            api="messages.stream",
        )

    def claude_thinking(self) -> Step:
        """Extended thinking: thinking tokens are part of (and billed as) output."""
        thought = self.n(300, 2000)
        return self.claude(
            "claude_thinking",
            SONNET,
            "extract",
            fresh=self.n(200, 1500),
            output=thought + self.n(60, 250),
            thinking=thought,
        )

    def claude_thinking_stream(self) -> Step:
        """Sonnet with extended thinking through ``create(stream=True)``."""
        thought = self.n(200, 1200)
        return self.claude(
            "claude_thinking_stream",
            SONNET,
            "extract",
            fresh=self.n(200, 1500),
            output=thought + self.n(40, 160),
            thinking=thought,
            stream=True,
        )

    def overloaded(self) -> Step:
        """Anthropic 529 ``overloaded_error``, then the SDK's retry succeeds."""
        step = self.claude_cached()
        busy = Error(529, headers={"retry-after-ms": str(self.n(200, 800))})
        return replace(step, scenario="overloaded", replies=(busy, *step.replies))


#: Scenario name -> (planner method, weight); weights are roughly "per 100 requests".
SCENARIOS: dict[str, tuple[Callable[[_Planner], Step], int]] = {
    "chat": (_Planner.chat, 14),
    "chat_stream": (_Planner.chat_stream, 12),
    "embeddings": (_Planner.embeddings, 10),
    "claude_cached": (_Planner.claude_cached, 10),
    "claude_stream": (_Planner.claude_stream, 8),
    "summarize_cached": (_Planner.summarize_cached, 6),
    "reasoning": (_Planner.reasoning, 6),
    "responses": (_Planner.responses, 6),
    "responses_stream": (_Planner.responses_stream, 5),
    "claude_thinking": (_Planner.claude_thinking, 4),
    "tool_call": (_Planner.tool_call, 4),
    "rate_limited": (_Planner.rate_limited, 4),
    "claude_thinking_stream": (_Planner.claude_thinking_stream, 3),
    "truncated": (_Planner.truncated, 3),
    "overloaded": (_Planner.overloaded, 3),
    "abandoned_stream": (_Planner.abandoned_stream, 3),
    "server_error": (_Planner.server_error, 2),
    "context_length": (_Planner.context_length, 2),
    "stream_no_usage": (_Planner.stream_no_usage, 2),
    "stream_cut": (_Planner.stream_cut, 1),
}


def plan(seed: int) -> Iterator[Step]:
    """The endless, reproducible request sequence for ``seed``.

    It opens with every scenario once (in a seeded order), so every family, label and dashboard
    panel has data within seconds even for rare scenarios; after that, scenarios are drawn by weight.
    """
    planner = _Planner(seed)
    names = list(SCENARIOS)
    weights = [weight for _, weight in SCENARIOS.values()]
    opening = names[:]
    planner.rng.shuffle(opening)
    for name in opening:
        yield SCENARIOS[name][0](planner)
    while True:
        yield SCENARIOS[planner.rng.choices(names, weights)[0]][0](planner)


# --------------------------------------------------------------------------------------------------
# Reading back what the telemetry recorded: the summary shows the counters, not the driver's view.
# --------------------------------------------------------------------------------------------------

#: Counter sample -> Totals field.
_SAMPLES = {
    "llm_telemetry_requests_total": "requests",
    "llm_telemetry_errors_total": "errors",
    "llm_telemetry_retries_total": "retries",
    "llm_telemetry_input_tokens_total": "input_tokens",
    "llm_telemetry_output_tokens_total": "output_tokens",
    "llm_telemetry_cache_read_tokens_total": "cache_read_tokens",
    "llm_telemetry_cache_write_tokens_total": "cache_write_tokens",
    "llm_telemetry_reasoning_tokens_total": "reasoning_tokens",
    "llm_telemetry_cost_usd_total": "spend_usd",
}


@dataclass(frozen=True, slots=True)
class Totals:
    """Counter totals, for one provider or all of them, as the Prometheus families hold them."""

    requests: int = 0
    errors: int = 0
    cancelled: int = 0
    retries: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    spend_usd: float = 0.0

    @property
    def cache_hit_ratio(self) -> float:
        """Share of input tokens served from a prompt cache."""
        return self.cache_read_tokens / self.input_tokens if self.input_tokens else 0.0

    @classmethod
    def of(cls, values: dict[str, float]) -> Totals:
        """From summed sample values: counts are whole numbers, spend is not."""
        counts = {f.name: int(values.get(f.name, 0.0)) for f in fields(cls) if f.name != "spend_usd"}
        return cls(**counts, spend_usd=values.get("spend_usd", 0.0))

    def combine(self, other: Totals, sign: int = 1) -> Totals:
        return Totals(*(getattr(self, f.name) + sign * getattr(other, f.name) for f in fields(self)))


@dataclass(frozen=True, slots=True)
class _Reading:
    by_provider: dict[str, Totals]
    error_types: Counter[str]

    @property
    def total(self) -> Totals:
        total = Totals()
        for totals in self.by_provider.values():
            total = total.combine(totals)
        return total

    def since(self, baseline: _Reading) -> _Reading:
        """The change since ``baseline`` (counters are monotonic while we run)."""
        return _Reading(
            {p: t.combine(baseline.by_provider.get(p, Totals()), -1) for p, t in self.by_provider.items()},
            self.error_types - baseline.error_types,
        )


def _read(registry: CollectorRegistry) -> _Reading:
    """Sum every counter the summary shows, by provider (and errors by type), from ``registry``."""
    values: dict[str, dict[str, float]] = {}
    error_types: Counter[str] = Counter()
    for family in registry.collect():
        if not family.name.startswith("llm_telemetry_"):
            continue
        for sample in family.samples:
            name = _SAMPLES.get(sample.name)
            if name is None:
                continue
            totals = values.setdefault(sample.labels.get("provider", ""), {})
            totals[name] = totals.get(name, 0.0) + sample.value
            if name == "requests" and sample.labels.get("outcome") == "cancelled":
                totals["cancelled"] = totals.get("cancelled", 0.0) + sample.value
            elif name == "errors":
                error_types[sample.labels.get("error_type", "other")] += int(sample.value)
    return _Reading({p: Totals.of(v) for p, v in values.items()}, error_types)


@dataclass(frozen=True)
class DemoSummary:
    """What a demo run did: the telemetry's counters (changes over the run) and the driver's tally."""

    elapsed: float
    seed: int
    metrics_url: str
    #: Counter changes by ``provider`` label, and their sum.
    by_provider: dict[str, Totals]
    total: Totals
    error_types: dict[str, int]
    #: SDK calls the driver made, by provider and by scenario.
    calls_by_provider: dict[str, int]
    scenarios: dict[str, int]
    #: Calls that raised as their scenario intends (5xx after retries, 400, cut streams).
    expected_failures: int
    #: What went wrong that no scenario intended; empty on a healthy run.
    unexpected: tuple[str, ...] = ()

    @property
    def calls(self) -> int:
        return sum(self.calls_by_provider.values())

    @property
    def requests_per_second(self) -> float:
        return self.total.requests / self.elapsed if self.elapsed > 0 else 0.0


# --------------------------------------------------------------------------------------------------
# Driving the workload: lanes (threads, and slots of one asyncio loop), each with its own provider.
# --------------------------------------------------------------------------------------------------


_ERROR_LATENCY = 0.03


class _LaneProvider(FakeProvider):
    """A fake provider that also thinks ``latency`` seconds before each answer, so durations and time
    to first token look like a real API's.

    One per lane: the provider pairs scripted replies with requests in arrival order, so each
    sequential lane needs its own to keep its script paired with its calls.
    """

    def __init__(self, stop: threading.Event) -> None:
        super().__init__(chunk_delay=0.0)
        self.latency = 0.0
        self._stop = stop

    def before_reply(self, reply: Reply | None) -> None:
        # Errors come back fast; answers take the scripted time (cut short on stop, for a prompt exit).
        self._stop.wait(_ERROR_LATENCY if isinstance(reply, Error) else self.latency)

    def prepare(self, step: Step) -> None:
        """Script the next call (the lane is sequential, so nothing else is queued)."""
        self.reset()  # also drops the request log, which would otherwise grow without bound
        self.latency = step.latency
        self.chunk_delay = step.chunk_delay
        self.script(*step.replies)


class _Pacer:
    """Hands out (start time, step) at ``rate`` per second until ``halt`` is set."""

    def __init__(self, steps: Iterable[Step], rate: float, halt: threading.Event) -> None:
        self._steps = iter(steps)
        self._interval = 1.0 / rate
        self._halt = halt
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> tuple[float, Step] | None:
        with self._lock:
            if self._halt.is_set():
                return None
            at = max(time.monotonic(), self._next)
            self._next = at + self._interval  # a lagging lane does not cause a burst to catch up
            return at, next(self._steps)


class _Tally:
    """The driver's own count of what it did, shared by every lane."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.scenarios: Counter[str] = Counter()
        self.expected_failures = 0
        self.unexpected: list[str] = []

    def done(self, step: Step, exc: Exception | None) -> None:
        with self._lock:
            self.calls[step.provider] += 1
            self.scenarios[step.scenario] += 1
            if exc is not None and step.fails:
                self.expected_failures += 1
            elif exc is not None:
                self.unexpected.append(f"{step.scenario}: {type(exc).__name__}: {exc}")
            elif step.fails:
                self.unexpected.append(f"{step.scenario}: the call did not fail as scripted")

    def lane_crashed(self, exc: BaseException) -> None:
        with self._lock:
            self.unexpected.append(f"lane crashed: {type(exc).__name__}: {exc}")


def _drain(stream: Iterable[Any], at_most: int | None) -> None:
    for n, _ in enumerate(stream, 1):
        if at_most is not None and n >= at_most:
            break


async def _adrain(stream: Any, at_most: int | None) -> None:
    n = 0
    async for _ in stream:
        n += 1
        if at_most is not None and n >= at_most:
            break


@dataclass
class _Clients:
    """SDK clients for one lane; ``max_retries=1`` copies are made once and share their pools."""

    openai: Any
    anthropic: Any
    retries: dict[tuple[str, int], Any] = field(default_factory=dict)

    @classmethod
    def create(cls, asynchronous: bool) -> _Clients:
        """SDK defaults except a key and a timeout the demo never hits (the address comes per lane)."""
        options: dict[str, Any] = {"api_key": DEMO_API_KEY, "timeout": 30.0, "base_url": "http://127.0.0.1"}
        if asynchronous:
            return cls(openai.AsyncOpenAI(**options), anthropic.AsyncAnthropic(**options))
        return cls(openai.OpenAI(**options), anthropic.Anthropic(**options))

    def lane(self, provider: FakeProvider) -> _Clients:
        """Copies aimed at one lane's provider: cheap, sharing these clients' connection pools (building
        a client from scratch costs tens of milliseconds, which adds up over dozens of lanes)."""
        return _Clients(
            self.openai.copy(base_url=provider.openai_base_url),
            self.anthropic.copy(base_url=provider.anthropic_base_url),
        )

    def pick(self, step: Step) -> Any:
        client = self.openai if step.provider == "openai" else self.anthropic
        if step.max_retries is None:
            return client
        key = (step.provider, step.max_retries)
        if key not in self.retries:
            self.retries[key] = client.with_options(max_retries=step.max_retries)
        return self.retries[key]


def _call(step: Step, clients: _Clients) -> None:
    """Make the step's SDK call the way an application would, reading any stream it gets."""
    client, kwargs = clients.pick(step), step.kwargs
    result: Any
    if step.api == "messages.stream":
        with client.messages.stream(**kwargs) as stream:
            _drain(stream, step.read_at_most)
        return
    if step.api == "chat":
        result = client.chat.completions.create(**kwargs)
    elif step.api == "responses":
        result = client.responses.create(**kwargs)
    elif step.api == "embeddings":
        result = client.embeddings.create(**kwargs)
    else:
        result = client.messages.create(**kwargs)
    if kwargs.get("stream"):
        with result:
            _drain(result, step.read_at_most)


async def _acall(step: Step, clients: _Clients) -> None:
    """:func:`_call` through the async clients."""
    client, kwargs = clients.pick(step), step.kwargs
    result: Any
    if step.api == "messages.stream":
        async with client.messages.stream(**kwargs) as stream:
            await _adrain(stream, step.read_at_most)
        return
    if step.api == "chat":
        result = await client.chat.completions.create(**kwargs)
    elif step.api == "responses":
        result = await client.responses.create(**kwargs)
    elif step.api == "embeddings":
        result = await client.embeddings.create(**kwargs)
    else:
        result = await client.messages.create(**kwargs)
    if kwargs.get("stream"):
        async with result:
            await _adrain(result, step.read_at_most)


class _Workload:
    """Runs the lanes: threads with sync clients, and slots of one asyncio loop with async clients.
    ``done`` is set when the last lane has finished."""

    def __init__(
        self,
        steps: Iterable[Step],
        rate: float,
        tally: _Tally,
        halt: threading.Event,
        threads: int,
        slots: int,
    ) -> None:
        self.steps, self.rate, self.tally, self.halt = steps, rate, tally, halt
        self.threads = threads
        self.providers = [_LaneProvider(halt) for _ in range(threads + slots)]
        self.done = threading.Event()
        self._live = 0
        self._lock = threading.Lock()
        self._running: list[threading.Thread] = []
        self._sync_clients: _Clients | None = None

    def start(self) -> None:
        """Start providers and build clients first (tens of ms each), then the clock and the lanes."""
        for provider in self.providers:
            provider.start()
        self._sync_clients = _Clients.create(asynchronous=False)
        async_clients = _Clients.create(asynchronous=True)
        pacer = _Pacer(self.steps, self.rate, self.halt)
        lanes: list[tuple[Callable[..., None], tuple[Any, ...]]] = [
            (self._sync_lane, (pacer, p, self._sync_clients.lane(p))) for p in self.providers[: self.threads]
        ]
        slots = [(p, async_clients.lane(p)) for p in self.providers[self.threads :]]
        lanes.append((self._async_lane, (pacer, async_clients, slots)))
        self._live = len(lanes)
        for n, (lane, args) in enumerate(lanes):
            thread = threading.Thread(
                target=self._guard, args=(lane, *args), name=f"demo-lane-{n}", daemon=True
            )
            self._running.append(thread)
            thread.start()

    def close(self, timeout: float = 10.0) -> None:
        """Stop the lanes (each finishes its call under way), then the providers."""
        self.halt.set()
        deadline = time.monotonic() + timeout
        for thread in self._running:
            thread.join(max(0.0, deadline - time.monotonic()))
        if self._sync_clients is not None:
            self._sync_clients.openai.close()
            self._sync_clients.anthropic.close()
            self._sync_clients = None
        stoppers = [threading.Thread(target=p.stop) for p in self.providers]  # each waits for its poll
        for thread in stoppers:
            thread.start()
        for thread in stoppers:
            thread.join()

    def _guard(self, lane: Callable[..., None], *args: Any) -> None:
        try:
            lane(*args)
        except BaseException as exc:  # never die silently: the summary reports it
            self.tally.lane_crashed(exc)
        finally:
            with self._lock:
                self._live -= 1
                if self._live == 0:
                    self.done.set()

    def _sync_lane(self, pacer: _Pacer, provider: _LaneProvider, clients: _Clients) -> None:
        while (slot := pacer.take()) is not None:
            at, step = slot
            if self.halt.wait(max(0.0, at - time.monotonic())):
                return
            provider.prepare(step)
            error: Exception | None = None
            try:
                with attributes(feature=step.feature, tenant=step.tenant):
                    _call(step, clients)
            except Exception as exc:
                error = exc
            self.tally.done(step, error)

    def _async_lane(
        self, pacer: _Pacer, shared: _Clients, slots: list[tuple[_LaneProvider, _Clients]]
    ) -> None:
        async def main() -> None:
            try:
                await asyncio.gather(*(self._async_slot(pacer, *slot) for slot in slots))
            finally:
                await shared.openai.close()
                await shared.anthropic.close()

        asyncio.run(main())

    async def _async_slot(self, pacer: _Pacer, provider: _LaneProvider, clients: _Clients) -> None:
        while (slot := pacer.take()) is not None:
            at, step = slot
            while not self.halt.is_set() and (wait := at - time.monotonic()) > 0:
                await asyncio.sleep(min(wait, 0.1))
            if self.halt.is_set():
                return
            provider.prepare(step)
            error: Exception | None = None
            try:
                with attributes(feature=step.feature, tenant=step.tenant):
                    await _acall(step, clients)
            except Exception as exc:
                error = exc
            self.tally.done(step, error)


def _lanes(rate: float) -> tuple[int, int]:
    """(threads, async slots): calls take about a second on average (up to a few), so two lanes per
    request per second keep the pace without queueing."""
    lanes = max(4, min(64, math.ceil(rate * 2)))
    slots = max(2, lanes // 3)
    return max(2, lanes - slots), slots


# --------------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------------


def _progress_line(elapsed: float, t: Totals) -> str:
    rate = t.requests / elapsed if elapsed > 0 else 0.0
    return (
        f"[{elapsed:6.1f}s] requests {t.requests:,}  errors {t.errors:,}  "
        f"tokens in {t.input_tokens:,} out {t.output_tokens:,}  cache hit {t.cache_hit_ratio:.1%}  "
        f"spend ${t.spend_usd:.4f}  {rate:.1f} req/s"
    )


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    """Left-aligned first column, right-aligned numbers."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]


def format_summary(summary: DemoSummary) -> str:
    """The final table: the counters by provider next to the calls the driver made, then details."""

    def row(name: str, calls: int, t: Totals) -> tuple[str, ...]:
        numbers = (calls, t.requests, t.errors, t.cancelled, t.retries, t.input_tokens, t.output_tokens)
        return (name, *(f"{n:,}" for n in numbers), f"{t.cache_hit_ratio:.1%}", f"{t.spend_usd:.6f}")

    header = (
        "provider",
        "calls",
        "requests",
        "errors",
        "cancelled",
        "retries",
        "in tokens",
        "out tokens",
        "cache hit",
        "spend USD",
    )
    providers = sorted(summary.calls_by_provider.keys() | summary.by_provider.keys())
    rows: list[tuple[str, ...]] = [header]
    rows += [
        row(p, summary.calls_by_provider.get(p, 0), summary.by_provider.get(p, Totals())) for p in providers
    ]
    rows.append(row("total", summary.calls, summary.total))
    t = summary.total
    lines = [
        f"llm-telemetry demo summary: {summary.elapsed:.1f} s, seed {summary.seed}, "
        f"{summary.requests_per_second:.1f} req/s, metrics at {summary.metrics_url}",
        *_table(rows),
        f"tokens: cache read {t.cache_read_tokens:,}, cache write {t.cache_write_tokens:,}, "
        f"reasoning {t.reasoning_tokens:,}",
    ]
    if summary.error_types:
        lines.append(
            "errors by type: " + ", ".join(f"{k} {v}" for k, v in sorted(summary.error_types.items()))
        )
    lines.append("scenarios: " + ", ".join(f"{k} {v}" for k, v in sorted(summary.scenarios.items())))
    for provider in providers:
        calls = summary.calls_by_provider.get(provider, 0)
        counted = summary.by_provider.get(provider, Totals()).requests
        if calls != counted:
            why = "" if provider in INTEGRATIONS else f" (this build has no {provider} integration yet)"
            lines.append(f"note: {provider}: {calls:,} SDK calls made, {counted:,} counted{why}")
    lines.append(
        f"driver: {summary.calls:,} SDK calls, {summary.expected_failures:,} failed as scripted, "
        f"{len(summary.unexpected)} unexpected"
    )
    lines.extend(f"  unexpected: {problem}" for problem in summary.unexpected[:10])
    return "\n".join(lines) + "\n"


class _Progress:
    """The live line: rewritten in place on a terminal, plain lines at a calmer pace otherwise (logs)."""

    def __init__(self, out: TextIO, duration: float, quiet: bool, start: float) -> None:
        self.out, self.quiet = out, quiet
        try:
            self.tty = out.isatty()
        except (AttributeError, ValueError, io.UnsupportedOperation):
            self.tty = False
        self.interval = 0.5 if self.tty else (1.0 if 0 < duration <= 10 else 5.0)
        self.next = start + self.interval
        self.shown = 0  # length of the line on screen, to blank what a shorter one leaves

    def due(self, now: float) -> bool:
        return not self.quiet and now >= self.next

    def show(self, now: float, line: str) -> None:
        self.next = now + self.interval
        self.out.write("\r" + line.ljust(self.shown) if self.tty else line + "\n")
        self.out.flush()
        self.shown = len(line)

    def end(self) -> None:
        if self.tty and self.shown:
            self.out.write("\n")


def _display_host(host: str) -> str:
    if host in ("", "0.0.0.0", "::"):
        return "localhost"
    return f"[{host}]" if ":" in host else host


# --------------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------------


def run_demo(
    duration: float = 30.0,
    rate: float = 5.0,
    port: int = 9464,
    host: str = "127.0.0.1",
    seed: int = 0,
    quiet: bool = False,
    out: TextIO | None = None,
    *,
    stop: threading.Event | None = None,
    on_ready: Callable[[str], None] | None = None,
    on_done: Callable[[DemoSummary], None] | None = None,
) -> DemoSummary:
    """Instrument this process, serve ``/metrics`` on ``host:port`` and drive the demo workload.

    ``duration`` 0 runs until ``stop`` is set (or Ctrl-C when called from the main thread); either
    way the calls under way finish and the summary is printed to ``out`` (default ``sys.stdout``).
    The run takes over instrumentation of the process and ends with ``uninstrument()``.
    ``on_ready`` gets the ``/metrics`` URL before the first request; ``on_done`` gets the summary
    after the last one while ``/metrics`` is still served, so a caller can scrape values that match it.
    """
    if rate <= 0:
        raise ValueError("rate must be > 0 requests per second")
    if duration < 0:
        raise ValueError("duration must be >= 0 seconds (0: until stopped)")
    out = sys.stdout if out is None else out

    def write(text: str) -> None:
        out.write(text)
        out.flush()

    halt = threading.Event()  # ours, not the caller's ``stop``, so theirs is never set behind their back
    workload: _Workload | None = None
    try:
        instrument(metrics_port=port, metrics_address=host, metric_attributes=list(METRIC_ATTRIBUTES))
        baseline = _read(REGISTRY)
        url = f"http://{_display_host(host)}:{metrics_server_port()}/metrics"
        if on_ready is not None:
            on_ready(url)
        threads, slots = _lanes(rate)
        if not quiet:
            length = "until stopped (Ctrl-C)" if duration == 0 else f"for {duration:g} s"
            write(
                f"llm-telemetry demo: fake OpenAI + Anthropic on loopback (no API key, no network), "
                f"{rate:g} req/s {length}, seed {seed}, {threads} threads + {slots} async slots\n"
            )
        write(f"serving Prometheus metrics at {url}\n")
        tally = _Tally()
        workload = _Workload(plan(seed), rate, tally, halt, threads, slots)
        workload.start()
        start = time.monotonic()
        deadline = start + duration if duration > 0 else None

        progress = _Progress(out, duration, quiet, start)
        try:
            while not workload.done.wait(0.1):
                now = time.monotonic()
                if (stop is not None and stop.is_set()) or (deadline is not None and now >= deadline):
                    halt.set()  # lanes finish the call under way (think time cut short), then exit
                if progress.due(now):
                    progress.show(now, _progress_line(now - start, _read(REGISTRY).since(baseline).total))
        except KeyboardInterrupt:  # Ctrl-C under the default handler: stop as gracefully
            halt.set()
            workload.done.wait(30)
        progress.end()
        elapsed = time.monotonic() - start
        flush()  # streams dropped without close() are recorded by a background thread
        reading = _read(REGISTRY).since(baseline)
        summary = DemoSummary(
            elapsed=elapsed,
            seed=seed,
            metrics_url=url,
            by_provider=reading.by_provider,
            total=reading.total,
            error_types={k: v for k, v in reading.error_types.items() if v},
            calls_by_provider=dict(tally.calls),
            scenarios=dict(tally.scenarios),
            expected_failures=tally.expected_failures,
            unexpected=tuple(tally.unexpected),
        )
        write(format_summary(summary))
        if on_done is not None:
            on_done(summary)
        return summary
    finally:
        halt.set()
        if workload is not None:
            workload.close()
        uninstrument()
