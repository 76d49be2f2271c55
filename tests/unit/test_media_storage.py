"""The local-folder media storage, media IDs and the download Content-Disposition."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest

from bastion.api.media import content_disposition
from bastion.errors import MatrixError
from bastion.services.media.mxc import MEDIA_ID_PATTERN, new_media_id, require_local_media_id
from bastion.services.media.storage import CHUNK_SIZE, LocalDirectoryStorage, StorageKey


async def stream(parts: Iterable[bytes], fail_after: int | None = None) -> AsyncIterator[bytes]:
    for index, part in enumerate(parts):
        if fail_after is not None and index == fail_after:
            raise RuntimeError("client went away")
        yield part


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


async def test_stage_commit_open_round_trip(tmp_path: Path) -> None:
    storage = LocalDirectoryStorage(tmp_path / "media")
    assert not (tmp_path / "media").exists()  # nothing is created before the first write
    parts = [secrets.token_bytes(300_000) for _ in range(8)]  # more than two CHUNK_SIZEs
    data = b"".join(parts)
    staged = await storage.stage(stream(parts))
    assert (staged.size, staged.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    key = StorageKey("abcdEFGH_-12")
    assert await storage.open(key) is None
    await storage.commit(staged, key)
    stored = await storage.open(key)
    assert stored is not None
    assert stored.size == len(data)
    chunks = [chunk async for chunk in stored.chunks()]
    assert b"".join(chunks) == data
    assert max(len(c) for c in chunks) <= CHUNK_SIZE
    assert files_under(tmp_path / "media") == [tmp_path / "media/content/ab/cd/abcdEFGH_-12"]
    await storage.delete(key)
    assert await storage.open(key) is None


async def test_thumbnail_variants_live_beside_nothing_else(tmp_path: Path) -> None:
    storage = LocalDirectoryStorage(tmp_path)
    await storage.commit(await storage.stage(stream([b"t"])), StorageKey("xyz", "32x32-crop"))
    assert files_under(tmp_path) == [tmp_path / "thumbnails/_/xyz/32x32-crop"]


async def test_failed_or_discarded_stage_leaves_nothing(tmp_path: Path) -> None:
    storage = LocalDirectoryStorage(tmp_path)
    with pytest.raises(RuntimeError):
        await storage.stage(stream([b"a" * 1000] * 5, fail_after=3))
    assert files_under(tmp_path) == []
    staged = await storage.stage(stream([b"abc"]))
    assert len(files_under(tmp_path)) == 1
    await storage.discard(staged)
    assert files_under(tmp_path) == []


@pytest.mark.parametrize(
    ("media_id", "variant"),
    [("..", ""), ("a/b", ""), ("", ""), ("a.b", ""), ("é", ""), ("ok", "../x"), ("ok", "a/b")],
)
def test_storage_keys_refuse_anything_but_the_id_alphabet(media_id: str, variant: str) -> None:
    with pytest.raises(ValueError, match="invalid"):
        StorageKey(media_id, variant)


def test_media_ids() -> None:
    ids = {new_media_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(MEDIA_ID_PATTERN.fullmatch(i) and len(i) == 24 for i in ids)
    assert require_local_media_id("hs.example", "hs.example", "abc_-9") == "abc_-9"
    for server, media_id in [("other.example", "abc"), ("hs.example", "a.b"), ("hs.example", "")]:
        with pytest.raises(MatrixError) as caught:
            require_local_media_id("hs.example", server, media_id)
        assert (caught.value.status, caught.value.errcode) == (404, "M_NOT_FOUND")


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        (None, "inline"),
        ("", "inline"),
        ("a.png", "inline; filename=\"a.png\"; filename*=utf-8''a.png"),
        ("my file.pdf", "inline; filename=\"my file.pdf\"; filename*=utf-8''my%20file.pdf"),
        ("zażółć.txt", "inline; filename*=utf-8''za%C5%BC%C3%B3%C5%82%C4%87.txt"),
        ('say "hi".txt', "inline; filename*=utf-8''say%20%22hi%22.txt"),
        ("a;b\r\n.txt", "inline; filename*=utf-8''a%3Bb%0D%0A.txt"),
        (
            "../../etc/passwd",
            "inline; filename=\"../../etc/passwd\"; filename*=utf-8''..%2F..%2Fetc%2Fpasswd",
        ),
    ],
)
def test_content_disposition_encodes_any_name(filename: str | None, expected: str) -> None:
    assert content_disposition("inline", filename) == expected
