# GRPO Lab GPU worker: the same fixed pipeline with vLLM rollouts and the DeepSpeed ZeRO learner
# (rollout.backend: vllm, learner.backend: deepspeed; docs/gpu.md). Serves the `gpu` queue: the API routes runs
# with resources.gpus > 0 there. Build from the project root:
#   docker build -f docker/worker-gpu.Dockerfile .
# Run with the NVIDIA container toolkit (compose's `worker` service reserves the GPUs).

# The torch wheel brings its own CUDA libraries; the base image gives the driver hooks and a matching userland.
ARG CUDA_IMAGE=nvidia/cuda:12.8.1-runtime-ubuntu24.04
FROM ${CUDA_IMAGE}

ENV DEBIAN_FRONTEND=noninteractive PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 GRPOLAB_DATA_DIR=/data \
    VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH \
    # DeepSpeed: pure-Python install; the learner uses torch's AdamW, so no op is ever JIT-built on the GPU path
    DS_BUILD_OPS=0
# python3.12 is Ubuntu 24.04's (requires-python allows 3.11–3.12); g++/ninja only for DeepSpeed's optional JIT ops.
# The CUDA_IMAGE tag fixes the Ubuntu release, whose package versions we take as they are; pip is the venv's own.
# hadolint ignore=DL3008,DL3013
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv python3-dev g++ ninja-build \
 && rm -rf /var/lib/apt/lists/* \
 && python3 -m venv $VIRTUAL_ENV \
 && pip install --upgrade pip

WORKDIR /app
# Heavy, rarely changing layer first: torch (CUDA build from PyPI) + vLLM + DeepSpeed at the pinned versions.
RUN pip install "torch==2.13.0" "vllm==0.32.0" "deepspeed==0.19.8"
COPY pyproject.toml README.md ./
COPY training/ training/
COPY service/ service/
COPY api/ api/
COPY worker/ worker/
COPY grpolab/ grpolab/
COPY examples/ examples/
# the project itself (a path, pinned by its pyproject.toml)
# hadolint ignore=DL3013
RUN pip install ".[service,train,gpu]" \
 && python -c "import vllm, deepspeed, torch; print('vllm', vllm.__version__, 'deepspeed', deepspeed.__version__, 'torch', torch.__version__)"
# uid 1000 like the API image (they share the runs volume); Ubuntu 24.04 images ship a user `ubuntu` with it
RUN (userdel --remove ubuntu 2>/dev/null || true) && (groupdel ubuntu 2>/dev/null || true) \
 && groupadd --gid 1000 grpolab && useradd --create-home --uid 1000 --gid 1000 grpolab \
 && mkdir -p /data/hf && chown -R grpolab:grpolab /data
# numeric, so that a runtime can check it is not root (Kubernetes runAsNonRoot)
USER 1000:1000
VOLUME ["/data"]
CMD ["grpolab", "worker", "--queues", "gpu"]
