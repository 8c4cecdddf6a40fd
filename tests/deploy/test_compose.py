"""docker-compose.yml and the files it mounts, checked by parsing them (no Docker engine runs on CI).

Each check is a function returning the problems it finds; every test runs it on the real files (no problem) and on
a copy mutated in the test the way a careless edit would (the problem is reported), so no check passes vacuously.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.settings import BucketSettings, Settings, StorageSettings
from tests.deploy.conftest import (
    REPO,
    command_args,
    default_of,
    environment,
    interpolations,
    option,
    parse_env_file,
    var_names,
)

# service -> profile (None: started by a plain `docker compose up`)
EXPECTED_SERVICES: dict[str, str | None] = {
    "minio": None,
    "minio-init": None,
    "postgres": None,
    "airflow-init": None,
    "airflow-api-server": None,
    "airflow-scheduler": None,
    "airflow-dag-processor": None,
    "airflow-triggerer": None,
    "dask-scheduler": None,
    "redis": "celery",
    "airflow-worker": "celery",
    "dask-cuda-worker-0": "gpu",
    "cpu-worker": "cpu-worker",
    "prometheus": "monitoring",
    "grafana": "monitoring",
}
GPU_WORKER = re.compile(r"^dask-cuda-worker-\d+$")
AIRFLOW_SERVICES = (
    "airflow-init",
    "airflow-api-server",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
)
ONE_SHOT = ("minio-init", "airflow-init")  # run to completion; dependents wait for service_completed_successfully
PUBLISHED = {"airflow-api-server": 8080, "minio": 9001, "grafana": 3000}  # the three UIs, nothing else
# Variables compose itself reads from .env (not interpolated in the file).
COMPOSE_CLI_VARS = {"COMPOSE_PROFILES", "COMPOSE_PROJECT_NAME", "COMPOSE_FILE"}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|(?<!ACCESS)_KEY$|TOKEN|FERNET")
MODEL_MOUNT = "/models/cosyvoice"
PIPELINE_ENGINES_ENV = "DUBFLOW_ENGINES__COSYVOICE__MODEL_DIR"

DUBFLOW_METRICS = {
    "dubflow_lines_synthesized_total",
    "dubflow_synthesis_seconds_bucket",
    "dubflow_synthesis_seconds_sum",
    "dubflow_synthesis_seconds_count",
    "dubflow_audio_seconds_total",
    "dubflow_qa_verdicts_total",
    "dubflow_line_failures_total",
    "dubflow_worker_lines_in_progress",
}
# What distributed 2026.7's scheduler and worker /metrics export (and prometheus_client's process collector).
DASK_METRICS = {
    "dask_scheduler_clients",
    "dask_scheduler_desired_workers",
    "dask_scheduler_workers",
    "dask_scheduler_workers_added_total",
    "dask_scheduler_workers_removed_total",
    "dask_scheduler_tasks",
    "dask_scheduler_task_groups",
    "dask_scheduler_tasks_compute_seconds_total",
    "dask_scheduler_tasks_transfer_seconds_total",
    "dask_scheduler_tasks_output_bytes",
    "dask_scheduler_tasks_suspicious_total",
    "dask_scheduler_tasks_forgotten_total",
    "dask_scheduler_prefix_state_totals_total",
    "dask_scheduler_tick_count_total",
    "dask_scheduler_tick_duration_maximum_seconds",
    "dask_scheduler_gc_collection_seconds_total",
    "dask_worker_tasks",
    "dask_worker_threads",
    "dask_worker_latency_seconds",
    "dask_worker_memory_bytes",
    "dask_worker_transfer_incoming_bytes",
    "dask_worker_transfer_incoming_count",
    "dask_worker_transfer_incoming_count_total",
    "dask_worker_transfer_outgoing_bytes",
    "dask_worker_transfer_outgoing_bytes_total",
    "dask_worker_transfer_outgoing_count",
    "dask_worker_transfer_outgoing_count_total",
    "dask_worker_spill_bytes_total",
    "dask_worker_spill_count_total",
    "dask_worker_spill_time_seconds_total",
    "dask_worker_tick_count_total",
    "dask_worker_tick_duration_maximum_seconds",
    "dask_worker_gc_collection_seconds_total",
    "process_resident_memory_bytes",
    "process_cpu_seconds_total",
    "up",
}


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def profile_of(service: dict[str, Any]) -> str | None:
    profiles = service.get("profiles") or []
    assert len(profiles) <= 1, f"one profile per service expected, got {profiles}"
    return profiles[0] if profiles else None


def depends_on(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    deps = service.get("depends_on") or {}
    return {name: {"condition": "service_started"} for name in deps} if isinstance(deps, list) else deps


def volume_mounts(service: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(source, target, read_only) for every volume of a service (short or long syntax)."""
    mounts = []
    for volume in service.get("volumes") or []:
        if isinstance(volume, str):
            parts = volume.split(":")
            mounts.append((parts[0], parts[1], len(parts) > 2 and "ro" in parts[2].split(",")))
        else:
            mounts.append((volume.get("source", ""), volume["target"], bool(volume.get("read_only"))))
    return mounts


# -- services and profiles -------------------------------------------------------------------------------------------


def service_problems(compose: dict[str, Any]) -> list[str]:
    found = services(compose)
    problems = [f"missing service {name}" for name in EXPECTED_SERVICES if name not in found]
    for name, service in found.items():
        expected = "gpu" if GPU_WORKER.match(name) else EXPECTED_SERVICES.get(name, "unexpected")
        if expected == "unexpected":
            problems.append(f"unexpected service {name}")
        elif profile_of(service) != expected:
            problems.append(f"{name}: profile {profile_of(service)}, expected {expected}")
    return problems


def test_expected_services_and_profiles(compose: dict[str, Any]) -> None:
    assert service_problems(compose) == []
    del services(compose)["airflow-triggerer"]
    services(compose)["cpu-worker"].pop("profiles")
    assert service_problems(compose) == [
        "missing service airflow-triggerer",
        "cpu-worker: profile None, expected cpu-worker",
    ]


