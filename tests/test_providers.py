"""Provider names: host labels with a dot boundary, LiteLLM names, price ids, self-hosted addresses."""

from __future__ import annotations

import re

import pytest
from genai_prices.data import providers as gp_providers

from llm_telemetry.providers import (
    SELF_HOSTED_PROVIDERS,
    otel_name,
    owner_only_model,
    price_id,
    priced_by_name,
    provider_for_host,
    self_hosted,
)

# Base URL hosts as each provider documents them for the openai SDK (LiteLLM's
# litellm/constants.py openai_compatible_endpoints and llms/openai_like/providers.json list most).
HOSTS = [
    ("api.openai.com", "openai"),
    ("my-resource.openai.azure.com", "azure.ai.openai"),
    ("my-resource.cognitiveservices.azure.com", "azure.ai.openai"),
    ("my-project.services.ai.azure.com", "azure.ai.openai"),
    ("gateway.azure-api.net", "azure.ai.openai"),
    ("api.x.ai", "x_ai"),
    ("api.deepseek.com", "deepseek"),
    ("api.groq.com", "groq"),
    ("api.mistral.ai", "mistral_ai"),
    ("codestral.mistral.ai", "mistral_ai"),
    ("generativelanguage.googleapis.com", "gcp.gemini"),
    ("aiplatform.googleapis.com", "gcp.vertex_ai"),
    ("us-central1-aiplatform.googleapis.com", "gcp.vertex_ai"),
    ("api.perplexity.ai", "perplexity"),
    ("api.together.xyz", "together_ai"),
    ("api.together.ai", "together_ai"),
    ("api.fireworks.ai", "fireworks_ai"),
    ("openrouter.ai", "openrouter"),
    ("api.cohere.ai", "cohere"),
    ("api.cerebras.ai", "cerebras"),
    ("api.z.ai", "zai"),
    ("open.bigmodel.cn", "zhipuai"),
    ("api.moonshot.ai", "moonshotai"),
    ("api.moonshot.cn", "moonshotai"),
    ("api.sambanova.ai", "sambanova"),
    ("api.deepinfra.com", "deepinfra"),
    ("inference.baseten.co", "baseten"),
    ("api.novita.ai", "novita"),
    ("dashscope.aliyuncs.com", "dashscope"),
    ("dashscope-intl.aliyuncs.com", "dashscope"),
    ("router.huggingface.co", "huggingface"),
    ("api.inference.crusoecloud.com", "crusoe"),
    ("acme-account.snowflakecomputing.com", "snowflake"),
    ("us.inference.heroku.com", "heroku"),
    ("ollama.com", "ollama"),
    ("bedrock-runtime.us-west-2.amazonaws.com", "aws.bedrock"),
    ("bedrock-mantle.us-east-1.api.aws", "aws.bedrock"),
    ("API.X.AI.", "x_ai"),  # case and a trailing root dot do not matter
]


@pytest.mark.parametrize(("host", "expected"), HOSTS)
def test_provider_for_host(host: str, expected: str) -> None:
    assert provider_for_host(host) == expected


@pytest.mark.parametrize(
    "host",
    ["example-x.ai", "notgroq.com", "api.x.ai.example.com", "evilopenai.azure.com.example.org", "myz.ai"],
)
def test_a_suffix_matches_only_at_a_dot(host: str) -> None:
    assert provider_for_host(host) == "openai"


def test_unknown_hosts_keep_the_sdks_name() -> None:
    assert provider_for_host("llm.internal.example.com") == "openai"
    assert provider_for_host("localhost") == "openai"
    assert provider_for_host(None) == "openai"
    assert provider_for_host("", default="anthropic") == "anthropic"


def test_hosts_genai_prices_knows_get_its_provider_id() -> None:
    """Hosts outside our table come from genai-prices' bundled API URL patterns."""
    assert provider_for_host("api.avian.io") == "avian"
    assert provider_for_host("api.arcee.ai") == "arcee"
    assert provider_for_host("api.doubleword.ai") == "doubleword"
    assert provider_for_host("oai.endpoints.kepler.ai.cloud.ovh.net") == "ovhcloud"
    assert provider_for_host("my-app.modal.run") == "modal"
    # a path-qualified pattern needs the path: Hugging Face's per-provider router
    assert provider_for_host("router.huggingface.co", path="/cerebras/v1") == "huggingface"  # table first
    assert provider_for_host("workspace.cloud.databricks.com", path="/serving-endpoints") == "databricks"
    assert provider_for_host("workspace.cloud.databricks.com") == "openai"


def test_our_hosts_agree_with_genai_prices() -> None:
    """Where genai-prices has an API URL pattern for a host of our table, both name the same provider."""
    checked = 0
    for host, name in HOSTS:
        for provider in gp_providers:
            found = re.match(provider.api_pattern, "https://" + host.lower().rstrip("."))
            if found is not None and found.end() >= len("https://" + host.rstrip(".")):
                if provider.id in ("openai-decisions",):  # a second genai-prices id for api.openai.com
                    continue
                assert price_id(name) == provider.id, (host, name, provider.id)
                checked += 1
    assert checked >= 15


