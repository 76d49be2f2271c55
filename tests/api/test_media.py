"""The media repository: upload, create + PUT, download, thumbnails, config, and every refusal."""

from __future__ import annotations

import asyncio
import io
import secrets
import struct
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from bastion.config import MediaConfig
from tests.conftest import Homeserver, UserClient

UPLOAD = "/_matrix/media/v3/upload"
CREATE = "/_matrix/media/v1/create"
V1 = "/_matrix/client/v1/media"
LEGACY = "/_matrix/media/v3"
CSP = (
    "sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf; "
    "style-src 'unsafe-inline'; media-src 'self'; object-src 'self'"
)


@pytest.fixture
def media_config(tmp_path: Path, request: pytest.FixtureRequest) -> MediaConfig:
    """Media in `tmp_path/media`; parametrize indirectly with a dict to change other fields."""
    extra: dict[str, Any] = getattr(request, "param", {})
    return MediaConfig(store_path=str(tmp_path / "media"), **extra)


@pytest.fixture
def config_overrides(media_config: MediaConfig) -> dict[str, Any]:
    return {"media": media_config}


def bearer(user: UserClient) -> dict[str, str]:
    return {"Authorization": f"Bearer {user.token}"}


async def upload(
    hs: Homeserver,
    user: UserClient,
    data: bytes,
    content_type: str | None = "application/octet-stream",
    filename: str | None = None,
) -> str:
    """Upload `data`; returns the media ID (fails the test if refused)."""
    resp = await upload_raw(hs, user, data, content_type, filename)
    assert resp.status_code == 200, resp.text
    uri: str = resp.json()["content_uri"]
    assert uri.startswith(f"mxc://{hs.server_name}/")
    return uri.rsplit("/", 1)[1]


