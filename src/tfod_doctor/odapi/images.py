"""Image bytes as the OD API decodes them: format, size, EXIF orientation, and what would fail.

The decoder sniffs the bytes (``image/format`` is ignored): JPEG goes to ``decode_jpeg``, anything
else to ``decode_image``, both with ``channels=3``. JPEG (RGB, grayscale, CMYK), PNG (any mode) and
8/24/32-bit BMP decode; GIF and WebP decode as 4-D and break the pipeline later; TIFF and
anything else fail; a JPEG or PNG cut short fails (spec §4, checked against TF 2.21).

:func:`read_header` reads headers only (microseconds per image). It still catches truncation:
a JPEG that does not end in its EOI marker, or a PNG whose chunks run past the end, is decoded
fully to confirm. :func:`decode` decodes every image fully (``--deep``).
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass, replace
from enum import Enum

from tfod_doctor.records import image_format

#: What TensorFlow says for each way an image fails (TF 2.21 wording).
TF_EMPTY = "Input is empty."
TF_UNKNOWN = "Unknown image file format. One of JPEG, JPEG XL, PNG, GIF, BMP, WebP required."
TF_JPEG = "jpeg::Uncompress failed. Invalid JPEG data or crop window."
TF_PNG_INIT = "Invalid PNG. Failed to initialize decoder."
TF_4D = ("decoded as a 4-D [frames, H, W, 3] tensor; the pipeline then fails, for example "
         "`input must be 4-dimensional[1,1,H,W,3]` when resizing")

_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"
_PNG_COLOR = {0: "Gray", 2: "RGB", 3: "Palette", 4: "GrayAlpha", 6: "RGBA"}
_EXIF_ORIENTATION = 0x0112
_HEADER_SCAN = 1 << 16
#: What :func:`~tfod_doctor.records.image_format` calls ``jpeg`` (checked first, as there).
_JPEG_MAGIC = b"\xff\xd8\xff"
#: The JPEG end-of-image marker.
_EOI = b"\xff\xd9"
#: At most this many distinct header results are kept for reuse (:func:`_header_info`).
_MAX_SHARED_INFOS = 4096
_SHARED_INFOS: dict[tuple, ImageInfo] = {}
#: A JPEG segment's start: 0xFF, the marker, and the big-endian length of the segment.
_SEGMENT = struct.Struct(">BBH")


class ImageProblem(str, Enum):
    """Why the OD API cannot use an image."""

    EMPTY = "empty"
    UNKNOWN_FORMAT = "unknown-format"
    UNSUPPORTED = "unsupported"
    CORRUPT = "corrupt"
    TRUNCATED = "truncated"
    FOUR_D = "4-d"


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What the bytes of one image are, as far as the decoder is concerned."""

    #: Sniffed from the bytes: ``jpeg``, ``png``, ``bmp``, ``gif``, ``webp``, ``tiff`` or None.
    format: str | None
    width: int | None = None
    height: int | None = None
    #: Colour layout from the header (``RGB``, ``Gray``, ``CMYK``, ``RGBA``, ``Palette``...).
    mode: str | None = None
    #: The EXIF Orientation tag of a JPEG (1 = upright), ``None`` when there is none.
    orientation: int | None = None
    problem: ImageProblem | None = None
    #: What is wrong, in words (empty when nothing is).
    detail: str = ""
    #: What TensorFlow says when it trips on this image.
    tf_message: str | None = None
    #: Whether the pixels were decoded (``--deep``, or to confirm a suspected truncation).
    decoded: bool = False

    @property
    def ok(self) -> bool:
        """Whether the OD API decodes this image into a 3-D tensor."""
        return self.problem is None

    @property
    def size(self) -> tuple[int, int] | None:
        """``(width, height)`` when known."""
        if self.width is None or self.height is None:
            return None
        return self.width, self.height


def read_header(data: bytes) -> ImageInfo:
    """The image as the decoder will see it, from its headers (decodes only to confirm damage)."""
    return _inspect(data, deep=False)


def decode(data: bytes) -> ImageInfo:
    """The image as the decoder will see it, decoding every pixel (``--deep``)."""
    return _inspect(data, deep=True)


def _inspect(data: bytes, deep: bool) -> ImageInfo:
    if not data:
        return ImageInfo(None, problem=ImageProblem.EMPTY, detail="no image bytes",
                         tf_message=TF_EMPTY)
    fmt = "jpeg" if data.startswith(_JPEG_MAGIC) else image_format(data)  # the usual case first
    reader = _READERS.get(fmt or "")
    if reader is None:
        what = f"a {fmt.upper()} image" if fmt else f"not an image TensorFlow knows ({_head(data)})"
        return ImageInfo(fmt, problem=ImageProblem.UNKNOWN_FORMAT, detail=what,
                         tf_message=TF_UNKNOWN)
    return reader(data, deep)


