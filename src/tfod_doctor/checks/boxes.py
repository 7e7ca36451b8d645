"""B rules: the boxes of a record as the OD API assembles, filters and asserts them (spec §3)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from tfod_doctor.catalogue import boxes as B
from tfod_doctor.checks._od import (
    Classes,
    box_classes,
    kind_ok,
    listing,
    max_boxes,
    n_values,
    od_record,
    record_foreign_keys,
    rounded,
    texts_are_read,
)
from tfod_doctor.checks.base import Emit, RecordPlace, record_check
from tfod_doctor.checks.context import CheckContext
from tfod_doctor.checks.features import flags_known
from tfod_doctor.findings import Severity
from tfod_doctor.odapi import features as K
from tfod_doctor.odapi.boxes import BoxSurvey, all_boxes_fine, fits_as_pixels, survey_each
from tfod_doctor.odapi.record import ODRecord
from tfod_doctor.records import FeatureView, Kind

_SIDE_NAMES = ("ymin", "xmin", "ymax", "xmax")
#: The survey of a record whose boxes are all fine (shared: only ever read).
_ALL_FINE = BoxSurvey()


@record_check
def check_boxes(view: FeatureView, where: RecordPlace, ctx: CheckContext, emit: Emit) -> None:
    """B001-B012 on one record."""
    record = od_record(view)
    if not record.box_kinds_ok:
        return  # F003 reports the kind; TensorFlow stops before looking at the boxes
    if not record.lists_agree:
        _lists_differ(record, where, emit)
        return
    boxes = record.n_boxes
    if _class_count(record, ctx) != boxes:
        _label_count(record, box_classes(record, ctx), ctx, where, emit)
    found = _ALL_FINE
    if boxes:
        size = record.image_size(ctx.deep)
        tiny = ctx.quality.tiny_box_pixels
        if not all_boxes_fine(record.boxes, size, tiny):
            found = survey_each(record.boxes, size, tiny)
            _emit_survey(record, found, ctx, where, emit)
    if boxes > max_boxes(ctx):
        _too_many(record, found, box_classes(record, ctx), ctx, where, emit)
    if not view.kinds.keys().isdisjoint(_PER_BOX_KEYS):
        _per_box_lists(record, where, emit)
        _annotation_counts(record, ctx, where, emit)


def _class_count(record: ODRecord, ctx: CheckContext) -> int:
    """``box_classes(record, ctx).count`` without resolving the classes: the text wins when the
    record has some and it is read, else the labels count."""
    if record.texts and texts_are_read(ctx):
        return len(record.texts)
    return len(record.labels)


def _lists_differ(record: ODRecord, where: RecordPlace, emit: Emit) -> None:
    lengths = [len(side) for side in record.boxes]
    first = next(i for i, n in enumerate(lengths) if n != lengths[0])
    described = ", ".join(f"{name}: {n}" for name, n in zip(_SIDE_NAMES, lengths, strict=True))
    tf_message = (f"ConcatOp : Dimension 1 in both shapes must be equal: shape[0] = "
                  f"[1,{lengths[0]}] vs. shape[{first}] = [1,{lengths[first]}]")
    emit(B.LISTS_DIFFER.finding(
        f"the four box lists differ in length ({described}); assembling the boxes stops training",
        where.at(K.BOX_KEYS[first]), lengths=dict(zip(_SIDE_NAMES, lengths, strict=True)),
        tensorflow=tf_message))


def _label_count(record: ODRecord, classes: Classes, ctx: CheckContext, where: RecordPlace,
                 emit: Emit) -> None:
    boxes, count = record.n_boxes, classes.count
    if count == boxes or not kind_ok(record.view, classes.source):
        return
    if classes.source == K.LABEL and not count and record.texts and not texts_are_read(ctx):
        return  # text-only records without a label map: L006 says it better
    foreign = record_foreign_keys(record.view)
    if (foreign.boxes and not boxes) or ((foreign.labels or foreign.texts) and not count):
        return  # boxes or classes under another key: F008/F009 name the cause
    if count < boxes:
        emit(B.LABEL_COUNT.finding(
            f"{boxes} boxes but {count} classes in {classes.source}: gathering the classes per "
            "box stops training", where.at(classes.source), boxes=boxes, classes=count,
            tensorflow=f"InvalidArgumentError: indices[{count}] = {count} is not in "
                       f"[0, {count})"))
    else:
        emit(B.LABEL_COUNT.finding(
            f"{boxes} boxes but {count} classes in {classes.source}: the OD API keeps the first "
            f"{boxes} and drops the rest without a word; if a class is missing in the middle, "
            "every box after it gets the wrong class", where.at(classes.source),
            severity=Severity.DATA_LOSS, boxes=boxes, classes=count))


def _box_evidence(record: ODRecord, indices: Sequence[int]) -> list[dict]:
    return [{"index": i, "box": rounded(record.box(i))} for i in indices[:10]]


def _emit_survey(record: ODRecord, found: BoxSurvey, ctx: CheckContext, where: RecordPlace,
                 emit: Emit) -> None:
    if found.nan:
        emit(B.NAN_BOX.finding(
            f"{listing(found.nan, 'have')} NaN coordinates: the OD API drops such boxes "
            "without a word",
            where.at(_first_side(record, found.nan[0], math.isnan)),
            boxes=_box_evidence(record, found.nan)))
    if found.infinite:
        emit(B.INFINITE.finding(
            f"{listing(found.infinite, 'have')} infinite coordinates: the OD API keeps such "
            "boxes, and eval stops "
            "on the 1.1 assertion", where.at(_first_side(record, found.infinite[0], math.isinf)),
            boxes=_box_evidence(record, found.infinite),
            tensorflow="assertion failed: [maximum box coordinate value is larger than 1.100000: "
                       "] [inf]"))
    if found.pixel:
        _pixel_coordinates(record, found.pixel, ctx, where, emit)
    if found.outside:
        emit(B.OUTSIDE.finding(
            f"{listing(found.outside, 'reach')} outside the image (a coordinate below 0 or "
            "above 1): such boxes train as written, with targets outside the image",
            where.at(K.YMIN), boxes=_box_evidence(record, found.outside)))
    if found.inverted:
        _inverted(record, found.inverted, where, emit)
    if found.zero:
        emit(B.ZERO_AREA.finding(
            f"{listing(found.zero, 'have')} zero width or height", where.at(K.YMIN),
            boxes=_box_evidence(record, found.zero)))
    if found.tiny:
        size = record.image_size(ctx.deep)
        unit = (f"{ctx.quality.tiny_box_pixels:g} pixels of this {size[0]}×{size[1]} image"
                if size else "0.2% of the image")
        emit(B.TINY.finding(f"{listing(found.tiny, 'are')} smaller than {unit}", where.at(K.YMIN),
                            boxes=_box_evidence(record, found.tiny), image_size=size))


def _first_side(record: ODRecord, index: int, test) -> str:
    for key, side in zip(K.BOX_KEYS, record.boxes, strict=True):
        if test(side[index]):
            return key
    return K.YMIN


def _pixel_coordinates(record: ODRecord, indices: list[int], ctx: CheckContext,
                       where: RecordPlace, emit: Emit) -> None:
    finite = [v for i in indices for v in record.box(i)]
    highest = max(finite)
    ys = [v for i in indices for v in (record.box(i)[0], record.box(i)[2])]
    xs = [v for i in indices for v in (record.box(i)[1], record.box(i)[3])]
    info = record.image_info(ctx.deep)
    size = record.image_size(ctx.deep)
    evidence: dict = {"boxes": _box_evidence(record, indices), "max_value": round(highest, 4),
                      "image_size": size,
                      "tensorflow": "assertion failed: [maximum box coordinate value is larger "
                                    f"than 1.100000: ] [{highest:g}]"}
    message = (f"{listing(indices, 'have')} coordinates up to {highest:g}, above the 1.1 the OD "
               "API asserts: eval and Faster R-CNN training stop, SSD learns nothing from them")
    hint = None
    if size is not None:
        width, height = size
        if fits_as_pixels([record.box(i) for i in indices], size):
            first = record.box(indices[0])
            normalized = [first[0] / height, first[1] / width, first[2] / height, first[3] / width]
            evidence["normalized_first_box"] = rounded(normalized)
            message += f". They fit the {width}×{height} image as pixel coordinates"
            hint = f"Divide y by {height} and x by {width} (box {indices[0]} becomes " \
                   f"{rounded(normalized)})."
        elif (info.orientation or 1) >= 5 and max(xs) <= height + 1 and max(ys) <= width + 1:
            message += (f". They fit the image rotated by its EXIF orientation "
                        f"({info.orientation}): they were drawn on the rotated view")
            hint = "Rotate the image upright (ImageOps.exif_transpose) and normalize the boxes " \
                   "by the rotated size."
        else:
            message += f". They do not even fit the {width}×{height} image as pixels"
    emit(B.PIXEL_COORDINATES.finding(message, where.at(K.XMAX), hint=hint, **evidence))


def _inverted(record: ODRecord, indices: list[int], where: RecordPlace, emit: Emit) -> None:
    first = record.box(indices[0])
    vertical = first[0] > first[2]
    key = K.YMIN if vertical else K.XMIN
    low, high = (first[0], first[2]) if vertical else (first[1], first[3])
    emit(B.INVERTED.finding(
        f"{listing(indices, 'are')} inverted (box {indices[0]}: {key.rsplit('/', 1)[1]} {low:g} > "
        f"{'ymax' if vertical else 'xmax'} {high:g}): the OD API's box assertion stops training",
        where.at(key), boxes=_box_evidence(record, indices),
        tensorflow=f"assertion failed: [[{low:g}]] [[{high:g}]]"))


def _too_many(record: ODRecord, found: BoxSurvey, classes: Classes, ctx: CheckContext,
              where: RecordPlace, emit: Emit) -> None:
    limit = max_boxes(ctx)
    if record.n_boxes <= limit:
        return
    unknown = sum(1 for i in classes.ids or () if i == -1)
    kept = record.n_boxes - len(found.nan) - unknown
    if kept <= limit:
        return
    source = "" if ctx.max_boxes is not None else " (the OD API default)"
    emit(B.TOO_MANY.finding(
        f"{kept} boxes, but max_number_of_boxes is {limit}{source}: the last {kept - limit} are "
        "dropped without a word", where.at(K.YMIN), boxes=kept, max_number_of_boxes=limit,
        dropped=kept - limit,
        hint=f"Set max_number_of_boxes: {kept} (or more) in train_input_reader and "
             "eval_input_reader."))


#: Every key :func:`_per_box_lists` and :func:`_annotation_counts` read: a record with none of
#: them gives them nothing to check (a key they start reading must be added here).
_PER_BOX_KEYS = frozenset({
    *K.RESHAPED_PER_BOX, *K.PADDED_PER_BOX, K.MASK, K.KEYPOINT_X, K.KEYPOINT_Y, K.TRACK_ID,
    K.DENSEPOSE_NUM, K.MULTICLASS_SCORES,
})


def _per_box_lists(record: ODRecord, where: RecordPlace, emit: Emit) -> None:
    boxes, view = record.n_boxes, record.view
    for key in (*K.RESHAPED_PER_BOX, *K.PADDED_PER_BOX):
        length = n_values(view, key)
        if not length or length == boxes or not boxes or not kind_ok(view, key):
            continue
        name = key.rsplit("/", 1)[1]
        if key in K.RESHAPED_PER_BOX and length % boxes:
            emit(B.PER_BOX_LENGTH.finding(
                f"{name} has {length} values for {boxes} boxes: reshaping it per box stops "
                "training", where.at(key), values=length, boxes=boxes,
                tensorflow=f"Input to reshape is a tensor with {length} values, but the requested "
                           f"shape requires a multiple of {boxes}"))
        else:
            effect = ("each box silently gets several values" if key in K.RESHAPED_PER_BOX
                      else "the values silently stop lining up with the boxes")
            emit(B.PER_BOX_LENGTH.finding(
                f"{name} has {length} values for {boxes} boxes: {effect}", where.at(key),
                severity=Severity.DATA_LOSS, values=length, boxes=boxes))


def _annotation_counts(record: ODRecord, ctx: CheckContext, where: RecordPlace,
                       emit: Emit) -> None:
    view, flags = record.view, ctx.flags

    def wanted(flag: str) -> bool:
        return bool(K.flag_value(flags, flag)) or not flags_known(ctx)

    if n_values(view, K.MASK) and wanted("load_instance_masks"):
        _mask_count(record, where, emit)
    if (n_values(view, K.KEYPOINT_X) or n_values(view, K.KEYPOINT_Y)) and wanted("num_keypoints"):
        _keypoint_count(record, ctx, where, emit)
    for key, flag in ((K.TRACK_ID, "load_track_id"), (K.DENSEPOSE_NUM, "load_dense_pose")):
        length = n_values(view, key)
        if length and length != record.n_boxes and wanted(flag) and kind_ok(view, key):
            emit(B.KEYPOINT_MASK_COUNT.finding(
                f"{key} has {length} values for {record.n_boxes} boxes: they no longer line up",
                where.at(key), severity=Severity.DATA_LOSS, values=length,
                boxes=record.n_boxes))
    scores = n_values(view, K.MULTICLASS_SCORES)
    if scores and ctx.num_classes and K.flag_value(flags, "load_multiclass_scores"):
        expected = record.n_boxes * ctx.num_classes
        if scores != expected:
            emit(B.KEYPOINT_MASK_COUNT.finding(
                f"{K.MULTICLASS_SCORES} has {scores} values; {record.n_boxes} boxes × "
                f"{ctx.num_classes} classes is {expected}: reshaping them stops training",
                where.at(K.MULTICLASS_SCORES), values=scores, expected=expected,
                tensorflow=f"Input to reshape is a tensor with {scores} values, but the requested "
                           f"shape has {expected}"))


def _count_finding(what: str, key: str, count: int, boxes: int, where: RecordPlace,
                   emit: Emit) -> None:
    if count < boxes:
        emit(B.KEYPOINT_MASK_COUNT.finding(
            f"{count} {what} for {boxes} boxes: gathering them per box stops training",
            where.at(key), count=count, boxes=boxes,
            tensorflow=f"indices[{count}] = {count} is not in [0, {count})"))
    else:
        emit(B.KEYPOINT_MASK_COUNT.finding(
            f"{count} {what} for {boxes} boxes: the extra ones are dropped and, if one is "
            "missing in the middle, the rest belong to the wrong boxes", where.at(key),
            severity=Severity.DATA_LOSS, count=count, boxes=boxes))


def _mask_count(record: ODRecord, where: RecordPlace, emit: Emit) -> None:
    view, boxes = record.view, record.n_boxes
    values = n_values(view, K.MASK)
    if view.kind(K.MASK) is Kind.FLOAT:
        width, height = record.stored_size() or (1, 1)
        per_mask = max(width * height, 1)
        if values % per_mask:
            emit(B.KEYPOINT_MASK_COUNT.finding(
                f"{values} mask values are not whole {height}×{width} masks (the stored "
                "image/height × image/width): reshaping them stops training", where.at(K.MASK),
                values=values, mask_shape=[height, width],
                tensorflow=f"Input to reshape is a tensor with {values} values, but the "
                           f"requested shape requires a multiple of {per_mask}"))
            return
        values //= per_mask
    if values != boxes:
        _count_finding("masks", K.MASK, values, boxes, where, emit)


def _keypoint_count(record: ODRecord, ctx: CheckContext, where: RecordPlace,
                    emit: Emit) -> None:
    view, boxes = record.view, record.n_boxes
    xs, ys = n_values(view, K.KEYPOINT_X), n_values(view, K.KEYPOINT_Y)
    if xs != ys:
        emit(B.KEYPOINT_MASK_COUNT.finding(
            f"keypoint/x has {xs} values and keypoint/y {ys}: they cannot pair up",
            where.at(K.KEYPOINT_X), x=xs, y=ys))
        return
    per_box = ctx.flags.num_keypoints
    if per_box:
        if xs % per_box:
            emit(B.KEYPOINT_MASK_COUNT.finding(
                f"{xs} keypoint values are not whole sets of num_keypoints={per_box}",
                where.at(K.KEYPOINT_X), values=xs, num_keypoints=per_box,
                tensorflow=f"Input to reshape is a tensor with {2 * xs} values, but the "
                           f"requested shape requires a multiple of {2 * per_box}"))
        elif xs // per_box != boxes:
            _count_finding(f"keypoint sets of {per_box}", K.KEYPOINT_X, xs // per_box, boxes,
                           where, emit)
    elif boxes and xs % boxes:
        emit(B.KEYPOINT_MASK_COUNT.finding(
            f"{xs} keypoint values cannot be split evenly over {boxes} boxes",
            where.at(K.KEYPOINT_X), values=xs, boxes=boxes))
