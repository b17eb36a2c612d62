# cwl-pipeline: the ingestion daemon (cwlpipe run) and its tools.
# The first stage builds the wheel, the second installs it: the image runs exactly what
# `pip install` gives users (the default config and the Avro schema are package data),
# without the source tree.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# A C compiler for the core's mypyc-compiled modules (setup.py; the image has Python.h).
# Only this stage has it: the runtime stage gets the built wheel. The build fails here
# rather than ship the slower pure-Python core unnoticed.
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY pipeline ./pipeline
COPY consumers ./consumers
RUN pip wheel --no-deps --wheel-dir /wheels . \
    && python -m zipfile -l /wheels/*.whl | grep -q "pipeline/process\.cpython.*\.so"

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=build /wheels /wheels
# The aws extra (boto3): SigV4 to Amazon OpenSearch, and cwlpipe serve's SigV4 verification,
# which it needs to listen beyond loopback.
RUN pip install "$(ls /wheels/*.whl)[aws]" && rm -rf /wheels \
    && useradd --create-home --uid 10001 cwlpipe
# The service's config for docker-compose.yml (compose service names instead of localhost).
COPY configs/docker.yaml /app/configs/docker.yaml
WORKDIR /app
USER cwlpipe

EXPOSE 9108 4586
HEALTHCHECK --interval=15s --timeout=3s --retries=4 \
  CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:9108/healthz', timeout=2)" || exit 1
ENTRYPOINT ["cwlpipe"]
CMD ["run", "--config", "/app/configs/docker.yaml"]