def _header_info(fmt: str, width: int, height: int, mode: str,
                 orientation: int | None = None) -> ImageInfo:
    """``ImageInfo(fmt, width, height, mode, orientation)``, one shared instance per value.

    The images of a dataset mostly share a few sizes, and an :class:`ImageInfo` is immutable: a
    dictionary look-up is several times cheaper than building one.
    """
    key = (fmt, width, height, mode, orientation)
    info = _SHARED_INFOS.get(key)
    if info is None:
        info = ImageInfo(fmt, width, height, mode, orientation)
        if len(_SHARED_INFOS) < _MAX_SHARED_INFOS:
            _SHARED_INFOS[key] = info
    return info


def _head(data: bytes) -> str:
    return "starts with " + " ".join(f"{b:02x}" for b in data[:4])


# -- JPEG -----------------------------------------------------------------------------------------


def _jpeg(data: bytes, deep: bool) -> ImageInfo:
    import simplejpeg

    complete = data.endswith(_EOI) or _jpeg_complete(data)
    try:
        height, width, colorspace, _ = simplejpeg.decode_jpeg_header(data)
    except ValueError as exc:
        problem = ImageProblem.CORRUPT if complete else ImageProblem.TRUNCATED
        return ImageInfo("jpeg", problem=problem, detail=f"unreadable JPEG header ({exc})",
                         tf_message=TF_JPEG)
    info = _header_info("jpeg", width, height, colorspace, _exif_orientation(data))
    if complete and not deep:
        return info
    try:
        simplejpeg.decode_jpeg(data, colorspace="GRAY" if colorspace == "Gray" else "RGB")
    except ValueError as exc:
        if complete:
            return replace(info, problem=ImageProblem.CORRUPT, decoded=True,
                           detail=f"the JPEG data is damaged ({exc})", tf_message=TF_JPEG)
        return replace(info, problem=ImageProblem.TRUNCATED, decoded=True,
                       detail=f"the JPEG ends early, before its end marker ({exc})",
                       tf_message=TF_JPEG)
    return replace(info, decoded=True)


def _jpeg_complete(data: bytes) -> bool:
    """Whether the JPEG ends in its EOI marker (allowing padding after it)."""
    if data.endswith(_EOI):
        return True
    return data[-64:].rstrip(b"\x00\r\n\t ").endswith(b"\xff\xd9")


def _exif_orientation(data: bytes) -> int | None:
    """The EXIF Orientation tag from a JPEG's APP1 segment, without decoding anything.

    Exif puts its APP1 segment first (or right after a JFIF APP0), so the search stops at the
    first segment that is not an APPn.
    """
    pos, end = 2, min(len(data), _HEADER_SCAN)
    while pos + 4 <= end:
        prefix, marker, length = _SEGMENT.unpack_from(data, pos)
        if prefix != 0xFF:
            return None
        if marker == 0xFF:
            pos += 1
            continue
        if not 0xE0 <= marker <= 0xEF:  # tables or frame: the metadata segments are behind us
            return None
        if marker == 0xE1 and data[pos + 4 : pos + 10] == b"Exif\x00\x00":
            return _tiff_orientation(data, pos + 10, pos + 2 + length)
        pos += 2 + length
    return None


def _tiff_orientation(data: bytes, start: int, end: int) -> int | None:
    order = data[start : start + 2]
    if order not in (b"II", b"MM"):
        return None
    fmt = "<" if order == b"II" else ">"
    try:
        (ifd,) = struct.unpack_from(fmt + "I", data, start + 4)
        (count,) = struct.unpack_from(fmt + "H", data, start + ifd)
        for i in range(min(count, 256)):
            entry = start + ifd + 2 + 12 * i
            if entry + 12 > end:
                return None
            tag, kind = struct.unpack_from(fmt + "HH", data, entry)
            if tag == _EXIF_ORIENTATION:
                if kind == 3:  # SHORT
                    return struct.unpack_from(fmt + "H", data, entry + 8)[0]
                return struct.unpack_from(fmt + "I", data, entry + 8)[0]
    except struct.error:
        return None
    return None


# -- PNG ------------------------------------------------------------------------------------------


