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

The images API (:class:`Images`, :class:`ImagesStream`) is OpenAI's too. The Gemini REST API
(:class:`GenerateContent`, :class:`GenerateContentStream`, :class:`EmbedContent`,
:class:`CountTokens`) and the Bedrock runtime API (:class:`Converse`, :class:`ConverseStream`,
:class:`InvokeModel`, :class:`InvokeModelStream`, AWS event-stream framing included) are served on the
same port: point ``google-genai`` at ``fp.gemini_base_url`` and boto3 at ``fp.bedrock_endpoint_url`` (or
keep AWS's endpoint and pass the client to ``fp.redirect_boto3``, so pricing sees Bedrock).

Standard library only.
"""

from ._bedrock import (
    Converse,
    ConverseStream,
    CountBedrockTokens,
    InvokeModel,
    InvokeModelStream,
    bedrock_usage,
)
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
from ._gemini import (
    CountTokens,
    EmbedContent,
    GenerateContent,
    GenerateContentStream,
    gemini_error,
    gemini_usage,
)
from ._images import Images, ImagesStream, images_usage

__all__ = [
    "Chat",
    "ChatStream",
    "Completion",
    "Converse",
    "ConverseStream",
    "CountBedrockTokens",
    "CountTokens",
    "EmbedContent",
    "Embeddings",
    "Error",
    "FakeProvider",
    "GenerateContent",
    "GenerateContentStream",
    "Hang",
    "Images",
    "ImagesStream",
    "InvokeModel",
    "InvokeModelStream",
    "Message",
    "MessageStream",
    "Raw",
    "RecordedRequest",
    "Reply",
    "Responses",
    "ResponsesStream",
    "anthropic_usage",
    "bedrock_usage",
    "gemini_error",
    "gemini_usage",
    "images_usage",
    "openai_usage",
    "responses_usage",
]
