"""Providers' usage objects as documented or recorded, each with its source, cited once.

The parsers' tests (``test_usage.py``) read them directly; the replays through the real SDKs
(``test_dialects.py``) send them inside each provider's response envelope. Never mutated.
"""

from __future__ import annotations

from typing import Any

Body = dict[str, Any]

#: OpenAI Responses usage with cache reads and writes and reasoning
#: (https://platform.openai.com/docs/api-reference/responses/object, "usage").
OPENAI_RESPONSES: Body = {
    "input_tokens": 5200,
    "input_tokens_details": {"cached_tokens": 4096, "cache_write_tokens": 512},
    "output_tokens": 812,
    "output_tokens_details": {"reasoning_tokens": 640},
    "total_tokens": 6012,
}

#: A cache hit as Mistral's current API reports it (vercel/ai packages/mistral/src/
#: convert-mistral-usage.test.ts, "should map cached tokens from num_cached_tokens").
MISTRAL_CACHE_HIT: Body = {
    "prompt_tokens": 100,
    "completion_tokens": 50,
    "total_tokens": 150,
    "num_cached_tokens": 60,
}

#: DeepSeek's usage before prompt_tokens_details, as relays still forward it
#: (https://api-docs.deepseek.com/guides/kv_cache: "prompt_cache_hit_tokens", "prompt_cache_miss_tokens").
DEEPSEEK_2024: Body = {
    "prompt_tokens": 1000,
    "completion_tokens": 100,
    "total_tokens": 1100,
    "prompt_cache_hit_tokens": 800,
    "prompt_cache_miss_tokens": 200,
}

#: DeepSeek's current shape, both at once (https://api-docs.deepseek.com/api/create-chat-completion, "usage").
DEEPSEEK_CURRENT: Body = {
    "prompt_tokens": 1200,
    "completion_tokens": 300,
    "total_tokens": 1500,
    "prompt_tokens_details": {"cached_tokens": 1024},
    "prompt_cache_hit_tokens": 1024,
    "prompt_cache_miss_tokens": 176,
}

#: The usage a recorded Groq stream carries only under its last chunk's ``x_groq``
#: (vercel/ai packages/groq/src/groq-chat-language-model.test.ts).
GROQ_X_USAGE: Body = {
    "queue_time": 0.061348671,
    "prompt_tokens": 18,
    "prompt_time": 0.000211569,
    "completion_tokens": 439,
    "completion_time": 0.798181818,
    "total_tokens": 457,
    "total_time": 0.798393387,
}

#: xAI's usage example (https://docs.x.ai/developers/rate-limits): 32 + 9 + 94 = 135, the 94 reasoning
#: tokens billed as output on top of completion_tokens (https://docs.x.ai/docs/guides/reasoning).
XAI_REASONING: Body = {
    "prompt_tokens": 32,
    "completion_tokens": 9,
    "total_tokens": 135,
    "prompt_tokens_details": {"text_tokens": 32, "audio_tokens": 0, "image_tokens": 0, "cached_tokens": 6},
    "completion_tokens_details": {
        "reasoning_tokens": 94,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    },
    "num_sources_used": 0,
}

#: Gemini's OpenAI-compatible endpoint (https://ai.google.dev/gemini-api/docs/openai) maps
#: candidatesTokenCount to completion_tokens and the total, thinking included, to total_tokens; thinking
#: is billed as output (https://ai.google.dev/gemini-api/docs/thinking#pricing). A recorded gemini-2.5-flash
#: call: prompt 20, candidates 198, thoughts 405, total 623 (mozilla-ai/any-llm issue #1290).
GEMINI_THINKING: Body = {"prompt_tokens": 20, "completion_tokens": 198, "total_tokens": 623}

#: OpenRouter's usage with what it charged (https://openrouter.ai/docs/use-cases/usage-accounting,
#: "Response Format").
OPENROUTER_COST: Body = {
    "completion_tokens": 2,
    "completion_tokens_details": {"reasoning_tokens": 0},
    "cost": 0.95,
    "cost_details": {"upstream_inference_cost": 19},
    "prompt_tokens": 194,
    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
    "total_tokens": 196,
}

#: OpenRouter-style cached and reasoning tokens without a cost (infron.ai docs, streaming usage example).
OPENROUTER_CACHED_REASONING: Body = {
    "prompt_tokens": 163,
    "completion_tokens": 241,
    "total_tokens": 404,
    "prompt_tokens_details": {"cached_tokens": 162, "audio_tokens": 0, "cache_write_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 204, "audio_tokens": 0, "image_tokens": 0},
}

#: Chat usage of an audio model, audio in and out (https://platform.openai.com/docs/api-reference/chat/object,
#: "usage"; https://platform.openai.com/docs/guides/audio).
OPENAI_AUDIO: Body = {
    "prompt_tokens": 45,
    "completion_tokens": 216,
    "total_tokens": 261,
    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 31, "text_tokens": 14, "image_tokens": 0},
    "completion_tokens_details": {
        "reasoning_tokens": 0,
        "audio_tokens": 175,
        "text_tokens": 41,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    },
}

#: OpenAI predicted outputs (https://platform.openai.com/docs/guides/predicted-outputs): rejected
#: prediction tokens are billed as output and already counted in completion_tokens.
OPENAI_PREDICTION: Body = {
    "prompt_tokens": 100,
    "completion_tokens": 50,
    "total_tokens": 150,
    "completion_tokens_details": {
        "accepted_prediction_tokens": 20,
        "rejected_prediction_tokens": 5,
        "reasoning_tokens": 0,
        "audio_tokens": 0,
    },
}

#: The images API's usage for the GPT image models (https://platform.openai.com/docs/api-reference/images/object,
#: "usage"): 10 text and 40 image tokens in, 50 image tokens out.
IMAGES: Body = {
    "total_tokens": 100,
    "input_tokens": 50,
    "output_tokens": 50,
    "input_tokens_details": {"text_tokens": 10, "image_tokens": 40},
}

#: Fireworks cached tokens (https://docs.fireworks.ai/guides/prompt-caching).
FIREWORKS_CACHED: Body = {
    "prompt_tokens": 2048,
    "completion_tokens": 64,
    "total_tokens": 2112,
    "prompt_tokens_details": {"cached_tokens": 1536},
}

#: Together's usage on the chunk finishing with "eos"
#: (https://docs.together.ai/docs/chat-overview, streaming).
TOGETHER_EOS: Body = {"prompt_tokens": 21, "completion_tokens": 9, "total_tokens": 30, "cached_tokens": 0}