def airflow_problems(compose: dict[str, Any]) -> list[str]:
    problems = []
    found = services(compose)
    shared = (
        "AIRFLOW__CORE__FERNET_KEY",
        "AIRFLOW__API_AUTH__JWT_SECRET",
        "AIRFLOW__API__SECRET_KEY",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
        "AIRFLOW__CORE__EXECUTOR",
    )
    reference = environment(found["airflow-api-server"])
    for name in AIRFLOW_SERVICES:
        service = found[name]
        build = service.get("build") or {}
        if build.get("dockerfile") != "docker/airflow.Dockerfile":
            problems.append(f"{name}: not built from docker/airflow.Dockerfile")
        env = environment(service)
        problems += [
            f"{name}: {key} differs from the api-server's" for key in shared if env.get(key) != reference.get(key)
        ]
    executor = reference.get("AIRFLOW__CORE__EXECUTOR", "")
    if var_names(executor) != {"AIRFLOW_EXECUTOR"} or default_of(executor, "AIRFLOW_EXECUTOR") != "LocalExecutor":
        problems.append(f"executor {executor!r}: expected ${{AIRFLOW_EXECUTOR:-LocalExecutor}}")
    if command_args(found["airflow-worker"]) != ["celery", "worker"]:
        problems.append("airflow-worker does not run `celery worker`")
    return problems


def test_airflow_components_share_one_image_and_secrets(compose: dict[str, Any]) -> None:
    assert airflow_problems(compose) == []
    services(compose)["airflow-triggerer"]["environment"]["AIRFLOW__API_AUTH__JWT_SECRET"] = "another"
    assert airflow_problems(compose) == [
        "airflow-triggerer: AIRFLOW__API_AUTH__JWT_SECRET differs from the api-server's"
    ]


# -- images ------------------------------------------------------------------------------------------------------------


def image_tag(image: str) -> str | None:
    """The tag of an image reference (None when untagged); a digest counts as a pin too."""
    if "@sha256:" in image:
        return image.split("@", 1)[1]
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def image_problems(compose: dict[str, Any]) -> list[str]:
    problems = []
    for name, service in services(compose).items():
        build = service.get("build")
        if build is not None:
            dockerfile = build.get("dockerfile", "Dockerfile") if isinstance(build, dict) else "Dockerfile"
            context = build.get("context", ".") if isinstance(build, dict) else build
            if not fnmatch.fnmatch(dockerfile, "docker/*.Dockerfile") or context != ".":
                problems.append(f"{name}: builds {context}/{dockerfile}, not docker/*.Dockerfile")
            continue
        image = service.get("image", "")
        tag = image_tag(image)
        if not tag or tag == "latest" or var_names(image):
            problems.append(f"{name}: image {image!r} is not pinned by an explicit tag")
    return problems


def test_every_image_is_pinned_or_built_here(compose: dict[str, Any]) -> None:
    assert image_problems(compose) == []
    services(compose)["minio"]["image"] = "quay.io/minio/minio"
    services(compose)["postgres"]["image"] = "postgres:latest"
    services(compose)["redis"]["image"] = "localhost:5000/redis"
    assert image_problems(compose) == [
        "minio: image 'quay.io/minio/minio' is not pinned by an explicit tag",
        "postgres: image 'postgres:latest' is not pinned by an explicit tag",
        "redis: image 'localhost:5000/redis' is not pinned by an explicit tag",
    ]


def test_minio_keeps_quay_release_tags(compose: dict[str, Any]) -> None:
    """Docker Hub no longer serves MinIO: both images come from quay.io, pinned to a RELEASE tag."""
    for name in ("minio", "minio-init"):
        image = services(compose)[name]["image"]
        assert image.startswith("quay.io/minio/"), image
        assert (image_tag(image) or "").startswith("RELEASE."), image


# -- health --------------------------------------------------------------------------------------------------------------


def health_problems(compose: dict[str, Any]) -> list[str]:
    problems = []
    found = services(compose)
    for name, service in found.items():
        check = service.get("healthcheck") or {}
        if name in ONE_SHOT:
            if service.get("restart", "no") != "no":
                problems.append(f"{name}: a one-shot job must not restart")
        elif not check.get("test") or check.get("disable") or check["test"] in (["NONE"], "NONE"):
            problems.append(f"{name}: no health check")
        for dependency, spec in depends_on(service).items():
            if dependency not in found:
                problems.append(f"{name}: depends on unknown service {dependency}")
                continue
            expected = "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
            if spec.get("condition") != expected:
                problems.append(f"{name}: waits for {dependency} with {spec.get('condition')}, expected {expected}")
            if profile_of(found[dependency]) not in (None, profile_of(service)) and spec.get("required", True):
                problems.append(f"{name}: requires {dependency} from another profile (set required: false)")
    return problems


def test_every_long_running_service_has_a_health_check(compose: dict[str, Any]) -> None:
    assert health_problems(compose) == []
    del services(compose)["dask-scheduler"]["healthcheck"]
    services(compose)["airflow-scheduler"]["depends_on"]["airflow-init"]["condition"] = "service_started"
    assert health_problems(compose) == [
        "airflow-scheduler: waits for airflow-init with service_started, expected service_completed_successfully",
        "dask-scheduler: no health check",
    ]


