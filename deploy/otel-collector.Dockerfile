# The OpenTelemetry Collector (contrib) for docker-compose.yml, plus BusyBox for its healthcheck:
# the collector image is FROM scratch (no shell, no HTTP client), so nothing inside it could probe the
# health_check extension. BusyBox's musl build is statically linked, so it runs there as is.
FROM busybox:1.36.1-musl AS busybox

FROM otel/opentelemetry-collector-contrib:0.120.0
COPY --from=busybox /bin/busybox /busybox