async def upload_raw(
    hs: Homeserver,
    user: UserClient | None,
    data: bytes,
    content_type: str | None = "application/octet-stream",
    filename: str | None = None,
) -> httpx.Response:
    headers = bearer(user) if user is not None else {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    params = {"filename": filename} if filename is not None else None
    return await hs.http.post(UPLOAD, content=data, headers=headers, params=params)


async def download(
    hs: Homeserver, user: UserClient | None, media_id: str, suffix: str = "", prefix: str = V1
) -> httpx.Response:
    headers = bearer(user) if user is not None else {}
    return await hs.http.get(
        f"{prefix}/download/{hs.server_name}/{media_id}{suffix}", headers=headers
    )


def error(resp: httpx.Response) -> tuple[int, str]:
    return resp.status_code, resp.json()["errcode"]


def image_bytes(size: tuple[int, int], fmt: str = "PNG", mode: str = "RGB") -> bytes:
    colour = (200, 30, 30, 128) if mode == "RGBA" else (200, 30, 30)
    out = io.BytesIO()
    Image.new(mode, size, colour).save(out, fmt)
    return out.getvalue()


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


# --- upload and download -----------------------------------------------------------------------


async def test_upload_and_download_round_trip_byte_exact(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    # Larger than http.max_request_body_bytes (1 MiB): uploads have their own limit.
    data = secrets.token_bytes(3 * 1024 * 1024 + 17)
    media_id = await upload(hs, alice, data, "image/png", filename="holiday photo.png")
    resp = await download(hs, bob, media_id)
    assert resp.status_code == 200
    assert resp.content == data
    assert resp.headers["content-type"] == "image/png"
    assert resp.headers["content-length"] == str(len(data))
    disposition = resp.headers["content-disposition"]
    assert disposition.startswith("inline")
    assert "filename*=utf-8''holiday%20photo.png" in disposition
    assert 'filename="holiday photo.png"' in disposition

    # The file-name variant serves the same bytes under the name asked for.
    resp = await download(hs, bob, media_id, "/Überblick.png")
    assert resp.content == data
    assert "filename*=utf-8''%C3%9Cberblick.png" in resp.headers["content-disposition"]
    assert 'filename="' not in resp.headers["content-disposition"]  # not plain ASCII

    # Without a name at upload, the header has none either.
    plain = await upload(hs, alice, b"hello", "text/plain")
    assert (await download(hs, bob, plain)).headers["content-disposition"] == "inline"


async def test_upload_defaults_and_refusals(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    media_id = await upload(hs, alice, b"no type given", content_type=None)
    resp = await download(hs, alice, media_id)
    assert resp.headers["content-type"] == "application/octet-stream"
    assert resp.headers["content-disposition"] == "attachment"
    assert error(await upload_raw(hs, None, b"x")) == (401, "M_MISSING_TOKEN")
    assert error(await upload_raw(hs, alice, b"x", "not a type")) == (400, "M_INVALID_PARAM")
    assert error(await upload_raw(hs, alice, b"x", filename="a\nb")) == (400, "M_INVALID_PARAM")
    assert error(await upload_raw(hs, alice, b"x", filename="n" * 300)) == (400, "M_INVALID_PARAM")
    # An empty file is a file.
    empty = await upload(hs, alice, b"")
    assert (await download(hs, alice, empty)).content == b""


async def test_head_answers_headers_only(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    media_id = await upload(hs, alice, b"12345", "text/plain")
    resp = await hs.http.head(f"{V1}/download/{hs.server_name}/{media_id}", headers=bearer(alice))
    assert resp.status_code == 200
    assert resp.headers["content-length"] == "5"
    assert resp.content == b""


async def test_encrypted_attachment_round_trips_as_attachment(hs: Homeserver) -> None:
    # An m.file with `file` info: the client uploads ciphertext as application/octet-stream.
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    ciphertext = secrets.token_bytes(150_001)
    media_id = await upload(hs, alice, ciphertext, "application/octet-stream")
    resp = await download(hs, bob, media_id)
    assert resp.content == ciphertext
    assert resp.headers["content-type"] == "application/octet-stream"
    assert resp.headers["content-disposition"] == "attachment"


@pytest.mark.parametrize(
    ("content_type", "disposition"),
    [
        ("image/png", "inline"),
        ("video/mp4", "inline"),
        ("audio/ogg", "inline"),
        ("text/plain; charset=utf-8", "inline"),
        ("text/html", "attachment"),
        ("image/svg+xml", "attachment"),
        ("application/javascript", "attachment"),
        ("application/pdf", "attachment"),
    ],
)
async def test_safe_serving_headers(hs: Homeserver, content_type: str, disposition: str) -> None:
    alice = await hs.register_user("alice")
    media_id = await upload(hs, alice, b"<script>alert(1)</script>", content_type, "x.bin")
    for prefix in (V1, LEGACY):
        resp = await download(hs, alice, media_id, prefix=prefix)
        assert resp.status_code == 200
        assert resp.headers["content-type"] == content_type
        assert resp.headers["content-disposition"].split(";")[0] == disposition
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert resp.headers["content-security-policy"] == CSP
        assert resp.headers["cross-origin-resource-policy"] == "cross-origin"
        assert "private" in resp.headers["cache-control"]


# --- size limit --------------------------------------------------------------------------------


@pytest.mark.parametrize("media_config", [{"max_upload_bytes": 1000}], indirect=True)
async def test_upload_over_the_limit_is_refused(hs: Homeserver, media_config: MediaConfig) -> None:
    alice = await hs.register_user("alice")
    store = Path(media_config.store_path)
    await upload(hs, alice, b"x" * 1000)  # exactly the limit is fine
    before = stored_files(store)
    # Declared too large: refused before reading.
    assert error(await upload_raw(hs, alice, b"x" * 1001)) == (413, "M_TOO_LARGE")

    # Streamed without Content-Length: refused once the count passes the limit.
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"y" * 300

    resp = await hs.http.post(UPLOAD, content=chunks(), headers=bearer(alice))
    assert error(resp) == (413, "M_TOO_LARGE")
    # Same through create + PUT.
    uri = (await hs.http.post(CREATE, headers=bearer(alice))).json()["content_uri"]
    put = f"{UPLOAD}/{uri.removeprefix('mxc://')}"
    assert error(await hs.http.put(put, content=chunks(), headers=bearer(alice))) == (
        413,
        "M_TOO_LARGE",
    )
    # Nothing partial is left behind, and the config endpoint says the limit.
    assert stored_files(store) == before
    resp = await hs.http.get(f"{V1}/config", headers=bearer(alice))
    assert resp.json() == {"m.upload.size": 1000}


async def test_config_endpoint(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    for path in (f"{V1}/config", f"{LEGACY}/config", "/_matrix/media/r0/config"):
        resp = await hs.http.get(path, headers=bearer(alice))
        assert resp.json() == {"m.upload.size": 104_857_600}, path
    assert error(await hs.http.get(f"{V1}/config")) == (401, "M_MISSING_TOKEN")


# --- create + PUT ------------------------------------------------------------------------------


async def test_create_then_put(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    now = hs.clock.now_ms()
    resp = await hs.http.post(CREATE, headers=bearer(alice), json={})
    assert resp.status_code == 200
    body = resp.json()
    assert body["unused_expires_at"] == now + 24 * 3600 * 1000
    server_and_id = body["content_uri"].removeprefix("mxc://")
    media_id = server_and_id.split("/")[1]
    put = f"{UPLOAD}/{server_and_id}"
    # Not uploaded yet (and no wish to wait).
    assert error(await download(hs, alice, media_id, "?timeout_ms=0")) == (
        504,
        "M_NOT_YET_UPLOADED",
    )
    # Someone else may not fill it.
    resp = await hs.http.put(put, content=b"bob's", headers=bearer(bob))
    assert error(resp) == (403, "M_FORBIDDEN")
    data = secrets.token_bytes(4096)
    headers = {**bearer(alice), "Content-Type": "application/pdf"}
    resp = await hs.http.put(put, content=data, headers=headers, params={"filename": "r.pdf"})
    assert (resp.status_code, resp.json()) == (200, {})
    # Once only.
    assert error(await hs.http.put(put, content=b"again", headers=headers)) == (
        409,
        "M_CANNOT_OVERWRITE_MEDIA",
    )
    resp = await download(hs, bob, media_id)
    assert resp.content == data
    assert resp.headers["content-type"] == "application/pdf"
    assert resp.headers["content-disposition"].startswith("attachment")
    # Unknown, malformed and foreign IDs.
    assert error(await hs.http.put(f"{UPLOAD}/{hs.server_name}/nope", headers=headers)) == (
        404,
        "M_NOT_FOUND",
    )
    assert error(await hs.http.put(f"{UPLOAD}/other.org/{media_id}", headers=headers)) == (
        404,
        "M_NOT_FOUND",
    )
    resp = await hs.http.put(f"{UPLOAD}/{hs.server_name}/{media_id}", content=b"x")
    assert error(resp) == (401, "M_MISSING_TOKEN")


async def reserve(hs: Homeserver, user: UserClient) -> tuple[str, str]:
    """POST /create; returns the PUT path and the media ID."""
    resp = await hs.http.post(CREATE, headers=bearer(user), json={})
    assert resp.status_code == 200, resp.text
    server_and_id: str = resp.json()["content_uri"].removeprefix("mxc://")
    return f"{UPLOAD}/{server_and_id}", server_and_id.split("/")[1]


async def wait_for_waiting_downloads(hs: Homeserver, count: int) -> None:
    """Until `count` downloads wait for an upload (a bounded wait, not a fixed sleep)."""
    for _ in range(200):
        if hs.runtime.services.media.waiting_downloads == count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{hs.runtime.services.media.waiting_downloads} downloads waiting")


@pytest.mark.parametrize("media_config", [{"allow_legacy_unauthenticated": True}], indirect=True)
async def test_downloads_started_before_the_put_are_served_once_it_commits(
    hs: Homeserver,
) -> None:
    """spec (timeout_ms): "The maximum number of milliseconds that the client is willing to wait
    to start receiving data, in the case that the content has not yet been uploaded."""
    alice = await hs.register_user("alice")
    bob = await hs.register_user("bob")
    put, media_id = await reserve(hs, alice)
    wait = "?timeout_ms=30000"
    thumb = f"/thumbnail/{hs.server_name}/{media_id}{wait}&width=8&height=8"
    waiting = [
        asyncio.create_task(download(hs, bob, media_id, wait)),
        asyncio.create_task(download(hs, bob, media_id, f"/name.png{wait}")),
        asyncio.create_task(download(hs, None, media_id, wait, prefix=LEGACY)),
    ]
    thumbnail = asyncio.create_task(hs.http.get(V1 + thumb, headers=bearer(bob)))
    await wait_for_waiting_downloads(hs, 4)
    data = image_bytes((64, 64))
    resp = await hs.http.put(
        put, content=data, headers={**bearer(alice), "Content-Type": "image/png"}
    )
    assert resp.status_code == 200
    for task in waiting:
        resp = await asyncio.wait_for(task, timeout=10)
        assert resp.status_code == 200
        assert resp.content == data
    resp = await asyncio.wait_for(thumbnail, timeout=10)
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "image/png"
    assert hs.runtime.services.media.waiting_downloads == 0
    # After the PUT, downloads are served at once on both paths.
    for user, prefix in ((bob, V1), (None, LEGACY)):
        resp = await download(hs, user, media_id, "?timeout_ms=0", prefix=prefix)
        assert (resp.status_code, resp.content) == (200, data)


async def test_pending_download_times_out_with_not_yet_uploaded(hs: Homeserver) -> None:
    """spec: 504 "The content is not yet available" with `M_NOT_YET_UPLOADED`."""
    alice = await hs.register_user("alice")
    _, media_id = await reserve(hs, alice)
    for wait in ("?timeout_ms=0", "?timeout_ms=5"):
        assert error(await download(hs, alice, media_id, wait)) == (504, "M_NOT_YET_UPLOADED")
    assert hs.runtime.services.media.waiting_downloads == 0
    for bad in ("-1", "soon", "1" * 13):
        resp = await download(hs, alice, media_id, f"?timeout_ms={bad}")
        assert error(resp) == (400, "M_INVALID_PARAM"), bad
    # A wait is bounded by the server: a huge timeout is accepted, and a waiter leaves nothing
    # behind when its request goes away.
    pending = asyncio.create_task(download(hs, alice, media_id, f"?timeout_ms={10**11}"))
    await wait_for_waiting_downloads(hs, 1)
    pending.cancel()
    with pytest.raises(asyncio.CancelledError):
        await pending
    assert hs.runtime.services.media.waiting_downloads == 0


async def test_reservation_expires(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    uri = (await hs.http.post(CREATE, headers=bearer(alice))).json()["content_uri"]
    hs.clock.advance(24 * 3600 * 1000)
    put = f"{UPLOAD}/{uri.removeprefix('mxc://')}"
    resp = await hs.http.put(put, content=b"late", headers=bearer(alice))
    assert error(resp) == (404, "M_NOT_FOUND")
    assert error(await download(hs, alice, uri.rsplit("/", 1)[1])) == (404, "M_NOT_FOUND")


async def test_pending_reservations_are_bounded(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    for _ in range(50):
        assert (await hs.http.post(CREATE, headers=bearer(alice))).status_code == 200
    resp = await hs.http.post(CREATE, headers=bearer(alice))
    assert error(resp) == (429, "M_LIMIT_EXCEEDED")
    # Lapsed reservations stop counting.
    hs.clock.advance(24 * 3600 * 1000)
    assert (await hs.http.post(CREATE, headers=bearer(alice))).status_code == 200


# --- refusals on download ----------------------------------------------------------------------


async def test_unknown_malformed_and_foreign_media_are_not_found(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    media_id = await upload(hs, alice, b"data")
    for bad in ("unknownmedia", "bad.id", "a" * 256, "%20", "%C3%A9t%C3%A9"):
        assert error(await download(hs, alice, bad)) == (404, "M_NOT_FOUND"), bad
        resp = await hs.http.get(
            f"{V1}/thumbnail/{hs.server_name}/{bad}?width=32&height=32", headers=bearer(alice)
        )
        assert error(resp) == (404, "M_NOT_FOUND"), bad
    resp = await hs.http.get(f"{V1}/download/other.org/{media_id}", headers=bearer(alice))
    assert error(resp) == (404, "M_NOT_FOUND")


async def test_downloads_need_a_token_unless_legacy_is_enabled(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    media_id = await upload(hs, alice, image_bytes((64, 64)), "image/png")
    thumb = f"/thumbnail/{hs.server_name}/{media_id}?width=32&height=32"
    for prefix in (V1, LEGACY, "/_matrix/media/r0"):
        assert error(await download(hs, None, media_id, prefix=prefix)) == (401, "M_MISSING_TOKEN")
        assert error(await download(hs, None, media_id, "/f.png", prefix)) == (
            401,
            "M_MISSING_TOKEN",
        )
        assert error(await hs.http.get(prefix + thumb)) == (401, "M_MISSING_TOKEN")
        assert (await download(hs, alice, media_id, prefix=prefix)).status_code == 200
        assert (await hs.http.get(prefix + thumb, headers=bearer(alice))).status_code == 200
    assert error(await hs.http.get(f"{LEGACY}/config")) == (401, "M_MISSING_TOKEN")


@pytest.mark.parametrize("media_config", [{"allow_legacy_unauthenticated": True}], indirect=True)
async def test_legacy_downloads_without_token_when_enabled(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    media_id = await upload(hs, alice, image_bytes((64, 64)), "image/png")
    resp = await download(hs, None, media_id, prefix=LEGACY)
    assert resp.status_code == 200
    assert resp.headers["x-content-type-options"] == "nosniff"
    resp = await hs.http.get(f"{LEGACY}/thumbnail/{hs.server_name}/{media_id}?width=8&height=8")
    assert resp.status_code == 200
    assert (await hs.http.get(f"{LEGACY}/config")).status_code == 200
    # The authenticated endpoints stay authenticated; a wrong token is still wrong.
    assert error(await download(hs, None, media_id)) == (401, "M_MISSING_TOKEN")
    resp = await hs.http.get(
        f"{LEGACY}/download/{hs.server_name}/{media_id}",
        headers={"Authorization": "Bearer not-a-token"},
    )
    assert error(resp) == (401, "M_UNKNOWN_TOKEN")


async def test_path_traversal_never_leaves_the_store(
    hs: Homeserver, tmp_path: Path, media_config: MediaConfig
) -> None:
    alice = await hs.register_user("alice")
    secret = b"TOP SECRET, outside the media store"
    (tmp_path / "secret.txt").write_bytes(secret)
    store = Path(media_config.store_path)
    media_id = await upload(hs, alice, b"harmless", "text/plain", filename="../../secret.txt")
    server = hs.server_name
    attempts = [
        f"{V1}/download/{server}/..",
        f"{V1}/download/{server}/%2E%2E",
        f"{V1}/download/{server}/..%2F..%2Fsecret.txt",
        f"{V1}/download/{server}/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        f"{V1}/download/{server}/%2E%2E%2F%2E%2E%2Fsecret.txt",
        f"{V1}/download/{server}/..%5C..%5Csecret.txt",
        f"{V1}/download/..%2F..%2F/{media_id}",
        f"{V1}/thumbnail/{server}/..%2F..%2Fsecret.txt?width=8&height=8",
        f"{LEGACY}/download/{server}/..%2F..%2Fsecret.txt",
    ]
    for path in attempts:
        resp = await hs.http.get(path, headers=bearer(alice))
        assert resp.status_code == 404, path
        assert secret not in resp.content
    # A file name is only ever a name: the stored bytes are served, the name is escaped.
    for suffix in ("/..%2F..%2Fsecret.txt", ""):
        resp = await download(hs, alice, media_id, suffix)
        assert resp.content == b"harmless"
        assert "filename*=utf-8''..%2F..%2Fsecret.txt" in resp.headers["content-disposition"]
    # Unencoded dot segments are resolved by the client before they are sent: no such route.
    resp = await download(hs, alice, media_id, "/../../secret.txt")
    assert resp.status_code == 404
    assert secret not in resp.content
    # And nothing was written outside the store.
    outside = [p for p in stored_files(tmp_path) if store not in p.parents]
    assert not any("secret" in p.name and p != tmp_path / "secret.txt" for p in outside)
    assert all(p.name == media_id for p in stored_files(store / "content"))


# --- thumbnails --------------------------------------------------------------------------------


async def thumbnail(
    hs: Homeserver, user: UserClient, media_id: str, **params: Any
) -> httpx.Response:
    return await hs.http.get(
        f"{V1}/thumbnail/{hs.server_name}/{media_id}",
        params={k: str(v) for k, v in params.items()},
        headers=bearer(user),
    )


def image_of(resp: httpx.Response) -> Image.Image:
    assert resp.status_code == 200, resp.text
    return Image.open(io.BytesIO(resp.content))


async def test_thumbnails_scale_and_crop(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    photo = await upload(hs, alice, image_bytes((640, 480), "JPEG"), "image/jpeg")
    resp = await thumbnail(hs, alice, photo, width=320, height=240, method="scale")
    assert resp.headers["content-type"] == "image/jpeg"
    assert (
        resp.headers["content-disposition"]
        == "inline; filename=\"thumbnail.jpg\"; filename*=utf-8''thumbnail.jpg"
    )
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["content-security-policy"] == CSP
    assert image_of(resp).size == (320, 240)
    # scale keeps the aspect ratio within the box; crop fills the box exactly.
    assert image_of(await thumbnail(hs, alice, photo, width=100, height=100)).size == (100, 75)
    resp = await thumbnail(hs, alice, photo, width=96, height=96, method="crop")
    assert image_of(resp).size == (96, 96)
    resp = await thumbnail(hs, alice, photo, width=32, height=64, method="crop")
    assert image_of(resp).size == (32, 64)
    # Never upscaled: an image smaller than asked comes back at its own size.
    resp = await thumbnail(hs, alice, photo, width=1600, height=1200, method="scale")
    assert image_of(resp).size == (640, 480)
    resp = await thumbnail(hs, alice, photo, width=800, height=800, method="crop")
    assert image_of(resp).size == (480, 480)
    # Transparency survives as PNG.
    logo = await upload(hs, alice, image_bytes((200, 100), "PNG", "RGBA"), "image/png")
    resp = await thumbnail(hs, alice, logo, width=50, height=50, method="scale")
    assert resp.headers["content-type"] == "image/png"
    assert image_of(resp).size == (50, 25)
    assert image_of(resp).mode == "RGBA"


async def test_thumbnails_are_cached(hs: Homeserver, media_config: MediaConfig) -> None:
    alice = await hs.register_user("alice")
    photo = await upload(hs, alice, image_bytes((300, 300), "PNG"), "image/png")
    first = await thumbnail(hs, alice, photo, width=32, height=32, method="crop")
    assert first.status_code == 200
    # With the original gone, only the cache can answer.
    originals = stored_files(Path(media_config.store_path) / "content")
    assert len(originals) == 1
    originals[0].unlink()
    second = await thumbnail(hs, alice, photo, width=32, height=32, method="crop")
    assert second.status_code == 200
    assert second.content == first.content
    assert second.headers["content-type"] == first.headers["content-type"]
    # A size not cached yet needs the original.
    resp = await thumbnail(hs, alice, photo, width=64, height=64, method="crop")
    assert error(resp) == (404, "M_NOT_FOUND")


def decompression_bomb() -> bytes:
    """A PNG header claiming 100000 x 100000 pixels (the pixel data is never reached)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
        + chunk(b"IEND", b"")
    )


async def test_thumbnail_refusals(hs: Homeserver) -> None:
    alice = await hs.register_user("alice")
    photo = await upload(hs, alice, image_bytes((64, 64)), "image/png")
    cases: list[tuple[dict[str, Any], tuple[int, str]]] = [
        ({"height": 32}, (400, "M_MISSING_PARAM")),
        ({"width": 32}, (400, "M_MISSING_PARAM")),
        ({"width": "abc", "height": 32}, (400, "M_INVALID_PARAM")),
        ({"width": "-5", "height": 32}, (400, "M_INVALID_PARAM")),
        ({"width": 32.5, "height": 32}, (400, "M_INVALID_PARAM")),
        ({"width": 0, "height": 32}, (400, "M_INVALID_PARAM")),
        ({"width": 32, "height": 1601}, (400, "M_INVALID_PARAM")),
        ({"width": 32, "height": 32, "method": "zoom"}, (400, "M_INVALID_PARAM")),
    ]
    for params, expected in cases:
        assert error(await thumbnail(hs, alice, photo, **params)) == expected, params
    # Not an image type, an image type that is not an image, and a decompression bomb.
    text = await upload(hs, alice, b"hello", "text/plain")
    fake = await upload(hs, alice, secrets.token_bytes(2000), "image/png")
    bomb = await upload(hs, alice, decompression_bomb(), "image/png")
    svg = await upload(hs, alice, b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml")
    for media_id in (text, fake, svg):
        assert error(await thumbnail(hs, alice, media_id, width=32, height=32))[0] == 400
    assert error(await thumbnail(hs, alice, bomb, width=32, height=32)) == (413, "M_TOO_LARGE")


async def test_storage_layout_uses_only_media_ids(
    hs: Homeserver, media_config: MediaConfig
) -> None:
    alice = await hs.register_user("alice")
    media_id = await upload(hs, alice, b"abc", filename="name.txt")
    files = stored_files(Path(media_config.store_path))
    assert [p.relative_to(media_config.store_path).parts for p in files] == [
        ("content", media_id[:2], media_id[2:4], media_id)
    ]
    assert files[0].read_bytes() == b"abc"
