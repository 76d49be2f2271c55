"""Thumbnail geometry and rendering with Pillow (bastion/services/media/render.py)."""

from __future__ import annotations

import io
import secrets
import struct
import zlib

import pytest
from PIL import Image

from bastion.services.media.render import (
    ImageTooLarge,
    UnreadableImage,
    crop_plan,
    render_thumbnail,
    scaled_size,
)


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


@pytest.mark.parametrize(
    ("source", "wanted", "expected"),
    [
        ((640, 480), (320, 240), (320, 240)),
        ((640, 480), (100, 100), (100, 75)),
        ((480, 640), (100, 100), (75, 100)),
        ((640, 480), (800, 600), (640, 480)),  # never upscaled
        ((50, 50), (100, 20), (20, 20)),
        ((10_000, 1), (100, 100), (100, 1)),  # never zero
        ((1, 10_000), (100, 100), (1, 100)),
    ],
)
def test_scaled_size_fits_the_box_keeping_aspect(
    source: tuple[int, int], wanted: tuple[int, int], expected: tuple[int, int]
) -> None:
    assert scaled_size(source, wanted) == expected


@pytest.mark.parametrize(
    ("source", "wanted", "region", "out"),
    [
        ((640, 480), (96, 96), (80.0, 0.0, 560.0, 480.0), (96, 96)),
        ((640, 480), (32, 64), (200.0, 0.0, 440.0, 480.0), (32, 64)),
        ((100, 100), (100, 100), (0.0, 0.0, 100.0, 100.0), (100, 100)),
        # smaller than asked: the centred region with the wanted aspect, at its own size
        ((50, 200), (96, 96), (0.0, 75.0, 50.0, 125.0), (50, 50)),
        ((640, 480), (800, 800), (80.0, 0.0, 560.0, 480.0), (480, 480)),
    ],
)
def test_crop_plan_fills_the_box_without_upscaling(
    source: tuple[int, int],
    wanted: tuple[int, int],
    region: tuple[float, float, float, float],
    out: tuple[int, int],
) -> None:
    assert crop_plan(source, wanted) == (region, out)


def test_jpeg_stays_jpeg_and_png_with_alpha_stays_png() -> None:
    photo = encode(Image.new("RGB", (400, 300), (10, 200, 10)), "JPEG")
    result = render_thumbnail(photo, (100, 100), "scale")
    assert (result.content_type, result.width, result.height) == ("image/jpeg", 100, 75)
    assert Image.open(io.BytesIO(result.data)).format == "JPEG"

    logo = encode(Image.new("RGBA", (300, 300), (0, 0, 0, 0)), "PNG")
    result = render_thumbnail(logo, (32, 32), "crop")
    assert (result.content_type, result.width, result.height) == ("image/png", 32, 32)
    assert Image.open(io.BytesIO(result.data)).mode == "RGBA"


def test_gif_with_transparency_and_webp() -> None:
    palette = Image.new("P", (120, 60), 0)
    gif = encode(palette, "GIF", transparency=0)
    result = render_thumbnail(gif, (60, 60), "scale")
    assert (result.content_type, result.width, result.height) == ("image/png", 60, 30)
    webp = encode(Image.new("RGB", (120, 60), (1, 2, 3)), "WEBP")
    assert render_thumbnail(webp, (60, 60), "scale").content_type == "image/jpeg"


def test_exif_orientation_is_applied() -> None:
    image = Image.new("RGB", (200, 100), (0, 0, 255))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    data = encode(image, "JPEG", exif=exif)
    result = render_thumbnail(data, (50, 50), "scale")
    assert (result.width, result.height) == (25, 50)


def png_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = chunk(b"IDAT", zlib.compress(b"\0" * 100))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + idat + chunk(b"IEND", b"")


def test_decompression_bombs_are_refused_before_decoding() -> None:
    with pytest.raises(ImageTooLarge):
        render_thumbnail(png_claiming(100_000, 100_000), (32, 32), "scale")


@pytest.mark.parametrize(
    "data",
    [
        secrets.token_bytes(1000),  # ciphertext claimed as an image
        b"",
        encode(Image.new("RGB", (10, 10)), "BMP"),  # a decoder we do not allow
        encode(Image.effect_noise((100, 100), 64), "PNG")[:2000],  # truncated
        png_claiming(20, 20),  # header fine, pixel data short
    ],
)
def test_unreadable_images_are_refused(data: bytes) -> None:
    with pytest.raises(UnreadableImage):
        render_thumbnail(data, (32, 32), "scale")
