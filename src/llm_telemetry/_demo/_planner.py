"""The planner's vocabulary: a :class:`Step` (one scripted SDK call) and the random draws that shape it.

Every random choice of the workload comes, in order, from one seeded :class:`random.Random`, so the
same seed gives the same sequence of requests (token counts, errors, latencies), whichever lane ends
up running each one. The scenarios (``_scenarios.py``) compose these draws.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from ..providers import provider_for_host
from ..testing import (
    Chat,
    ChatStream,
    Converse,
    ConverseStream,
    GenerateContent,
    GenerateContentStream,
    InvokeModel,
    Message,
    MessageStream,
    Reply,
    anthropic_usage,
    bedrock_usage,
    gemini_usage,
    openai_usage,
)

__all__ = [
    "BEDROCK",
    "BEDROCK_HAIKU",
    "BEDROCK_SONNET",
    "EMBEDDING",
    "GEMINI_FLASH",
    "GEMINI_PRO",
    "GPT_4O_MINI",
    "GPT_41",
    "GPT_AUDIO",
    "GPT_IMAGE",
    "HAIKU",
    "LLAMA",
    "NOVA_LITE",
    "O4_MINI",
    "SONNET",
    "Model",
    "Planner",
    "Step",
]


#: SDK -> its ``provider`` label where they differ (the Gemini Developer API: google-genai keeps its
#: own name at any base URL).
_LABELS = {"gemini": "gcp.gemini"}
#: Bedrock's us-east-1 runtime endpoint, which the boto3 clients name (pricing and ``server.address``
#: see AWS); each request still goes to the lane's fake provider.
BEDROCK = "https://bedrock-runtime.us-east-1.amazonaws.com"


@dataclass(frozen=True, slots=True)
class Step:
    """One SDK call and the fake provider's scripted answers to it (SDK retries included)."""

    scenario: str
    #: The SDK making the call: openai, anthropic, google-genai (``gemini``) or boto3 (``bedrock``,
    #: whose calls name Bedrock's endpoint in ``base_url``).
    provider: Literal["openai", "anthropic", "gemini", "bedrock"]
    #: ``messages.stream`` is Anthropic's stream helper, ``images.*`` the images API, ``generate_content*``
    #: google-genai's ``client.models`` methods, ``converse*`` and ``invoke_model`` boto3's; the others
    #: are ``<api>.create``.
    api: Literal[
        "chat",
        "responses",
        "embeddings",
        "messages",
        "messages.stream",
        "images.generate",
        "images.edit",
        "generate_content",
        "generate_content_stream",
        "converse",
        "converse_stream",
        "invoke_model",
    ]
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
    #: A production API the client names (``https://openrouter.ai/api/v1``): the lane's fake provider
    #: still answers, but the call is labelled as that API's, as in production.
    base_url: str | None = None

    @property
    def counted_as(self) -> str:
        """The ``provider`` label the call is recorded under."""
        if self.base_url is None:
            return _LABELS.get(self.provider, self.provider)
        return provider_for_host(urlsplit(self.base_url).hostname, self.provider)


@dataclass(frozen=True, slots=True)
class Model:
    """A model as the demo plays it: the dated name responses carry, and a latency profile."""

    request: str
    response: str
    ttft: tuple[float, float]  # seconds before the first token
    tpot: tuple[float, float]  # seconds per output token


