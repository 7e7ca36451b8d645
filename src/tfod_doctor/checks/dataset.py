"""D rules across records: duplicate source ids and images, train/eval leakage, empty ids.

The aggregator keeps 8-byte hashes with where each came from in flat arrays (about 24 bytes per
record), merges by concatenation, and finds duplicates by sorting once at the end.
"""

from __future__ import annotations

import zlib
from array import array
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain

import numpy as np

from tfod_doctor.catalogue import Rule
from tfod_doctor.catalogue import dataset as D
from tfod_doctor.checks._od import n_values, od_record
from tfod_doctor.checks.base import Emit, RecordPlace, aggregator, record_check
from tfod_doctor.checks.context import CheckContext
from tfod_doctor.findings import Finding, FindingTally, Location, Severity
from tfod_doctor.odapi import features as K
from tfod_doctor.records import FeatureView, Kind
from tfod_doctor.records.crc import crc32c

_TAIL = 4096


def content_hash(data: bytes) -> int:
    """An 8-byte hash of a source id or of image bytes: CRC32C of all of them, and CRC32 of the
    tail seeded with the length.

    Two independent 32-bit checks at memory speed; equal bytes always agree, and different
    ones agree on both by chance about once in 2**64.
    """
    return (crc32c(data) << 32) | zlib.crc32(data[-_TAIL:], len(data) & 0xFFFFFFFF)


@record_check
def check_source_id(view: FeatureView, where: RecordPlace, ctx: CheckContext, emit: Emit) -> None:
    """D002: a record without image/source_id."""
    if od_record(view).source_id.strip():
        return  # the usual case: an id to trace the image by
    kind = view.kind(K.SOURCE_ID)
    if kind not in (None, Kind.NONE, Kind.BYTES):
        return  # F003
    if kind is not Kind.BYTES or n_values(view, K.SOURCE_ID) == 1:
        state = "missing" if kind is None else "empty"
        emit(D.EMPTY_SOURCE_ID.finding(
            f"image/source_id is {state}: eval gives the image a random id, so its results "
            "cannot be traced back to it", where.at(K.SOURCE_ID)))


