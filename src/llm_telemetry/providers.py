"""Provider names, in one place: the label every family carries and the key prices are looked up by.

* :func:`provider_for_host`: the OTel ``gen_ai.provider.name`` of an OpenAI-compatible base URL. Hosts
  match with a dot boundary (``x.ai`` is ``api.x.ai``, never ``example-x.ai``). Our own table comes
  first (it keeps the names the contract already uses); a host it does not know is then matched
  against the API URL patterns bundled with genai-prices and gets that provider's id. Anything else
  keeps the SDK's own name.
* :func:`otel_name`: LiteLLM's provider name mapped onto the same labels.
* :func:`price_id`: the genai-prices provider id for a label.
* :func:`self_hosted` / :func:`priced_by_name`: whether a model may be priced by its name at all. An
  open-weight model at a loopback, private or self-hosted endpoint costs what the user's hardware
  costs, which no price table knows; a model only its owner serves, behind such an address, is a
  proxy in front of the owner's API and is billed as the owner bills it.

Every answer is cached per input, so the integrations may call these per request.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Final

__all__ = [
    "SELF_HOSTED_PROVIDERS",
    "otel_name",
    "owner_only_model",
    "price_id",
    "priced_by_name",
    "provider_for_host",
    "self_hosted",
]

#: Host (suffix, with a dot boundary) -> ``gen_ai.provider.name``. First match wins, so a more specific
#: host must come before a suffix of it. Names that genai-prices also knows use its provider id unless
#: the OTel conventions define one (``x_ai``, ``mistral_ai``, ...) or the contract already used another.
_HOSTS: Final = (
    # Azure OpenAI, including the AI Foundry and Cognitive Services endpoints, and API Management.
    ("openai.azure.com", "azure.ai.openai"),
    ("cognitiveservices.azure.com", "azure.ai.openai"),
    ("services.ai.azure.com", "azure.ai.openai"),
    ("azure-api.net", "azure.ai.openai"),
    ("api.openai.com", "openai"),
    ("generativelanguage.googleapis.com", "gcp.gemini"),
    ("aiplatform.googleapis.com", "gcp.vertex_ai"),
    ("api.aws", "aws.bedrock"),  # bedrock-mantle.<region>.api.aws (Bedrock's OpenAI-compatible API)
    ("deepseek.com", "deepseek"),
    ("groq.com", "groq"),
    ("mistral.ai", "mistral_ai"),
    ("x.ai", "x_ai"),
    ("perplexity.ai", "perplexity"),
    ("together.xyz", "together_ai"),
    ("together.ai", "together_ai"),
    ("fireworks.ai", "fireworks_ai"),
    ("openrouter.ai", "openrouter"),
    ("cohere.com", "cohere"),
    ("cohere.ai", "cohere"),
    ("cerebras.ai", "cerebras"),
    ("z.ai", "zai"),
    ("bigmodel.cn", "zhipuai"),
    ("moonshot.ai", "moonshotai"),
    ("moonshot.cn", "moonshotai"),
    ("novita.ai", "novita"),
    ("baseten.co", "baseten"),
    ("sambanova.ai", "sambanova"),
    ("deepinfra.com", "deepinfra"),
    ("dashscope.aliyuncs.com", "dashscope"),
    ("dashscope-intl.aliyuncs.com", "dashscope"),
    ("huggingface.co", "huggingface"),  # router.huggingface.co
    ("crusoecloud.com", "crusoe"),
    ("crusoe.ai", "crusoe"),  # api.crusoe.ai, Crusoe's newer managed-inference host
    ("snowflakecomputing.com", "snowflake"),
    ("inference.heroku.com", "heroku"),
    ("ollama.com", "ollama"),
)

#: Hosts that need more than a suffix: regional Vertex AI (``us-central1-aiplatform.googleapis.com``)
#: and Bedrock runtime (``bedrock-runtime.us-east-1.amazonaws.com``, its ``/openai/v1`` endpoint).
_HOST_PATTERNS: Final = (
    (re.compile(r"(?:[a-z0-9-]+\.)*[a-z0-9-]+-aiplatform\.googleapis\.com"), "gcp.vertex_ai"),
    (re.compile(r"bedrock-runtime(?:-fips)?\.[a-z0-9-]+\.amazonaws\.com"), "aws.bedrock"),
)

#: LiteLLM provider -> OTel name where the two differ; any other LiteLLM name is used as it is.
_LITELLM: Final[Mapping[str, str]] = {
    "text-completion-openai": "openai",
    "azure": "azure.ai.openai",
    "azure_text": "azure.ai.openai",
    "azure_ai": "azure.ai.inference",
    "bedrock": "aws.bedrock",
    "bedrock_mantle": "aws.bedrock",
    "vertex_ai": "gcp.vertex_ai",
    "vertex_ai_beta": "gcp.vertex_ai",
    "gemini": "gcp.gemini",
    "mistral": "mistral_ai",
    "codestral": "mistral_ai",
    "text-completion-codestral": "mistral_ai",
    "xai": "x_ai",
    "cohere_chat": "cohere",
    "watsonx": "ibm.watsonx.ai",
    "watsonx_text": "ibm.watsonx.ai",
    "moonshot": "moonshotai",
    "bigmodel": "zhipuai",
}

#: OTel name (and LiteLLM names that pass through unchanged) -> genai-prices provider id, where they
#: differ; a name that is already a genai-prices id maps to itself.
_PRICE_IDS: Final[Mapping[str, str]] = {
    "azure.ai.openai": "azure",
    "azure.ai.inference": "azure",
    "azure_ai": "azure",
    "aws.bedrock": "aws",
    "bedrock": "aws",
    "bedrock_converse": "aws",
    "gcp.vertex_ai": "google",
    "gcp.gemini": "google",
    "gcp.gen_ai": "google",
    "vertex_ai": "google",
    "vertex_ai_beta": "google",
    "gemini": "google",
    "mistral_ai": "mistral",
    "x_ai": "x-ai",
    "xai": "x-ai",
    "cohere_chat": "cohere",
    "together_ai": "together",
    "fireworks_ai": "fireworks",
    "moonshot": "moonshotai",
    "voyage": "voyageai",
}

#: Providers that only ever mean a server the user runs (LiteLLM names, which are also their labels).
SELF_HOSTED_PROVIDERS: Final = frozenset(
    {
        "hosted_vllm",
        "vllm",
        "ollama",
        "ollama_chat",
        "lm_studio",
        "llamafile",
        "docker_model_runner",
        "xinference",
        "lemonade",
        "oobabooga",
        "triton",
    }
)

#: Host suffixes that never name a public API.
_PRIVATE_SUFFIXES: Final = (".local", ".localhost", ".internal", ".lan", ".home.arpa", ".svc")

#: Families only their owner serves (weights never published): behind a private address they are a
#: proxy in front of the owner's API. ``gpt-oss`` is open-weight and excluded explicitly.
_OWNER_ONLY: Final = re.compile(
    r"(?:ft:)?(?!gpt-oss)(?:gpt-|chatgpt-|o[134](?:-|$)|claude-|gemini-|text-embedding-|dall-e|tts-1|omni-moderation)"
)


def _dot_suffix(host: str, suffix: str) -> bool:
    return host == suffix or host.endswith("." + suffix)


@lru_cache(maxsize=4096)
def provider_for_host(host: str | None, default: str = "openai", path: str = "") -> str:
    """``gen_ai.provider.name`` for an API host (``default``, the SDK's own name, when unknown).

    ``path`` is the base URL's path, used only by genai-prices patterns that need one (Hugging Face's
    per-provider router paths, Databricks serving endpoints).
    """
    if not host:
        return default
    host = host.strip().lower().rstrip(".")
    for suffix, name in _HOSTS:
        if _dot_suffix(host, suffix):
            return name
    for pattern, name in _HOST_PATTERNS:
        if pattern.fullmatch(host):
            return name
    return _genai_prices_host(host, path) or default


def _genai_prices_host(host: str, path: str) -> str | None:
    """The genai-prices provider whose API URL pattern covers this whole host, if any."""
    from genai_prices.data import providers

    base = "https://" + host
    url = base + (path if path.startswith("/") else "")
    for provider in providers:
        try:
            found = re.match(provider.api_pattern, url)
        except re.error:  # a pattern Python's engine rejects: that provider cannot be matched
            continue
        # The match must consume the whole host: ``api.x.ai.example.com`` is not ``api.x.ai``.
        if found is not None and found.end() >= len(base):
            return provider.id
    return None


def otel_name(litellm_provider: str | None) -> str:
    """The label of a LiteLLM provider (``_OTHER`` when LiteLLM could not name one)."""
    if not litellm_provider:
        return "_OTHER"
    return _LITELLM.get(litellm_provider, litellm_provider)


def price_id(provider: str) -> str:
    """The genai-prices provider id for a label (the label itself when genai-prices uses the same)."""
    return _PRICE_IDS.get(provider, provider)


@lru_cache(maxsize=4096)
def self_hosted(provider: str | None, address: str | None) -> bool:
    """True for a server the user runs: a self-hosted provider, or a loopback/private/local address."""
    if provider in SELF_HOSTED_PROVIDERS:
        return True
    if not address:
        return False
    host = address.strip().lower().rstrip(".").strip("[]")
    if host == "localhost" or host.endswith(_PRIVATE_SUFFIXES):
        return True
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])  # IPv6 zone ids: fe80::1%eth0
    except ValueError:
        return "." not in host  # a single-label name: a container or host on the local network
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        ip = mapped
    return ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_unspecified


def owner_only_model(model: str) -> bool:
    """True for a model family only its owner serves (``gpt-4o``, ``o3``, ``claude-*``, ``gemini-*``)."""
    name = model.strip().lower().rsplit("/", 1)[-1]
    return _OWNER_ONLY.match(name) is not None


def priced_by_name(provider: str | None, address: str | None, model: str) -> bool:
    """Whether public price data may price ``model``: anywhere but a self-hosted open-weight model."""
    return not self_hosted(provider, address) or owner_only_model(model)
