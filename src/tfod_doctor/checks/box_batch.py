"""Every box of the records, gathered once for all the statistics that need them.

A record only extends a few lists (:func:`queue_record`): its corners, its class ids and names
as the decoder resolves them, and one tuple of where it is and its image size. Every few
thousand boxes :func:`take_batch` turns what gathered into numpy arrays (:class:`BoxBatch`),
and each consumer folds the batch into its own counts: the class counts and histograms of
:mod:`~tfod_doctor.checks.statistics`, the per-class statistics of
:mod:`~tfod_doctor.checks.class_stats` and the sample of :mod:`~tfod_doctor.checks.box_sample`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from tfod_doctor.checks._od import Classes
from tfod_doctor.checks.base import RecordPlace
from tfod_doctor.odapi.record import ODRecord

#: A class as the statistics name it: ``(id, name)``, either ``None`` when unknown.
ClassKey = tuple[int | None, str | None]
#: At most this many distinct classes are kept; the rest are counted as other.
MAX_CLASSES = 4096
OTHER_CLASS: ClassKey = (None, "(other)")
#: Boxes gathered before they are turned into a batch.
QUEUED_BOXES = 8192


@dataclass
class BoxQueue:
    """What records gathered since the last batch. ``table``: the label map's names by id,
    which name the classes of records that carry ids only."""

    table: Mapping[int, str]
    ymin: list[float]
    xmin: list[float]
    ymax: list[float]
    xmax: list[float]
    #: Per class label of a record: its id and name (``None`` for the one the record lacks).
    ids: list[int | None]
    names: list[str | None]
    #: Per record: ``(boxes, labels, file, index, offset, width, height)``; the size is
    #: ``0, 0`` when unknown.
    records: list[tuple[int, int, str, int, int, int, int]]
    boxes: int = 0


def new_queue(table: Mapping[int, str] | None) -> BoxQueue:
    """An empty queue; ``table`` as :class:`BoxQueue` says (``None``: no label map)."""
    return BoxQueue(table or {}, [], [], [], [], [], [], [])


def queue_record(queue: BoxQueue, record: ODRecord, classes: Classes, where: RecordPlace,
                 size: tuple[int, int] | None) -> bool:
    """Queue a record whose boxes count (their four lists agree); ``True`` when enough boxes
    gathered for a batch."""
    ymin, xmin, ymax, xmax = record.boxes
    queue.ymin += ymin
    queue.xmin += xmin
    queue.ymax += ymax
    queue.xmax += xmax
    ids, names = classes.ids, classes.names
    labels = len(names) if names is not None else len(ids) if ids is not None else 0
    queue.ids += ids if ids is not None else [None] * labels
    queue.names += names if names is not None else [None] * labels
    width, height = size or (0, 0)
    queue.records.append((record.n_boxes, labels, where.file, where.index, where.offset, width,
                          height))
    queue.boxes += record.n_boxes
    return queue.boxes >= QUEUED_BOXES


def merge_queues(left: BoxQueue, right: BoxQueue) -> None:
    """Append what ``right`` gathered to ``left``."""
    left.ymin += right.ymin
    left.xmin += right.xmin
    left.ymax += right.ymax
    left.xmax += right.xmax
    left.ids += right.ids
    left.names += right.names
    left.records += right.records
    left.boxes += right.boxes


@dataclass
class BoxBatch:
    """The boxes of a run of records, as arrays.

    Per box: ``ymin``, ``xmin``, ``ymax``, ``xmax`` (normalized), ``width`` and ``height`` of
    its image in pixels (0 when unknown), ``owner`` (its record: an index into ``places``),
    ``box_index`` (its index in the record) and ``box_codes`` (its class, an index into
    ``classes``; -1 when its record has not one class per box). Per class label: ``codes``
    and ``label_owner``. ``places``: per record, ``(file, index, offset)``.
    """

    ymin: np.ndarray
    xmin: np.ndarray
    ymax: np.ndarray
    xmax: np.ndarray
    width: np.ndarray
    height: np.ndarray
    owner: np.ndarray
    box_index: np.ndarray
    box_codes: np.ndarray
    places: list[tuple[str, int, int]]
    classes: list[ClassKey]
    codes: np.ndarray
    label_owner: np.ndarray

    def __len__(self) -> int:
        return len(self.ymin)

    @property
    def n_records(self) -> int:
        """How many records the batch holds."""
        return len(self.places)


def take_batch(queue: BoxQueue) -> BoxBatch | None:
    """What the queue gathered, as a batch (``None`` when nothing did); empties the queue."""
    records = queue.records
    if not records:
        return None
    boxes_per, labels_per = (np.fromiter((r[i] for r in records), np.int64, len(records))
                             for i in (0, 1))
    owner = np.repeat(np.arange(len(records)), boxes_per)
    label_owner = np.repeat(np.arange(len(records)), labels_per)
    raw = list(zip(queue.ids, queue.names, strict=True))
    index = {key: code for code, key in enumerate(dict.fromkeys(raw))}
    codes = np.fromiter(map(index.__getitem__, raw), np.int64, len(raw))
    batch = BoxBatch(
        *(np.asarray(side, dtype=np.float64)
          for side in (queue.ymin, queue.xmin, queue.ymax, queue.xmax)),
        width=np.fromiter((r[5] for r in records), np.float64, len(records))[owner],
        height=np.fromiter((r[6] for r in records), np.float64, len(records))[owner],
        owner=owner,
        box_index=np.arange(len(owner)) - np.repeat(np.cumsum(boxes_per) - boxes_per,
                                                    boxes_per),
        box_codes=_box_codes(codes, boxes_per, labels_per),
        places=[r[2:5] for r in records],
        classes=[_class_key(class_id, name, queue.table) for class_id, name in index],
        codes=codes,
        label_owner=label_owner,
    )
    queue.ymin, queue.xmin, queue.ymax, queue.xmax = [], [], [], []
    queue.ids, queue.names, queue.records, queue.boxes = [], [], [], 0
    return batch


def distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted: ``np.unique`` without its check for a masked array, which
    imports ``numpy.ma`` (25 ms, at the first call of every run of the command)."""
    ordered = np.sort(values)
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]] if len(ordered) else ordered


def _box_codes(codes: np.ndarray, boxes_per: np.ndarray, labels_per: np.ndarray) -> np.ndarray:
    """The class of each box: its label's, for records with one label per box, else -1."""
    if np.array_equal(boxes_per, labels_per):
        return codes
    aligned = boxes_per == labels_per
    out = np.full(int(boxes_per.sum()), -1, dtype=np.int64)
    out[np.repeat(aligned, boxes_per)] = codes[np.repeat(aligned, labels_per)]
    return out


def _class_key(class_id: int | None, name: str | None, table: Mapping[int, str]) -> ClassKey:
    """A class label as the decoder resolved it, named as the statistics name classes: the
    label map's name of an id given alone; ids unknown (``-1``) beside a name are ``None``."""
    if name is None:
        return class_id, table.get(class_id)  # type: ignore[arg-type]
    return (None if class_id == -1 else class_id), name