@dataclass
class LocatedHashes:
    """8-byte keys with the file, record, offset and split each came from (flat arrays).

    Records come file by file, so the file and split are kept once per *run* of entries that
    share them: run ``r`` starts at entry ``run_starts[r]`` and its entries come from
    ``files[run_files[r]]`` in split ``roles[run_roles[r]]``. ``current`` is the file and split
    of the last run (where the next entry most likely comes from).
    """

    files: list[str] = field(default_factory=list)
    roles: list[str | None] = field(default_factory=list)
    keys: array = field(default_factory=lambda: array("Q"))
    records: array = field(default_factory=lambda: array("Q"))
    offsets: array = field(default_factory=lambda: array("Q"))
    run_starts: array = field(default_factory=lambda: array("Q"))
    run_files: array = field(default_factory=lambda: array("I"))
    run_roles: array = field(default_factory=lambda: array("B"))
    current: tuple[str, str | None] | None = None

    def add(self, key: int, where: RecordPlace) -> None:
        """Remember ``key`` as seen at ``where``."""
        current = self.current
        if current is None or where.file != current[0] or where.role != current[1]:
            self._start_run(where.file, where.role)
        self.keys.append(key)
        self.records.append(where.index)
        self.offsets.append(where.offset)

    def _start_run(self, file: str, role: str | None) -> None:
        self.run_starts.append(len(self.keys))
        self.run_files.append(_index(self.files, file))
        self.run_roles.append(_index(self.roles, role))
        self.current = (file, role)

    def merge(self, other: LocatedHashes) -> LocatedHashes:
        """Append ``other``'s entries (in place)."""
        file_map = [_index(self.files, name) for name in other.files]
        role_map = [_index(self.roles, role) for role in other.roles]
        base = len(self.keys)
        self.run_starts.extend(array("Q", (base + start for start in other.run_starts)))
        self.run_files.extend(array("I", (file_map[i] for i in other.run_files)))
        self.run_roles.extend(array("B", (role_map[i] for i in other.run_roles)))
        self.keys.extend(other.keys)
        self.records.extend(other.records)
        self.offsets.extend(other.offsets)
        if other.current is not None:
            self.current = other.current
        return self

    def _run(self, entry: int) -> int:
        return bisect_right(self.run_starts, entry) - 1

    def location(self, entry: int, key: str | None = None) -> Location:
        """Where entry ``entry`` was seen."""
        return Location(file=self.files[self.run_files[self._run(entry)]],
                        record=self.records[entry], offset=self.offsets[entry], key=key)

    def role(self, entry: int) -> str | None:
        """The split of entry ``entry``."""
        return self.roles[self.run_roles[self._run(entry)]]

    def roles_of(self, entries: Sequence[int]) -> list[str | None]:
        """The split of each of ``entries`` (:meth:`role` of many at once)."""
        per_entry = self._per_entry(self.run_roles, np.uint8)
        return [self.roles[i] for i in per_entry[np.asarray(entries, dtype=np.int64)].tolist()]

    def _per_entry(self, run_values: array, dtype: type) -> np.ndarray:
        """A per-run column spread over the entries of each run."""
        starts = np.frombuffer(self.run_starts, dtype=np.uint64).astype(np.int64)
        lengths = np.diff(np.append(starts, len(self.keys)))
        return np.repeat(np.frombuffer(run_values, dtype=dtype), lengths)

    def groups(self, by_role: bool) -> list[list[int]]:
        """Entries sharing a key (and a split, with ``by_role``), each in reading order."""
        entries = self._repeated_entries()
        if not entries.size:
            return []
        keys = np.frombuffer(self.keys, dtype=np.uint64)[entries]
        files = self._file_ranks()[entries]
        records = np.frombuffer(self.records, dtype=np.uint64)[entries]
        roles = self._per_entry(self.run_roles, np.uint8)[entries]
        columns = [records, files, keys] + ([roles] if by_role else [])
        order = np.lexsort(columns)
        same = keys[order][1:] == keys[order][:-1]
        if by_role:
            same &= roles[order][1:] == roles[order][:-1]
        starts = np.flatnonzero(np.concatenate(([True], ~same)))
        ends = np.append(starts[1:], len(order))
        shared = ends - starts > 1
        in_order = entries[order]
        return [in_order[start:end].tolist()
                for start, end in zip(starts[shared].tolist(), ends[shared].tolist(), strict=True)]

    def first_by_place(self, entries: Sequence[int], cap: int) -> set[int]:
        """Of ``entries``, the first ``cap`` by place (file name, record, offset), and any more
        at the place of the last of those: the entries whose findings a report keeps."""
        if len(entries) <= cap:
            return set(entries)
        picked = np.asarray(entries, dtype=np.int64)
        files = self._file_ranks()[picked]
        records = np.frombuffer(self.records, dtype=np.uint64)[picked]
        offsets = np.frombuffer(self.offsets, dtype=np.uint64)[picked]
        order = np.lexsort([offsets, records, files])
        last = order[cap - 1]
        at_last = ((files == files[last]) & (records == records[last])
                   & (offsets == offsets[last]))
        return set(picked[order[:cap]].tolist()) | set(picked[at_last].tolist())

    def _file_ranks(self) -> np.ndarray:
        """Each entry's file, as its rank among the file names in sorted order."""
        file_rank = np.argsort(np.argsort(np.array(self.files, dtype=object)))
        return file_rank[self._per_entry(self.run_files, np.uint32)]

    def _repeated_entries(self) -> np.ndarray:
        """The entries whose key is seen more than once (usually none: one sort tells)."""
        keys = np.frombuffer(self.keys, dtype=np.uint64)
        ordered = np.sort(keys)
        repeated = ordered[1:][ordered[1:] == ordered[:-1]]
        if not repeated.size:
            return repeated.astype(np.int64)
        return np.flatnonzero(np.isin(keys, repeated))


def _index(values: list, value) -> int:
    """The position of ``value`` in ``values``, appended if new."""
    try:
        return values.index(value)
    except ValueError:
        values.append(value)
        return len(values) - 1


@dataclass
class _State:
    source_ids: LocatedHashes = field(default_factory=LocatedHashes)
    images: LocatedHashes = field(default_factory=LocatedHashes)


