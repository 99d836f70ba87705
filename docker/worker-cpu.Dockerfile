# GRPO Lab CPU worker: the fixed pipeline with transformers generation and the torch learner.
# Build from the project root:  docker build -f docker/worker-cpu.Dockerfile .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 GRPOLAB_DATA_DIR=/data
WORKDIR /app
# the CPU wheel of torch first: an unpinned torch would pull the multi-GB CUDA build
RUN pip install "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY training/ training/
COPY api/ api/
COPY worker/ worker/
COPY grpolab/ grpolab/
COPY examples/ examples/
RUN pip install ".[service,train]"
RUN useradd --create-home --uid 1000 grpolab && mkdir -p /data && chown grpolab /data
USER grpolab
VOLUME ["/data"]
CMD ["grpolab", "worker", "--queues", "cpu"]
