"""The workload's scenarios, each registered with its weight where it is defined, and :func:`plan`.

A scenario turns the planner's random draws into one fully scripted SDK call. Weights are roughly
"per 100 requests"; rare ones (errors, cut streams) still show up within seconds because the plan
opens with every scenario once. Scenarios through an optional SDK (google-genai, boto3) name its
extra, and are left out of the plan when that SDK is not installed.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, replace
from typing import Any, Literal, NamedTuple

from ..testing import (
    Chat,
    ChatStream,
    Embeddings,
    Error,
    Images,
    Message,
    Responses,
    ResponsesStream,
    images_usage,
    responses_usage,
)
from ._planner import (
    BEDROCK_HAIKU,
    BEDROCK_SONNET,
    EMBEDDING,
    GEMINI_FLASH,
    GEMINI_PRO,
    GPT_4O_MINI,
    GPT_41,
    GPT_AUDIO,
    GPT_IMAGE,
    HAIKU,
    LLAMA,
    NOVA_LITE,
    O4_MINI,
    SONNET,
    Planner,
    Step,
)

__all__ = ["OPTIONAL_SDKS", "SCENARIOS", "OptionalSdk", "Scenario", "Skipped", "plan", "skipped"]

Draw = Callable[[Planner], Step]


class OptionalSdk(NamedTuple):
    """An SDK some scenarios call through, which the demo can do without."""

    module: str
    distribution: str
    #: The API its scenarios call, as the banner names it.
    api: str


#: Extra -> its SDK. The demo needs openai and anthropic anyway (README installs ``.[openai,anthropic]``).
OPTIONAL_SDKS = {
    "gemini": OptionalSdk("google.genai", "google-genai", "Gemini"),
    "bedrock": OptionalSdk("boto3", "boto3", "Bedrock"),
}


@dataclass(frozen=True, slots=True)
class Scenario:
    draw: Draw
    weight: int
    #: The extra (``OPTIONAL_SDKS``) whose SDK the call goes through; None: openai or anthropic.
    extra: str | None = None


#: Scenario name -> how to draw one and how often, in registration order.
SCENARIOS: dict[str, Scenario] = {}


def scenario(weight: int, extra: str | None = None) -> Callable[[Draw], Draw]:
    """Register the decorated draw under its function name."""

    def register(draw: Draw) -> Draw:
        SCENARIOS[draw.__name__] = Scenario(draw, weight, extra)
        return draw

    return register


@dataclass(frozen=True, slots=True)
class Skipped:
    """The scenarios left out because their SDKs are not installed, and how to add them."""

    extras: tuple[str, ...] = ()
    scenarios: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.extras)

    @property
    def apis(self) -> str:
        """``Gemini and Bedrock``."""
        return " and ".join(OPTIONAL_SDKS[extra].api for extra in self.extras)

    @property
    def missing(self) -> str:
        """``google-genai and boto3 are not installed``."""
        verb = "are" if len(self.extras) > 1 else "is"
        return (
            f"{' and '.join(OPTIONAL_SDKS[extra].distribution for extra in self.extras)} {verb} not installed"
        )

    @property
    def install(self) -> str:
        """The command that adds them, from a checkout (README's first command installs from one)."""
        return f"pip install -e '.[{','.join(self.extras)}]'"


def skipped() -> Skipped:
    """The scenarios whose SDK cannot be imported here."""
    missing = []
    for extra, sdk in OPTIONAL_SDKS.items():
        try:
            importlib.import_module(sdk.module)
        except ImportError:
            missing.append(extra)
    names = tuple(name for name, s in SCENARIOS.items() if s.extra in missing)
    return Skipped(tuple(missing), names)


def plan(seed: int, skip: Collection[str] = ()) -> Iterator[Step]:
    """The endless, reproducible request sequence for ``seed``, without the scenarios named in ``skip``.

    It opens with every scenario once (in a seeded order), so every family, label and dashboard
    panel has data within seconds even for rare scenarios; after that, scenarios are drawn by weight.
    """
    planner = Planner(seed)
    active = {name: s for name, s in SCENARIOS.items() if name not in skip}
    names = list(active)
    weights = [s.weight for s in active.values()]
    opening = names[:]
    planner.rng.shuffle(opening)
    for name in opening:
        yield active[name].draw(planner)
    while True:
        yield active[planner.rng.choices(names, weights)[0]].draw(planner)


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

# -- OpenAI ----------------------------------------------------------------------------------------


@scenario(weight=14)
def chat(p: Planner) -> Step:
    feature = p.rng.choice(("chat", "search"))
    return p.openai("chat", GPT_4O_MINI, feature, prompt=p.n(150, 2400), output=p.n(30, 220))


@scenario(weight=12)
def chat_stream(p: Planner) -> Step:
    model = p.rng.choice((GPT_4O_MINI, GPT_41))
    return p.openai("chat_stream", model, "chat", prompt=p.n(200, 3000), output=p.n(40, 160), stream=True)


@scenario(weight=10)
def embeddings(p: Planner) -> Step:
    batch = p.rng.choice((1, 1, 4, 8, 16))
    tokens = sum(p.n(12, 300) for _ in range(batch))
    inputs = [p.text(32) for _ in range(batch)]
    request = {"model": EMBEDDING.request, "input": inputs[0] if batch == 1 else inputs}
    reply = Embeddings(model=EMBEDDING.response, prompt_tokens=tokens)
    latency = p.rng.uniform(*EMBEDDING.ttft)
    return Step("embeddings", "openai", "embeddings", request, (reply,), "search", p.tenant(), latency)


@scenario(weight=6)
def summarize_cached(p: Planner) -> Step:
    """A long shared document summarized again and again: OpenAI's automatic prompt caching."""
    prompt = p.n(3000, 9000)
    cached = (prompt - p.n(100, 600)) // 128 * 128
    return p.openai(
        "summarize_cached", GPT_41, "summarize", prompt=prompt, output=p.n(120, 300), cached=cached
    )


@scenario(weight=6)
def reasoning(p: Planner) -> Step:
    thought = p.n(200, 1500)
    return p.openai(
        "reasoning",
        O4_MINI,
        "extract",
        prompt=p.n(300, 2000),
        output=thought + p.n(40, 200),
        reasoning=thought,
        reasoning_effort="medium",
    )


@scenario(weight=6)
def responses(p: Planner) -> Step:
    feature = p.rng.choice(("chat", "summarize"))
    prompt, output = p.n(300, 4000), p.n(50, 250)
    latency, _ = p.timing(GPT_41, output)
    status = "incomplete" if p.rng.random() < 0.15 else "completed"  # incomplete: "length"
    usage = responses_usage(prompt, output, cached=p.openai_cached(prompt), reasoning=0)
    reply = Responses(model=GPT_41.response, content=p.text(output), usage=usage, status=status)
    request = {"model": GPT_41.request, "input": f"[{feature}] {p.text(80)}", "max_output_tokens": 300}
    return Step("responses", "openai", "responses", request, (reply,), feature, p.tenant(), latency)


@scenario(weight=5)
def responses_stream(p: Planner) -> Step:
    prompt, visible, thought = p.n(300, 2500), p.n(40, 160), p.n(100, 900)
    chunks = p.chunks(visible)
    latency, delay = p.timing(O4_MINI, visible, thought, len(chunks))
    usage = responses_usage(prompt, visible + thought, cached=p.openai_cached(prompt), reasoning=thought)
    reply = ResponsesStream(model=O4_MINI.response, chunks=chunks, usage=usage)
    request = {"model": O4_MINI.request, "input": f"[extract] {p.text(80)}", "stream": True}
    tenant = p.tenant()
    return Step(
        "responses_stream", "openai", "responses", request, (reply,), "extract", tenant, latency, delay
    )


@scenario(weight=4)
def tool_call(p: Planner) -> Step:
    step = p.openai("tool_call", GPT_4O_MINI, "chat", prompt=p.n(300, 1200), output=p.n(15, 40))
    args = f'{{"order_id": "A-{p.n(1000, 9999)}"}}'
    (reply,) = step.replies
    assert isinstance(reply, Chat)
    tool = replace(reply, content=args, tool_call=True, finish_reason="tool_calls")
    return replace(step, kwargs={**step.kwargs, "tools": _TOOLS}, replies=(tool,))


@scenario(weight=4)
def rate_limited(p: Planner) -> Step:
    """429, then the SDK's retry succeeds (after the server's ``retry-after-ms``)."""
    step = chat(p)
    limited = Error(429, headers={"retry-after-ms": str(p.n(100, 500))})
    return replace(step, scenario="rate_limited", replies=(limited, *step.replies))


@scenario(weight=3)
def truncated(p: Planner) -> Step:
    """An answer cut off at ``max_tokens``: finish reason ``length``, billed all the same."""
    limit = p.rng.choice((64, 128, 256))
    step = p.openai(
        "truncated", GPT_4O_MINI, "summarize", prompt=p.n(500, 3000), output=limit, max_tokens=limit
    )
    (reply,) = step.replies
    assert isinstance(reply, Chat)
    return replace(step, replies=(replace(reply, finish_reason="length"),))


@scenario(weight=3)
def abandoned_stream(p: Planner) -> Step:
    """The user navigated away: the app stops reading and closes the stream (outcome cancelled)."""
    return replace(chat_stream(p), scenario="abandoned_stream", read_at_most=p.n(2, 5))


@scenario(weight=2)
def server_error(p: Planner) -> Step:
    """500 twice with ``max_retries=1``: retries exhausted, the caller gets the error."""
    step = chat(p)
    failed = Error(500, headers={"retry-after-ms": "150"})
    return replace(step, scenario="server_error", replies=(failed, failed), max_retries=1, fails=True)


@scenario(weight=2)
def context_length(p: Planner) -> Step:
    step = chat(p)
    return replace(step, scenario="context_length", replies=(Error(400, body=_CONTEXT_ERROR),), fails=True)


@scenario(weight=2)
def stream_no_usage(p: Planner) -> Step:
    """``include_usage`` explicitly off: the provider reports no usage, counted as missing."""
    step = chat_stream(p)
    kwargs = {**step.kwargs, "stream_options": {"include_usage": False}}
    return replace(step, scenario="stream_no_usage", kwargs=kwargs)


@scenario(weight=1)
def stream_cut(p: Planner) -> Step:
    """The connection drops mid-stream: ``stream_interrupted``."""
    step = chat_stream(p)
    (reply,) = step.replies
    assert isinstance(reply, ChatStream)
    return replace(step, scenario="stream_cut", replies=(replace(reply, die_after=3),), fails=True)


@scenario(weight=3)
def voice(p: Planner) -> Step:
    """A voice assistant turn: audio in, audio out, each billed at the model's audio rates."""
    heard, spoken = p.n(40, 400), p.n(150, 900)
    text_in, text_out = p.n(20, 120), p.n(20, 80)
    step = p.openai("voice", GPT_AUDIO, "chat", prompt=text_in + heard, output=text_out + spoken)
    (reply,) = step.replies
    assert isinstance(reply, Chat) and reply.usage is not None
    usage = {
        **reply.usage,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": heard, "text_tokens": text_in},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": spoken, "text_tokens": text_out},
    }
    kwargs = {**step.kwargs, "modalities": ["text", "audio"], "audio": {"voice": "alloy", "format": "wav"}}
    return replace(step, kwargs=kwargs, replies=(replace(reply, usage=usage),))


