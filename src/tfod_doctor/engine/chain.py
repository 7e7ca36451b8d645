"""Joining the pieces of a file: their partials merge, and they must meet end to start.

A large file is read as pieces cut where items of it start (see
:meth:`~tfod_doctor.records.RecordReader.chain`). Each piece says where its records stopped; the
pieces of a file join up when each starts where the one before stopped, with the index that one
gave next. They always do, since reading and cutting follow one path through the file; should a
file change while it is read, its pieces would not, and the file is read again as a whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

from tfod_doctor.checks.base import Aggregator
from tfod_doctor.engine.partial import Partial, Piece
from tfod_doctor.engine.work import WorkItem


@dataclass(frozen=True)
class Joint:
    """Where one piece started and stopped, and whether it reaches the end of the file."""

    start: int
    first_index: int
    stop: int
    next_index: int
    last: bool


@dataclass
class FileChain:
    """The pieces of one file read so far: their merged partial and where each started and
    stopped. Pieces may arrive in any order; merging is associative."""

    item: WorkItem | None = None
    partial: Partial | None = None
    joints: list[Joint] = field(default_factory=list)

    def add(self, piece: Piece, aggregators: list[Aggregator]) -> FileChain:
        """Fold one piece in; returns self."""
        item = piece.item
        whole = WorkItem(item.source, item.role)
        joint = Joint(item.start, item.first_index, piece.stop, piece.next_index, item.last)
        other = FileChain(whole, piece.partial, [joint])
        return self.merge(other, aggregators)

    def merge(self, other: FileChain, aggregators: list[Aggregator]) -> FileChain:
        """Fold another chain of the same file in; returns self."""
        self.item = self.item or other.item
        if self.partial is None:
            self.partial = other.partial
        elif other.partial is not None:
            self.partial.merge(other.partial, aggregators)
        self.joints.extend(other.joints)
        return self

    @property
    def complete(self) -> bool:
        """Whether the pieces cover the file from its start to its end, each one starting where
        the one before it stopped."""
        joints = sorted(self.joints, key=lambda j: j.start)
        if not joints or (joints[0].start, joints[0].first_index) != (0, 0) or not joints[-1].last:
            return False
        return all(
            (before.stop, before.next_index) == (after.start, after.first_index)
            for before, after in pairwise(joints)
        )
