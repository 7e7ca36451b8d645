"""L rules: class ids and names as the decoder resolves them (spec §2)."""

from __future__ import annotations

from collections.abc import Sequence

from tfod_doctor.catalogue import labels as L
from tfod_doctor.checks._od import (
    Classes,
    box_classes,
    from_schema,
    kind_ok,
    listing,
    n_values,
    od_record,
    resolve,
    texts_are_read,
)
from tfod_doctor.checks.base import Emit, RecordPlace, record_check
from tfod_doctor.checks.context import CheckContext, LabelTable
from tfod_doctor.findings import Severity
from tfod_doctor.odapi import features as K
from tfod_doctor.odapi.record import ODRecord, texts_of
from tfod_doctor.records import FeatureView

_ONE_HOT = "no error: tf.one_hot(label - 1, num_classes) is an all-zero row (background)"
_K_HOT_ERROR = "InvalidArgumentError: Indices are not valid (out of bounds).  Shape: [{n}]"


@record_check
def check_labels(view: FeatureView, where: RecordPlace, ctx: CheckContext, emit: Emit) -> None:
    """L001-L007 on one record."""
    record = od_record(view)
    classes = box_classes(record, ctx)
    if from_schema(view, "labels plain", _plain_schema) and _clean(record, classes, ctx):
        return
    if kind_ok(view, classes.source):
        _class_ids(classes, ctx, where, emit)
        if classes.names is not None and classes.ids is not None:
            _unknown_names(classes, ctx.label_map, where, emit)
    if record.texts and record.labels and kind_ok(view, K.TEXT) and kind_ok(view, K.LABEL):
        _disagreement(record, classes, ctx, where, emit)
    _text_only(record, ctx, where, emit)
    if not view.kinds.keys().isdisjoint(_IMAGE_LEVEL_KEYS):
        _image_level(view, ctx, where, emit)


def _plain_schema(view: FeatureView) -> bool:
    """Whether the keys and kinds leave :func:`_clean` to judge: class/text and class/label of
    the kinds the decoder parses (or absent), and no image-level class keys."""
    return (kind_ok(view, K.TEXT) and kind_ok(view, K.LABEL)
            and view.kinds.keys().isdisjoint(_IMAGE_LEVEL_KEYS))


def _clean(record: ODRecord, classes: Classes, ctx: CheckContext) -> bool:
    """Whether the classes of a record of a plain schema give no L finding, judged in C for the
    common cases (a label map given); ``False`` sends the record to the detailed checks.

    From text: every name in the label map with an id in 1..num_classes, and the labels, if
    any, the same ids. From labels: ids in 1..num_classes and in the label map, and the text, if
    any, naming the same ids.
    """
    table = ctx.label_map
    if table is None:
        return False
    texts, labels = record.texts, record.labels
    if classes.names is not None:  # from text, through the label map
        ids = classes.ids
        return ids is not None and _ids_fine(ids, True, ctx) and (not labels or ids == labels)
    if not labels:
        return not (texts and record.n_boxes)  # class/text alone: L006's case
    return _ids_fine(labels, False, ctx) and (not texts or table.lookup_all(texts) == labels)


def _indices(ids: Sequence[int], test) -> list[int]:
    return [i for i, value in enumerate(ids) if test(value)]


def _ids_fine(ids: Sequence[int], from_text: bool, ctx: CheckContext) -> bool:
    """Whether :func:`_class_ids` has nothing to say: every id from 1 to num_classes, and every
    label id in the label map (tested on the smallest and largest, and as a set)."""
    if min(ids) < 1 or (ctx.num_classes is not None and max(ids) > ctx.num_classes):
        return False
    table = ctx.label_map
    return table is None or from_text or all(map(table.ids.__contains__, ids))


def _class_ids(classes: Classes, ctx: CheckContext, where: RecordPlace, emit: Emit) -> None:
    ids = classes.ids
    from_text = classes.names is not None
    if not ids or _ids_fine(ids, from_text, ctx):
        return
    below = _indices(ids, lambda v: v < 1 and not (from_text and v == -1))
    if below:
        values = sorted({ids[i] for i in below})
        dropped = values == [-1]
        effect = ("class -1 drops them without a word" if dropped else
                  "one_hot(label - 1) is an all-zero row, so they train as background and eval "
                  "scores them as class 1")
        emit(L.BELOW_ONE.finding(
            f"{listing(below, 'have')} class id {_values(values)} (ids start at 1): {effect}",
            where.at(classes.source), ids=values, boxes=below[:50],
            tensorflow=None if dropped else _ONE_HOT))
    if ctx.num_classes is not None:
        above = _indices(ids, lambda v: v > ctx.num_classes)
        if above:
            values = sorted({ids[i] for i in above})
            emit(L.ABOVE_NUM_CLASSES.finding(
                f"{listing(above, 'have')} class id {_values(values)}, above num_classes="
                f"{ctx.num_classes}: one_hot gives an all-zero row, so they train as background "
                "and eval scores them as class 1", where.at(classes.source), ids=values,
                num_classes=ctx.num_classes, boxes=above[:50], tensorflow=_ONE_HOT))
    table = ctx.label_map
    if table is not None and not from_text:
        limit = ctx.num_classes if ctx.num_classes is not None else float("inf")
        missing = _indices(ids, lambda v: 1 <= v <= limit and v not in table.ids)
        if missing:
            values = sorted({ids[i] for i in missing})
            emit(L.LABEL_NOT_IN_MAP.finding(
                f"{listing(missing, 'have')} class id {_values(values)}, which the label map does "
                f"not define (it has {_values(sorted(table.ids))})", where.at(classes.source),
                ids=values, label_map_ids=sorted(table.ids)[:50]))


