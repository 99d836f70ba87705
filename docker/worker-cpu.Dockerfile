# GRPO Lab CPU worker: the fixed pipeline with transformers generation and the torch learner.
# Build from the project root:  docker build -f docker/worker-cpu.Dockerfile .
# Build args (all optional): PYTHON_IMAGE replaces the base image; TORCH_PIP_ARGS says where the CPU torch wheel
# comes from; PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, PIP_FIND_LINKS, PIP_CERT point pip at a mirror (they hold only
# during the build and are not kept in the image's environment).
ARG PYTHON_IMAGE=python:3.11-slim
FROM ${PYTHON_IMAGE}
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL
ARG PIP_FIND_LINKS
ARG PIP_CERT
ARG TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu"
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 GRPOLAB_DATA_DIR=/data
WORKDIR /app
# the CPU wheel of torch first: an unpinned torch would pull the multi-GB CUDA build (hadolint reads the
# $TORCH_PIP_ARGS word as an unpinned package)
# hadolint ignore=DL3013
RUN pip install "torch==2.13.0" $TORCH_PIP_ARGS
# Dependencies next, from pyproject.toml alone: a change to the code reuses this layer. pycosat (reasoning-gym)
# has no wheel for Python 3.11: it is compiled here, and the compiler leaves in the same layer.
COPY pyproject.toml ./
# hadolint ignore=DL3008
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; e = p['optional-dependencies']; \
print('\n'.join(p['dependencies'] + e['service'] + e['train']))" > /tmp/requirements.txt \
 && apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
 && pip install -r /tmp/requirements.txt \
 && apt-get purge -y --auto-remove gcc libc6-dev && rm -rf /var/lib/apt/lists/* /tmp/requirements.txt
COPY README.md ./
COPY training/ training/
COPY service/ service/
COPY api/ api/
COPY worker/ worker/
COPY grpolab/ grpolab/
COPY examples/ examples/
RUN pip install --no-deps . && rm -rf build ./*.egg-info
# uid 1000 like the API image (they share the runs volume). /data/hf exists and is ours before compose mounts the
# `hf` volume there: a fresh named volume takes the owner of the folder it is mounted on.
RUN groupadd --gid 1000 grpolab && useradd --create-home --uid 1000 --gid 1000 grpolab \
 && mkdir -p /data/hf && chown -R grpolab:grpolab /data
# numeric, so that a runtime can check it is not root (Kubernetes runAsNonRoot)
USER 1000:1000
VOLUME ["/data"]
CMD ["grpolab", "worker", "--queues", "cpu"]