def _png(data: bytes, deep: bool) -> ImageInfo:
    if len(data) < 33 or data[12:16] != b"IHDR":
        return ImageInfo("png", problem=ImageProblem.CORRUPT, detail="no PNG header (IHDR)",
                         tf_message=TF_PNG_INIT)
    width, height = struct.unpack_from(">II", data, 16)
    info = _header_info("png", width, height, _PNG_COLOR.get(data[25], f"type {data[25]}"))
    if data.endswith(_IEND) and not deep:
        return info
    damage = _png_chunk_damage(data, check_crc=deep)
    if damage is not None:
        problem, detail = damage
        return replace(info, problem=problem, detail=detail,
                       tf_message=f"Invalid PNG data, size {len(data)}")
    if deep:
        error = _pil_load_error(data)
        if error:
            return replace(info, problem=ImageProblem.CORRUPT, decoded=True,
                           detail=f"the PNG data is damaged ({error})",
                           tf_message=f"Invalid PNG data, size {len(data)}")
        return replace(info, decoded=True)
    return info


def _png_chunk_damage(data: bytes, check_crc: bool) -> tuple[ImageProblem, str] | None:
    """Walk the chunks: a chunk past the end means the file was cut; a bad CRC, damage."""
    pos = 8
    while pos + 12 <= len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            return ImageProblem.TRUNCATED, (
                f"the PNG ends inside its {kind.decode('latin-1')} chunk: "
                f"{end - len(data)} bytes are missing")
        if check_crc and kind[:1].isupper():
            (stored,) = struct.unpack_from(">I", data, end - 4)
            if zlib.crc32(data[pos + 4 : end - 4]) != stored:
                return ImageProblem.CORRUPT, (
                    f"the {kind.decode('latin-1')} chunk at byte {pos} fails its CRC")
        if kind == b"IEND":
            return None
        pos = end
    return ImageProblem.TRUNCATED, "the PNG ends before its IEND chunk"


def _pil_load_error(data: bytes) -> str | None:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    except Exception as exc:  # Pillow raises many kinds for damaged data
        return str(exc) or type(exc).__name__
    return None


# -- BMP ------------------------------------------------------------------------------------------


def _bmp(data: bytes, deep: bool) -> ImageInfo:
    if len(data) < 32:
        return ImageInfo("bmp", problem=ImageProblem.TRUNCATED,
                         detail=f"only {len(data)} bytes: not even a BMP header",
                         tf_message="Incomplete bmp content, requires at least 32 bytes to find "
                                    f"the header size, width, height, and bpp, got {len(data)} "
                                    "bytes")
    header_size, _, width, height, _, bpp = struct.unpack_from("<IIiiHH", data, 10)
    height = abs(height)
    info = ImageInfo("bmp", width, height, {8: "Gray", 24: "RGB", 32: "RGBA"}.get(bpp,
                                                                                 f"{bpp}-bit"))
    if bpp not in (8, 24, 32):
        return replace(info, problem=ImageProblem.UNSUPPORTED,
                       detail=f"a {bpp}-bit BMP: TensorFlow reads 8, 24 and 32-bit BMPs only",
                       tf_message="Number of channels inherent in the image must be 1, 3 or 4, "
                                  f"was {bpp // 8}")
    expected = header_size + ((bpp * width + 31) // 32) * 4 * height
    if len(data) != expected:
        shorter = len(data) < expected
        return replace(
            info, problem=ImageProblem.TRUNCATED if shorter else ImageProblem.CORRUPT,
            detail=(f"the BMP has {len(data)} bytes; its header says {expected}"),
            tf_message="Input size should match (header_size + row_size * abs_height) but they "
                       f"differ by {len(data) - expected}",
        )
    if deep:
        error = _pil_load_error(data)
        if error:
            return replace(info, problem=ImageProblem.CORRUPT, decoded=True,
                           detail=f"the BMP data is damaged ({error})")
        return replace(info, decoded=True)
    return info


# -- GIF and WebP: decoded as 4-D ------------------------------------------------------------------


def _four_d(data: bytes, deep: bool) -> ImageInfo:
    fmt = image_format(data) or ""
    size = _pil_size(data)
    width, height = size if size else (None, None)
    return ImageInfo(fmt, width, height, problem=ImageProblem.FOUR_D,
                     detail=f"a {fmt.upper()} image: TensorFlow decodes it as 4-D (frames, height, "
                            "width, channels), which the OD API cannot use",
                     tf_message=TF_4D)


def _pil_size(data: bytes) -> tuple[int, int] | None:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except Exception:  # no size is fine: the image is unusable anyway
        return None


_READERS = {"jpeg": _jpeg, "png": _png, "bmp": _bmp, "gif": _four_d, "webp": _four_d}
