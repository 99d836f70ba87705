# GRPO Lab API + web UI. No torch here: the API never imports it (checked by import-linter).
# Build from the project root:  docker build -f docker/api.Dockerfile .

FROM node:20-slim AS frontend
WORKDIR /src/frontend
COPY frontend/package*.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 GRPOLAB_DATA_DIR=/data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY training/ training/
COPY api/ api/
COPY worker/ worker/
COPY grpolab/ grpolab/
COPY examples/ examples/
RUN pip install ".[service]"
COPY --from=frontend /src/frontend/dist frontend/dist
ENV GRPOLAB_FRONTEND_DIST=/app/frontend/dist
RUN useradd --create-home --uid 1000 grpolab && mkdir -p /data && chown grpolab /data
USER grpolab
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
CMD ["grpolab", "api", "--host", "0.0.0.0", "--port", "8000", "--first-token"]
