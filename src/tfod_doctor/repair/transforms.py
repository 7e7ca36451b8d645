"""The repairs, one small function each, applied in order to one record.

Each repair reads the record, changes what it can change without guessing, and notes every
change with the rule it answers. What needs a choice the data cannot make (a label 0 with no
name, a box list of another layout) is left alone unless the user asked for it.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from tfod_doctor.converters.images import ExifMode, ImageError, ImageOptions, Reencode, prepare
from tfod_doctor.errors import UserError
from tfod_doctor.odapi import features as K
from tfod_doctor.odapi.boxes import ASSERT_LIMIT, all_boxes_fine, fits_as_pixels, survey_each
from tfod_doctor.odapi.fit import fit_as, missing_side, named_fit
from tfod_doctor.odapi.foreign import foreign_keys
from tfod_doctor.odapi.images import ImageInfo, read_header
from tfod_doctor.odapi.labels import LabelTable
from tfod_doctor.odapi.layout import BoxLayout, LayoutReport, add_to_tally, new_tally, to_od_boxes
from tfod_doctor.odapi.producers import producer_of
from tfod_doctor.records import Kind
from tfod_doctor.repair.record import EditableRecord

#: The repair that renames a key on the evidence of its values (the plan lists each one).
RENAME_ON_EVIDENCE = "rename-by-evidence"
#: What ``--exif`` may say: bake the rotation into the pixels, turn the boxes into the stored
#: frame, or leave both alone.
EXIF_CHOICES = ("apply", "reverse", "keep")


@dataclass(frozen=True)
class RepairOptions:
    """What the user asked of ``fix``, and what the config says about the records."""

    #: Explicit renames (``--rename old=new``, a config ``feature_map``) before suggestions.
    renames: Mapping[str, str] = field(default_factory=dict)
    #: Rename unknown keys to the key they were probably meant to be (F002 suggestions).
    suggested_renames: bool = True
    #: The label map (None: none given and none to be written).
    label_map: LabelTable | None = None
    #: ``--exif``: one of :data:`EXIF_CHOICES`.
    exif: str = "apply"
    #: The format images TensorFlow cannot decode are re-encoded to (``png`` or ``jpeg``).
    image_format: str = "png"
    #: Drop boxes (and records) that cannot be repaired, instead of keeping them as they are.
    drop_unfixable: bool = False
    #: Write ``class/text`` from the ids through the label map where a record has ids only.
    fill_texts: bool = False
    #: InputReader flags (which keys the decoder reads), passed to ``decoder_keys``.
    flags: Any = None
    #: The record key the config's ``feature_map`` says holds a flat box list.
    boxes_key: str | None = None
    #: ``--box-layout`` / ``--box-units`` as asked (``None``: infer from the data).
    box_layout: str | None = None
    box_units: str | None = None
    #: The layout flat box lists are converted with, once the first pass has chosen it.
    layout: BoxLayout | None = None


@dataclass
class DatasetFacts:
    """What one pass over all records learns, for the repairs that need the whole dataset."""

    #: How many records carry each non-empty source id.
    source_ids: Counter[bytes] = field(default_factory=Counter)
    #: Class names in the records that the label map does not know, with their counts.
    unknown_texts: Counter[str] = field(default_factory=Counter)
    #: Name -> id pairs of records that carry both (to build a label map that agrees with them).
    class_pairs: dict[str, int] = field(default_factory=dict)
    #: Flat box lists seen, counted under every layout (``odapi.layout`` tally).
    layout_tally: dict[str, Any] = field(default_factory=new_tally)
    #: The most boxes any repaired record keeps.
    max_boxes: int = 0
    #: The highest class id any repaired record uses.
    max_label: int = 0


@dataclass
class RepairState:
    """Everything a repair reads besides the record: options, facts, and running counters."""

    options: RepairOptions
    facts: DatasetFacts = field(default_factory=DatasetFacts)
    #: Source ids handed out so far in this pass (to make duplicates unique).
    ids_given: Counter[bytes] = field(default_factory=Counter)
    #: The non-empty source ids of the records this pass keeps, with their counts.
    ids_kept: Counter[bytes] = field(default_factory=Counter)


Repair = Callable[[EditableRecord, RepairState], None]


# -- boxes and classes under other keys (F008, F009, B013) ---------------------------------------


def convert_foreign(rec: EditableRecord, state: RepairState) -> None:
    """F009: class keys renamed; F008: a flat box list split into the four coordinate lists."""
    every_od_key = K.every_od_key()
    if all(key in every_od_key for key in rec.features):
        return  # only the OD API's own keys: nothing under another name (and no re-encoding)
    found = foreign_keys(rec.view())
    for old, new in found.renames().items():
        rec.rename(old, new)
        rec.note("rename", "F009", f"{old} -> {new}")
    key = state.options.boxes_key if state.options.boxes_key in rec.features else found.boxes
    if key is None or any(rec.values(k) for k in K.BOX_KEYS):
        return
    values = rec.values(key)
    size = _info(rec).size or _stored_size(rec)
    layout = state.options.layout
    if layout is None:  # the first pass: count, so that the layout can be chosen
        add_to_tally(state.facts.layout_tally, values, size)
        return
    try:
        sides = to_od_boxes(values, layout, width=size[0] if size else None,
                            height=size[1] if size else None)
    except ValueError as exc:
        rec.skip("split-boxes", "F008", f"{key} cannot be read as {layout}: {exc}")
        return
    del rec.features[key]
    rec.set_boxes(list(zip(*sides, strict=True)))
    rec.note("split-boxes", "F008", f"{key}: {len(sides[0])} box(es) read as {layout} into "
             "image/object/bbox/{ymin,xmin,ymax,xmax}", boxes=len(sides[0]))
    _fill_image_keys(rec)
    fill_texts(rec, state, rule="F009")


def _stored_size(rec: EditableRecord) -> tuple[int, int] | None:
    width, height = rec.first(K.WIDTH, Kind.INT64), rec.first(K.HEIGHT, Kind.INT64)
    return (width, height) if width and height else None


def _fill_image_keys(rec: EditableRecord) -> None:
    """image/height, width and format of a converted record, from the image when missing."""
    info = _info(rec)
    filled = []
    for key, kind, value in ((K.HEIGHT, Kind.INT64, info.height), (K.WIDTH, Kind.INT64,
                             info.width), (K.FORMAT, Kind.BYTES,
                                           info.format.encode() if info.format else None)):
        if value is not None and key not in rec.features:
            rec.set(key, kind, [value])
            filled.append(key)
    if filled:
        rec.note("image-keys", "F008", f"{', '.join(filled)} filled from the image")


def fill_texts(rec: EditableRecord, state: RepairState, rule: str = "") -> None:
    """image/object/class/text from the ids through the label map, for a record with ids only
    (always for a converted record; for the others with ``--fill-text``)."""
    table, labels = state.options.label_map, rec.values(K.LABEL, Kind.INT64)
    if table is None or not labels or K.TEXT in rec.features or not (
            rule or state.options.fill_texts):
        return
    if all(label in table.ids for label in labels):
        rec.set(K.TEXT, Kind.BYTES, [table.ids[label].encode() for label in labels])
        rec.note("class-names", rule or "text", f"{K.TEXT} filled from the label map",
                 boxes=len(labels))


def choose_layout(facts: DatasetFacts, options: RepairOptions) -> RepairOptions:
    """The options with the layout flat box lists are read in; :class:`UserError` when the data
    cannot tell and the user did not say (fix never guesses)."""
    report = LayoutReport.from_tally(facts.layout_tally)
    if not report.boxes:
        return options
    chosen = report.pick(options.box_layout, options.box_units)
    if chosen is None:
        fitting = report.fitting or report.closest
        layouts = "|".join(sorted({c.layout for c in fitting}))
        units = "|".join(sorted({c.units for c in fitting}))
        raise UserError(
            f"the flat box lists can be read more than one way: {report.describe()}. Say which "
            f"with --box-layout {layouts} --box-units {units}")
    return replace(options, layout=chosen)


# -- keys and kinds ----------------------------------------------------------------------------


def rename_keys(rec: EditableRecord, state: RepairState) -> None:
    """F002: explicit renames first, then each unknown key to the key the record lacks and its
    name and values say it holds (``odapi.fit``); a box side the record lacks is also found by
    the values alone, when exactly one key fits (more than one: the user says which)."""
    spec = K.decoder_keys(state.options.flags)
    view = None  # read once, when a key needs its values compared
    for old in list(rec.features):
        new = state.options.renames.get(old)
        rule = "F002"
        if new is None and state.options.suggested_renames and old not in K.every_od_key():
            if producer_of(old) is not None or old in K.KNOWN_UNUSED:
                continue
            if view is None:
                view = rec.view()
            fit = named_fit(view, old, spec)
            if fit is None or not fit.fits:
                continue
            new = fit.target
            repair, detail = RENAME_ON_EVIDENCE, f"{old} -> {new} (by its name and values: " \
                                                 f"{fit.describe()})"
        else:
            repair, detail = "rename", f"{old} -> {new}"
        if new is None or new == old:
            continue
        if rec.values(new):
            rec.skip("rename", rule, f"kept {old}: {new} is already set")
            continue
        rec.rename(old, new)
        rec.note(repair, rule, detail)
    if state.options.suggested_renames:
        _rename_missing_side(rec, spec)


def _rename_missing_side(rec: EditableRecord, spec: dict[str, K.KeySpec]) -> None:
    """The one box side a record lacks, from the one unknown float key whose values fit it."""
    if sum(1 for key in K.BOX_KEYS if rec.values(key)) != 3:
        return  # not exactly one side lacking (checked before the record is re-read)
    view = rec.view()
    unread = [k for k in rec.features if k not in spec and k not in K.KNOWN_UNUSED
              and producer_of(k) is None]
    found = missing_side(view, unread)
    if found is None or not found[1]:
        return
    side, fitting = found
    if len(fitting) > 1:
        rec.skip("rename", "F002", f"{', '.join(fitting)} all fit as {side}, which the record "
                 f"lacks: say which with --rename KEY={side}")
        return
    fit = fit_as(view, fitting[0], side)
    rec.rename(fitting[0], side)
    rec.note(RENAME_ON_EVIDENCE, "F002", f"{fitting[0]} -> {side} (the record lacks it; by its "
             f"values: {fit.describe()})")


def _int64(numbers: list[int]) -> list[int]:
    """``numbers`` when each fits an int64; ValueError when one does not."""
    if any(not -(2**63) <= n < 2**63 for n in numbers):
        raise ValueError("out of the int64 range")
    return numbers


def _cast(values: list[Any], kind: Kind, target: Kind) -> list[Any] | None:
    """``values`` as ``target`` when that loses nothing, else ``None``."""
    try:
        if target is Kind.FLOAT and kind is Kind.INT64:
            return [float(v) for v in values]
        if target is Kind.INT64 and kind is Kind.FLOAT and all(
                math.isfinite(v) and v == int(v) for v in values):
            return _int64([int(v) for v in values])
        if target is Kind.INT64 and kind is Kind.BYTES:
            return _int64([int(v.decode("ascii").strip()) for v in values])
        if target is Kind.FLOAT and kind is Kind.BYTES:
            return [float(v.decode("ascii").strip()) for v in values]
        if target is Kind.BYTES and kind in (Kind.INT64, Kind.FLOAT):
            return [(str(int(v)) if kind is Kind.INT64 else repr(v)).encode() for v in values]
    except (ValueError, UnicodeDecodeError, OverflowError):
        return None
    return None


def cast_kinds(rec: EditableRecord, state: RepairState) -> None:
    """F003: a key the decoder parses as another kind, cast when no value changes."""
    spec = K.decoder_keys(state.options.flags)
    for key, (kind, values) in list(rec.features.items()):
        wanted = spec.get(key)
        if wanted is None or kind in (wanted.kind, Kind.NONE):
            continue
        cast = _cast(values, kind, wanted.kind)
        if cast is None:
            rec.skip("cast", "F003", f"could not cast {key} from {kind.value} to "
                     f"{wanted.kind.value} without changing a value: left as it is")
            continue
        rec.set(key, wanted.kind, cast)
        rec.note("cast", "F003", f"{key}: {kind.value} -> {wanted.kind.value}")


# -- the image ---------------------------------------------------------------------------------


def _info(rec: EditableRecord) -> ImageInfo:
    return read_header(rec.first(K.IMAGE, Kind.BYTES) or b"")


def single_values(rec: EditableRecord, state: RepairState) -> None:
    """F004: keys the decoder parses as exactly one value, with none or several."""
    info = _info(rec)
    derived = {K.HEIGHT: info.height, K.WIDTH: info.width, K.FORMAT:
               info.format.encode() if info.format else None}
    for key, wanted in K.decoder_keys(state.options.flags).items():
        values = rec.values(key, wanted.kind)
        if wanted.count != 1 or key not in rec.features or len(values) == 1:
            continue
        value = derived.get(key)
        if value is None and values and len(set(values)) == 1:
            value = values[0]
        if value is None:
            rec.skip("single-value", "F004", f"{key} holds {len(values)} values and none can "
                     "be derived: left as it is")
            continue
        rec.set(key, wanted.kind, [value])
        shown = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        rec.note("single-value", "F004", f"{key}: {len(values)} values -> [{shown!r}]")


def _exif_mode(state: RepairState) -> ExifMode:
    return ExifMode.APPLY if state.options.exif == "apply" else ExifMode.IGNORE


def reencode_image(rec: EditableRecord, state: RepairState) -> None:
    """I001/I002 (formats TensorFlow cannot decode) and I005 with ``--exif apply``."""
    data = rec.first(K.IMAGE, Kind.BYTES)
    if not data:
        return
    info = read_header(data)
    undecodable = info.format not in ("jpeg", "png", "bmp")
    rotated = info.orientation not in (None, 1) and state.options.exif == "apply"
    if not (undecodable or rotated) or (info.problem is not None and info.format in
                                        ("jpeg", "png", "bmp")):
        return  # damaged JPEG/PNG bytes (I003) cannot be repaired by re-encoding
    options = ImageOptions(exif=_exif_mode(state),
                           reencode=Reencode(state.options.image_format) if undecodable
                           else Reencode.KEEP)
    try:
        prepared = prepare(data, None, options)
    except ImageError as exc:
        rec.skip("re-encode", "I001", f"the image cannot be re-encoded ({exc}): left as it is")
        return
    if prepared.data is data:
        return
    rec.set(K.IMAGE, Kind.BYTES, [prepared.data])
    rule = "I005" if prepared.rotated and not undecodable else (
        "I002" if info.format in ("gif", "webp") else "I001")
    what = f"{(info.format or 'unknown').upper()} -> {prepared.format.upper()}"
    if prepared.rotated:
        what += f", EXIF orientation {info.orientation} turned into the pixels (boxes kept)"
    rec.note("re-encode", rule, what)


#: Displayed (EXIF-rotated) normalized point -> stored normalized point, per orientation.
_TO_STORED: dict[int, Callable[[float, float], tuple[float, float]]] = {
    2: lambda x, y: (1 - x, y), 3: lambda x, y: (1 - x, 1 - y), 4: lambda x, y: (x, 1 - y),
    5: lambda x, y: (y, x), 6: lambda x, y: (y, 1 - x), 7: lambda x, y: (1 - y, 1 - x),
    8: lambda x, y: (1 - y, x),
}


def box_to_stored_frame(box: tuple[float, float, float, float], orientation: int
                        ) -> tuple[float, float, float, float]:
    """A normalized ``(ymin, xmin, ymax, xmax)`` drawn on the EXIF-turned view, in stored pixels."""
    turn = _TO_STORED[orientation]
    (x1, y1), (x2, y2) = turn(box[1], box[0]), turn(box[3], box[2])
    return min(y1, y2), min(x1, x2), max(y1, y2), max(x1, x2)


def exif_reverse(rec: EditableRecord, state: RepairState) -> None:
    """I005 with ``--exif reverse``: keep the pixels, turn the boxes into the stored frame."""
    if state.options.exif != "reverse":
        return
    orientation = _info(rec).orientation
    boxes = rec.boxes()
    if orientation in (None, 1) or not boxes or max(max(b) for b in boxes) > ASSERT_LIMIT:
        return
    rec.set_boxes([box_to_stored_frame(box, orientation) for box in boxes])
    rec.note("exif-boxes", "I005", f"{len(boxes)} box(es) turned from the EXIF orientation "
             f"{orientation} view into the stored pixels", boxes=len(boxes))


def image_fields(rec: EditableRecord, state: RepairState) -> None:
    """I004/I006/I007: image/height, image/width and image/format as the bytes say."""
    info = _info(rec)
    if info.size is None:
        return
    for key, real in ((K.WIDTH, info.width), (K.HEIGHT, info.height)):
        stored = rec.first(key, Kind.INT64)
        if stored is not None and stored != real:
            rec.set(key, Kind.INT64, [real])
            rec.note("image-size", "I004", f"{key}: {stored} -> {real} (the image's own size)")
    declared = rec.first(K.FORMAT, Kind.BYTES)
    if declared is None or info.format is None:
        return
    text = declared.decode("utf-8", "replace").strip().lower()
    if {"jpg": "jpeg", "tif": "tiff"}.get(text, text) != info.format:
        rec.set(K.FORMAT, Kind.BYTES, [info.format.encode()])
        rule = "I007" if text == "raw" else "I006"
        rec.note("image-format", rule, f"image/format: {text!r} -> {info.format!r}")


# -- boxes -------------------------------------------------------------------------------------


def normalize_pixels(rec: EditableRecord, state: RepairState) -> None:
    """B005: pixel coordinates divided by the image size, when every box fits the image."""
    boxes = rec.boxes()
    size = (_info(rec).size or _stored_size(rec)) if boxes else None
    if size is None:
        return
    sides = tuple(zip(*boxes, strict=True))
    if all_boxes_fine(sides, size) or not survey_each(sides, size).pixel:
        return
    finite = [b for b in boxes if all(map(math.isfinite, b))]
    if not fits_as_pixels(finite, size):
        rec.skip("normalize", "B005", f"coordinates up to {max(map(max, finite)):g} do not fit "
                 f"the {size[0]}×{size[1]} image as pixels: left as they are")
        return
    width, height = size
    rec.set_boxes([(b[0] / height, b[1] / width, b[2] / height, b[3] / width) for b in boxes])
    rec.note("normalize", "B005", f"{len(boxes)} box(es) divided by the {width}×{height} image "
             "size", boxes=len(boxes))


def _replace_boxes(rec: EditableRecord, boxes: list, new: list, repair: str, rule: str,
                   what: str) -> None:
    """Put ``new`` boxes in place of ``boxes`` and note how many changed."""
    count = sum(1 for old, changed in zip(boxes, new, strict=True) if old != changed)
    if count:
        rec.set_boxes(new)
        rec.note(repair, rule, f"{count} {what}", boxes=count)


def swap_inverted(rec: EditableRecord, state: RepairState) -> None:
    """B006: a min above its max swapped."""
    boxes = rec.boxes()
    swapped = [(min(b[0], b[2]), min(b[1], b[3]), max(b[0], b[2]), max(b[1], b[3]))
               for b in boxes]
    _replace_boxes(rec, boxes, swapped, "swap", "B006", "inverted box(es): min and max swapped")


def clip_boxes(rec: EditableRecord, state: RepairState) -> None:
    """B004: coordinates a little outside [0, 1] clipped to it (pixels are B005's)."""
    boxes = rec.boxes()
    finite = [b for b in boxes if all(map(math.isfinite, b))]
    if not finite or max(map(max, finite)) > ASSERT_LIMIT:
        return
    clipped = [tuple(min(max(v, 0.0), 1.0) if math.isfinite(v) else v for v in b) for b in boxes]
    _replace_boxes(rec, boxes, clipped, "clip", "B004", "box(es) clipped to [0, 1]")


def drop_bad_boxes(rec: EditableRecord, state: RepairState) -> None:
    """B003/B012/B007: boxes with NaN or infinite coordinates, or no area, dropped (counted)."""
    boxes = rec.boxes()
    reasons: dict[str, set[int]] = {"B003": set(), "B012": set(), "B007": set()}
    for i, box in enumerate(boxes):
        if any(v != v for v in box):
            reasons["B003"].add(i)
        elif any(math.isinf(v) for v in box):
            reasons["B012"].add(i)
        elif box[0] >= box[2] or box[1] >= box[3]:
            reasons["B007"].add(i)
    what = {"B003": "NaN coordinates", "B012": "infinite coordinates", "B007": "no area"}
    for rule, indices in reasons.items():
        if indices:
            rec.note("drop-box", rule, f"dropped {len(indices)} box(es) with {what[rule]} "
                     f"(index {', '.join(map(str, sorted(indices)))})", boxes=len(indices),
                     dropped=True)
    dropped = set().union(*reasons.values())
    if dropped:
        rec.drop_boxes(dropped)


# -- classes -----------------------------------------------------------------------------------


def _respell(rec: EditableRecord, names: list[str], table: LabelTable) -> list[str]:
    """L004: names the label map knows under another spelling (case, spaces, plural)."""
    fixed = []
    for name in names:
        other = table.respelled(name) if table.lookup(name) < 1 else None
        if other is not None:
            rec.note("class-name", "L004", f"class name {name!r} -> {other!r} (the label map's "
                     "spelling)", boxes=1)
        fixed.append(other or name)
    if fixed != names:
        rec.set(K.TEXT, Kind.BYTES, [name.encode() for name in fixed])
    return fixed


def fill_labels(rec: EditableRecord, state: RepairState) -> None:
    """L004/L006: class ids from the class names through the label map."""
    table = state.options.label_map
    texts = rec.values(K.TEXT, Kind.BYTES)
    if not texts:
        return
    names = [t.decode("utf-8", "replace") for t in texts]
    labels = rec.values(K.LABEL, Kind.INT64)
    if table is None:
        if len(labels) == len(names):
            state.facts.class_pairs.update(zip(names, labels, strict=True))
        else:
            state.facts.unknown_texts.update(names)
        return
    names = _respell(rec, names, table)
    ids = [table.lookup(name) for name in names]
    unknown = [n for n, i in zip(names, ids, strict=True) if i < 1]
    state.facts.unknown_texts.update(unknown)
    if unknown or labels == ids:
        return
    rule = "L006" if not labels else ("L001" if min(labels, default=1) < 1 else "L004")
    rec.set(K.LABEL, Kind.INT64, ids)
    rec.note("labels", rule, f"{K.LABEL} set from {K.TEXT} through the label map: {ids[:10]}",
             boxes=len(ids))


def drop_unresolvable(rec: EditableRecord, state: RepairState) -> None:
    """L001 with ``--drop-unfixable``: boxes whose class id is below 1 and has no name."""
    labels = rec.values(K.LABEL, Kind.INT64)
    bad = {i for i, label in enumerate(labels) if label < 1}
    if not bad or rec.values(K.TEXT) or len(labels) != len(rec.boxes()):
        return
    if not state.options.drop_unfixable:
        rec.skip("labels", "L001", f"{len(bad)} box(es) with class id below 1 and no name: left "
                 "as they are (--drop-unfixable drops them)")
        return
    rec.drop_boxes(bad)
    rec.note("drop-box", "L001", f"dropped {len(bad)} box(es) with class id below 1 and no "
             "name", boxes=len(bad), dropped=True)


# -- identity ----------------------------------------------------------------------------------


def unique_source_id(rec: EditableRecord, state: RepairState) -> None:
    """D001/D002: an empty source id derived from the record, duplicates given a suffix."""
    current = rec.first(K.SOURCE_ID, Kind.BYTES) or b""
    if not current:
        image = rec.first(K.IMAGE, Kind.BYTES) or b""
        filename = rec.first("image/filename", Kind.BYTES) or b""
        base = filename or hashlib.sha256(image).hexdigest()[:16].encode()
        new, rule = base, "D002"
    elif state.facts.source_ids[current] > 1:
        new, rule = current, "D001"
    else:
        return
    state.ids_given[new] += 1
    if state.ids_given[new] > 1 or (rule == "D002" and state.facts.source_ids[new]):
        new += b"#%d" % state.ids_given[new]
    if new != current:
        rec.set(K.SOURCE_ID, Kind.BYTES, [new])
        rec.note("source-id", rule, f"image/source_id: {current.decode(errors='replace')!r} "
                 f"-> {new.decode(errors='replace')!r}")


#: Every repair, in the order it runs.
REPAIRS: tuple[Repair, ...] = (
    convert_foreign, rename_keys, cast_kinds, single_values, reencode_image, exif_reverse,
    image_fields, normalize_pixels, swap_inverted, clip_boxes, drop_bad_boxes, fill_labels,
    drop_unresolvable, fill_texts, unique_source_id,
)


def unfixable(rec: EditableRecord) -> str | None:
    """Why a repaired record still cannot train (to drop it on request), or ``None``."""
    image = rec.first(K.IMAGE, Kind.BYTES)
    info = read_header(image) if image else None
    if info is None:
        return "F001: the record has no image"
    if info.problem is not None:
        return f"I001/I003: the image cannot be decoded ({info.detail})"
    sides = [len(rec.values(key)) for key in K.BOX_KEYS]
    if len(set(sides)) != 1:
        return f"B001: the four box lists differ in length ({', '.join(map(str, sides))})"
    classes = len(rec.values(K.LABEL)) or len(rec.values(K.TEXT))
    if sides[0] and classes != sides[0]:
        return f"B002: {sides[0]} boxes but {classes} classes"
    return None


def repair_record(rec: EditableRecord, state: RepairState) -> None:
    """Run every repair on one record, then note what the dataset-level repairs need."""
    for repair in REPAIRS:
        repair(rec, state)
    boxes = len(rec.boxes())
    state.facts.max_boxes = max(state.facts.max_boxes, boxes)
    state.facts.max_label = max([state.facts.max_label, *rec.values(K.LABEL, Kind.INT64)])
