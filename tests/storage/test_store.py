"""The store against a real S3 server: round trips, content checks, presigned URLs, clear permanent errors."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from pipeline.settings import StorageSettings
from pipeline.storage.errors import NotConfiguredError, StorageError
from pipeline.storage.store import ObjectStore, resolve_connection, sha256_bytes


def test_put_get_stat_round_trip(store: ObjectStore, tmp_path: Path) -> None:
    data = b"RIFF" + bytes(range(256)) * 40
    meta, tags = {"line-id": "l1"}, {"stage": "raw"}
    digest = store.put_bytes("staging", "work/a.bin", data, content_type="audio/wav", metadata=meta, tags=tags)
    assert digest == sha256_bytes(data)
    assert store.get_bytes("staging", "work/a.bin") == data
    info = store.stat("staging", "work/a.bin")
    assert info is not None
    assert (info.size, info.sha256, info.content_type, info.metadata["line-id"]) == (
        len(data),
        digest,
        "audio/wav",
        "l1",
    )
    assert store.client.get_object_tags(bucket_name=store.bucket("staging"), object_name="work/a.bin") == {
        "stage": "raw"
    }
    path = tmp_path / "b.bin"
    path.write_bytes(b"file body")
    store.put_file("assets", "p/s/v1/en/l1.wav", path)
    assert store.get_file("assets", "p/s/v1/en/l1.wav", tmp_path / "out" / "copy.bin").read_bytes() == b"file body"


def test_missing_objects_and_same_content(store: ObjectStore) -> None:
    assert store.stat("staging", "nope") is None
    assert not store.exists("staging", "nope")
    digest = store.put_bytes("staging", "x", b"one")
    assert store.has_same_content("staging", "x", digest)
    assert not store.has_same_content("staging", "x", sha256_bytes(b"two"))
    assert not store.has_same_content("staging", "y", digest)


def test_list_by_prefix_and_delete_staging(store: ObjectStore) -> None:
    for key in ["cache/aa/1.wav", "cache/aa/2.wav", "cache/bb/3.wav", "other/4.wav"]:
        store.put_bytes("staging", key, key.encode())
    assert sorted(o.key for o in store.list("staging", "cache/aa/")) == ["cache/aa/1.wav", "cache/aa/2.wav"]
    assert sorted(o.key for o in store.list("staging", "cache/", recursive=False)) == ["cache/aa/", "cache/bb/"]
    assert store.delete_staging(["cache/aa/1.wav", "cache/aa/2.wav"]) == 2
    assert [o.key for o in store.list("staging", "cache/")] == ["cache/bb/3.wav"]


def test_presigned_get_works_with_plain_http_and_expires(store: ObjectStore) -> None:
    store.put_bytes("assets", "p/s/v1/en/l.wav", b"clip", content_type="audio/wav")
    url = store.presigned_get("assets", "p/s/v1/en/l.wav", expires=timedelta(seconds=2))
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"clip"
    tampered = url.replace("l.wav", "m.wav")
    with pytest.raises(urllib.error.HTTPError) as denied:
        urllib.request.urlopen(tampered, timeout=10)
    assert denied.value.code == 403
    time.sleep(3.1)
    with pytest.raises(urllib.error.HTTPError) as expired:
        urllib.request.urlopen(url, timeout=10)
    assert expired.value.code == 403


def test_presigned_urls_are_signed_for_the_public_endpoint(store: ObjectStore) -> None:
    """Browsers reach the server by another name than the workers do: the link must be signed for that name."""
    store.put_bytes("assets", "p/s/v1/en/l.wav", b"clip", content_type="audio/wav")
    host, port = store.connection.endpoint.rsplit(":", 1)
    assert host == "127.0.0.1", "the suite's server binds 127.0.0.1; 'localhost' stands in for a public name"
    public = ObjectStore(
        store.connection, store.settings.model_copy(update={"public_endpoint": f"http://localhost:{port}"})
    )
    url = public.presigned_get("assets", "p/s/v1/en/l.wav")
    assert url.startswith(f"http://localhost:{port}/")
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"clip"
    with pytest.raises(urllib.error.HTTPError) as denied:  # the same link at the internal name: host is signed
        urllib.request.urlopen(url.replace("localhost", "127.0.0.1", 1), timeout=10)
    assert denied.value.code == 403


def test_wrong_secret_is_permanent_and_not_retried(store: ObjectStore) -> None:
    c = store.connection
    bad = {"endpoint": c.url, "access_key": c.access_key, "secret_key": SecretStr("wrong-secret")}
    wrong = ObjectStore.from_settings(store.settings.model_copy(update=bad))
    started = time.monotonic()
    with pytest.raises(StorageError, match=r"SignatureDoesNotMatch.*secret key") as caught:
        wrong.put_bytes("staging", "x", b"x")
    assert wrong.retries == 0 and time.monotonic() - started < 5
    assert "wrong-secret" not in str(caught.value)


def test_missing_bucket_is_a_clear_error(store: ObjectStore) -> None:
    other = ObjectStore(store.connection, store.settings.model_copy(update={"bucket_prefix": "never-created-"}))
    with pytest.raises(StorageError, match=r"NoSuchBucket.*dubflow s3 init"):
        other.put_bytes("assets", "x", b"x")
    assert other.retries == 0


def test_resolve_connection_errors(tmp_path: Path) -> None:
    nothing = StorageSettings(local={"data_dir": tmp_path})
    with pytest.raises(NotConfiguredError, match="dubflow s3 start"):
        resolve_connection(nothing)
    with pytest.raises(NotConfiguredError, match="DUBFLOW_S3_ACCESS_KEY"):
        resolve_connection(StorageSettings(endpoint="minio:9000"))
    with pytest.raises(NotConfiguredError, match="no path"):
        resolve_connection(StorageSettings(endpoint="http://minio:9000/bucket", access_key="a", secret_key="b"))
    https = resolve_connection(StorageSettings(endpoint="https://minio.example:9000", access_key="a", secret_key="b"))
    assert (https.endpoint, https.secure) == ("minio.example:9000", True)
    assert "b" not in repr(https).replace("minio.example", "").replace("https", "")
    (tmp_path / "credentials.env").write_text("DUBFLOW_S3_ENDPOINT=127.0.0.1:1\n")
    with pytest.raises(NotConfiguredError, match="missing DUBFLOW_S3_ACCESS_KEY"):
        resolve_connection(nothing)
