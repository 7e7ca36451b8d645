"""Building a test dataset stage by stage, so that defects can be planted at any stage.

Stages run in this order: ``FEATURES`` (edit feature dicts of records), ``PAYLOADS`` (replace
serialized records), writing the files, ``BYTES`` (damage the written files), ``FILES`` (add,
remove or replace files and inputs), ``LABEL_MAP`` and ``CONFIG`` (edit the texts). A defect is a
function of the :class:`Builder` registered for one stage; it changes the dataset and records
where it planted the problem with :meth:`Builder.plant`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any

from tfod_doctor.testing.configs import ConfigSpec, LabelItem
from tfod_doctor.testing.samples import Sample


class Stage(IntEnum):
    """When a defect runs."""

    FEATURES = 1
    PAYLOADS = 2
    BYTES = 3
    FILES = 4
    LABEL_MAP = 5
    CONFIG = 6


@dataclass
class Planted:
    """Where a defect was planted: the file and record (or line), and which key."""

    defect: str
    file: str | None = None
    record: int | None = None
    key: str | None = None
    line: int | None = None
    note: str = ""


@dataclass
class Slot:
    """One record to be written: its sample, its features, and (after encoding) its payload."""

    role: str
    file: str
    index: int
    sample: Sample
    features: dict[str, Any]
    payload: bytes | None = None


@dataclass
class Builder:
    """The dataset under construction; defects edit it."""

    root: Path
    rng: random.Random
    classes: list[str]
    slots: dict[str, list[Slot]] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)
    file_bytes: dict[str, bytes] = field(default_factory=dict)
    label_items: list[LabelItem] = field(default_factory=list)
    label_map_text: str = ""
    config_spec: ConfigSpec | None = None
    config_text: str = ""
    #: Extra inputs to name on the command line besides the record files (scan).
    extra_inputs: list[str] = field(default_factory=list)
    planted: list[Planted] = field(default_factory=list)
    #: Keyword arguments a scan of this dataset needs (``num_classes``, ``flags``...), as a
    #: pipeline.config would give them; see :attr:`Dataset.scan_options`.
    scan_options: dict[str, Any] = field(default_factory=dict)
    #: Whether a scan should be given the dataset's label map (built when the dataset is done).
    scan_label_map: bool = False
    #: Whether a scan should name the eval files as the eval split.
    scan_splits: bool = False
    #: The tensors (name, dtype, shape) of the checkpoint ``fine_tune_checkpoint`` names; ``None``:
    #: a model-zoo detection checkpoint of the config's architecture. Written after ``CONFIG``.
    checkpoint_tensors: list[tuple[str, str, tuple[int, ...]]] | None = None
    #: Whether that checkpoint is a TF2 object-based one (``False``: TF1, name-based).
    checkpoint_object_based: bool = True
    #: Keyword arguments both ``check`` and ``scan`` need to see a defect whose rule is off by
    #: default (``near_duplicates``); see :attr:`Dataset.check_options`.
    check_options: dict[str, Any] = field(default_factory=dict)

    # -- reading -------------------------------------------------------------------------------

    def path(self, name: str) -> Path:
        """The absolute path of a dataset file given by its relative name."""
        return self.root / name

    def files(self, role: str | None = None) -> list[str]:
        """The record files (relative names), optionally of one role, in order."""
        return [name for name, r in self.roles.items() if role is None or r == role]

    def pick(self, role: str = "train", with_boxes: int = 1, nth: int = 0) -> Slot:
        """The ``nth`` record of ``role`` with at least ``with_boxes`` boxes (deterministic).

        Records another defect was already planted in come last, so that defects planted
        together land in different records.
        """
        taken = {(p.file, p.record) for p in self.planted}
        found = [slot for name in self.files(role) for slot in self.slots[name]
                 if len(slot.sample.boxes) >= with_boxes]
        found.sort(key=lambda slot: (str(self.root / slot.file), slot.index) in taken)
        if len(found) <= nth:
            raise ValueError(f"no {role} record with {with_boxes} box(es) to plant a defect in")
        return found[nth]

    def config_line(self, needle: str, after: int = 0) -> int:
        """The 1-based line of the config text containing ``needle`` (after line ``after``)."""
        return _line_of(self.config_text, needle, after)

    def label_map_line(self, needle: str, after: int = 0) -> int:
        """The 1-based line of the label map text containing ``needle``."""
        return _line_of(self.label_map_text, needle, after)

    # -- writing ------------------------------------------------------------------------------

    def plant(self, defect: str, **where: Any) -> Planted:
        """Record where a defect was planted (a relative ``file`` is made absolute)."""
        file = where.get("file")
        if file is not None and not Path(file).is_absolute():
            where["file"] = str(self.root / file)
        planted = Planted(defect, **where)
        self.planted.append(planted)
        return planted

    def plant_in(self, defect: str, slot: Slot, key: str | None = None, note: str = "") -> Planted:
        """Record a defect planted in one record."""
        return self.plant(defect, file=slot.file, record=slot.index, key=key, note=note)


def _line_of(text: str, needle: str, after: int) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if number > after and needle in line:
            return number
    raise ValueError(f"{needle!r} is not in the text")


DefectFunc = Callable[[Builder], None]


@dataclass(frozen=True)
class Defect:
    """A named way to break a dataset, and the stage it runs at."""

    name: str
    stage: Stage
    func: DefectFunc
    doc: str


_DEFECTS: dict[str, Defect] = {}


def defect(name: str, stage: Stage) -> Callable[[DefectFunc], DefectFunc]:
    """Register a defect (a decorator); the docstring says what it does."""

    def register(func: DefectFunc) -> DefectFunc:
        if name in _DEFECTS:
            raise ValueError(f"defect {name!r} is defined twice")
        _DEFECTS[name] = Defect(name, stage, func, (func.__doc__ or "").strip())
        return func

    return register


def defects() -> dict[str, Defect]:
    """Every registered defect by name."""
    import tfod_doctor.testing.defects  # noqa: F401 - registers them

    return dict(_DEFECTS)
