"""dspy 3.4 against the fake provider: what its default engine sends, and that it parses what we script.

``dspy.LM(...)`` without ``engine=`` selects dspy's native engine (the vendored lm15 library, its own
stdlib HTTP transport, ``User-Agent: lm15/stdlib``) whenever the model string names a provider lm15
speaks: ``openai/`` goes to Chat Completions, ``model_type="responses"`` to the Responses API,
``anthropic/`` to Messages, ``gemini/`` to generateContent. ``engine="litellm"`` goes through LiteLLM
and the openai SDK instead. The fake provider already serves every one of these, without a key or a
network (conftest keeps dspy's model-metadata refresh offline through ``LITELLM_LOCAL_MODEL_COST_MAP``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dspy
import pytest
from dspy.utils.exceptions import LMRateLimitError

from llm_telemetry.testing import (
    Chat,
    ChatStream,
    Error,
    FakeProvider,
    GenerateContent,
    Message,
    Responses,
    anthropic_usage,
    gemini_usage,
    openai_usage,
    responses_usage,
)

HI = [{"role": "user", "content": "hi"}]


def _lm(fp: FakeProvider, model: str = "openai/gpt-4o-mini", **kwargs: Any) -> Any:
    base = {"openai": fp.openai_base_url, "anthropic": fp.url + "/v1", "gemini": fp.url + "/v1beta"}
    options = {"api_base": base[model.split("/", 1)[0]], "api_key": "x", "cache": False, **kwargs}
    return dspy.LM(model, **options)


def test_default_engine_sends_openai_chat_completions(fp: FakeProvider) -> None:
    fp.script(Chat(content="Paris.", usage=openai_usage(11, 4, cached=3, reasoning=2)))
    lm = _lm(fp)
    assert lm("hi") == ["Paris."]
    (req,) = fp.requests
    assert (req.method, req.path) == ("POST", "/v1/chat/completions")
    assert req.headers["user-agent"] == "lm15/stdlib"  # dspy's own transport, not the openai SDK
    assert req.headers["authorization"] == "Bearer x"
    assert req.body == {"model": "gpt-4o-mini", "messages": HI}
    entry = lm.history[-1]
    assert entry["usage"] == {
        "prompt_tokens": 11,
        "completion_tokens": 4,
        "total_tokens": 15,
        "prompt_tokens_details": {"cached_tokens": 3},
        "completion_tokens_details": {"reasoning_tokens": 2},
    }
    assert entry["response_model"] == "gpt-4o-mini-2024-07-18"


def test_predict_program_end_to_end(fp: FakeProvider) -> None:
    fp.script(Chat(content="[[ ## answer ## ]]\nParis\n\n[[ ## completed ## ]]", usage=openai_usage(50, 9)))
    lm = _lm(fp)
    with dspy.context(lm=lm):
        prediction = dspy.Predict("question -> answer")(question="Capital of France?")
    assert prediction.answer == "Paris"
    (req,) = fp.requests
    assert [m["role"] for m in req.body["messages"]] == ["system", "user"]
    assert "Capital of France?" in req.body["messages"][1]["content"]
    assert lm.history[-1]["usage"]["prompt_tokens"] == 50


async def test_async_call_uses_the_native_engine(fp: FakeProvider) -> None:
    fp.script(Chat(usage=openai_usage(6, 2)))
    lm = _lm(fp)
    assert await lm.acall("hi") == ["Hello there."]
    assert fp.requests[0].headers["user-agent"] == "lm15/stdlib"
    assert lm.history[-1]["usage"]["total_tokens"] == 8


async def test_streamify_asks_for_the_usage_chunk(fp: FakeProvider) -> None:
    chunks = ("[[ ## answer ## ]]\n", "Par", "is\n\n[[ ## completed ## ]]")
    fp.script(ChatStream(chunks=chunks, usage=openai_usage(50, 9)))
    lm = _lm(fp)
    listener = dspy.streaming.StreamListener(signature_field_name="answer")
    program = dspy.streamify(dspy.Predict("question -> answer"), stream_listeners=[listener])
    with dspy.context(lm=lm):
        outputs = [item async for item in program(question="Capital?")]
    assert "".join(o.chunk for o in outputs if isinstance(o, dspy.streaming.StreamResponse)) == "Paris"
    assert outputs[-1].answer == "Paris"
    body = fp.requests[0].body
    assert (body["stream"], body["stream_options"]) == (True, {"include_usage": True})
    assert lm.history[-1]["usage"]["completion_tokens"] == 9


def test_responses_anthropic_and_gemini_are_native_too(fp: FakeProvider) -> None:
    fp.script(
        Responses(usage=responses_usage(9, 2)),
        Message(usage=anthropic_usage(10, 5, cache_read=100, cache_write=20)),
        GenerateContent(usage=gemini_usage(10, 5, thoughts=7, cached=4)),
    )
    responses = _lm(fp, model_type="responses")
    claude = _lm(fp, "anthropic/claude-sonnet-4-5-20250929")
    gemini = _lm(fp, "gemini/gemini-2.5-flash")
    assert responses("hi") == [{"text": "Hello there."}]  # the Responses model type returns parts
    assert claude("hi") == gemini("hi") == ["Hello there."]
    assert [r.path for r in fp.requests] == [
        "/v1/responses",
        "/v1/messages",
        "/v1beta/models/gemini-2.5-flash:generateContent",
    ]
    assert {r.headers["user-agent"] for r in fp.requests} == {"lm15/stdlib"}
    assert (fp.requests[1].headers["x-api-key"], fp.requests[2].headers["x-goog-api-key"]) == ("x", "x")
    assert responses.history[-1]["usage"]["total_tokens"] == 11
    # dspy's history already folds the providers' own meanings into one: Anthropic cache reads and writes
    # into prompt_tokens, Gemini thoughts into completion_tokens (lm15's Usage keeps them verbatim).
    assert claude.history[-1]["usage"]["prompt_tokens"] == 130
    assert claude.history[-1]["usage"]["prompt_tokens_details"] == {
        "cached_tokens": 100,
        "cache_creation_tokens": 20,
    }
    assert gemini.history[-1]["usage"]["completion_tokens"] == 12
    assert gemini.history[-1]["usage"]["completion_tokens_details"] == {"reasoning_tokens": 7}


@pytest.mark.slow  # importing LiteLLM takes seconds
def test_litellm_engine_goes_through_the_openai_sdk(fp: FakeProvider) -> None:
    fp.script(Chat(usage=openai_usage(11, 4)))
    lm = _lm(fp, engine="litellm")
    assert lm("hi") == ["Hello there."]
    (req,) = fp.requests
    assert req.path == "/v1/chat/completions"
    assert "x-stainless-lang" in req.headers  # the openai SDK, under LiteLLM
    assert lm.history[-1]["usage"]["prompt_tokens"] == 11


def test_dspy_retries_on_its_own(fp: FakeProvider) -> None:
    """The native engine makes one attempt; dspy's LM layer retries (``num_retries``, honouring the
    ``retry-after-ms`` the fake provider sends): three HTTP requests, one call, one history entry."""
    fp.script(Error(429), Error(503), Chat(usage=openai_usage(3, 1)))
    lm = _lm(fp)
    assert lm("hi") == ["Hello there."]
    assert len(fp.requests) == 3 and len(lm.history) == 1
    fp.reset()
    fp.script(Error(429))
    with pytest.raises(LMRateLimitError):
        _lm(fp, num_retries=0)("hi")
    assert len(fp.requests) == 1


@pytest.fixture
def memory_cache() -> Iterator[None]:
    """dspy's response cache in memory only, restored afterwards (the default also writes to disk)."""
    saved = dspy.cache
    dspy.configure_cache(enable_disk_cache=False, enable_memory_cache=True)
    try:
        yield
    finally:
        dspy.cache = saved


@pytest.mark.usefixtures("memory_cache")
def test_a_cache_hit_sends_nothing(fp: FakeProvider) -> None:
    lm = _lm(fp, cache=True)
    assert lm("cached?") == lm("cached?") == ["Hello there."]
    assert len(fp.requests) == 1
