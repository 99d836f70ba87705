# GRPO Lab on Ray: the CPU worker image plus Ray with its dashboard (the Job API). One image for the Ray head, the
# Ray worker nodes and the `grpolab worker --executor ray` that submits to them (docker-compose.ray.yml).
# Build the base first:  docker compose build worker-cpu   (tags grpolab-worker-cpu:latest in the ray override)
ARG BASE_IMAGE=grpolab-worker-cpu:latest
FROM ${BASE_IMAGE}
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL
ARG PIP_FIND_LINKS
ARG PIP_CERT
USER 0
RUN pip install --no-cache-dir "ray[default]==2.58.0"
USER 1000:1000
ENV RAY_USAGE_STATS_ENABLED=0
