"""The boxes themselves, for what the model makes of them (the anchor analysis of
:mod:`tfod_doctor.model.coverage`): every box's corners, class and image size, and which record
it is in.

``add`` only extends a few lists per record; the boxes are turned into numpy arrays in bulk.
Up to :data:`MAX_BOXES` boxes are kept; past that, whole records are kept by a hash of their
file and index (the lowest hashes first), which is the same sample whatever the order, the
number of workers or the runner, so partial states merge associatively. The exact number of
boxes per class is kept apart, so counts made on the sample can be scaled to the dataset.
``finish`` leaves the arrays in the state (:func:`sample_of`) and adds nothing to the report.
"""

from __future__ import annotations

import zlib
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from tfod_doctor.checks._od import box_classes, od_record
from tfod_doctor.checks.base import RecordPlace, aggregator
from tfod_doctor.checks.context import CheckContext
from tfod_doctor.records import FeatureView

#: At most this many boxes are kept (whole records, chosen by hash).
MAX_BOXES = 10_000
#: Boxes gathered in lists before they are turned into arrays.
_QUEUED_BOXES = 16_384
#: The per-box columns, in the order the arrays keep them.
_COLUMNS = ("ymin", "xmin", "ymax", "xmax", "width", "height", "record", "priority", "train")
#: The split a record is in, as a column: 1 for train, 0 for any other (or none).
_ROLES = {"train": 1}
NAME = "box_sample"


@dataclass
class BoxSample:
    """The gathered boxes: ``columns`` (numpy arrays, one value per box: corners normalized,
    the image's width and height in pixels, 0 when unknown, a record number unique in the
    sample, the record's hash, and 1 for a box of the train split), ``classes`` (the class
    label of each box: ``id name``, the name or ``?``), ``class_totals`` (every box of the
    dataset, per ``(train, class label)``) and ``boxes`` (how many boxes the dataset has; more
    than the sample holds when it is sampled)."""

    columns: dict[str, np.ndarray]
    classes: np.ndarray
    class_totals: dict[tuple[int, str], int]
    boxes: int

    @property
    def sampled(self) -> bool:
        """Whether the sample holds fewer boxes than the dataset."""
        return len(self.classes) < self.boxes


def _new_state() -> dict[str, Any]:
    return {
        "ymin": [], "xmin": [], "ymax": [], "xmax": [], "keys": [],
        #: Per record: ``(boxes, file id, record index, width, height, train)``.
        "records": [],
        "files": {},
        "queued": 0,
        "parts": [],
        "totals": Counter(),
        "boxes": 0,
    }


def _file_id(state: dict[str, Any], file: str) -> int:
    files = state["files"]
    found = files.get(file)
    if found is None:
        found = files[file] = zlib.crc32(file.encode("utf-8", "replace"))
    return found


def _fold(state: dict[str, Any]) -> None:
    """Turn the queued lists into arrays, and keep the sample within :data:`MAX_BOXES`."""
    if state["queued"]:
        records = np.array(state["records"], dtype=np.int64).reshape(-1, 6)
        counts = records[:, 0]
        keys = state["keys"]
        train = np.repeat(records[:, 5], counts)
        state["totals"].update(zip(train.tolist(), keys, strict=True))
        state["boxes"] += len(keys)
        part = {name: np.asarray(state[name], dtype=np.float64)
                for name in ("ymin", "xmin", "ymax", "xmax")}
        part["width"] = np.repeat(records[:, 3], counts).astype(np.float64)
        part["height"] = np.repeat(records[:, 4], counts).astype(np.float64)
        priority = _hash(records[:, 1], records[:, 2])
        part["priority"] = np.repeat(priority, counts)
        part["record"] = part["priority"]
        part["train"] = train
        part["keys"] = np.array(keys, dtype=object)
        state["parts"].append(part)
        for name in ("ymin", "xmin", "ymax", "xmax", "keys", "records"):
            state[name] = []
        state["queued"] = 0
    if len(state["parts"]) > 1:
        state["parts"] = [_concat(state["parts"])]
    if state["parts"] and len(state["parts"][0]["keys"]) > MAX_BOXES:
        state["parts"] = [_bottom(state["parts"][0])]


