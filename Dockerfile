# The llm-telemetry demo app (used by docker-compose.yml): serves /metrics on 9464 and exports spans and
# the gen_ai.client.* OTel metrics over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
# The SDK versions CI tests (what `.ci/run` resolves into .venv): they must move with CI, as
# tests/test_compose.py checks. The otel extra brings the SDK and the OTLP exporters; gemini and bedrock
# add the demo's Gemini and Bedrock scenarios.
RUN pip install ".[openai,anthropic,gemini,bedrock,otel]" "openai==3.3.0" "anthropic==2.15.0" \
    "google-genai==3.6.1" "boto3==1.44.8" \
    && useradd --create-home --uid 10001 app

USER app
EXPOSE 9464
CMD ["llm-telemetry", "demo", "--host", "0.0.0.0", "--port", "9464"]