@scenario(weight=3)
def openrouter(p: Planner) -> Step:
    """The same model through OpenRouter, which reports what it charged (``usage.cost``): that amount is
    the cost (component ``reported``), not our price table's."""
    step = p.openai("openrouter", GPT_4O_MINI, "chat", prompt=p.n(150, 2400), output=p.n(30, 220))
    (reply,) = step.replies
    assert isinstance(reply, Chat) and reply.usage is not None
    prompt, completion = reply.usage["prompt_tokens"], reply.usage["completion_tokens"]
    charged = (prompt * 0.15 + completion * 0.6) / 1_000_000  # gpt-4o-mini's rates, no markup
    usage = {**reply.usage, "cost": charged, "is_byok": False}
    model = "openai/" + GPT_4O_MINI.request
    return replace(
        step,
        kwargs={**step.kwargs, "model": model},
        replies=(replace(reply, model=model, usage=usage),),
        base_url="https://openrouter.ai/api/v1",
    )


def _image(p: Planner, name: str, api: Literal["images.generate", "images.edit"], source_tokens: int) -> Step:
    """An images API call (gpt-image-1, token-billed); an edit also pays for its input image."""
    request: dict[str, Any] = {"model": GPT_IMAGE.request, "prompt": p.text(20), "quality": "medium"}
    if api == "images.edit":
        request["image"] = ("photo.png", b"\x89PNG\r\n\x1a\n", "image/png")
    output = p.rng.choice((272, 1056, 4160))  # low, medium and high quality at 1024x1024
    reply = Images(usage=images_usage(p.n(10, 60), source_tokens, output))
    latency = p.rng.uniform(*GPT_IMAGE.ttft)
    return Step(name, "openai", api, request, (reply,), "images", p.tenant(), latency)