def _values(values: Sequence[int]) -> str:
    shown = ", ".join(str(v) for v in values[:10])
    return shown + (", ..." if len(values) > 10 else "")


def _unknown_names(classes: Classes, table: LabelTable | None, where: RecordPlace,
                   emit: Emit) -> None:
    if table is None or classes.ids is None or classes.names is None or -1 not in classes.ids:
        return
    unknown = _indices(classes.ids, lambda v: v == -1)
    if not unknown:
        return
    names = sorted({classes.names[i] for i in unknown})
    suggestions = {name: table.near_misses(name) for name in names}
    near = "; ".join(f"{name!r}: did you mean {', '.join(map(repr, hits))}?"
                     for name, hits in suggestions.items() if hits)
    shown = ", ".join(map(repr, names[:10]))
    message = (f"{listing(unknown, 'are')} named {shown}, which the label map does not have: the "
               "decoder maps such names to -1 and the OD API drops their boxes without a word")
    emit(L.TEXT_NOT_IN_MAP.finding(
        message + (f" ({near})" if near else ""), where.at(classes.source),
        names=names[:20], suggestions={k: v for k, v in suggestions.items() if v},
        boxes=unknown[:50], label_map=table.path))


def _disagreement(record: ODRecord, classes: Classes, ctx: CheckContext, where: RecordPlace,
                  emit: Emit) -> None:
    labels = record.labels
    if len(record.texts) != len(labels):
        emit(L.TEXT_LABEL_DISAGREE.finding(
            f"class/text has {len(record.texts)} names but class/label {len(labels)} ids; "
            f"{_winner(ctx)}", where.at(K.TEXT), texts=len(record.texts), labels=len(labels)))
        return
    table = ctx.label_map
    if table is None:
        return
    text_ids = (classes.ids if classes.source == K.TEXT and classes.ids is not None
                else table.lookup_all(record.texts))
    if text_ids == labels:
        return
    differ = [i for i, (text_id, label) in enumerate(zip(text_ids, labels, strict=True))
              if text_id not in (-1, label)]
    if differ:
        texts = texts_of(record.texts)
        first = differ[0]
        emit(L.TEXT_LABEL_DISAGREE.finding(
            f"{listing(differ)}: class/text and class/label disagree (box {first}: "
            f"{texts[first]!r} is id {text_ids[first]} in the label map, the label "
            f"says {labels[first]}); {_winner(ctx)}", where.at(K.LABEL),
            boxes=[{"index": i, "text": texts[i], "text_id": text_ids[i],
                    "label": labels[i]} for i in differ[:10]]))


def _winner(ctx: CheckContext) -> str:
    return ("with label_map_path set, the text wins and the label is ignored"
            if texts_are_read(ctx) else
            "without label_map_path, the label wins and the text is ignored")


def _text_only(record: ODRecord, ctx: CheckContext, where: RecordPlace, emit: Emit) -> None:
    view = record.view
    if not record.n_boxes or n_values(view, K.LABEL) or not record.texts or texts_are_read(ctx):
        return
    known = ctx.label_map_in_reader is False
    message = (f"{record.n_boxes} boxes named only by class/text, and the input reader has no "
               "label_map_path: the decoder reads no classes and training stops")
    if not known:
        message = (f"{record.n_boxes} boxes named only by class/text: the input reader must set "
                   "label_map_path, or training stops when the classes are gathered")
    emit(L.TEXT_ONLY.finding(
        message, where.at(K.LABEL), severity=None if known else Severity.WARNING,
        boxes=record.n_boxes, tensorflow=L.TEXT_ONLY.tf_message))


#: Every key :func:`_image_level` reads: a record with none of them gives it nothing to check.
_IMAGE_LEVEL_KEYS = frozenset({K.IMAGE_TEXT, K.IMAGE_LABEL, K.NEG_CATEGORY_IDS,
                               K.NOT_EXHAUSTIVE_IDS})


def _image_level(view: FeatureView, ctx: CheckContext, where: RecordPlace, emit: Emit) -> None:
    texts, labels = view.bytes_list(K.IMAGE_TEXT), view.ints(K.IMAGE_LABEL)
    if texts or labels:
        classes = resolve(ctx, K.IMAGE_TEXT, K.IMAGE_LABEL, texts, labels)
        if classes.names is not None and classes.ids is not None:
            _unknown_names(classes, ctx.label_map, where, emit)
        _k_hot_range(classes.source, classes.ids, ctx, where, emit)
    for key in (K.NEG_CATEGORY_IDS, K.NOT_EXHAUSTIVE_IDS):
        if n_values(view, key):
            _k_hot_range(key, view.ints(key), ctx, where, emit)


def _k_hot_range(key: str, ids: Sequence[int] | None, ctx: CheckContext, where: RecordPlace,
                 emit: Emit) -> None:
    if not ids:
        return
    limit = ctx.num_classes
    bad = sorted({v for v in ids if v != -1 and (v < 1 or (limit is not None and v > limit))})
    if not bad:
        return
    bound = f"1..{limit}" if limit is not None else "1..num_classes"
    emit(L.IMAGE_LABEL_RANGE.finding(
        f"{key} holds {_values(bad)}, outside {bound}: k-hot encoding them stops training",
        where.at(key), ids=bad, num_classes=limit,
        tensorflow=_K_HOT_ERROR.format(n=limit if limit is not None else "num_classes")))
