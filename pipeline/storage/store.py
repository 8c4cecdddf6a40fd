"""The object store: the few S3 operations the pipeline needs, through the ``minio`` client, with retries.

Every other stage stores through this class, so retry policy, checksums and error messages live in one place and
the server behind it (MinIO in production, the embedded SeaweedFS locally) does not matter.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal, TypeVar
from urllib.parse import urlsplit

import certifi
import urllib3
from minio import Minio
from minio.commonconfig import REPLACE, CopySource, Tags
from minio.datatypes import Object
from minio.deleteobjects import DeleteObject
from minio.error import InvalidResponseError, MinioException, S3Error, ServerError
from minio.helpers import genheaders
from minio.versioningconfig import ENABLED, VersioningConfig
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from pipeline.digest import sha256_file
from pipeline.settings import StorageSettings
from pipeline.storage.errors import NotConfiguredError, StorageError, StorageUnavailableError

log = logging.getLogger(__name__)

BucketRole = Literal["inbox", "staging", "assets"]
ROLES: tuple[BucketRole, ...] = ("inbox", "staging", "assets")
SHA256_META = "sha256"
BINARY = "application/octet-stream"
Meta = Mapping[str, str] | None  # user metadata or tags of an object
_T = TypeVar("_T")

# S3 error codes that mean "the server is busy or briefly broken", worth another try.
_TRANSIENT_CODES = frozenset(
    "SlowDown SlowDownWrite SlowDownRead InternalError ServiceUnavailable RequestTimeout XMinioServerNotInitialized "
    "OperationTimedOut XAmzContentSHA256Mismatch".split()
)


@dataclass(frozen=True)
class Connection:
    """Where the S3 server is and how to sign requests. ``secret_key`` never appears in repr/logs."""

    endpoint: str  # host:port
    access_key: str
    secret_key: str
    secure: bool = False
    cert_check: bool = True
    region: str = "us-east-1"

    def __repr__(self) -> str:
        return f"Connection({self.url}, access_key={self.access_key!r})"

    @property
    def url(self) -> str:
        return f"{'https' if self.secure else 'http'}://{self.endpoint}"


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def resolve_connection(storage: StorageSettings) -> Connection:
    """The configured endpoint, else the embedded server's credentials file, else a clear error."""
    if storage.endpoint:
        endpoint, secure = _split_endpoint(storage.endpoint, storage.secure)
        if not storage.access_key or storage.secret_key is None:
            raise NotConfiguredError(
                f"S3 endpoint {storage.endpoint} is configured without credentials: "
                "set DUBFLOW_S3_ACCESS_KEY and DUBFLOW_S3_SECRET_KEY (or the Airflow connection)"
            )
        credentials = storage.access_key, storage.secret_key.get_secret_value()
    else:
        path = storage.local.data_dir / "credentials.env"  # written by the embedded server (local_server)
        if not path.is_file():
            raise NotConfiguredError(
                f"no S3 endpoint configured and no local server credentials at {path}: "
                "run `dubflow s3 start`, or set DUBFLOW_S3_ENDPOINT / storage.endpoint"
            )
        env = read_env_file(path)
        try:
            endpoint, secure = _split_endpoint(env["DUBFLOW_S3_ENDPOINT"], False)
            credentials = env["DUBFLOW_S3_ACCESS_KEY"], env["DUBFLOW_S3_SECRET_KEY"]
        except KeyError as missing:
            raise NotConfiguredError(
                f"{path}: missing {missing.args[0]}; restart the server with `dubflow s3 start`"
            ) from None
    return Connection(endpoint, *credentials, secure, storage.cert_check, storage.region)


def _split_endpoint(value: str, secure: bool) -> tuple[str, bool]:
    if "://" not in value:
        return value.rstrip("/"), secure
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path.strip("/"):
        raise NotConfiguredError(f"S3 endpoint '{value}' must be host:port or http(s)://host:port with no path")
    return parts.netloc, parts.scheme == "https"


def split_s3_uri(uri: str) -> tuple[str, str]:
    parts = urlsplit(uri)
    key = parts.path.lstrip("/")
    if parts.scheme != "s3" or not parts.netloc or not key:
        raise StorageError(f"'{uri}' is not an s3://bucket/key URI")
    return parts.netloc, key


