"""matrix-nio and the media repository on the real server: upload, download, thumbnail, encrypted.

Two accounts log in with nio's AsyncClient over HTTP on 127.0.0.1. alice uploads with nio's
`upload` (POST /_matrix/media/v3/upload); bob fetches with `download` and `thumbnail` (the
authenticated /_matrix/client/v1/media endpoints). An encrypted attachment is encrypted by nio,
stored by the server as opaque bytes, and decrypts on bob's side. Without a token, the deprecated
unauthenticated download answers 401 (media.allow_legacy_unauthenticated is off by default).
"""

from __future__ import annotations

import io
import secrets

import httpx
from nio import (
    AsyncClient,
    DownloadResponse,
    LoginResponse,
    ResizingMethod,
    ThumbnailResponse,
    UploadResponse,
)
from nio.crypto.attachments import decrypt_attachment
from PIL import Image

from tests.clients.nio_fixtures import NioFactory
from tests.clients.server import PASSWORD, BastionServer


async def logged_in(
    bastion_server: BastionServer, nio_client: NioFactory, name: str
) -> AsyncClient:
    bastion_server.create_user(name)
    client = nio_client(bastion_server.user_id(name))
    assert isinstance(await client.login(PASSWORD, device_name="nio media test"), LoginResponse)
    return client


def png(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (20, 120, 220)).save(out, "PNG")
    return out.getvalue()


async def test_upload_download_thumbnail_and_encrypted_attachment(
    bastion_server: BastionServer, nio_client: NioFactory
) -> None:
    alice = await logged_in(bastion_server, nio_client, "alice")
    bob = await logged_in(bastion_server, nio_client, "bob")

    image = png((400, 300))
    uploaded, keys = await alice.upload(
        io.BytesIO(image), content_type="image/png", filename="sky.png", filesize=len(image)
    )
    assert isinstance(uploaded, UploadResponse), uploaded
    assert keys is None
    downloaded = await bob.download(mxc=uploaded.content_uri)
    assert isinstance(downloaded, DownloadResponse), downloaded
    assert (downloaded.body, downloaded.content_type) == (image, "image/png")
    assert downloaded.filename == "sky.png"

    server_name, media_id = uploaded.content_uri.removeprefix("mxc://").split("/")
    thumb = await bob.thumbnail(server_name, media_id, 96, 96, ResizingMethod.crop)
    assert isinstance(thumb, ThumbnailResponse), thumb
    assert Image.open(io.BytesIO(thumb.body)).size == (96, 96)

    secret = secrets.token_bytes(70_000)
    uploaded, keys = await alice.upload(io.BytesIO(secret), encrypt=True, filesize=len(secret))
    assert isinstance(uploaded, UploadResponse), uploaded
    assert keys is not None
    downloaded = await bob.download(mxc=uploaded.content_uri)
    assert isinstance(downloaded, DownloadResponse), downloaded
    assert isinstance(downloaded.body, bytes)
    assert downloaded.body != secret  # the server only ever saw ciphertext
    plain = decrypt_attachment(
        downloaded.body, keys["key"]["k"], keys["hashes"]["sha256"], keys["iv"]
    )
    assert plain == secret

    legacy = f"{bastion_server.base_url}/_matrix/media/v3/download/{server_name}/{media_id}"
    async with httpx.AsyncClient(trust_env=False, timeout=10) as http:
        resp = await http.get(legacy)
    assert (resp.status_code, resp.json()["errcode"]) == (401, "M_MISSING_TOKEN")
