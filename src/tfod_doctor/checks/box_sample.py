"""The boxes themselves, for what the model makes of them (the anchor analysis of
:mod:`tfod_doctor.model.coverage`): every box's corners, class and image size, and which record
it is in.

:mod:`~tfod_doctor.checks.statistics` gathers the boxes (``check`` only) and hands every
:class:`~tfod_doctor.checks.box_batch.BoxBatch` to :func:`fold`. Up to :data:`MAX_BOXES` boxes
are kept; past that, whole records are kept by a hash of their file and index (the lowest
hashes first), which is the same sample whatever the order, the number of workers or the
runner, so partial samples merge associatively. The exact number of boxes per class is kept
apart, so counts made on the sample can be scaled to the dataset. :func:`finish` makes the
:class:`BoxSample` that :func:`sample_of` finds in the engine's merged states.
"""

from __future__ import annotations

import zlib
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from tfod_doctor.checks.box_batch import BoxBatch, ClassKey

#: At most this many boxes are kept (whole records, chosen by hash).
MAX_BOXES = 2_000
#: Parts are gathered up to this many boxes before they are cut down to the sample.
_GATHERED_BOXES = 8_000
#: The per-box columns, in the order the arrays keep them.
_COLUMNS = ("ymin", "xmin", "ymax", "xmax", "width", "height", "record", "priority", "train")
#: The aggregator whose state holds the finished sample.
NAME = "statistics"


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


def new_sample() -> dict[str, Any]:
    """An empty sample: ``parts`` (column arrays, ``keys`` the class of each box), ``totals``
    (every box, per ``(train, class)``) and ``boxes`` (how many boxes in all)."""
    return {"parts": [], "totals": Counter(), "boxes": 0}


@dataclass
class _Part:
    """Boxes of the sample: ``columns`` (arrays, one value per box; ``code`` indexes
    ``classes``)."""

    columns: dict[str, np.ndarray]
    classes: list[ClassKey | None]

    def __len__(self) -> int:
        return len(self.columns["priority"])


def fold(sample: dict[str, Any], batch: BoxBatch, train: bool) -> None:
    """Add the boxes of ``batch`` (of the train split, or not)."""
    n = len(batch.classes)
    counts = np.bincount(batch.box_codes + 1, minlength=n + 1).tolist()
    classes = [*batch.classes, None]  # code -1, the last: no class per box
    flag = int(train)
    sample["totals"].update({(flag, classes[code - 1]): count
                             for code, count in enumerate(counts) if count})
    sample["boxes"] += len(batch)
    files = {file: zlib.crc32(file.encode("utf-8", "replace")) for file in set(batch.files)}
    file_ids = np.fromiter(map(files.__getitem__, batch.files), np.int64, batch.n_records)
    # Corners are float32 in the records; float32 keeps them, and image sizes up to 2**24.
    columns = {side: getattr(batch, side).astype(np.float32)
               for side in ("ymin", "xmin", "ymax", "xmax", "width", "height")}
    columns.update(priority=_hash(file_ids, batch.indices)[batch.owner],
                   box=batch.box_index.astype(np.int32),
                   train=np.full(len(batch), flag, dtype=np.int8),
                   code=np.where(batch.box_codes < 0, n, batch.box_codes))
    sample["parts"].append(_Part(columns, classes))
    if sum(len(part) for part in sample["parts"]) > _GATHERED_BOXES:
        compact(sample)


def merge(left: dict[str, Any], right: dict[str, Any]) -> None:
    """Add the sample ``right`` to ``left``."""
    left["parts"] += right["parts"]
    left["totals"].update(right["totals"])
    left["boxes"] += right["boxes"]
    if sum(len(part) for part in left["parts"]) > _GATHERED_BOXES:
        compact(left)


def compact(sample: dict[str, Any]) -> None:
    """One part, of at most :data:`MAX_BOXES` boxes."""
    if len(sample["parts"]) > 1:
        sample["parts"] = [_concat(sample["parts"])]
    if sample["parts"] and len(sample["parts"][0]) > MAX_BOXES:
        sample["parts"] = [_bottom(sample["parts"][0])]


def _hash(file_ids: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """A well-mixed 63-bit hash of (file, record index) (splitmix64's finalizer)."""
    with np.errstate(over="ignore"):
        x = (file_ids.astype(np.uint64) << np.uint64(32)) ^ indices.astype(np.uint64)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(1)).astype(np.int64)


def _concat(parts: list[_Part]) -> _Part:
    classes = list(dict.fromkeys(key for part in parts for key in part.classes))
    index = {key: code for code, key in enumerate(classes)}
    columns = {name: np.concatenate([part.columns[name] for part in parts])
               for name in parts[0].columns if name != "code"}
    columns["code"] = np.concatenate([
        np.array([index[key] for key in part.classes], dtype=np.int64)[part.columns["code"]]
        for part in parts])
    return _Part(columns, classes)


def _bottom(part: _Part) -> _Part:
    """The boxes of the records with the lowest hashes, as many as fit in :data:`MAX_BOXES`."""
    order = np.argsort(part.columns["priority"], kind="stable")
    ranked = part.columns["priority"][order]
    # A record's boxes are adjacent once sorted; keep whole records only.
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    ends = np.r_[starts[1:], len(ranked)]
    keep_records = int(np.searchsorted(ends, MAX_BOXES, side="right"))
    cut = int(ends[keep_records - 1]) if keep_records else 0
    chosen = np.sort(order[:cut], kind="stable")
    return _Part({name: values[chosen] for name, values in part.columns.items()}, part.classes)


def finish(samples: list[dict[str, Any]]) -> BoxSample:
    """The sample of the whole dataset, from the samples of its splits."""
    whole = new_sample()
    for sample in samples:
        merge(whole, sample)
    compact(whole)
    return _sample(whole)


def _label(key: ClassKey | None) -> str:
    """A class as findings name it: ``3 'car'``, ``'car'`` (text only), ``3`` or ``?``."""
    if key is None:
        return "?"
    class_id, name = key
    if name is None:
        return "?" if class_id is None or class_id == -1 else str(class_id)
    return repr(name) if class_id is None else f"{class_id} {name!r}"


def _sample(state: dict[str, Any]) -> BoxSample:
    if not state["parts"]:
        columns = {name: np.zeros(0) for name in _COLUMNS}
        return BoxSample(columns, np.zeros(0, dtype=object), {}, 0)
    part = state["parts"][0]
    # In one order whatever the workers and the order of the pieces: by record hash and box.
    order = np.lexsort((part.columns["box"], part.columns["priority"]))
    values = {name: column[order] for name, column in part.columns.items()}
    labels = np.array([_label(key) for key in part.classes], dtype=object)
    # Sorted by hash, a record's boxes are adjacent: number the records in that order.
    record = np.cumsum(np.r_[False, values["priority"][1:] != values["priority"][:-1]])
    columns = {name: values[name].astype(np.float64) for name in (
        "ymin", "xmin", "ymax", "xmax", "width", "height")}
    columns.update(record=record.astype(np.int64), priority=values["priority"],
                   train=values["train"].astype(np.int64))
    totals: Counter[tuple[int, str]] = Counter()
    for (train, key), count in state["totals"].items():
        totals[(train, _label(key))] += count
    return BoxSample(columns, labels[values["code"]], dict(totals), state["boxes"])


def sample_of(states: dict[str, Any]) -> BoxSample | None:
    """The finished sample in the engine's merged states (``None`` before ``finish``)."""
    state = states.get(NAME)
    return state.get("sample") if state else None