@dataclass(frozen=True)
class ObjectInfo:
    bucket: str
    key: str
    size: int
    etag: str
    content_type: str | None
    last_modified: datetime | None
    version_id: str | None
    metadata: Mapping[str, str]  # the x-amz-meta-* headers, without that prefix

    @property
    def sha256(self) -> str | None:
        """From our own metadata; None for objects dubflow did not write."""
        return self.metadata.get(SHA256_META)

    @classmethod
    def of(cls, obj: Object) -> ObjectInfo:
        prefix = "x-amz-meta-"
        meta = {k.lower()[len(prefix) :]: v for k, v in (obj.metadata or {}).items() if k.lower().startswith(prefix)}
        name, size, etag = obj.object_name or "", obj.size or 0, (obj.etag or "").strip('"')
        return cls(obj.bucket_name, name, size, etag, obj.content_type, obj.last_modified, obj.version_id, meta)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _status(exc: BaseException) -> int | None:
    if isinstance(exc, ServerError):
        return exc.status_code
    if isinstance(exc, InvalidResponseError):  # a non-XML answer, e.g. a proxy's 502 page in front of MinIO
        return getattr(exc, "_code", None)
    return None


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, (ServerError, InvalidResponseError)):
        status = _status(exc)
        return status is not None and (status >= 500 or status == 429)
    if isinstance(exc, S3Error):
        return exc.code in _TRANSIENT_CODES
    return isinstance(exc, (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError))


