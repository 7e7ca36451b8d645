"""Telling what bytes are from their first few: TFRecord framing, compression, images, text."""

from __future__ import annotations

import json
import struct
import zlib
from enum import Enum

from tfod_doctor.records.crc import masked_crc32c

#: How many leading bytes :func:`sniff_file` wants.
SNIFF_BYTES = 4096


class FileKind(str, Enum):
    """What a file is, as far as its first bytes tell."""

    TFRECORD = "TFRecord"
    TFRECORD_GZIP = "GZIP-compressed TFRecord"
    TFRECORD_ZLIB = "ZLIB-compressed TFRecord"
    EMPTY = "empty file"
    GZIP = "gzip file"
    ZLIB = "zlib stream"
    JPEG = "JPEG image"
    PNG = "PNG image"
    GIF = "GIF image"
    BMP = "BMP image"
    WEBP = "WebP image"
    TIFF = "TIFF image"
    ZIP = "ZIP archive"
    JSON = "JSON text"
    CSV = "CSV text"
    XML = "XML text"
    PBTXT = "protobuf text (a pipeline.config or label map?)"
    TEXT = "text"
    UNKNOWN = "unknown binary data"


_IMAGE_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
)


def image_format(data: bytes) -> str | None:
    """The image format of encoded bytes (``jpeg``, ``png``, ``gif``, ``bmp``, ``webp``, ``tiff``).

    ``None`` when the bytes are empty or no known image. Only the magic bytes are read, as
    TensorFlow's ``decode_image`` does to choose a decoder.
    """
    head = bytes(data[:12])
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    for magic, name in _IMAGE_MAGIC:
        if head.startswith(magic):
            return name
    return None


def is_tfrecord_header(head: bytes) -> bool:
    """Whether the first 12 bytes are a TFRecord header whose length CRC verifies."""
    if len(head) < 12:
        return False
    (crc,) = struct.unpack_from("<I", head, 8)
    return masked_crc32c(bytes(head[:8])) == crc


def _decompressed_head(head: bytes, wbits: int) -> bytes | None:
    try:
        return zlib.decompressobj(wbits).decompress(head, 64)
    except zlib.error:
        return None


def _looks_like_zlib(head: bytes) -> bool:
    return len(head) >= 2 and head[0] == 0x78 and (head[0] * 256 + head[1]) % 31 == 0


def _text_kind(head: bytes) -> FileKind | None:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # A cut in the middle of a multi-byte character at the end of the head is still text.
        try:
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return None
    if any(ch < " " and ch not in "\t\r\n" for ch in text):
        return None
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith(("{", "[")):
        try:
            json.loads(stripped)
            return FileKind.JSON
        except ValueError:
            if stripped.startswith("[") or '":' in stripped[:200]:
                return FileKind.JSON
    if stripped.startswith("<"):
        return FileKind.XML
    first = stripped.split("\n", 1)[0]
    if any(word in stripped[:400] for word in ("item {", "item{", "model {", "train_config")):
        return FileKind.PBTXT
    if first.count(",") >= 2:
        return FileKind.CSV
    return FileKind.TEXT


def sniff_file(head: bytes) -> FileKind:
    """What a file is, from its first bytes (ideally :data:`SNIFF_BYTES` of them)."""
    if not head:
        return FileKind.EMPTY
    if is_tfrecord_header(head):
        return FileKind.TFRECORD
    if head[:2] == b"\x1f\x8b":
        inner = _decompressed_head(head, 16 + zlib.MAX_WBITS)
        return FileKind.TFRECORD_GZIP if inner and is_tfrecord_header(inner) else FileKind.GZIP
    if _looks_like_zlib(head):
        inner = _decompressed_head(head, zlib.MAX_WBITS)
        if inner is not None:
            return FileKind.TFRECORD_ZLIB if is_tfrecord_header(inner) else FileKind.ZLIB
    if head[:4] == b"PK\x03\x04":
        return FileKind.ZIP
    image = image_format(head)
    if image is not None:
        return FileKind[image.upper()]
    return _text_kind(head) or FileKind.UNKNOWN