GPT_4O_MINI = Model("gpt-4o-mini", "gpt-4o-mini-2024-07-18", (0.15, 0.45), (0.003, 0.007))
GPT_41 = Model("gpt-4.1", "gpt-4.1-2025-04-14", (0.3, 0.8), (0.005, 0.01))
O4_MINI = Model("o4-mini", "o4-mini-2025-04-16", (0.4, 1.0), (0.003, 0.006))
EMBEDDING = Model("text-embedding-3-small", "text-embedding-3-small", (0.03, 0.12), (0.0, 0.0))
SONNET = Model("claude-sonnet-4-5", "claude-sonnet-4-5-20250929", (0.4, 1.0), (0.006, 0.012))
HAIKU = Model("claude-haiku-4-5", "claude-haiku-4-5-20251001", (0.15, 0.4), (0.002, 0.005))
GPT_AUDIO = Model("gpt-audio", "gpt-audio-2025-08-28", (0.3, 0.8), (0.004, 0.008))
#: Images take seconds; per-token pace does not apply (an image arrives whole).
GPT_IMAGE = Model("gpt-image-1", "gpt-image-1", (0.8, 2.0), (0.0, 0.0))
GEMINI_FLASH = Model("gemini-2.5-flash", "gemini-2.5-flash", (0.25, 0.6), (0.002, 0.005))
GEMINI_PRO = Model("gemini-2.5-pro", "gemini-2.5-pro", (0.5, 1.2), (0.005, 0.01))


def _bedrock(model_id: str, ttft: tuple[float, float], tpot: tuple[float, float]) -> Model:
    """A Bedrock model (``us.``: a cross-region inference profile): responses name no other model."""
    return Model(model_id, model_id, ttft, tpot)


NOVA_LITE = _bedrock("amazon.nova-lite-v1:0", (0.15, 0.4), (0.002, 0.004))
LLAMA = _bedrock("us.meta.llama3-3-70b-instruct-v1:0", (0.3, 0.7), (0.004, 0.008))
BEDROCK_SONNET = _bedrock("us.anthropic.claude-sonnet-4-5-20250929-v1:0", (0.4, 1.0), (0.006, 0.012))
BEDROCK_HAIKU = _bedrock("us.anthropic.claude-haiku-4-5-20251001-v1:0", (0.15, 0.4), (0.002, 0.005))

_SENTENCE = (
    "the order shipped on tuesday and the refund was issued to the original card so the customer "
    "should see it within five business days according to the policy we agreed with the carrier"
)
_WORDS = _SENTENCE.split()
_SYSTEM = "You are a support assistant for an online store. Answer briefly and cite the policy."
_THINKING = {"type": "enabled", "budget_tokens": 2048}