def test_health_checks_follow_airflows_official_compose(compose: dict[str, Any]) -> None:
    found = services(compose)

    def test_of(name: str) -> str:
        return " ".join(found[name]["healthcheck"]["test"])

    assert "/api/v2/monitor/health" in test_of("airflow-api-server")
    assert ":8974/health" in test_of("airflow-scheduler")
    assert environment(found["airflow-scheduler"])["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "true"
    for name, job in (("airflow-dag-processor", "DagProcessorJob"), ("airflow-triggerer", "TriggererJob")):
        assert f"airflow jobs check --job-type {job} --hostname" in test_of(name)
        assert "$${HOSTNAME}" in test_of(name)  # the container's shell expands it, not compose
    assert "pg_isready" in test_of("postgres")
    assert ":8787/health" in test_of("dask-scheduler")
    for name in [n for n in found if GPU_WORKER.match(n)] + ["cpu-worker"]:
        assert ":8790/health" in test_of(name)


# -- published ports ---------------------------------------------------------------------------------------------------


def port_problems(compose: dict[str, Any]) -> list[str]:
    problems = []
    seen = {}
    for name, service in services(compose).items():
        for port in service.get("ports") or []:
            spec = (
                port
                if isinstance(port, str)
                else f"{port.get('host_ip', '')}:{port.get('published')}:{port.get('target')}"
            )
            match = re.fullmatch(r"\$\{BIND_ADDRESS:-127\.0\.0\.1\}:(\d+):(\d+)", str(spec))
            if not match:
                problems.append(f"{name}: port {spec!r} is not bound to ${{BIND_ADDRESS:-127.0.0.1}}")
                continue
            seen[name] = int(match.group(1))
            if match.group(1) != match.group(2):
                problems.append(f"{name}: port {spec!r} remaps the UI port")
    if seen != PUBLISHED:
        problems.append(f"published {seen}, expected exactly {PUBLISHED}")
    return problems


def test_only_the_three_uis_are_published_on_bind_address(compose: dict[str, Any]) -> None:
    assert port_problems(compose) == []
    services(compose)["postgres"]["ports"] = ["${BIND_ADDRESS:-127.0.0.1}:5432:5432"]
    services(compose)["minio"]["ports"].append("9000:9000")
    assert port_problems(compose) == [
        "minio: port '9000:9000' is not bound to ${BIND_ADDRESS:-127.0.0.1}",
        "published {'minio': 9001, 'postgres': 5432, 'airflow-api-server': 8080, 'grafana': 3000}, "
        "expected exactly {'airflow-api-server': 8080, 'minio': 9001, 'grafana': 3000}",
    ]


# -- referenced files --------------------------------------------------------------------------------------------------


def ignored_by(patterns_file: Path, relative: str) -> bool:
    """Whether a gitignore/dockerignore-style file lists ``relative`` (a directory, top level) plainly."""
    patterns = [
        line.strip().strip("/")
        for line in patterns_file.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return relative.strip("/") in patterns


def file_problems(compose: dict[str, Any], env: dict[str, str], repo: Path = REPO) -> list[str]:
    problems = []
    for name, service in services(compose).items():
        build = service.get("build")
        if isinstance(build, dict):
            context = repo / build.get("context", ".")
            if not context.is_dir():
                problems.append(f"{name}: build context {context} missing")
            if not (context / build.get("dockerfile", "Dockerfile")).is_file():
                problems.append(f"{name}: dockerfile {build.get('dockerfile')} missing")
            for ctx_name, path in (build.get("additional_contexts") or {}).items():
                # A checkout outside the repository's files, named in .env: declared there, ignored by git and
                # kept out of the main build context.
                names = var_names(path)
                if names:
                    default = next(filter(None, (default_of(path, n) for n in names)), None)
                    if not names <= env.keys() or default is None:
                        problems.append(f"{name}: build context {ctx_name} ({path}) is not declared in .env.example")
                    elif not (
                        ignored_by(repo / ".gitignore", default.split("/")[1])
                        and ignored_by(repo / ".dockerignore", default.split("/")[1])
                    ):
                        problems.append(f"{name}: {default} is not git- and docker-ignored")
                elif not (repo / path).is_dir():
                    problems.append(f"{name}: build context {ctx_name} ({path}) missing")
        for source, _target, _ro in volume_mounts(service):
            if source.startswith((".", "/")):
                if not source.startswith("./"):
                    problems.append(f"{name}: bind mount {source} is not inside the repository")
                elif not (repo / source).exists():
                    problems.append(f"{name}: bind mount {source} missing")
            elif source and source not in (compose.get("volumes") or {}):
                problems.append(f"{name}: volume {source} is not declared")
        for env_file in service.get("env_file") or []:
            path = env_file if isinstance(env_file, str) else env_file["path"]
            if not (repo / path).is_file():
                problems.append(f"{name}: env_file {path} missing")
    return problems


def test_every_referenced_file_exists(compose: dict[str, Any], env_example: dict[str, str]) -> None:
    assert file_problems(compose, env_example) == []
    services(compose)["prometheus"]["volumes"].append("./deploy/monitoring/alerts.yml:/etc/prometheus/alerts.yml:ro")
    services(compose)["grafana"]["volumes"].append("grafana-plugins:/var/lib/grafana/plugins")
    services(compose)["cpu-worker"]["build"]["dockerfile"] = "docker/worker.Dockerfile"
    assert file_problems(compose, env_example) == [
        "cpu-worker: dockerfile docker/worker.Dockerfile missing",
        "prometheus: bind mount ./deploy/monitoring/alerts.yml missing",
        "grafana: volume grafana-plugins is not declared",
    ]


def test_the_cosyvoice_checkout_stays_out_of_git_and_the_main_context(
    compose: dict[str, Any], env_example: dict[str, str], tmp_path: Path
) -> None:
    build = services(compose)["dask-cuda-worker-0"]["build"]
    assert var_names(build["additional_contexts"]["cosyvoice"]) == {"COSYVOICE_SRC"}
    # the same compose file in a repository that forgot to ignore vendor/
    for name in (".gitignore", ".dockerignore"):
        (tmp_path / name).write_text("build/\n")
    for path in ("docker/worker-gpu.Dockerfile", "docker/worker-cpu.Dockerfile", "docker/airflow.Dockerfile"):
        (tmp_path / path).parent.mkdir(exist_ok=True)
        (tmp_path / path).write_text("FROM scratch\n")
    only_gpu = {
        "services": {"dask-cuda-worker-0": services(compose)["dask-cuda-worker-0"]},
        "volumes": compose["volumes"],
    }
    assert file_problems(only_gpu, env_example, repo=tmp_path) == [
        "dask-cuda-worker-0: ./vendor/CosyVoice is not git- and docker-ignored"
    ]


# -- variables and .env.example ----------------------------------------------------------------------------------------


def strings(node: Any) -> list[str]:
    """Every string in a parsed YAML document, keys included: what compose interpolates (comments are not)."""
    if isinstance(node, dict):
        return [s for key, value in node.items() for s in strings(key) + strings(value)]
    if isinstance(node, list):
        return [s for item in node for s in strings(item)]
    return [node] if isinstance(node, str) else []


def env_problems(compose_text: str, env: dict[str, str]) -> list[str]:
    problems = []
    used = set()
    for name, braced in dict.fromkeys(
        i for text in strings(yaml.safe_load(compose_text)) for i in interpolations(text)
    ):
        used.add(name)
        if not braced:
            problems.append(f"${name}: write ${{{name}}} (or $${name} for the container's shell)")
    problems += [f"{name} is interpolated but not declared in .env.example" for name in sorted(used - env.keys())]
    problems += [
        f"{name} is declared in .env.example but unused" for name in sorted(env.keys() - used - COMPOSE_CLI_VARS)
    ]
    return problems


def test_every_variable_is_declared_in_env_example(compose_text: str, env_example: dict[str, str]) -> None:
    assert env_problems(compose_text, env_example) == []
    mutated = compose_text.replace("${PROMETHEUS_RETENTION:-15d}", "${PROMETHEUS_RETAIN:-15d}")
    mutated = mutated.replace('"$$SYNTHESIS_POOL_SLOTS"', '"$SYNTHESIS_POOL_SLOTS"')
    assert env_problems(mutated, env_example) == [
        "$SYNTHESIS_POOL_SLOTS: write ${SYNTHESIS_POOL_SLOTS} (or $$SYNTHESIS_POOL_SLOTS for the container's shell)",
        "PROMETHEUS_RETAIN is interpolated but not declared in .env.example",
        "SYNTHESIS_POOL_SLOTS is interpolated but not declared in .env.example",
        "PROMETHEUS_RETENTION is declared in .env.example but unused",
    ]


def placeholder_problems(env: dict[str, str]) -> list[str]:
    return [
        f"{name}={value!r} looks like a real secret: use a change-me placeholder"
        for name, value in env.items()
        if SECRET_NAME.search(name) and not value.startswith("change-me")
    ]


def test_env_example_holds_placeholders_and_env_is_ignored(env_example: dict[str, str]) -> None:
    assert placeholder_problems(env_example) == []
    assert placeholder_problems({**env_example, "GRAFANA_ADMIN_PASSWORD": "hunter2"}) == [
        "GRAFANA_ADMIN_PASSWORD='hunter2' looks like a real secret: use a change-me placeholder"
    ]
    gitignore = (REPO / ".gitignore").read_text().split()
    assert ".env" in gitignore
    assert ignored_by(REPO / ".dockerignore", ".env")


def test_init_jobs_refuse_placeholder_secrets(compose: dict[str, Any], env_example: dict[str, str]) -> None:
    """A copied .env.example never runs: both init jobs stop while a secret still says change-me."""
    for name in ONE_SHOT:
        script = services(compose)[name]["command"][-1]
        assert "*change-me*) echo" in script and "exit 1" in script
        checked = set(re.findall(r"\$\$([A-Z0-9_]+)", script.split("*change-me*")[0]))
        env = environment(services(compose)[name])
        # every secret the job receives is in the checked string (the Postgres password inside the database URL)
        secrets = {key for key, value in env.items() if SECRET_NAME.search(key) and var_names(value)}
        assert secrets and secrets <= checked, (name, secrets - checked)
        if name == "airflow-init":
            assert "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" in checked
    assert placeholder_problems(env_example) == []


def test_the_dubflow_environment_names_real_settings(compose: dict[str, Any]) -> None:
    """DUBFLOW_<SECTION>__<KEY> must name a setting (a typo is silently ignored by the settings loader), and the
    DUBFLOW_S3_* names must be the ones the settings read."""
    from pipeline.settings import _S3Env

    def setting_exists(path: list[str]) -> bool:
        model: Any = Settings
        for part in path:
            fields = getattr(model, "model_fields", {})
            if part not in fields:
                return False
            model = fields[part].annotation
            model = next((arg for arg in getattr(model, "__args__", ()) if hasattr(arg, "model_fields")), model)
        return True

    def problems(doc: dict[str, Any]) -> list[str]:
        found = []
        for name, service in services(doc).items():
            for key in environment(service):
                if key.startswith("DUBFLOW_S3_"):
                    if key.removeprefix("DUBFLOW_S3_") not in _S3Env.NAMES:
                        found.append(f"{name}: {key} is not a DUBFLOW_S3_* setting")
                elif key.startswith("DUBFLOW_") and not setting_exists(
                    key.removeprefix("DUBFLOW_").lower().split("__")
                ):
                    found.append(f"{name}: {key} names no setting")
        return found

    assert problems(compose) == []
    services(compose)["cpu-worker"]["environment"]["DUBFLOW_ENGINES__COSYVOICE__MODELDIR"] = "/models"
    assert problems(compose) == ["cpu-worker: DUBFLOW_ENGINES__COSYVOICE__MODELDIR names no setting"]


# -- Dask workers --------------------------------------------------------------------------------------------------------


def gpu_worker_problems(compose: dict[str, Any]) -> list[str]:
    problems = []
    compile_volumes: list[str] = []
    workers = {name: s for name, s in services(compose).items() if GPU_WORKER.match(name)}
    if not workers:
        return ["no dask-cuda-worker service"]
    for name, service in workers.items():
        args = command_args(service)
        if args[:3] != ["dask", "cuda", "worker"] or option(args, "worker") != "tcp://dask-scheduler:8786":
            problems.append(f"{name}: not `dask cuda worker tcp://dask-scheduler:8786`")
        for flag, value in (
            ("--resources", "GPU=1"),
            ("--nthreads", "1"),
            ("--dashboard-address", ":8790"),
            ("--preload", "pipeline.compute.parent_watch"),
            ("--name", f"gpu-{name.rsplit('-', 1)[1]}"),
        ):
            if option(args, flag) != value:
                problems.append(f"{name}: {flag} {option(args, flag)!r}, expected {value!r}")
        if "GPU_MEMORY_LIMIT" not in var_names(option(args, "--device-memory-limit")):
            problems.append(f"{name}: no --device-memory-limit ${{GPU_MEMORY_LIMIT…}}")
        env = environment(service)
        if env.get("CUDA_VISIBLE_DEVICES") != "0":
            problems.append(f"{name}: CUDA_VISIBLE_DEVICES must be 0 (the container sees only its own GPU)")
        devices = (((service.get("deploy") or {}).get("resources") or {}).get("reservations") or {}).get(
            "devices"
        ) or []
        if not any(
            d.get("device_ids") and len(d["device_ids"]) == 1 and "gpu" in d.get("capabilities", []) for d in devices
        ):
            problems.append(f"{name}: no reservation of exactly one GPU device")
        mounts = [(src, ro) for src, target, ro in volume_mounts(service) if target == MODEL_MOUNT]
        if mounts != [("cosyvoice-models", True)]:
            problems.append(f"{name}: the model volume is not mounted read-only at {MODEL_MOUNT}")
        if not env.get(PIPELINE_ENGINES_ENV, "").startswith(MODEL_MOUNT + "/"):
            problems.append(f"{name}: {PIPELINE_ENGINES_ENV} does not point into {MODEL_MOUNT}")
        if env.get("DUBFLOW_ENGINES__COSYVOICE__FP16") != "${COSYVOICE_FP16:-false}":
            problems.append(f"{name}: fp16 is not off by default (upstream's CosyVoice3 examples use fp16=False)")
        compile_dir = env.get("DUBFLOW_ENGINES__COSYVOICE__COMPILE_DIR")
        writable = [(src, ro) for src, target, ro in volume_mounts(service) if target == compile_dir]
        if compile_dir is None or len(writable) != 1 or writable[0][1]:
            problems.append(f"{name}: the compile dir {compile_dir} is not a writable volume of its own")
        compile_volumes.extend(src for src, _ in writable)
    if len(compile_volumes) != len(set(compile_volumes)):
        problems.append(f"two GPU workers share a compile volume: {compile_volumes}")
    device_ids = [
        d for s in workers.values() for d in s["deploy"]["resources"]["reservations"]["devices"][0]["device_ids"]
    ]
    if len(device_ids) != len(set(device_ids)):
        problems.append(f"two GPU workers reserve the same device: {device_ids}")
    return problems


def test_gpu_worker_reserves_one_gpu_and_mounts_the_model_read_only(compose: dict[str, Any]) -> None:
    assert gpu_worker_problems(compose) == []
    worker = services(compose)["dask-cuda-worker-0"]
    worker["command"] = [arg for arg in worker["command"] if arg not in ("--resources", "GPU=1")]
    worker["volumes"] = ["cosyvoice-models:/models/cosyvoice", "cosyvoice-compiled-0:/var/cache/cosyvoice"]
    second = copy.deepcopy(worker)
    second["command"][second["command"].index("gpu-0")] = "gpu-1"
    services(compose)["dask-cuda-worker-1"] = second
    assert gpu_worker_problems(compose) == [
        "dask-cuda-worker-0: --resources None, expected 'GPU=1'",
        "dask-cuda-worker-0: the model volume is not mounted read-only at /models/cosyvoice",
        "dask-cuda-worker-1: --resources None, expected 'GPU=1'",
        "dask-cuda-worker-1: the model volume is not mounted read-only at /models/cosyvoice",
        "two GPU workers share a compile volume: ['cosyvoice-compiled-0', 'cosyvoice-compiled-0']",
        "two GPU workers reserve the same device: ['0', '0']",
    ]


def test_model_volume_is_an_nfs_share_from_env(compose: dict[str, Any]) -> None:
    volume = compose["volumes"]["cosyvoice-models"]
    opts = volume["driver_opts"]
    assert default_of(opts["type"], "COSYVOICE_VOLUME_TYPE") == "nfs"
    assert var_names(opts["o"]) == {"COSYVOICE_VOLUME_OPTIONS"}
    assert var_names(opts["device"]) == {"COSYVOICE_VOLUME_DEVICE"}
    # Airflow's task runners read the same model configs (the engine fingerprint in every cache key), read-only.
    for name in ("airflow-scheduler", "airflow-worker"):
        assert ("cosyvoice-models", MODEL_MOUNT, True) in volume_mounts(services(compose)[name])
        assert (
            environment(services(compose)[name])[PIPELINE_ENGINES_ENV]
            == environment(services(compose)["dask-cuda-worker-0"])[PIPELINE_ENGINES_ENV]
        )


def test_cpu_worker_runs_single_threaded_workers_with_a_fixed_metrics_port(compose: dict[str, Any]) -> None:
    args = command_args(services(compose)["cpu-worker"])
    assert args[:3] == ["dask", "worker", "tcp://dask-scheduler:8786"]
    assert option(args, "--nthreads") == "1"
    assert option(args, "--preload") == "pipeline.compute.parent_watch"
    assert option(args, "--dashboard-address") == ":8790"
    # A fixed dashboard port works with one worker process per container (a second process would take a random
    # port Prometheus cannot find), so the service scales by replicas.
    assert option(args, "--nworkers") == "1"
    assert var_names(services(compose)["cpu-worker"]["deploy"]["replicas"]) == {"CPU_WORKERS"}
    assert var_names(option(args, "--memory-limit")) == {"CPU_WORKER_MEMORY_LIMIT"}
    scheduler = command_args(services(compose)["dask-scheduler"])
    assert scheduler == ["dask", "scheduler", "--host", "0.0.0.0", "--port", "8786", "--dashboard-address", ":8787"]


def key_problems(compose: dict[str, Any]) -> list[str]:
    problems = []
    for name, service in services(compose).items():
        env = environment(service)
        root = {key for key, value in env.items() if var_names(value) & {"MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"}}
        if root and name not in ("minio", "minio-init"):
            problems.append(f"{name}: gets the MinIO root credentials ({', '.join(sorted(root))})")
        if GPU_WORKER.match(name) or name == "cpu-worker":
            if env.get("DUBFLOW_S3_ENDPOINT") != "http://minio:9000":
                problems.append(f"{name}: DUBFLOW_S3_ENDPOINT is not http://minio:9000")
            for key in ("DUBFLOW_S3_ACCESS_KEY", "DUBFLOW_S3_SECRET_KEY"):
                if var_names(env.get(key, "")) != {key}:
                    problems.append(f"{name}: {key} is not the pipeline's ${{{key}}}")
    return problems


def test_workers_use_the_pipeline_key_not_the_root_user(compose: dict[str, Any]) -> None:
    assert key_problems(compose) == []
    services(compose)["cpu-worker"]["environment"]["DUBFLOW_S3_ACCESS_KEY"] = "${MINIO_ROOT_USER}"
    assert key_problems(compose) == [
        "cpu-worker: gets the MinIO root credentials (DUBFLOW_S3_ACCESS_KEY)",
        "cpu-worker: DUBFLOW_S3_ACCESS_KEY is not the pipeline's ${DUBFLOW_S3_ACCESS_KEY}",
    ]


def test_airflow_init_creates_pool_and_connections(compose: dict[str, Any]) -> None:
    script = services(compose)["airflow-init"]["command"][-1]
    assert "airflow db migrate" in script
    assert "airflow pools set dubflow_synthesis" in script
    # the connection ids the plugin's hooks look up
    hooks = (REPO / "plugins" / "dubflow_airflow" / "hooks.py").read_text()
    for conn_id in re.findall(r'^(?:STORE|DASK)_CONN = "([^"]+)"', hooks, re.M):
        assert f'"{conn_id}"' in script
    assert "airflow connections import --overwrite" in script
    env = environment(services(compose)["airflow-init"])
    assert var_names(env["DUBFLOW_S3_ACCESS_KEY"]) == {"DUBFLOW_S3_ACCESS_KEY"}
    assert "http://minio:9000" in script and "dask-scheduler" in script


# -- MinIO: buckets and the pipeline's policy ------------------------------------------------------------------------

POLICY_FILE = REPO / "deploy" / "minio" / "dubflow-pipeline-policy.json"
ALLOWED_BUCKET_ACTIONS = {"s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"}
ALLOWED_OBJECT_ACTIONS = {
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:GetObjectTagging",
    "s3:PutObjectTagging",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
}
READ_ACTIONS = {"s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"}


def pipeline_buckets() -> dict[str, str]:
    prefix = StorageSettings().bucket_prefix
    return {role: prefix + getattr(BucketSettings(), role) for role in ("inbox", "staging", "assets")}


def policy_problems(policy: dict[str, Any]) -> list[str]:
    buckets = set(pipeline_buckets().values())
    staging = pipeline_buckets()["staging"]
    voices = StorageSettings().bucket_prefix + "voices"  # reference clips: read-only
    problems = []
    for statement in policy["Statement"]:
        sid = statement.get("Sid", "?")
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if statement.get("Effect") != "Allow" or "NotAction" in statement or "NotResource" in statement:
            problems.append(f"{sid}: only plain Allow statements expected")
        for action in actions:
            if not action.startswith("s3:") or "*" in action:
                problems.append(f"{sid}: {action} is not a plain S3 action")
            elif action not in ALLOWED_BUCKET_ACTIONS | ALLOWED_OBJECT_ACTIONS:
                problems.append(f"{sid}: {action} is more than the pipeline needs")
        for resource in resources:
            match = re.fullmatch(r"arn:aws:s3:::([a-z0-9.-]+)(/\*)?", resource)
            bucket = match.group(1) if match else None
            if bucket not in buckets | {voices}:
                problems.append(f"{sid}: {resource} is not a dubflow bucket")
                continue
            objects = match.group(2) is not None
            for action in actions:
                if (action in ALLOWED_OBJECT_ACTIONS) != objects:
                    problems.append(f"{sid}: {action} on {resource} (bucket vs object resource)")
                if action == "s3:DeleteObject" and bucket != staging:
                    problems.append(f"{sid}: deletes in {bucket} (only staging is work in progress)")
                if bucket == voices and action not in READ_ACTIONS:
                    problems.append(f"{sid}: {action} on the voice references (read-only)")
    return problems


def test_pipeline_policy_is_least_privilege() -> None:
    policy = json.loads(POLICY_FILE.read_text())
    assert policy_problems(policy) == []
    policy["Statement"].append(
        {"Sid": "Oops", "Effect": "Allow", "Action": ["admin:*", "s3:DeleteBucket"], "Resource": ["arn:aws:s3:::*"]}
    )
    policy["Statement"][2]["Resource"].append("arn:aws:s3:::dubflow-assets/*")
    assert policy_problems(policy) == [
        "DeleteWorkInProgressOnly: deletes in dubflow-assets (only staging is work in progress)",
        "Oops: admin:* is not a plain S3 action",
        "Oops: s3:DeleteBucket is more than the pipeline needs",
        "Oops: arn:aws:s3:::* is not a dubflow bucket",
    ]


def test_minio_init_creates_buckets_user_and_policy(compose: dict[str, Any]) -> None:
    init = services(compose)["minio-init"]
    script = init["command"][-1]
    assert (
        "./deploy/minio/dubflow-pipeline-policy.json",
        "/policy/dubflow-pipeline-policy.json",
        True,
    ) in volume_mounts(init)
    assert "for b in inbox staging assets voices; do" in script
    assert [role for role in pipeline_buckets()] == ["inbox", "staging", "assets"]
    assert 'mc version enable "local/$${BUCKET_PREFIX}inbox"' in script
    assert 'mc version enable "local/$${BUCKET_PREFIX}assets"' in script
    assert "mc admin policy create local dubflow-pipeline" in script
    assert 'mc admin user add local "$$DUBFLOW_S3_ACCESS_KEY" "$$DUBFLOW_S3_SECRET_KEY"' in script
    assert 'mc admin policy attach local dubflow-pipeline --user "$$DUBFLOW_S3_ACCESS_KEY"' in script


# -- monitoring ----------------------------------------------------------------------------------------------------------

MONITORING = REPO / "deploy" / "monitoring"


def prometheus_problems(config: dict[str, Any], compose: dict[str, Any]) -> list[str]:
    found = services(compose)
    problems = []
    scraped: dict[str, set[int]] = {}
    for job in config["scrape_configs"]:
        targets = [t for sc in job.get("static_configs", []) for t in sc["targets"]]
        targets += [f"{name}:{sd['port']}" for sd in job.get("dns_sd_configs", []) for name in sd["names"]]
        for target in targets:
            host, _, port = target.rpartition(":")
            if host == "localhost" and job["job_name"] == "prometheus":
                continue
            if host not in found:
                problems.append(f"{job['job_name']}: target {target} is not a compose service")
                continue
            scraped.setdefault(host, set()).add(int(port))
    # every Dask process is scraped on the port its command gives its HTTP server
    for name, service in found.items():
        address = option(command_args(service), "--dashboard-address")
        if address is not None and scraped.get(name) != {int(address.rsplit(":", 1)[1])}:
            problems.append(f"{name}: its metrics port {address} is not scraped")
    return problems


def test_prometheus_scrapes_every_dask_process(compose: dict[str, Any]) -> None:
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    assert prometheus_problems(config, compose) == []
    config["scrape_configs"][0]["static_configs"][0]["targets"] = ["scheduler:8787"]
    services(compose)["dask-cuda-worker-1"] = copy.deepcopy(services(compose)["dask-cuda-worker-0"])
    assert prometheus_problems(config, compose) == [
        "dask-scheduler: target scheduler:8787 is not a compose service",
        "dask-scheduler: its metrics port :8787 is not scraped",
        "dask-cuda-worker-1: its metrics port :8790 is not scraped",
    ]


_PROMQL_DROP = [
    re.compile(r'"(?:[^"\\]|\\.)*"'),  # strings
    re.compile(r"\{[^}]*\}"),  # label matchers
    re.compile(r"\[[^\]]*\]"),  # ranges
    re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)"),  # label lists
]
_PROMQL_WORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "offset",
    "bool",
    "and",
    "or",
    "unless",
    "inf",
    "nan",
}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (function names, labels, keywords and numbers left out)."""
    for pattern in _PROMQL_DROP:
        expr = pattern.sub(" ", expr)
    names = set()
    for match in re.finditer(r"(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(\s*\()?", expr):
        if match.group(2) is None and match.group(1).lower() not in _PROMQL_WORDS:
            names.add(match.group(1))
    return names


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for panel in dashboard["panels"]:
        found.append(panel)
        found += panel.get("panels", [])
    return found


def dashboard_problems(dashboard: dict[str, Any], datasource_uid: str) -> list[str]:
    problems = []
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            if (target.get("datasource") or panel.get("datasource") or {}).get("uid") != datasource_uid:
                problems.append(f"{panel['title']}: not on the provisioned datasource {datasource_uid}")
            unknown = metric_names(target["expr"]) - DUBFLOW_METRICS - DASK_METRICS
            problems += [f"{panel['title']}: unknown metric {name}" for name in sorted(unknown)]
    return problems


def test_metric_names_of_a_promql_expression() -> None:
    expr = (
        'sum by (engine) (rate(dubflow_synthesis_seconds_sum{engine=~"cosy.*"}[$__rate_interval])) / '
        "histogram_quantile(0.95, sum by (le) (rate(dask_worker_tasks[5m]))) * 60 > bool 1e3"
    )
    assert metric_names(expr) == {"dubflow_synthesis_seconds_sum", "dask_worker_tasks"}


def test_grafana_is_provisioned_with_the_dubflow_dashboard(compose: dict[str, Any]) -> None:
    grafana = MONITORING / "grafana"
    datasource = yaml.safe_load((grafana / "provisioning" / "datasources" / "prometheus.yml").read_text())
    (source,) = datasource["datasources"]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090" and "prometheus" in services(compose)
    provider = yaml.safe_load((grafana / "provisioning" / "dashboards" / "dubflow.yml").read_text())["providers"][0]
    mounts = {target: src for src, target, _ro in volume_mounts(services(compose)["grafana"])}
    assert mounts[provider["options"]["path"]] == "./deploy/monitoring/grafana/dashboards"
    assert mounts["/etc/grafana/provisioning"] == "./deploy/monitoring/grafana/provisioning"
    env = environment(services(compose)["grafana"])
    assert var_names(env["GF_SECURITY_ADMIN_PASSWORD"]) == {"GRAFANA_ADMIN_PASSWORD"}
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "false"

    dashboard = json.loads((grafana / "dashboards" / "dubflow.json").read_text())
    assert dashboard_problems(dashboard, source["uid"]) == []
    used = set().union(*(metric_names(t["expr"]) for p in panels(dashboard) for t in p.get("targets", [])))
    # every pipeline metric is on the dashboard, and so are the queue, the workers and their memory
    assert {
        "dubflow_lines_synthesized_total",
        "dubflow_synthesis_seconds_sum",
        "dubflow_audio_seconds_total",
        "dubflow_qa_verdicts_total",
        "dubflow_line_failures_total",
        "dubflow_worker_lines_in_progress",
        "dask_scheduler_tasks",
        "dask_scheduler_workers",
        "dask_worker_memory_bytes",
    } <= used
    titles = " | ".join(p["title"] for p in panels(dashboard)).lower()
    for topic in (
        "lines synthesized",
        "real-time factor",
        "qa verdicts",
        "failures",
        "queue depth",
        "workers",
        "memory",
    ):
        assert topic in titles, topic

    broken = copy.deepcopy(dashboard)
    broken["panels"][1]["targets"][0]["expr"] = "sum(rate(dubflow_lines_spoken_total[5m]))"
    broken["panels"][2]["datasource"] = broken["panels"][2]["targets"][0]["datasource"] = {"uid": "other"}
    assert dashboard_problems(broken, source["uid"]) == [
        f"{broken['panels'][1]['title']}: unknown metric dubflow_lines_spoken_total",
        f"{broken['panels'][2]['title']}: not on the provisioned datasource prometheus",
    ]


def exported_metrics(module: Any) -> tuple[set[str], dict[str, set[str]]]:
    """Sample names a module's prometheus_client metrics export, and each one's label names."""
    from prometheus_client.metrics import MetricWrapperBase

    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"], "gauge": [""]}
    names: set[str] = set()
    labels: dict[str, set[str]] = {}
    for metric in vars(module).values():
        if isinstance(metric, MetricWrapperBase):
            for suffix in suffixes[metric._type]:
                names.add(metric._name + suffix)
                labels[metric._name + suffix] = set(metric._labelnames) | ({"le"} if suffix == "_bucket" else set())
    return names, labels


def label_problems(dashboard: dict[str, Any], module: Any) -> list[str]:
    """Label names in by (...) and matcher values in {...} of the dashboard's dubflow queries are ones the metrics
    have (a matcher on a value the code never sets draws an empty panel)."""
    _, labels = exported_metrics(module)
    allowed = {"verdict": module.VERDICTS, "status": module.STATUSES, "reason": module.REASONS}
    problems = []
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            expr = target["expr"]
            used = metric_names(expr) & labels.keys()
            have = set().union(*(labels[name] for name in used)) | {"instance", "job", "worker_kind"} if used else set()
            for group in re.findall(r"\bby\s*\(([^)]*)\)", expr) if used else []:
                problems += [
                    f"{panel['title']}: no label {name.strip()}"
                    for name in group.split(",")
                    if name.strip() not in have
                ]
            for label, value in re.findall(r'(\w+)=~?"([^"]*)"', expr) if used else []:
                if label in allowed and not all(v in allowed[label] for v in value.split("|")):
                    problems.append(f"{panel['title']}: {label}={value!r} is never set")
    return problems


def test_dashboard_matches_the_pipelines_metrics() -> None:
    """The names and label values pipeline/metrics.py really exports (the list above is what the issue specified)."""
    metrics = pytest.importorskip("pipeline.metrics")
    names, _ = exported_metrics(metrics)
    assert names == DUBFLOW_METRICS
    dashboard = json.loads((MONITORING / "grafana" / "dashboards" / "dubflow.json").read_text())
    assert label_problems(dashboard, metrics) == []
    broken = copy.deepcopy(dashboard)
    target = next(t for p in panels(broken) for t in p.get("targets", []) if "verdict=" in t["expr"])
    target["expr"] = target["expr"].replace('"quarantined"', '"quarantine"').replace("sum(", "sum by (script) (")
    assert sorted(label_problems(broken, metrics)) == [
        "QA quarantined in the selected range: no label script",
        "QA quarantined in the selected range: verdict='quarantine' is never set",
    ]


@pytest.mark.parametrize("path", sorted(p.relative_to(REPO).as_posix() for p in (REPO / "deploy").rglob("*.yml")))
def test_deploy_yaml_files_parse(path: str) -> None:
    assert yaml.safe_load((REPO / path).read_text()) is not None


def test_env_file_parser_reads_quotes_and_comments() -> None:
    env = parse_env_file('# c\nA=1\nB=\'["x","y"]\'\n\nC="q"\nD=\n')
    assert env == {"A": "1", "B": '["x","y"]', "C": "q", "D": ""}


def run_minio_init(compose: dict[str, Any], tmp_path: Path, **env: str) -> tuple[int, list[str], str]:
    """minio-init's script as compose hands it to bash ($$ -> $), with a stub `mc` on PATH that logs its calls.
    Returns (exit status, mc calls, the policy file it rendered)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / "mc.log"
    stub = bin_dir / "mc"
    stub.write_text(
        '#!/bin/bash\necho "$*" >> "$MC_LOG"\n'
        'if [ "$1 $2 $3" = "admin policy attach" ]; then exit 1; fi  # "already in effect"\n'
        'if [ "$1 $2 $3" = "admin user info" ]; then echo "PolicyName: dubflow-pipeline"; fi\n'
    )
    stub.chmod(0o755)
    rendered = tmp_path / "rendered.json"
    script = (
        services(compose)["minio-init"]["command"][-1]
        .replace("$$", "$")
        .replace("/policy/dubflow-pipeline-policy.json", str(POLICY_FILE))
        .replace("/tmp/dubflow-pipeline-policy.json", str(rendered))
    )
    defaults = {
        "MINIO_ROOT_USER": "root",
        "MINIO_ROOT_PASSWORD": "root-password",
        "DUBFLOW_S3_ACCESS_KEY": "pipeline",
        "DUBFLOW_S3_SECRET_KEY": "pipeline-secret",
        "BUCKET_PREFIX": "dubflow-",
    }
    result = subprocess.run(
        ["bash", "-c", script],
        env={"PATH": f"{bin_dir}:{os.environ['PATH']}", "MC_LOG": str(log), **defaults, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    calls = log.read_text().splitlines() if log.exists() else []
    return result.returncode, calls, rendered.read_text() if rendered.exists() else ""


def test_minio_init_script_runs(compose: dict[str, Any], tmp_path: Path) -> None:
    status, calls, policy = run_minio_init(compose, tmp_path, BUCKET_PREFIX="studio-")
    assert status == 0
    assert [c for c in calls if c.startswith("mb ")] == [
        f"mb --ignore-existing local/studio-{b}" for b in ("inbox", "staging", "assets", "voices")
    ]
    assert "version enable local/studio-inbox" in calls and "version enable local/studio-assets" in calls
    assert "admin user add local pipeline pipeline-secret" in calls
    # rendered for the deployment's prefix, and still least-privilege
    assert "arn:aws:s3:::studio-staging/*" in policy and "dubflow-" not in policy
    assert policy_problems(json.loads(policy.replace("studio-", "dubflow-"))) == []


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({"DUBFLOW_S3_SECRET_KEY": "change-me-to-a-secret"}, "placeholders"),
        ({"DUBFLOW_S3_ACCESS_KEY": "root"}, "root user"),
    ],
)
def test_minio_init_refuses_placeholders_and_the_root_key(
    compose: dict[str, Any], tmp_path: Path, env: dict[str, str], reason: str
) -> None:
    status, calls, _ = run_minio_init(compose, tmp_path, **env)
    assert status == 1 and calls == [], reason
