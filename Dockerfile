# syntax=docker/dockerfile:1
#
# oci-genai-proxy container image.
#
#   docker build -t oci-genai-proxy .
#   docker run --rm -p 8080:8080 --stop-timeout 35 \
#     -v "$PWD/config/oci-genai-proxy.yaml:/etc/oci-genai-proxy/config.yaml:ro" \
#     -v "$PWD/api-keys:/etc/oci-genai-proxy/api-keys:ro" \
#     oci-genai-proxy
#
# The daemon runs without arguments: it reads /etc/oci-genai-proxy/config.yaml when that file
# exists, otherwise only OGP_* environment variables. OGP_LISTEN=0.0.0.0:8080 is preset.

############################################################################################
# Build stage: Debian 12 with the exact packages of scripts/install-deps, Release build.
FROM debian:bookworm AS build

ARG DEBIAN_FRONTEND=noninteractive
WORKDIR /src

# Dependencies first, so this layer is reused until the script changes.
COPY scripts/install-deps scripts/install-deps
RUN scripts/install-deps && rm -rf /var/lib/apt/lists/*

COPY CMakeLists.txt ./
COPY cmake/ cmake/
COPY include/ include/
COPY src/ src/

RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DOGP_TESTS=OFF \
 && cmake --build build --target oci-genai-proxy -j "$(nproc)" \
 && install -D -m 0755 build/oci-genai-proxy /out/oci-genai-proxy \
 && strip --strip-unneeded /out/oci-genai-proxy \
 && /out/oci-genai-proxy --version

############################################################################################
# Runtime stage: slim Debian 12 plus the shared libraries the binary links against
# (libcrypto/libssl 3, spdlog 1.10 + fmt 9, yaml-cpp 0.7), CA certificates for the TLS
# connection to OCI, and curl for the health check.
FROM debian:bookworm-slim

ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
        libssl3 libspdlog1.10 libfmt9 libyaml-cpp0.7 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*

# Unprivileged system user with a fixed id (file ownership of mounted secrets, runAsNonRoot).
RUN groupadd --system --gid 10001 oci-genai-proxy \
 && useradd --system --uid 10001 --gid oci-genai-proxy --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin oci-genai-proxy \
 && mkdir -p /etc/oci-genai-proxy

COPY --from=build /out/oci-genai-proxy /usr/local/bin/oci-genai-proxy

LABEL org.opencontainers.image.title="oci-genai-proxy" \
      org.opencontainers.image.description="OpenAI-compatible proxy for OCI Generative AI" \
      org.opencontainers.image.licenses="Apache-2.0"

# Listen on all interfaces inside the container (the config file's `listen` is overridden).
ENV OGP_LISTEN=0.0.0.0:8080
EXPOSE 8080

USER 10001:10001

# Liveness: /healthz answers 200 without authentication. If you change OGP_LISTEN's port,
# override the health check as well.
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \
    CMD ["curl", "-fsS", "--max-time", "2", "-o", "/dev/null", "http://127.0.0.1:8080/healthz"]

# SIGTERM starts a graceful drain of up to timeouts.drain (30 s): stop with a timeout above
# that (docker run/stop --stop-timeout 35, compose stop_grace_period: 35s).
STOPSIGNAL SIGTERM

ENTRYPOINT ["/usr/local/bin/oci-genai-proxy"]
