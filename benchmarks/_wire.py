"""The benchmark's in-process provider: real openai clients whose transport answers from memory.

Every client is a real ``openai.OpenAI`` over a ``MockTransport`` of the HTTP library the installed
openai uses, answering with pre-encoded bytes, so only client-side work is measured. The global
TracerProvider is a real OTel SDK one whose ``BatchSpanProcessor`` exports into an exporter that
drops everything.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterator, Sequence
from types import ModuleType
from typing import Any

import openai
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

MODEL = "gpt-4o-mini"
RESPONSE_MODEL = "gpt-4o-mini-2024-07-18"
EMBEDDINGS_MODEL = "text-embedding-3-small"
MESSAGES: Any = [{"role": "user", "content": "Say hello."}]
#: Stream lengths served, in events (content deltas, the finish, the usage chunk).
STREAM_SIZES = (50, 500)
#: For the live-stream memory check: stays open after the largest count of chunks read.
LONG = max(STREAM_SIZES) + 100


def http_module() -> ModuleType:
    """The HTTP library the installed openai is built on: ``httpx2`` (openai 3.x) or ``httpx`` (2.x)."""
    base = importlib.import_module("openai._base_client")
    for name in ("httpx2", "httpx"):
        module = getattr(base, name, None)
        if isinstance(module, ModuleType):
            return module
    raise RuntimeError("cannot tell which HTTP library openai uses")


HTTP = http_module()


def chat_body() -> bytes:
    """A non-streamed chat completion (https://platform.openai.com/docs/api-reference/chat/object)."""
    return json.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1700000000,
            "model": RESPONSE_MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "Hello! How can I help you today?"},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": 12,
                "completion_tokens": 9,
                "total_tokens": 21,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
            },
            "system_fingerprint": "fp_bench",
        }
    ).encode()


def stream_body(chunks: int) -> bytes:
    """An SSE chat stream of exactly ``chunks`` events: content deltas, the finish, the usage chunk.

    Shape: https://platform.openai.com/docs/api-reference/chat/streaming (``stream_options.include_usage``).
    """

    def event(choices: list[dict[str, Any]], usage: dict[str, Any] | None = None) -> bytes:
        chunk = {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": RESPONSE_MODEL,
            "system_fingerprint": "fp_bench",
            "choices": choices,
            "usage": usage,
        }
        return b"data: " + json.dumps(chunk).encode() + b"\n\n"

    parts = [event([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])]
    parts += [
        event([{"index": 0, "delta": {"content": f" tok{i}"}, "finish_reason": None}])
        for i in range(chunks - 3)
    ]
    parts.append(event([{"index": 0, "delta": {}, "finish_reason": "stop"}]))
    parts.append(
        event([], {"prompt_tokens": 12, "completion_tokens": chunks - 3, "total_tokens": chunks + 9})
    )
    parts.append(b"data: [DONE]\n\n")
    return b"".join(parts)


def embeddings_body() -> bytes:
    """An embeddings response (https://platform.openai.com/docs/api-reference/embeddings/object)."""
    return json.dumps(
        {
            "object": "list",
            "data": [{"object": "embedding", "index": 0, "embedding": [0.0023, -0.0093, 0.0157]}],
            "model": EMBEDDINGS_MODEL,
            "usage": {"prompt_tokens": 5, "total_tokens": 5},
        }
    ).encode()


def client_for(body: bytes, content_type: str) -> openai.OpenAI:
    """A real ``openai.OpenAI`` whose transport answers every request with ``body``, in process."""
    headers = {"content-type": content_type, "x-request-id": "req_bench"}

    def handler(request: Any) -> Any:
        return HTTP.Response(200, headers=headers, content=body)

    http_client = HTTP.Client(transport=HTTP.MockTransport(handler))
    return openai.OpenAI(
        api_key="sk-bench", base_url="https://api.openai.com/v1", http_client=http_client, max_retries=0
    )


class DropExporter(SpanExporter):
    """Accepts every span and keeps none."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


def dropping_provider(**kwargs: Any) -> TracerProvider:
    provider = TracerProvider(**kwargs)
    provider.add_span_processor(BatchSpanProcessor(DropExporter()))
    return provider


PROVIDER = dropping_provider()
trace.set_tracer_provider(PROVIDER)
#: For ``ours-sampled-10``: records one trace in ten, as a user sampling at 10% would.
SAMPLED_PROVIDER = dropping_provider(sampler=ParentBased(TraceIdRatioBased(0.1)))

PLAIN = client_for(chat_body(), "application/json")
EMBEDDINGS = client_for(embeddings_body(), "application/json")
STREAMS = {n: client_for(stream_body(n), "text/event-stream") for n in (*STREAM_SIZES, LONG)}


def call_plain() -> None:
    PLAIN.chat.completions.create(model=MODEL, messages=MESSAGES)


def call_embeddings() -> None:
    EMBEDDINGS.embeddings.create(model=EMBEDDINGS_MODEL, input="Say hello.")


def open_stream(n: int) -> Iterator[Any]:
    """The default streamed call (llm-telemetry then asks for the usage chunk and hides it)."""
    stream: Iterator[Any] = STREAMS[n].chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    return stream


def streamer(n: int) -> Callable[[], None]:
    def call_stream() -> None:
        for _ in open_stream(n):
            pass

    return call_stream