@pytest.mark.parametrize(
    ("litellm", "expected"),
    [
        ("openai", "openai"),
        ("azure", "azure.ai.openai"),
        ("azure_ai", "azure.ai.inference"),
        ("bedrock", "aws.bedrock"),
        ("bedrock_mantle", "aws.bedrock"),
        ("vertex_ai", "gcp.vertex_ai"),
        ("gemini", "gcp.gemini"),
        ("mistral", "mistral_ai"),
        ("xai", "x_ai"),
        ("moonshot", "moonshotai"),
        ("watsonx", "ibm.watsonx.ai"),
        ("hosted_vllm", "hosted_vllm"),
        ("cerebras", "cerebras"),
        (None, "_OTHER"),
        ("", "_OTHER"),
    ],
)
def test_otel_name(litellm: str | None, expected: str) -> None:
    assert otel_name(litellm) == expected


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("openai", "openai"),
        ("azure.ai.openai", "azure"),
        ("aws.bedrock", "aws"),
        ("gcp.vertex_ai", "google"),
        ("gcp.gemini", "google"),
        ("mistral_ai", "mistral"),
        ("x_ai", "x-ai"),
        ("together_ai", "together"),
        ("fireworks_ai", "fireworks"),
        ("moonshotai", "moonshotai"),
        ("zai", "zai"),
        ("cerebras", "cerebras"),
    ],
)
def test_price_id(label: str, expected: str) -> None:
    assert price_id(label) == expected
    assert any(p.id == expected for p in gp_providers)


def test_every_host_label_prices_at_a_known_provider_or_none() -> None:
    """A label either has prices in genai-prices or is one genai-prices does not list (no typo)."""
    ids = {p.id for p in gp_providers}
    unlisted = {
        "sambanova",
        "deepinfra",
        "dashscope",
        "huggingface",
        "crusoe",
        "snowflake",
        "heroku",
        "ollama",
    }
    for _, name in HOSTS:
        assert price_id(name) in ids or name in unlisted, name


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "::1",
        "[::1]",
        "10.0.3.7",
        "172.20.0.3",
        "192.168.1.50",
        "169.254.10.1",
        "fe80::1%eth0",
        "fd12:3456::1",
        "::ffff:10.0.0.1",
        "0.0.0.0",
        "localhost",
        "LOCALHOST",
        "gpu-box.local",
        "vllm.default.svc",
        "host.docker.internal",
        "vllm",  # a compose service name
    ],
)
def test_private_addresses_are_self_hosted(address: str) -> None:
    assert self_hosted("openai", address) is True


@pytest.mark.parametrize(
    "address", ["api.openai.com", "8.8.8.8", "2001:4860:4860::8888", "api.groq.com", None, ""]
)
def test_public_addresses_are_not(address: str | None) -> None:
    assert self_hosted("openai", address) is False


@pytest.mark.parametrize("provider", sorted(SELF_HOSTED_PROVIDERS))
def test_self_hosted_providers_at_any_address(provider: str) -> None:
    assert self_hosted(provider, "gpu.example.com") is True


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-4o-mini", True),
        ("gpt-5", True),
        ("chatgpt-4o-latest", True),
        ("o1", True),
        ("o3-mini", True),
        ("o4-mini-2025-04-16", True),
        ("claude-sonnet-4-5", True),
        ("anthropic/claude-3-5-haiku", True),
        ("gemini-2.5-pro", True),
        ("models/gemini-2.0-flash", True),
        ("text-embedding-3-small", True),
        ("ft:gpt-4o-mini:acme::abc", True),
        ("gpt-oss-120b", False),
        ("openai/gpt-oss-20b", False),
        ("deepseek-r1:7b", False),
        ("llama3.1:8b", False),
        ("meta-llama/Llama-3.3-70B-Instruct", False),
        ("qwen2.5-coder:32b", False),
        ("mistral-7b-instruct", False),
        ("gemma-3-27b-it", False),
        ("o10-custom", False),
    ],
)
def test_owner_only_model(model: str, expected: bool) -> None:
    assert owner_only_model(model) is expected


def test_priced_by_name() -> None:
    # Hosted APIs: every model by its name
    assert priced_by_name("groq", "api.groq.com", "openai/gpt-oss-120b") is True
    # vLLM / Ollama on the user's hardware: open weights are not priced by name
    assert priced_by_name("openai", "10.0.0.5", "openai/gpt-oss-120b") is False
    assert priced_by_name("openai", "localhost", "deepseek-r1:7b") is False
    assert priced_by_name("ollama_chat", None, "llama3.1") is False
    assert priced_by_name("hosted_vllm", "gpu.example.com", "Qwen/Qwen2.5-7B-Instruct") is False
    assert priced_by_name("lm_studio", "127.0.0.1", "mistral-7b-instruct") is False
    # an owner-only model behind a private address is a proxy in front of the owner's API
    assert priced_by_name("openai", "127.0.0.1", "gpt-4o-mini") is True
    assert priced_by_name("openai", "litellm-proxy", "claude-sonnet-4-5") is True