class ObjectStore:
    """One deployment's buckets on one S3 server."""

    def __init__(self, connection: Connection, storage: StorageSettings) -> None:
        self.connection = connection
        self.settings = storage
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=storage.connect_timeout, read=storage.read_timeout),
            maxsize=16,
            cert_reqs="CERT_REQUIRED" if connection.cert_check else "CERT_NONE",
            ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
            retries=False,  # one retry policy, ours, not urllib3's stacked under it
        )
        self.client = self._minio(connection.endpoint, connection.secure, http)
        self.retries = 0  # transient failures absorbed since construction (reported by benchmarks and tests)
        self._known_buckets: set[str] = set()
        self._conditional: bool | None = None
        self._public_client: Minio | None = None

    @classmethod
    def from_settings(cls, storage: StorageSettings) -> ObjectStore:
        return cls(resolve_connection(storage), storage)

    def bucket(self, role: BucketRole) -> str:
        return f"{self.settings.bucket_prefix}{getattr(self.settings.buckets, role)}"

    def __repr__(self) -> str:
        return f"ObjectStore({self.connection.url}, prefix={self.settings.bucket_prefix!r})"

    def _minio(self, endpoint: str, secure: bool, http: urllib3.PoolManager | None = None) -> Minio:
        c = self.connection  # (None: no session token)
        return Minio(endpoint, c.access_key, c.secret_key, None, secure, c.region, http, cert_check=c.cert_check)

    # -- retries ---------------------------------------------------------------------------------------------

    def _call(self, what: str, fn: Callable[[], _T]) -> _T:
        retry = self.settings.retry

        def count(state: object) -> None:
            self.retries += 1
            exc = state.outcome.exception()  # type: ignore[attr-defined]
            log.warning("%s on %s failed (%s); retrying", what, self.connection.url, exc)

        retrying = Retrying(
            stop=stop_after_attempt(retry.attempts),
            wait=wait_random_exponential(multiplier=retry.initial_wait, max=retry.max_wait),
            retry=retry_if_exception(_is_transient),
            before_sleep=count,
            reraise=True,
        )
        try:
            return retrying(fn)
        except S3Error as exc:
            if exc.code in _TRANSIENT_CODES:
                raise StorageUnavailableError(f"{what}: {self.connection.url} kept failing ({exc.code})") from exc
            raise StorageError(f"{what}: {_explain(exc, self.connection)}") from exc
        except (ServerError, InvalidResponseError) as exc:
            answered = f"{what}: {self.connection.url} answered HTTP {_status(exc)}"
            if _is_transient(exc):
                raise StorageUnavailableError(f"{answered} {retry.attempts} times") from exc
            raise StorageError(f"{answered}: {exc}") from exc
        except MinioException as exc:
            raise StorageError(f"{what}: {exc}") from exc
        except (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError) as exc:
            raise StorageUnavailableError(
                f"{what}: cannot reach S3 server {self.connection.url} after {retry.attempts} attempts ({exc})"
            ) from exc

    # -- buckets ---------------------------------------------------------------------------------------------

    def missing_buckets(self) -> list[str]:
        """This deployment's buckets that do not exist (a StorageError when the server cannot be asked)."""
        names = [self.bucket(role) for role in ROLES]
        exists = [self._call(f"check bucket {n}", lambda n=n: self.client.bucket_exists(bucket_name=n)) for n in names]
        return [name for name, there in zip(names, exists, strict=True) if not there]

    def ensure_buckets(self, versioning: bool = True) -> list[str]:
        """Create this deployment's buckets if missing; turn on versioning where the server supports it."""
        missing = self.missing_buckets()
        created = []
        for role in ROLES:
            name = self.bucket(role)
            if name in missing and self._call(f"create bucket {name}", lambda n=name: self._make_bucket(n)):
                created.append(name)
            if versioning and role != "staging":
                self._enable_versioning(name)
        return created

    def _make_bucket(self, name: str) -> bool:
        """Create; a bucket that exists by now (a retried request, a racing worker) is fine."""
        try:
            self.client.make_bucket(bucket_name=name)
        except S3Error as exc:
            if exc.code in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                return False
            raise
        return True

    def _enable_versioning(self, name: str) -> None:
        config = VersioningConfig(ENABLED)
        try:
            self._call(f"enable versioning on {name}", lambda: self.client.set_bucket_versioning(name, config))
        except StorageError as exc:
            # Versioning is defence in depth (the publish protocol never overwrites); a server without it still works.
            log.warning("bucket versioning not available on %s: %s", name, exc)

    # -- objects ---------------------------------------------------------------------------------------------

    def put_bytes(
        self,
        role: BucketRole,
        key: str,
        data: bytes,
        content_type: str = BINARY,
        metadata: Meta = None,
        tags: Meta = None,
    ) -> str:
        """Upload ``data`` with its sha256 in the metadata; returns the sha256."""
        return self._put(role, key, data, sha256_bytes(data), content_type, metadata, tags)

    def put_file(
        self,
        role: BucketRole,
        key: str,
        path: Path,
        content_type: str = BINARY,
        metadata: Meta = None,
        tags: Meta = None,
        sha256: str | None = None,
    ) -> str:
        """Like :meth:`put_bytes`, streamed from ``path``; ``sha256`` when the caller has hashed it already."""
        return self._put(role, key, path, sha256 or sha256_file(path), content_type, metadata, tags)

    def _put(
        self, role: BucketRole, key: str, body: bytes | Path, digest: str, content_type: str, metadata: Meta, tags: Meta
    ) -> str:
        bucket, meta, tagging = self.bucket(role), {**(metadata or {}), SHA256_META: digest}, _tags(tags)

        def put() -> object:
            if isinstance(body, Path):
                return self.client.fput_object(bucket, key, str(body), content_type, meta, tags=tagging)
            return self.client.put_object(bucket, key, io.BytesIO(body), len(body), content_type, meta, tags=tagging)

        self._call(f"put s3://{bucket}/{key}", put)
        return digest

    def put_json_if(
        self, role: BucketRole, key: str, data: bytes, etag: str | None = None, metadata: Meta = None, tags: Meta = None
    ) -> bool:
        """A conditional PUT of one of the publish and lock protocols' small JSON objects; True when it was made.

        Without ``etag``, create ``key`` only if it does not exist (S3 ``If-None-Match: *``; False when an object
        was there): the one write two runs can race on without either being able to replace the other's object.
        With ``etag``, replace ``key`` only while it still has that ETag (``If-Match``; False when someone else
        changed it first, or it is gone): how a lock is refreshed by its holder, or taken over by one taker.

        minio-py has no parameter for these headers, so the request goes through its own signed ``_put_object``
        (pinned minio<8; every publish and lock test goes through here)."""
        bucket = self.bucket(role)
        headers = genheaders({**(metadata or {}), SHA256_META: sha256_bytes(data)}, None, _tags(tags), None, False)
        headers["Content-Type"] = "application/json"
        headers.update({"If-None-Match": "*"} if etag is None else {"If-Match": f'"{etag}"'})

        def put() -> bool:
            try:
                self.client._put_object(bucket, key, data, headers=headers)
            except S3Error as exc:
                status = exc.response.status if exc.response is not None else None
                if exc.code in ("PreconditionFailed", "NoSuchKey") or status in (404, 412):
                    return False
                raise
            return True

        return self._call(f"conditional put s3://{bucket}/{key}", put)

    def supports_conditional_writes(self) -> bool:
        """Does this server refuse a second create-only PUT? Probed once per store in the staging bucket; a server
        that silently overwrites would let two publishers mix their versions, so publishing refuses it."""
        if self._conditional is None:
            key = f"probes/if-none-match/{uuid.uuid4().hex}"
            first, second = self.put_json_if("staging", key, b"1"), self.put_json_if("staging", key, b"2")
            self.delete_staging([key])
            self._conditional = first and not second
        return self._conditional

    def copy(
        self,
        role: BucketRole,
        source: str,
        key: str,
        metadata: Mapping[str, str],
        content_type: str = BINARY,
        tags: Meta = None,
    ) -> None:
        """Server-side copy within a bucket: a new version reuses an unchanged clip without sending its bytes."""
        bucket, sha256 = self.bucket(role), metadata.get(SHA256_META)
        original = self.stat(role, source)
        if original is None or original.sha256 != sha256:
            raise StorageError(f"cannot reuse s3://{bucket}/{source}: it is gone or no longer has sha256 {sha256}")
        src = CopySource(bucket, source, match_etag=original.etag)
        meta = {**metadata, "Content-Type": content_type}
        tagging = {"tags": _tags(tags), "tagging_directive": REPLACE} if tags else {}
        self._call(
            f"copy s3://{bucket}/{source} to {key}",
            lambda: self.client.copy_object(bucket, key, src, metadata=meta, metadata_directive=REPLACE, **tagging),
        )
        copied = self.stat(role, key)
        if copied is None or copied.sha256 != sha256 or copied.content_type != content_type:
            raise StorageError(f"copy of s3://{bucket}/{source} to {key} did not keep its sha256 metadata")

    def get_bytes(self, role: BucketRole, key: str) -> bytes:
        bucket = self.bucket(role)

        def read() -> bytes:
            response = self.client.get_object(bucket, key)
            try:
                return response.read()
            finally:
                response.close()
                response.release_conn()

        return self._call(f"get s3://{bucket}/{key}", read)

    def get_file(self, role: BucketRole, key: str, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        return self._download(self.bucket(role), key, path)

    def _download(self, bucket: str, key: str, path: Path) -> Path:
        self._call(f"get s3://{bucket}/{key}", lambda: self.client.fget_object(bucket, key, str(path)))
        return path

    def stat(self, role: BucketRole, key: str) -> ObjectInfo | None:
        """The object's info, or None when it does not exist."""
        return self._stat(self.bucket(role), key)

    def stat_uri(self, uri: str) -> ObjectInfo | None:
        """Like :meth:`stat` for an ``s3://bucket/key`` outside this deployment's buckets (voice references)."""
        return self._stat(*split_s3_uri(uri))

    def fetch_uri(self, uri: str, cache_dir: Path) -> Path:
        """Download ``s3://bucket/key`` once into ``cache_dir``, named by its content, checked against its sha256."""
        bucket, key = split_s3_uri(uri)
        info = self._stat(bucket, key)
        if info is None:
            raise StorageError(f"{uri} does not exist")
        path = cache_dir / f"{info.sha256 or info.etag}{Path(key).suffix}"
        if path.is_file():
            return path
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = self._download(bucket, key, path.with_name(path.name + f".{os.getpid()}.part"))
        if info.sha256 and sha256_file(partial) != info.sha256:
            partial.unlink(missing_ok=True)
            raise StorageError(f"{uri}: downloaded content does not match its sha256 metadata")
        os.replace(partial, path)
        return path

    def _stat(self, bucket: str, key: str) -> ObjectInfo | None:
        def head() -> ObjectInfo | None:
            try:
                return ObjectInfo.of(self.client.stat_object(bucket, key))
            except S3Error as exc:
                if exc.code not in ("NoSuchKey", "NoSuchObject", "ResourceNotFound"):
                    raise
                # A HEAD cannot tell a missing bucket from a missing key: ask once per bucket.
                if bucket not in self._known_buckets and not self.client.bucket_exists(bucket):
                    raise S3Error(None, "NoSuchBucket", "bucket does not exist", None, None, None, bucket) from exc
                self._known_buckets.add(bucket)
                return None

        return self._call(f"stat s3://{bucket}/{key}", head)

    def exists(self, role: BucketRole, key: str) -> bool:
        return self.stat(role, key) is not None

    def has_same_content(self, role: BucketRole, key: str, sha256: str) -> bool:
        """True when ``key`` exists and was written with this sha256: the upload can be skipped."""
        info = self.stat(role, key)
        return info is not None and info.sha256 == sha256

    def list(self, role: BucketRole, prefix: str = "", recursive: bool = True) -> Iterator[ObjectInfo]:
        """Objects (and, when not recursive, ``dir/`` prefixes as size-0 entries) under ``prefix``."""
        bucket = self.bucket(role)
        listed = self._call(
            f"list s3://{bucket}/{prefix}", lambda: [*self.client.list_objects(bucket, prefix, recursive)]
        )
        yield from map(ObjectInfo.of, listed)

    def presigned_get(self, role: BucketRole, key: str, expires: timedelta | None = None) -> str:
        """A URL anyone holding it can GET until it expires: for players in the review page and editors.

        Signed for ``public_endpoint`` when set: the signature covers the host, so a URL signed for a
        compose-internal name would not work from a browser. Signing is local (the region is configured)."""
        bucket = self.bucket(role)
        lifetime = expires or timedelta(seconds=self.settings.presign_expiry)
        sign = self._signer().presigned_get_object
        return self._call(f"presign s3://{bucket}/{key}", lambda: sign(bucket, key, lifetime))

    def _signer(self) -> Minio:
        if not self.settings.public_endpoint:
            return self.client
        if self._public_client is None:
            self._public_client = self._minio(*_split_endpoint(self.settings.public_endpoint, self.connection.secure))
        return self._public_client

    def delete_staging(self, keys: list[str]) -> int:
        """Delete work-in-progress objects. Only the staging bucket: published assets are never deleted by code."""
        if not keys:
            return 0
        bucket = self.bucket("staging")

        def remove() -> list[str]:
            errors = self.client.remove_objects(bucket, [DeleteObject(k) for k in keys])
            return [f"{e.name}: {e.message}" for e in errors]

        failed = self._call(f"delete {len(keys)} objects from s3://{bucket}", remove)
        if failed:
            raise StorageError(f"could not delete from s3://{bucket}: {'; '.join(failed[:5])}")
        return len(keys)


def _tags(values: Meta) -> Tags | None:
    if not values:
        return None
    tags = Tags.new_object_tags()
    for key, value in values.items():
        tags[key] = value  # item by item: Tags checks each
    return tags


_ADVICE = {
    "AccessDenied": "the access key may not do this; check the key's policy",
    "InvalidAccessKeyId": "unknown access key; check DUBFLOW_S3_ACCESS_KEY or the Airflow connection",
    "SignatureDoesNotMatch": "wrong secret key; check DUBFLOW_S3_SECRET_KEY or the Airflow connection",
    "NoSuchBucket": "the bucket does not exist; run `dubflow s3 init` to create this deployment's buckets",
}


def _explain(exc: S3Error, connection: Connection) -> str:
    where = f"s3://{exc.bucket_name}/{exc.object_name or ''}" if exc.bucket_name else connection.url
    advice = _ADVICE.get(exc.code or "", exc.message or "")
    return f"{exc.code} at {where} on {connection.url}: {advice}"
