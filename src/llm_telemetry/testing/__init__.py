"""Test utilities for your own code: a fake LLM provider that drives the real SDKs over HTTP.

Like httpx's ``MockTransport``, but one level down: :class:`FakeProvider` is a real HTTP server on
loopback that speaks the providers' wire formats, so the SDK's own parsing, retries, stream iterators
and error classes run exactly as in production, and no API key or network is needed::

    from llm_telemetry.testing import Chat, FakeProvider, openai_usage

    with FakeProvider() as fp:
        fp.script(Chat(usage=openai_usage(12, 3)))
        client = openai.OpenAI(base_url=fp.openai_base_url, api_key="test")
        client.chat.completions.create(model="gpt-4o-mini", messages=[...])
        assert fp.requests[0].body["model"] == "gpt-4o-mini"

Standard library only.
"""

from ._fakeprovider import (
    Chat,
    ChatStream,
    Completion,
    Embeddings,
    Error,
    FakeProvider,
    Hang,
    Message,
    MessageStream,
    Raw,
    RecordedRequest,
    Reply,
    Responses,
    ResponsesStream,
    anthropic_usage,
    openai_usage,
    responses_usage,
)

__all__ = [
    "Chat",
    "ChatStream",
    "Completion",
    "Embeddings",
    "Error",
    "FakeProvider",
    "Hang",
    "Message",
    "MessageStream",
    "Raw",
    "RecordedRequest",
    "Reply",
    "Responses",
    "ResponsesStream",
    "anthropic_usage",
    "openai_usage",
    "responses_usage",
]
