"""Drawing thumbnails with Pillow: pure, synchronous, CPU-bound (callers run it in a thread).

The input is untrusted: only the JPEG, PNG, GIF and WebP decoders are allowed, the pixel count is
checked from the header before any pixel is decoded (decompression bombs: a tiny file that
expands to gigabytes), and Pillow's own `MAX_IMAGE_PIXELS` guard is set to the same limit.

Sizes follow the spec's thumbnail rules (client-server-api#thumbnails): "scale" keeps the aspect
ratio and fits the requested box, "crop" fills the requested box exactly, cutting the overflow
evenly; neither ever upscales, so an image smaller than asked comes back at its own size.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Literal

from PIL import Image, ImageOps

Method = Literal["scale", "crop"]

MAX_PIXELS = 40_000_000  # about 8000 x 5000: larger images are refused, not decoded
DECODERS = ["JPEG", "PNG", "GIF", "WEBP"]
JPEG_QUALITY = 80

# Pillow warns above this many pixels and raises above twice as many. It is a module-level setting
# of Pillow's; ours is the only code in the process that decodes images.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


class UnreadableImage(Exception):
    """The bytes are not an image we decode (wrong type, corrupt, or encrypted)."""


class ImageTooLarge(Exception):
    """The image has more pixels than we are willing to decode."""


@dataclass(frozen=True, slots=True)
class Rendered:
    """An encoded thumbnail."""

    content_type: str  # image/jpeg or image/png
    data: bytes
    width: int
    height: int


Box = tuple[float, float, float, float]


def scaled_size(source: tuple[int, int], wanted: tuple[int, int]) -> tuple[int, int]:
    """'scale': the largest size within `wanted` with the source's aspect, never upscaled."""
    src_w, src_h = source
    width, height = wanted
    if src_w <= width and src_h <= height:
        return source
    if width * src_h <= height * src_w:  # width/src_w is the smaller ratio: width binds
        return width, max(1, round(src_h * width / src_w))
    return max(1, round(src_w * height / src_h)), height


def crop_plan(source: tuple[int, int], wanted: tuple[int, int]) -> tuple[Box, tuple[int, int]]:
    """'crop': the centred region of the source with the wanted aspect, and the output size.

    The output is `wanted` when the region is at least that large, else the region's own size.
    """
    src_w, src_h = source
    width, height = wanted
    region_w = min(float(src_w), src_h * width / height)
    region_h = min(float(src_h), src_w * height / width)
    left, top = (src_w - region_w) / 2, (src_h - region_h) / 2
    region = (left, top, left + region_w, top + region_h)
    if region_w >= width and region_h >= height:
        return region, wanted
    return region, (max(1, round(region_w)), max(1, round(region_h)))


def render_thumbnail(data: bytes, wanted: tuple[int, int], method: Method) -> Rendered:
    """A thumbnail of the image in `data`.

    Raises:
        UnreadableImage: not a JPEG, PNG, GIF or WebP image we can decode.
        ImageTooLarge: more than MAX_PIXELS pixels.
    """
    try:
        with Image.open(io.BytesIO(data), formats=DECODERS) as image:
            return _render(image, wanted, method)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge(str(exc)) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        # UnidentifiedImageError is an OSError; truncated or corrupt data raise the others.
        raise UnreadableImage(str(exc)) from exc


def _render(image: Image.Image, wanted: tuple[int, int], method: Method) -> Rendered:
    if image.width * image.height > MAX_PIXELS:
        raise ImageTooLarge(f"{image.width}x{image.height} pixels")
    source_format = image.format
    # JPEG can decode at 1/2, 1/4 or 1/8 scale directly: far less work for a small thumbnail.
    # The square box keeps the draft large enough whatever EXIF rotation follows.
    side = max(wanted)
    image.draft("RGB", (side, side))
    oriented = ImageOps.exif_transpose(image)
    has_alpha = oriented.mode in ("RGBA", "LA", "PA") or (
        oriented.mode == "P" and "transparency" in oriented.info
    )
    oriented = oriented.convert("RGBA" if has_alpha else "RGB")
    if method == "crop":
        region, size = crop_plan(oriented.size, wanted)
        thumbnail = oriented.resize(size, Image.Resampling.LANCZOS, box=region)
    else:
        size = scaled_size(oriented.size, wanted)
        thumbnail = oriented.resize(size, Image.Resampling.LANCZOS)
    as_png = has_alpha or source_format in ("PNG", "GIF")
    out = io.BytesIO()
    if as_png:
        thumbnail.save(out, "PNG")
    else:
        thumbnail.save(out, "JPEG", quality=JPEG_QUALITY)
    return Rendered(
        content_type="image/png" if as_png else "image/jpeg",
        data=out.getvalue(),
        width=thumbnail.width,
        height=thumbnail.height,
    )
