# The llm-telemetry demo app (used by docker-compose.yml): serves /metrics on 9464 and exports
# spans over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
# The OTLP exporter: with OTEL_EXPORTER_OTLP_ENDPOINT set, `llm-telemetry demo` exports its spans and
# OTel metrics to the collector.
RUN pip install ".[openai,anthropic,otel]" opentelemetry-exporter-otlp-proto-grpc \
    && useradd --create-home --uid 10001 app

USER app
EXPOSE 9464
CMD ["llm-telemetry", "demo", "--host", "0.0.0.0", "--port", "9464", "--duration", "0"]
