# GRPO Lab API + web UI. No torch here: the API never imports it (checked by import-linter).
# Build from the project root:  docker build -f docker/api.Dockerfile .
# Build args (all optional): NODE_IMAGE / PYTHON_IMAGE replace the base images; PIP_INDEX_URL,
# PIP_EXTRA_INDEX_URL, PIP_FIND_LINKS, PIP_CERT, NPM_CONFIG_REGISTRY, NODE_EXTRA_CA_CERTS point the package
# installs at a mirror (they hold only during the build and are not kept in the image's environment).
ARG NODE_IMAGE=node:20-slim
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${NODE_IMAGE} AS frontend
ARG NPM_CONFIG_REGISTRY
ARG NODE_EXTRA_CA_CERTS
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM ${PYTHON_IMAGE}
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL
ARG PIP_FIND_LINKS
ARG PIP_CERT
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 GRPOLAB_DATA_DIR=/data
WORKDIR /app
# Dependencies first, from pyproject.toml alone: a change to the code reuses this layer.
COPY pyproject.toml ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
print('\n'.join(p['dependencies'] + p['optional-dependencies']['service']))" > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt && rm /tmp/requirements.txt
COPY README.md ./
COPY training/ training/
COPY service/ service/
COPY api/ api/
COPY worker/ worker/
COPY grpolab/ grpolab/
COPY examples/ examples/
RUN pip install --no-deps . && rm -rf build ./*.egg-info
COPY --from=frontend /src/frontend/dist frontend/dist
ENV GRPOLAB_FRONTEND_DIST=/app/frontend/dist
# uid 1000 like the workers (they share the runs volume, mounted at /data)
RUN groupadd --gid 1000 grpolab && useradd --create-home --uid 1000 --gid 1000 grpolab \
 && mkdir -p /data && chown grpolab:grpolab /data
# numeric, so that a runtime can check it is not root (Kubernetes runAsNonRoot)
USER 1000:1000
VOLUME ["/data"]
EXPOSE 8000
# every 5 s (the stack waits on this before starting the workers); a start-up of up to 60 s is not a failure
HEALTHCHECK --interval=5s --timeout=5s --start-period=60s --retries=6 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["grpolab", "api", "--host", "0.0.0.0", "--port", "8000", "--first-token"]
