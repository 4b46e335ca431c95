"""The optional SDKs' part of a lane: google-genai and boto3 clients answered by the lane's fake provider,
and the calls the planned steps make through them.

The SDKs are imported here on first use only: the plan holds their steps only when they are installed
(``_scenarios.skipped``), so the demo runs without them.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from typing import Any

from ..testing import FakeProvider
from ._planner import Step

__all__ = ["acall", "aclose", "call", "client_for"]

#: Creating clients goes through one boto3 session, which (unlike its clients) is not thread-safe.
_SESSION_LOCK = threading.Lock()


@functools.cache
def _boto3_session() -> Any:
    import boto3  # type: ignore[import-untyped]

    return boto3.session.Session()


def client_for(step: Step, fake: FakeProvider, api_key: str) -> Any:
    """A client for ``step``'s SDK whose requests ``fake`` answers: google-genai at the fake's base URL
    (it keeps its own provider name there); boto3 naming Bedrock's own endpoint (``step.base_url``),
    each request redirected to the fake, so pricing and ``server.address`` see AWS."""
    if step.provider == "gemini":
        from google import genai

        options = genai.types.HttpOptions(base_url=fake.gemini_base_url, timeout=30_000)  # milliseconds
        return genai.Client(api_key=api_key, http_options=options)
    from botocore.config import Config

    with _SESSION_LOCK:
        client = _boto3_session().client(
            "bedrock-runtime",
            endpoint_url=step.base_url,
            region_name="us-east-1",
            aws_access_key_id=api_key,
            aws_secret_access_key=api_key,
            config=Config(connect_timeout=30, read_timeout=30),
        )
    return fake.redirect_boto3(client)


def call(client: Any, step: Step) -> None:
    """Make the step's google-genai or boto3 call as an application would, reading any stream."""
    kwargs = step.kwargs
    if step.api == "generate_content_stream":
        for _ in client.models.generate_content_stream(**kwargs):
            pass
    elif step.api == "generate_content":
        client.models.generate_content(**kwargs)
    elif step.api == "converse_stream":
        for _ in client.converse_stream(**kwargs)["stream"]:
            pass
    elif step.api == "invoke_model":
        client.invoke_model(**kwargs)["body"].read()
    else:
        client.converse(**kwargs)


async def acall(client: Any, step: Step) -> None:
    """:func:`call` from a coroutine: google-genai through ``client.aio``; boto3, which has no async
    client, in a worker thread (``asyncio.to_thread`` carries the attribution scope along)."""
    if step.provider == "bedrock":
        await asyncio.to_thread(call, client, step)
    elif step.api == "generate_content_stream":
        async for _ in await client.aio.models.generate_content_stream(**step.kwargs):
            pass
    else:
        await client.aio.models.generate_content(**step.kwargs)


async def aclose(provider: str, client: Any) -> None:
    """Close a client made for an async lane (google-genai's ``aio`` side holds its own pool)."""
    if provider == "gemini":
        await client.aio.aclose()
    client.close()
