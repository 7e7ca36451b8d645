"""CRC32C (Castagnoli) and TFRecord's masking of it."""

from __future__ import annotations

import google_crc32c

MASK_DELTA = 0xA282EAD8


def crc32c(data: bytes) -> int:
    """The plain CRC32C of ``data``."""
    return google_crc32c.value(data)


def mask(crc: int) -> int:
    """TFRecord's mask: rotate right by 15 bits, then add a constant (mod 2**32)."""
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + MASK_DELTA) & 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """The masked CRC32C that TFRecord stores after the length and after the payload."""
    crc = google_crc32c.value(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + MASK_DELTA) & 0xFFFFFFFF