@scenario(weight=2)
def image_generate(p: Planner) -> Step:
    return _image(p, "image_generate", "images.generate", 0)


@scenario(weight=1)
def image_edit(p: Planner) -> Step:
    return _image(p, "image_edit", "images.edit", p.rng.choice((65, 194, 323)))


# -- Anthropic -------------------------------------------------------------------------------------


@scenario(weight=10)
def claude_cached(p: Planner) -> Step:
    """Sonnet with a long cached system prompt: one cache write, then cache reads."""
    feature = p.rng.choice(("summarize", "chat"))
    return p.claude(
        "claude_cached",
        SONNET,
        feature,
        fresh=p.n(40, 400),
        output=p.n(80, 300),
        cached_prefix=p.n(2000, 6000),
    )


@scenario(weight=8)
def claude_stream(p: Planner) -> Step:
    """Haiku through the ``messages.stream()`` helper, with a cached system prompt."""
    return p.claude(
        "claude_stream",
        HAIKU,
        "chat",
        fresh=p.n(20, 200),
        output=p.n(40, 160),
        cached_prefix=p.n(1500, 4000),
        api="messages.stream",
    )


def _sonnet_thinking(p: Planner, name: str, thought: int, answer: tuple[int, int], stream: bool) -> Step:
    return p.claude(
        name,
        SONNET,
        "extract",
        fresh=p.n(200, 1500),
        output=thought + p.n(*answer),
        thinking=thought,
        stream=stream,
    )


