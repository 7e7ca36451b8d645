"""F008, F009 and B013: boxes and classes under keys the OD API does not read, and the layout of
flat box lists (``odapi.foreign``, ``odapi.layout``)."""

from __future__ import annotations

from typing import Any

from tfod_doctor.catalogue import boxes as B
from tfod_doctor.catalogue import features as F
from tfod_doctor.checks._od import od_record, record_foreign_keys, rounded
from tfod_doctor.checks.base import Emit, RecordPlace, aggregator, record_check
from tfod_doctor.checks.context import CheckContext
from tfod_doctor.findings import Finding, Location, Severity
from tfod_doctor.odapi import features as K
from tfod_doctor.odapi.foreign import NONE, ForeignKeys
from tfod_doctor.odapi.layout import (
    CANDIDATES,
    LayoutReport,
    add_to_tally,
    merge_tallies,
    new_tally,
)
from tfod_doctor.records import FeatureView, Kind

_SHOWN = 8
#: What training says when boxes have no class (B002 with zero classes).
_EMPTY_CLASSES = "InvalidArgumentError: indices[0] = 0 is not in [0, 0)"


@record_check
def check_foreign_keys(view: FeatureView, where: RecordPlace, ctx: CheckContext,
                       emit: Emit) -> None:
    """F008 (a flat box list) and F009 (classes under another key)."""
    foreign = record_foreign_keys(view)
    if foreign is NONE or not foreign:
        return
    if foreign.boxes is not None:
        emit(_flat_boxes(view, foreign, where))
    for key, target in foreign.renames().items():
        emit(_class_key(view, key, target, foreign, where))


def _shown(view: FeatureView, key: str) -> list[Any]:
    values = list(view[key][:_SHOWN])
    if view.kind(key) is Kind.FLOAT:
        return rounded(values)
    if view.kind(key) is Kind.BYTES:
        return [value.decode("utf-8", "replace")[:32] for value in values]
    return values


def _flat_boxes(view: FeatureView, foreign: ForeignKeys, where: RecordPlace) -> Finding:
    key = foreign.boxes
    assert key is not None
    count = len(view[key])
    boxes = count // 4
    beside = foreign.labels or foreign.texts or (K.LABEL if view.length(K.LABEL) else
                                                 K.TEXT if view.length(K.TEXT) else None)
    message = (f"{key} holds {count} values: {boxes} box(es) in one flat list of 4 values per "
               "box. The OD API reads boxes only from four separate lists, "
               f"{', '.join(K.BOX_KEYS)}, and this record has none: every box is lost and the "
               "image trains as one without objects")
    return F.FLAT_BOX_LIST.finding(
        message, where.at(key), key=key, values=count, boxes=boxes, od_keys=list(K.BOX_KEYS),
        first_values=_shown(view, key), kind=view.kinds[key].value, class_key=beside)


def _class_key(view: FeatureView, key: str, target: str, foreign: ForeignKeys,
               where: RecordPlace) -> Finding:
    count = len(view[key])
    what = "class name(s)" if target == K.TEXT else "class id(s)"
    boxes = od_record(view).n_boxes
    lost = (f"its {boxes} box(es) have no class, and gathering the classes per box stops "
            "training" if boxes else "the classes are lost")
    message = (f"{key} holds {count} {what}; the OD API reads classes only from {K.LABEL} "
               f"(ids) and {K.TEXT} (names), and this record has neither: {lost}")
    hint = (f"rename {key} to {target}" + (" (int64 ids from the label map)"
                                          if target == K.LABEL else ""))
    evidence: dict[str, Any] = {"tensorflow": _EMPTY_CLASSES} if boxes else {}
    return F.FOREIGN_CLASS_KEY.finding(
        message, where.at(key), hint=hint, severity=Severity.ERROR if boxes else None,
        key=key, values=count, od_key=target, od_keys=[K.LABEL, K.TEXT],
        first_values=_shown(view, key), kind=view.kinds[key].value, **evidence)


class LayoutAggregator:
    """B013: which layouts fit the flat box lists of the whole dataset."""

    name = "box-layout"

    def new(self) -> dict[str, Any]:
        return {"tally": new_tally(), "first": None, "keys": {}}

    def add(self, state: dict[str, Any], view: FeatureView, where: RecordPlace,
            ctx: CheckContext) -> None:
        key = record_foreign_keys(view).boxes
        if key is None:
            return
        add_to_tally(state["tally"], view[key], od_record(view).image_size(ctx.deep))
        place = (where.file, where.index, where.offset, key)
        if state["first"] is None or place < state["first"]:
            state["first"] = place
        state["keys"][key] = state["keys"].get(key, 0) + 1

    def merge(self, left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
        merge_tallies(left["tally"], right["tally"])
        if right["first"] is not None and (left["first"] is None
                                           or right["first"] < left["first"]):
            left["first"] = right["first"]
        for key, count in right["keys"].items():
            left["keys"][key] = left["keys"].get(key, 0) + count
        return left

    def finish(self, state: dict[str, Any], ctx: CheckContext) -> tuple[list[Finding], dict]:
        report = LayoutReport.from_tally(state["tally"])
        if state["first"] is None or not report.boxes:
            return [], {}
        file, index, offset, key = state["first"]
        keys = ", ".join(sorted(state["keys"]))
        message = (f"box layout of the flat box lists ({keys}, {report.records} record(s)): "
                   f"{report.describe()}")
        counts = "; ".join(f"{c}: {report.invalid_count(c)}" for c in _ranked(report))
        message += f". Boxes each layout would make invalid: {counts}"
        verdict = report.verdict
        hint = None
        if verdict == "ambiguous":
            hint = ("only the writer of the records knows which it is: check the script that "
                    "wrote them, then convert with that layout (`tfod-doctor fix --box-layout "
                    f"{'|'.join(sorted({c.layout for c in report.fitting}))}"
                    f" --box-units {'|'.join(sorted({c.units for c in report.fitting}))}`)")
        severity = Severity.INFO if verdict == "one" else Severity.WARNING
        finding = B.BOX_LAYOUT.finding(
            message, Location(file=file, record=index, offset=offset, key=key), hint=hint,
            severity=severity, **report.to_dict())
        return [finding], {"box_layout": report.to_dict()}


def _ranked(report: LayoutReport) -> list:
    return sorted(CANDIDATES, key=lambda c: (report.invalid_count(c), CANDIDATES.index(c)))


aggregator(LayoutAggregator())
