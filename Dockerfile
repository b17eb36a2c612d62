# cwl-pipeline: the ingestion daemon (cwlpipe run) and its tools.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
# configs/ (default config, Avro schemas) is read from next to the code, so install in place.
COPY pyproject.toml README.md ./
COPY pipeline ./pipeline
COPY consumers ./consumers
COPY configs ./configs
RUN pip install -e . && useradd --create-home --uid 10001 cwlpipe
USER cwlpipe

EXPOSE 9108
HEALTHCHECK --interval=15s --timeout=3s --retries=4 \
  CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:9108/healthz', timeout=2)" || exit 1
ENTRYPOINT ["cwlpipe"]
CMD ["run", "--config", "/app/configs/docker.yaml"]