class DuplicateAggregator:
    """D001 (duplicate source ids), D003 (duplicate images), D004 (train/eval leakage)."""

    name = "duplicates"

    def new(self) -> _State:
        return _State()

    def add(self, state: _State, view: FeatureView, where: RecordPlace,
            ctx: CheckContext) -> None:
        record = od_record(view)
        if record.source_id.strip():
            state.source_ids.add(content_hash(record.source_id), where)
        if record.image:
            state.images.add(content_hash(record.image), where)

    def merge(self, left: _State, right: _State) -> _State:
        left.source_ids.merge(right.source_ids)
        left.images.merge(right.images)
        return left

    def finish(self, state: _State, ctx: CheckContext
               ) -> tuple[Iterator[Finding | FindingTally], dict]:
        # Generators: with many copies (a dataset listed twice) the findings are made one at a
        # time, and only those the report keeps; the others are tallied.
        cap = ctx.max_findings_per_rule
        return chain(_duplicate_ids(state.source_ids, cap), _duplicate_images(state.images, cap),
                     _leaks(state.images, cap)), {}


def _split_name(role: str | None) -> str:
    return f"the {role} split" if role else "these records"


def _tallies(rule: Rule, hidden: Counter[Severity]) -> Iterator[FindingTally]:
    for severity, count in sorted(hidden.items()):
        if count:
            yield FindingTally(rule.id, severity, count)


def _copies(table: LocatedHashes, cap: int) -> tuple[list[list[int]], set[int]]:
    """The groups of entries with one key in one split, and which of their copies (the entries
    after each group's first) get the findings a report keeps."""
    groups = table.groups(by_role=True)
    return groups, table.first_by_place([entry for group in groups for entry in group[1:]], cap)


def _duplicate_ids(table: LocatedHashes, cap: int) -> Iterator[Finding | FindingTally]:
    groups, shown = _copies(table, cap)
    hidden: Counter[Severity] = Counter()
    for group in groups:
        first = table.location(group[0])
        role = table.role(group[0])
        severity = (D.DUPLICATE_SOURCE_ID.severity if role == "eval" else
                    Severity.WARNING if role is None else Severity.INFO)
        effect = {
            "eval": "the COCO evaluator skips every image after the first with the same id",
            None: "if these records are evaluated, the COCO evaluator skips every image after "
                  "the first with the same id",
        }.get(role, "harmless in training, but eval on such records would skip the copies")
        for entry in group[1:]:
            if entry not in shown:
                hidden[severity] += 1
                continue
            yield D.DUPLICATE_SOURCE_ID.finding(
                f"image/source_id repeats that of {first.file} record {first.record} in "
                f"{_split_name(role)}: {effect}", table.location(entry, K.SOURCE_ID),
                severity=severity, first=first.to_dict(), copies=len(group))
    yield from _tallies(D.DUPLICATE_SOURCE_ID, hidden)


def _duplicate_images(table: LocatedHashes, cap: int) -> Iterator[Finding | FindingTally]:
    groups, shown = _copies(table, cap)
    hidden = 0
    for group in groups:
        first = table.location(group[0])
        role = table.role(group[0])
        for entry in group[1:]:
            if entry not in shown:
                hidden += 1
                continue
            yield D.DUPLICATE_IMAGE.finding(
                f"the image is byte-for-byte the one of {first.file} record {first.record} "
                f"({len(group)} copies in {_split_name(role)})",
                table.location(entry, K.IMAGE), first=first.to_dict(), copies=len(group))
    yield from _tallies(D.DUPLICATE_IMAGE, Counter({D.DUPLICATE_IMAGE.severity: hidden}))


def _leaks(table: LocatedHashes, cap: int) -> Iterator[Finding | FindingTally]:
    # Each eval entry whose image is in the train split, and the first train entry with it.
    leaked: list[int] = []
    in_train: list[int] = []
    groups = table.groups(by_role=False)
    every = [entry for group in groups for entry in group]
    role_of = dict(zip(every, table.roles_of(every), strict=True))
    for group in groups:
        train = [entry for entry in group if role_of[entry] == "train"]
        if train:
            evals = [entry for entry in group if role_of[entry] == "eval"]
            leaked += evals
            in_train += [train[0]] * len(evals)
    shown = table.first_by_place(leaked, cap)
    for entry, train_entry in zip(leaked, in_train, strict=True):
        if entry in shown:
            seen = table.location(train_entry)
            yield D.TRAIN_EVAL_LEAK.finding(
                f"this eval image is also in the train split ({seen.file} record "
                f"{seen.record}): eval scores it as if it were new",
                table.location(entry, K.IMAGE), train=seen.to_dict())
    hidden = len(leaked) - len(shown)
    yield from _tallies(D.TRAIN_EVAL_LEAK, Counter({D.TRAIN_EVAL_LEAK.severity: hidden}))


aggregator(DuplicateAggregator())
