"""I rules: the encoded image of a record, read as the OD API decodes it (spec §4).

By default only headers are read (a full decode only confirms a suspected truncation); with
``--deep`` every image is decoded.
"""

from __future__ import annotations

from tfod_doctor.catalogue import images as I
from tfod_doctor.checks._od import od_record
from tfod_doctor.checks.base import Emit, RecordPlace, record_check
from tfod_doctor.checks.context import CheckContext
from tfod_doctor.findings import Severity
from tfod_doctor.odapi import features as K
from tfod_doctor.odapi.images import ImageInfo, ImageProblem
from tfod_doctor.odapi.record import ODRecord
from tfod_doctor.records import FeatureView

_PROBLEM_RULES = {
    ImageProblem.UNKNOWN_FORMAT: I.UNDECODABLE,
    ImageProblem.UNSUPPORTED: I.UNDECODABLE,
    ImageProblem.CORRUPT: I.UNDECODABLE,
    ImageProblem.FOUR_D: I.FOUR_D,
    ImageProblem.TRUNCATED: I.TRUNCATED,
}
_FORMAT_ALIASES = {"jpg": "jpeg", "tif": "tiff"}
_ORIENTATIONS = {
    2: "mirrored left-right", 3: "rotated 180°", 4: "mirrored top-bottom",
    5: "mirrored and rotated 90° CCW", 6: "rotated 90° CW", 7: "mirrored and rotated 90° CW",
    8: "rotated 90° CCW",
}


@record_check
def check_image(view: FeatureView, where: RecordPlace, ctx: CheckContext, emit: Emit) -> None:
    """I001-I007 on one record."""
    record = od_record(view)
    if not record.image:
        return  # F001 (missing) or F003/F004 (wrong kind or count) say it
    declared, normalized = _declared_format(view.first_bytes(K.FORMAT))
    if declared in ("raw", "RAW"):
        emit(I.RAW_FORMAT.finding(
            f"image/format is {declared!r}: the decoder reads the {len(record.image)} bytes as a "
            "flat array, not as an image", where.at(K.FORMAT), declared=declared))
        return
    info = record.image_info(ctx.deep)
    if info.problem is not None:
        _undecodable(info, where, emit)
        return
    _size_mismatch(record, info, ctx, where, emit)
    if info.orientation not in (None, 1):
        _orientation(info, where, emit)
    if declared and normalized != info.format:
        emit(I.FORMAT_MISMATCH.finding(
            f"image/format says {declared!r} but the bytes are {info.format.upper()}; the OD API "
            "reads the bytes and ignores the field", where.at(K.FORMAT), declared=declared,
            actual=info.format))


#: At most this many ``image/format`` values keep their reading (:func:`_declared_format`).
_MAX_FORMATS = 64
_FORMATS: dict[bytes, tuple[str, str]] = {}


def _declared_format(value: bytes) -> tuple[str, str]:
    """``image/format`` as written (stripped) and as a format name, read once per distinct value."""
    found = _FORMATS.get(value)
    if found is None:
        declared = value.decode("utf-8", "replace").strip()
        found = declared, _FORMAT_ALIASES.get(declared.lower(), declared.lower())
        if len(_FORMATS) < _MAX_FORMATS:
            _FORMATS[value] = found
    return found


def _undecodable(info: ImageInfo, where: RecordPlace, emit: Emit) -> None:
    rule = _PROBLEM_RULES[info.problem]
    emit(rule.finding(
        f"the image cannot be used: {info.detail}", where.at(K.IMAGE), format=info.format,
        problem=info.problem.value, decoded=info.decoded, tensorflow=info.tf_message))


def _size_mismatch(record: ODRecord, info: ImageInfo, ctx: CheckContext, where: RecordPlace,
                   emit: Emit) -> None:
    width, height = info.width, info.height
    if width is None or height is None:
        return
    stored_w, stored_h = record.view.first_int(K.WIDTH), record.view.first_int(K.HEIGHT)
    if stored_w in (None, width) and stored_h in (None, height):
        return
    wrong = [(key, stored, real) for key, stored, real in
             ((K.WIDTH, stored_w, width), (K.HEIGHT, stored_h, height))
             if stored is not None and stored != real]
    if not wrong:
        return
    swapped = stored_w == height and stored_h == width
    masks = ctx.flags.load_instance_masks and ctx.flags.mask_type.upper() != "PNG_MASKS"
    described = ", ".join(f"{key.rsplit('/', 1)[1]}={stored}" for key, stored, _ in wrong)
    message = f"the image is {width}×{height} but the record stores {described}"
    resized = not swapped and _proportional(width, height, stored_w, stored_h)
    if swapped:
        message += ": width and height are swapped (an EXIF rotation, or a transposed size)"
    elif resized:
        message += (f", a proportional resize (×{stored_w / width:.3g}: the image was resized "
                    "after annotation)")
    else:
        message += ": not a proportional resize of the image"
    if masks:
        message += "; numerical masks are reshaped with the stored size"
    elif resized:
        message += ("; boxes normalized with the stored size are the same on the resized "
                    "image, so they are right (only the stored size is stale)")
    else:
        message += "; boxes normalized with the stored size are off"
    severity = Severity.ERROR if masks else Severity.INFO if resized else None
    emit(I.SIZE_MISMATCH.finding(
        message, where.at(wrong[0][0]), severity=severity, image_size=[width, height],
        stored_size=[stored_w, stored_h], swapped=swapped, proportional=resized))


def _proportional(width: int, height: int, stored_w: int | None, stored_h: int | None) -> bool:
    """Whether the stored size is the image's scaled by one factor (to a pixel of rounding)."""
    if not (stored_w and stored_h and width and height):
        return False
    return (abs(stored_h - height * stored_w / width) <= 1
            or abs(stored_w - width * stored_h / height) <= 1)


def _orientation(info: ImageInfo, where: RecordPlace, emit: Emit) -> None:
    turn = _ORIENTATIONS.get(info.orientation or 0, f"orientation {info.orientation}")
    message = (f"the JPEG has EXIF orientation {info.orientation} ({turn}): viewers and labelling "
               "tools show it turned, TensorFlow decodes the stored pixels")
    if (info.orientation or 0) >= 5:
        message += f"; boxes drawn on the turned view belong to a {info.height}×{info.width} image"
    emit(I.EXIF_ORIENTATION.finding(message, where.at(K.IMAGE), orientation=info.orientation,
                                    stored_size=[info.width, info.height]))
