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
    ZEROS = "zero bytes only"
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


    @property
    def phrase(self) -> str:
        """What a file of this kind is, as the end of a sentence ("it looks like a JPEG image")."""
        if self is FileKind.ZEROS:
            return "its first bytes are all zero (a file preallocated and never written?)"
        if self is FileKind.UNKNOWN:
            return "it holds binary data of no known kind"
        if self is FileKind.EMPTY:
            return "it is empty"
        if self is FileKind.TEXT:
            return "it looks like text"
        if self.value.endswith(" text"):
            return f"it looks like {self.value}"
        article = "an" if self.value[0] in "aeiouAEIOUX" else "a"
        return f"it looks like {article} {self.value}"


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
        except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested too deep
            if stripped.startswith("[") or '":' in stripped[:200]:
                return FileKind.JSON
    if stripped.startswith("<"):
        return FileKind.XML
    if any(word in stripped[:400] for word in ("item {", "item{", "model {", "train_config")):
        return FileKind.PBTXT
    if _looks_like_csv(stripped):
        return FileKind.CSV
    return FileKind.TEXT


def _looks_like_csv(text: str) -> bool:
    """One or more lines with the same number (at least one) of commas or tabs."""
    lines = [line for line in text.splitlines()[:6] if line.strip()]
    if len(lines) > 1 and not text.endswith("\n"):
        lines = lines[:-1]  # the last line may be cut by the end of the sniffed head
    for sep in (",", "\t"):
        counts = {line.count(sep) for line in lines}
        if lines and len(counts) == 1 and counts.pop() >= (1 if len(lines) > 1 else 2):
            return True
    return False


def sniff_file(head: bytes) -> FileKind:
    """What a file is, from its first bytes (ideally :data:`SNIFF_BYTES` of them)."""
    if not head:
        return FileKind.EMPTY
    if is_tfrecord_header(head):
        return FileKind.TFRECORD
    if not any(head):
        return FileKind.ZEROS
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