class Planner:
    """Draws every random choice of the workload, in order, from one seeded generator."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.warm: set[tuple[str, str, str]] = set()  # Anthropic prompt caches written so far

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

    def timing(self, model: Model, visible: int, hidden: int = 0, chunks: int = 0) -> tuple[float, float]:
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
        model: Model,
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
        model: Model,
        feature: str,
        *,
        fresh: int,
        output: int,
        thinking: int = 0,
        cached_prefix: int = 0,
        api: Literal["messages", "messages.stream"] = "messages",
        stream: bool = False,
    ) -> Step:
        """A Messages call; a ``cached_prefix`` is a long system prompt marked ``cache_control``."""
        tenant = self.tenant()
        read, write = self._prompt_cache(model, feature, tenant, cached_prefix)
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
            "system": _anthropic_system(cached_prefix),
            "messages": [{"role": "user", "content": f"[{feature}] {self.text(40)}?"}],
        }
        if thinking:
            request["thinking"] = _THINKING
        if stream:
            request["stream"] = True
        return Step(scenario, "anthropic", api, request, (reply,), feature, tenant, latency, delay)

    def gemini(
        self,
        scenario: str,
        model: Model,
        feature: str,
        *,
        prompt: int,
        visible: int,
        thoughts: int,
        cached: int = 0,
        stream: bool = False,
    ) -> Step:
        """A ``generate_content`` (or ``generate_content_stream``) call with thought summaries included;
        ``cached`` of the ``prompt`` tokens come from the context cache it names."""
        tenant = self.tenant()
        usage = gemini_usage(prompt, visible, thoughts=thoughts, cached=cached)
        thought = self.text(60)
        chunks = self.chunks(visible) if stream else ()
        latency, delay = self.timing(model, visible, thoughts, len(chunks))
        reply: Reply = (
            GenerateContentStream(model=model.response, chunks=chunks, usage=usage, thought=thought)
            if stream
            else GenerateContent(model=model.response, text=self.text(visible), usage=usage, thought=thought)
        )
        config: dict[str, Any] = {"thinking_config": {"include_thoughts": True, "thinking_budget": 4096}}
        if cached:  # the cache holds the system instruction, which a request naming it may not repeat
            config["cached_content"] = f"cachedContents/{feature}-{tenant}"
        else:
            config["system_instruction"] = _SYSTEM
        request = {"model": model.request, "contents": f"[{feature}] {self.text(40)}?", "config": config}
        api: Literal["generate_content", "generate_content_stream"] = (
            "generate_content_stream" if stream else "generate_content"
        )
        return Step(scenario, "gemini", api, request, (reply,), feature, tenant, latency, delay)

    def converse(
        self,
        scenario: str,
        model: Model,
        feature: str,
        *,
        fresh: int,
        output: int,
        cached_prefix: int = 0,
        stream: bool = False,
    ) -> Step:
        """A Bedrock Converse (or ConverseStream) call; a ``cached_prefix`` is a long system prompt
        ending in a ``cachePoint``, cached as :meth:`claude`'s is."""
        tenant = self.tenant()
        system: list[dict[str, Any]] = [{"text": _SYSTEM * 40 if cached_prefix else _SYSTEM}]
        usage = bedrock_usage(fresh, output)
        if cached_prefix:
            system.append({"cachePoint": {"type": "default"}})
            read, write = self._prompt_cache(model, feature, tenant, cached_prefix)
            usage = bedrock_usage(fresh, output, cache_read=read, cache_write=write)
        chunks = self.chunks(output) if stream else ()
        latency, delay = self.timing(model, output, 0, len(chunks))
        text = self.text(output)
        reply: Reply = ConverseStream(chunks=chunks, usage=usage) if stream else Converse(text, usage)
        request = {
            "modelId": model.request,
            "system": system,
            "messages": [{"role": "user", "content": [{"text": f"[{feature}] {self.text(40)}?"}]}],
            "inferenceConfig": {"maxTokens": 1024},
        }
        api: Literal["converse", "converse_stream"] = "converse_stream" if stream else "converse"
        return Step(
            scenario, "bedrock", api, request, (reply,), feature, tenant, latency, delay, base_url=BEDROCK
        )

    def invoke_claude(
        self, scenario: str, model: Model, feature: str, *, fresh: int, output: int, cached_prefix: int = 0
    ) -> Step:
        """Bedrock InvokeModel with Anthropic's Messages body (``anthropic_version`` bedrock-2023-05-31,
        https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-anthropic-claude-messages.html)."""
        tenant = self.tenant()
        read, write = self._prompt_cache(model, feature, tenant, cached_prefix)
        body = {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 1024,
            "system": _anthropic_system(cached_prefix),
            "messages": [{"role": "user", "content": f"[{feature}] {self.text(40)}?"}],
        }
        latency, _ = self.timing(model, output)
        reply = InvokeModel(self.text(output), fresh, output, cache_read=read, cache_write=write)
        request = {
            "modelId": model.request,
            "body": json.dumps(body),
            "contentType": "application/json",
            "accept": "application/json",
        }
        return Step(
            scenario, "bedrock", "invoke_model", request, (reply,), feature, tenant, latency, base_url=BEDROCK
        )

    def _prompt_cache(self, model: Model, feature: str, tenant: str, prefix: int) -> tuple[int, int]:
        """(cache read, cache write): the first call per (model, feature, tenant) writes the cache, later
        ones read it, and now and then it has expired (Anthropic's 5-minute TTL) and is written again."""
        if not prefix:
            return 0, 0
        key = (model.request, feature, tenant)
        if key in self.warm and self.rng.random() > 0.1:
            return prefix, 0
        self.warm.add(key)
        return 0, prefix


def _anthropic_system(cached_prefix: int) -> Any:
    """The system prompt: plain, or long and marked ``cache_control`` when it is a cached prefix."""
    if not cached_prefix:
        return _SYSTEM
    return [{"type": "text", "text": _SYSTEM * 40, "cache_control": {"type": "ephemeral"}}]