def _hash(file_ids: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """A well-mixed 63-bit hash of (file, record index) (splitmix64's finalizer)."""
    with np.errstate(over="ignore"):
        x = (file_ids.astype(np.uint64) << np.uint64(32)) ^ indices.astype(np.uint64)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(1)).astype(np.int64)


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def _bottom(part: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The boxes of the records with the lowest hashes, as many as fit in :data:`MAX_BOXES`."""
    order = np.argsort(part["priority"], kind="stable")
    ranked = part["priority"][order]
    # A record's boxes are adjacent once sorted; keep whole records only.
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    ends = np.r_[starts[1:], len(ranked)]
    keep_records = int(np.searchsorted(ends, MAX_BOXES, side="right"))
    cut = int(ends[keep_records - 1]) if keep_records else 0
    chosen = np.sort(order[:cut], kind="stable")
    return {name: values[chosen] for name, values in part.items()}


class BoxSampler:
    """Gathers :class:`BoxSample` (no findings of its own)."""

    name = NAME

    def new(self) -> dict[str, Any]:
        return _new_state()

    def add(self, state: dict[str, Any], view: FeatureView, where: RecordPlace,
            ctx: CheckContext) -> None:
        if not ctx.sample_boxes:
            return
        record = od_record(view)
        n = record.n_boxes
        if not (n and record.box_kinds_ok and record.lists_agree):
            return
        size = record.image_size(ctx.deep) or (0, 0)
        classes = box_classes(record, ctx)
        keys = classes.ids if classes.names is None else classes.names
        if keys is None or len(keys) != n:
            keys = [None] * n
        ymin, xmin, ymax, xmax = record.boxes
        state["ymin"] += ymin
        state["xmin"] += xmin
        state["ymax"] += ymax
        state["xmax"] += xmax
        state["keys"] += keys
        state["records"].append((n, _file_id(state, where.file), where.index, size[0], size[1],
                                 _ROLES.get(where.role, 0)))
        state["queued"] += n
        if state["queued"] >= _QUEUED_BOXES:
            _fold(state)

    def merge(self, left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
        _fold(left)
        _fold(right)
        left["parts"] += right["parts"]
        left["totals"].update(right["totals"])
        left["boxes"] += right["boxes"]
        _fold(left)
        return left

    def finish(self, state: dict[str, Any], ctx: CheckContext) -> tuple[list, dict]:
        _fold(state)
        state["sample"] = _sample(state, ctx)
        return [], {}


def _label(key: Any, ctx: CheckContext) -> str:
    """A class as findings name it: ``3 'car'``, ``'car'`` (text only), ``3`` or ``?``."""
    table = ctx.label_map.ids if ctx.label_map is not None else {}
    if isinstance(key, str):
        ids = [i for i, name in table.items() if name == key]
        return f"{ids[0]} {key!r}" if ids else repr(key)
    if key is None or key == -1:
        return "?"
    name = table.get(key)
    return f"{key} {name!r}" if name is not None else str(key)


def _sample(state: dict[str, Any], ctx: CheckContext) -> BoxSample:
    part = state["parts"][0] if state["parts"] else None
    if part is None:
        columns = {name: np.zeros(0) for name in _COLUMNS}
        return BoxSample(columns, np.zeros(0, dtype=object), {}, 0)
    labels = {key: _label(key, ctx) for _, key in state["totals"]}
    classes = np.array([labels[key] for key in part["keys"].tolist()], dtype=object)
    _, record = np.unique(part["record"], return_inverse=True)
    columns = {name: part[name] for name in _COLUMNS if name != "record"}
    columns["record"] = record.astype(np.int64)
    totals: Counter[tuple[int, str]] = Counter()
    for (train, key), count in state["totals"].items():
        totals[(train, labels[key])] += count
    return BoxSample(columns, classes, dict(totals), state["boxes"])


def sample_of(states: dict[str, Any]) -> BoxSample | None:
    """The finished sample in the engine's merged states (``None`` before ``finish``)."""
    state = states.get(NAME)
    return state.get("sample") if state else None


aggregator(BoxSampler())
