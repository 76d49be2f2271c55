"""The media repository over HTTP (spec: client-server-api#content-repository).

Uploads and /create live under `/_matrix/media`; downloads, thumbnails and the config under
`/_matrix/client/v1/media` need an access token. The deprecated `/_matrix/media/{v3,r0}` download,
thumbnail and config endpoints need one too unless `media.allow_legacy_unauthenticated` is set.

Served media is treated as hostile: every response carries `X-Content-Type-Options: nosniff`, a
sandboxing `Content-Security-Policy`, and `Content-Disposition: attachment` unless the content
type is on a short list that browsers only ever render as media or plain text. Bodies stream in
and out; the HTTP edge gives upload paths the media size limit instead of the JSON body limit.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from bastion.api.context import services_of
from bastion.api.requester import access_token_of, require_requester
from bastion.api.responses import JsonResponse, empty
from bastion.errors import Errcode, MatrixError
from bastion.services.media.service import DEFAULT_DOWNLOAD_WAIT_MS, Download, UploadInfo
from bastion.services.media.storage import StoredFile
from bastion.services.media.thumbnails import ThumbnailRequest

LEGACY_PREFIXES = ("/_matrix/media/v3", "/_matrix/media/r0")
UPLOAD_PATH_PREFIXES = tuple(f"{prefix}/upload" for prefix in LEGACY_PREFIXES)

# spec: client-server-api#serving-inline-content, narrowed to media and plain text.
INLINE_CONTENT_TYPES = frozenset(
    {
        "text/plain",
        *(f"image/{t}" for t in ("jpeg", "gif", "png", "apng", "webp", "avif")),
        *(f"video/{t}" for t in ("mp4", "webm", "ogg", "quicktime")),
        *(f"audio/{t}" for t in ("mp4", "webm", "aac", "mpeg", "ogg", "wave", "wav", "x-wav")),
        *(f"audio/{t}" for t in ("x-pn-wav", "flac", "x-flac")),
    }
)
CONTENT_SECURITY_POLICY = (
    "sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf; "
    "style-src 'unsafe-inline'; media-src 'self'; object-src 'self'"
)
# Content under a media ID never changes; only the requester's own cache may keep it.
CACHE_CONTROL = "private, max-age=31536000, immutable"
_MAX_DIMENSION_DIGITS = 6
_MAX_TIMEOUT_DIGITS = 12
BYPASS_QUARANTINE = "admin_unsafely_bypass_quarantine"  # Synapse's query parameter
_MAX_TS_DIGITS = 16  # milliseconds since 1970: 13 digits until the year 2286


def upload_body_limits(max_upload_bytes: int) -> dict[str, int]:
    """Body limits for the HTTP edge: upload paths take files up to the media limit."""
    return dict.fromkeys(UPLOAD_PATH_PREFIXES, max_upload_bytes)


# --- uploads -----------------------------------------------------------------------------------


def _upload_info(request: Request) -> UploadInfo:
    length = request.headers.get("content-length")
    return UploadInfo(
        content_type=request.headers.get("content-type"),
        filename=request.query_params.get("filename"),
        declared_length=int(length) if length is not None and length.isdigit() else None,
    )


async def upload(request: Request) -> Response:
    """POST /_matrix/media/v3/upload"""
    requester = await require_requester(request)
    uri = await services_of(request).media.upload(
        requester, _upload_info(request), request.stream()
    )
    return JsonResponse({"content_uri": uri})


async def create(request: Request) -> Response:
    """POST /_matrix/media/v1/create"""
    requester = await require_requester(request)
    reservation = await services_of(request).media.create(requester)
    return JsonResponse(
        {
            "content_uri": reservation.content_uri,
            "unused_expires_at": reservation.unused_expires_at,
        }
    )


async def upload_reserved(request: Request) -> Response:
    """PUT /_matrix/media/v3/upload/{serverName}/{mediaId}"""
    requester = await require_requester(request)
    p = request.path_params
    await services_of(request).media.upload_reserved(
        requester, p["serverName"], p["mediaId"], _upload_info(request), request.stream()
    )
    return empty()


# --- downloads ---------------------------------------------------------------------------------


async def download(request: Request) -> Response:
    """GET /_matrix/client/v1/media/download/{serverName}/{mediaId}[/{fileName}]

    An admin adding `admin_unsafely_bypass_quarantine=true` (Synapse's) gets a quarantined file
    too, audited; anyone else's parameter is ignored (a quarantined file stays 404)."""
    requester = await require_requester(request)
    if requester.is_admin and request.query_params.get(BYPASS_QUARANTINE) == "true":
        p = request.path_params
        admin = services_of(request).media_admin
        found = await admin.download_quarantined(requester, p["serverName"], p["mediaId"])
        return _serve_download(request, found)
    return await _download(request)


async def legacy_download(request: Request) -> Response:
    """GET /_matrix/media/v3/download/{serverName}/{mediaId}[/{fileName}] (deprecated)"""
    await _legacy_access(request)
    return await _download(request)


async def _download(request: Request) -> Response:
    p = request.path_params
    found = await services_of(request).media.download(
        p["serverName"], p["mediaId"], timeout_ms=_timeout_ms(request.query_params)
    )
    return _serve_download(request, found)


def _serve_download(request: Request, found: Download) -> Response:
    filename = request.path_params.get("fileName") or found.media.upload_name
    content_type = found.content_type
    kind = "inline" if _media_type(content_type) in INLINE_CONTENT_TYPES else "attachment"
    return _serve(request, found.file, content_type, content_disposition(kind, filename))


async def thumbnail(request: Request) -> Response:
    """GET /_matrix/client/v1/media/thumbnail/{serverName}/{mediaId}"""
    await require_requester(request)
    return await _thumbnail(request)


async def legacy_thumbnail(request: Request) -> Response:
    """GET /_matrix/media/v3/thumbnail/{serverName}/{mediaId} (deprecated)"""
    await _legacy_access(request)
    return await _thumbnail(request)


async def _thumbnail(request: Request) -> Response:
    p, q = request.path_params, request.query_params
    wanted = ThumbnailRequest(
        width=_dimension(q, "width"),
        height=_dimension(q, "height"),
        method=q.get("method", "scale"),
        timeout_ms=_timeout_ms(q),
    )
    found = await services_of(request).thumbnails.thumbnail(p["serverName"], p["mediaId"], wanted)
    extension = "png" if found.content_type == "image/png" else "jpg"
    disposition = content_disposition("inline", f"thumbnail.{extension}")
    return _serve(request, found.file, found.content_type, disposition)


async def config(request: Request) -> Response:
    """GET /_matrix/client/v1/media/config"""
    await require_requester(request)
    return JsonResponse({"m.upload.size": services_of(request).media.max_upload_bytes})


async def preview_url(request: Request) -> Response:
    """GET /_matrix/client/v1/media/preview_url (and the deprecated /_matrix/media/v3 one, which
    needs a token too: the spec gives it one). `ts` must be an integer when given; it is not
    otherwise used (services/media/previews.py)."""
    requester = await require_requester(request)
    params = request.query_params
    ts = params.get("ts")
    if ts is not None and not (ts.isascii() and ts.isdigit() and len(ts) <= _MAX_TS_DIGITS):
        raise MatrixError(400, Errcode.INVALID_PARAM, "ts must be a timestamp in milliseconds")
    preview = await services_of(request).url_previews.preview(requester, params.get("url"))
    return JsonResponse(preview)


async def legacy_config(request: Request) -> Response:
    """GET /_matrix/media/v3/config (deprecated)"""
    await _legacy_access(request)
    return JsonResponse({"m.upload.size": services_of(request).media.max_upload_bytes})


async def _legacy_access(request: Request) -> None:
    """Deprecated endpoints: a token is checked if sent, and needed unless config allows none."""
    allowed = services_of(request).media.allow_legacy_unauthenticated
    if access_token_of(request) is not None or not allowed:
        await require_requester(request)


# --- responses ---------------------------------------------------------------------------------


def _serve(request: Request, file: StoredFile, content_type: str, disposition: str) -> Response:
    headers = {
        "Content-Type": content_type,
        "Content-Disposition": disposition,
        "Content-Length": str(file.size),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "Cross-Origin-Resource-Policy": "cross-origin",
        "Cache-Control": CACHE_CONTROL,
    }
    if request.method == "HEAD":
        return Response(status_code=200, headers=headers)
    return StreamingResponse(file.chunks(), headers=headers)


def content_disposition(kind: str, filename: str | None) -> str:
    """`inline` or `attachment`, with the file name encoded per RFC 6266 / RFC 5987.

    `filename*` carries any name exactly (UTF-8, percent-encoded); a plain `filename` is added
    for old user agents only when the name needs no escaping at all.
    """
    if not filename:
        return kind
    # RFC 5987 attr-char: ALPHA / DIGIT / "!#$&+-.^_`|~"; everything else is percent-encoded.
    encoded = quote(filename, safe="!#$&+^`|~")
    plain = filename.isascii() and filename.isprintable() and not set(filename) & set('"\\%')
    fallback = f'; filename="{filename}"' if plain else ""
    return f"{kind}{fallback}; filename*=utf-8''{encoded}"


def _media_type(content_type: str) -> str:
    """`text/plain; charset=utf-8` → `text/plain`."""
    return content_type.split(";", 1)[0].strip().lower()


def _dimension(params: QueryParams, name: str) -> int:
    raw = params.get(name)
    if raw is None:
        raise MatrixError(400, Errcode.MISSING_PARAM, f"missing query parameter {name}")
    if not (raw.isascii() and raw.isdigit() and len(raw) <= _MAX_DIMENSION_DIGITS):
        raise MatrixError(400, Errcode.INVALID_PARAM, f"{name} must be a positive integer")
    return int(raw)


def _timeout_ms(params: QueryParams) -> int:
    """`timeout_ms`: how long to wait for a pending upload (the service bounds it)."""
    raw = params.get("timeout_ms")
    if raw is None:
        return DEFAULT_DOWNLOAD_WAIT_MS
    if not (raw.isascii() and raw.isdigit() and len(raw) <= _MAX_TIMEOUT_DIGITS):
        raise MatrixError(400, Errcode.INVALID_PARAM, "timeout_ms must be a non-negative integer")
    return int(raw)


# --- routes ------------------------------------------------------------------------------------

# Under /_matrix/client/v1 (routes.py adds the prefix).
V1_ROUTES = [
    Route("/media/download/{serverName}/{mediaId}", download, methods=["GET"]),
    # `:path` so that a name with slashes (or `..`) still reaches the media ID check.
    Route("/media/download/{serverName}/{mediaId}/{fileName:path}", download, methods=["GET"]),
    Route("/media/thumbnail/{serverName}/{mediaId}", thumbnail, methods=["GET"]),
    Route("/media/config", config, methods=["GET"]),
    Route("/media/preview_url", preview_url, methods=["GET"]),
]


def _legacy_routes(prefix: str) -> list[Route]:
    return [
        Route(f"{prefix}/upload", upload, methods=["POST"]),
        Route(f"{prefix}/upload/{{serverName}}/{{mediaId}}", upload_reserved, methods=["PUT"]),
        Route(f"{prefix}/download/{{serverName}}/{{mediaId}}", legacy_download, methods=["GET"]),
        Route(
            f"{prefix}/download/{{serverName}}/{{mediaId}}/{{fileName:path}}",
            legacy_download,
            methods=["GET"],
        ),
        Route(f"{prefix}/thumbnail/{{serverName}}/{{mediaId}}", legacy_thumbnail, methods=["GET"]),
        Route(f"{prefix}/config", legacy_config, methods=["GET"]),
        Route(f"{prefix}/preview_url", preview_url, methods=["GET"]),
    ]


# Absolute paths under /_matrix/media.
MEDIA_ROUTES = [
    Route("/_matrix/media/v1/create", create, methods=["POST"]),
    *(route for prefix in LEGACY_PREFIXES for route in _legacy_routes(prefix)),
]