@scenario(weight=4)
def claude_thinking(p: Planner) -> Step:
    """Extended thinking: thinking tokens are part of (and billed as) output."""
    return _sonnet_thinking(p, "claude_thinking", p.n(300, 2000), (60, 250), stream=False)


@scenario(weight=3)
def claude_thinking_stream(p: Planner) -> Step:
    """Sonnet with extended thinking through ``create(stream=True)``."""
    return _sonnet_thinking(p, "claude_thinking_stream", p.n(200, 1200), (40, 160), stream=True)


@scenario(weight=3)
def web_search(p: Planner) -> Step:
    """Sonnet with the web search tool: each search billed per call on top of the tokens."""
    step = p.claude("web_search", SONNET, "search", fresh=p.n(200, 1200), output=p.n(200, 900))
    (reply,) = step.replies
    assert isinstance(reply, Message) and reply.usage is not None
    usage = {**reply.usage, "server_tool_use": {"web_search_requests": p.n(1, 3)}}
    tools = [{"type": "web_search_20250305", "name": "web_search", "max_uses": 3}]
    return replace(step, kwargs={**step.kwargs, "tools": tools}, replies=(replace(reply, usage=usage),))


@scenario(weight=3)
def overloaded(p: Planner) -> Step:
    """Anthropic 529 ``overloaded_error``, then the SDK's retry succeeds."""
    step = claude_cached(p)
    busy = Error(529, headers={"retry-after-ms": str(p.n(200, 800))})
    return replace(step, scenario="overloaded", replies=(busy, *step.replies))


# -- Gemini (google-genai) -------------------------------------------------------------------------


@scenario(weight=5, extra="gemini")
def gemini_cached(p: Planner) -> Step:
    """Gemini 2.5 Flash over a long document in an explicit context cache, thinking before it answers:
    cached tokens are part of the prompt, thoughts part of (and billed as) output."""
    cached = p.n(4096, 12000)
    return p.gemini(
        "gemini_cached",
        GEMINI_FLASH,
        "summarize",
        prompt=cached + p.n(40, 400),
        visible=p.n(80, 300),
        thoughts=p.n(100, 900),
        cached=cached,
    )


@scenario(weight=4, extra="gemini")
def gemini_stream(p: Planner) -> Step:
    """Gemini 2.5 Pro through ``generate_content_stream``: thought summary first, then the answer."""
    return p.gemini(
        "gemini_stream",
        GEMINI_PRO,
        "chat",
        prompt=p.n(200, 3000),
        visible=p.n(40, 160),
        thoughts=p.n(200, 1200),
        stream=True,
    )


# -- Bedrock (boto3) -------------------------------------------------------------------------------


@scenario(weight=5, extra="bedrock")
def bedrock_converse(p: Planner) -> Step:
    """Converse with Amazon Nova Lite or Llama 3.3 70B: priced because the client names AWS's endpoint
    (at a self-hosted address an open-weight model is not)."""
    model = p.rng.choice((NOVA_LITE, LLAMA))
    feature = p.rng.choice(("chat", "search"))
    return p.converse("bedrock_converse", model, feature, fresh=p.n(150, 2400), output=p.n(30, 220))


@scenario(weight=4, extra="bedrock")
def bedrock_converse_stream(p: Planner) -> Step:
    """ConverseStream with Claude Sonnet 4.5 and a cached system prompt: cache writes, then reads."""
    return p.converse(
        "bedrock_converse_stream",
        BEDROCK_SONNET,
        "chat",
        fresh=p.n(20, 300),
        output=p.n(40, 160),
        cached_prefix=p.n(1500, 4000),
        stream=True,
    )


@scenario(weight=3, extra="bedrock")
def bedrock_invoke(p: Planner) -> Step:
    """InvokeModel with Claude Haiku 4.5's own (Anthropic Messages) body; usage from the response."""
    return p.invoke_claude(
        "bedrock_invoke",
        BEDROCK_HAIKU,
        "extract",
        fresh=p.n(100, 800),
        output=p.n(40, 250),
        cached_prefix=p.rng.choice((0, p.n(1200, 3000))),
    )


@scenario(weight=2, extra="bedrock")
def bedrock_throttled(p: Planner) -> Step:
    """``ThrottlingException`` (429), then botocore's own retry succeeds."""
    step = bedrock_converse(p)
    return replace(step, scenario="bedrock_throttled", replies=(Error(429), *step.replies))
