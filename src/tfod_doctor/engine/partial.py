"""Partial results of a piece of work, and their associative merge."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tfod_doctor.checks.base import Aggregator, compact
from tfod_doctor.checks.context import CheckContext
from tfod_doctor.engine.work import WorkItem
from tfod_doctor.findings import Finding, FindingTally
from tfod_doctor.policy import FindingPolicy, fingerprint
from tfod_doctor.records import Damage
from tfod_doctor.report.model import FindingStore


@dataclass
class FileStats:
    """What one file (or one piece of it) held.

    The damages met are kept as they are: how many records follow a damage, and how many records
    TensorFlow reads before it stops, depend on every piece of the file, so they are worked out
    from the merged stats of the whole file (:meth:`damage_ranges`, :meth:`tensorflow_reads`).
    """

    file: str
    role: str | None = None
    kind: str = ""
    bytes: int = 0
    records: int = 0
    #: Damaged ranges that are not framing damage (a file that is no TFRecord at all).
    damaged: list[dict[str, Any]] = field(default_factory=list)
    damages: list[Damage] = field(default_factory=list)
    #: Whether the file could be opened at all.
    opened: bool = False
    #: Whether the file is GZIP/ZLIB-compressed (offsets count in the decompressed bytes).
    compressed: bool = False
    #: Whether the file holds no bytes (or a compressed file of no bytes): R007, R025.
    empty: bool = False

    def merge(self, other: FileStats) -> FileStats:
        self.kind = self.kind or other.kind
        self.bytes = max(self.bytes, other.bytes)
        self.records += other.records
        self.opened = self.opened or other.opened
        self.compressed = self.compressed or other.compressed
        self.empty = self.empty or other.empty
        self.damaged.extend(other.damaged)
        self.damaged.sort(key=lambda d: d["offset"])
        self.damages.extend(other.damages)
        self.damages.sort(key=lambda d: d.offset)
        return self

    def damage_ranges(self) -> list[tuple[Damage, int]]:
        """Each damage with how many intact records of the file come after it.

        Records and damages share one index sequence, so the records before a damage are its
        index minus the damages before it.
        """
        ordered = sorted(self.damages, key=lambda d: d.record)
        return [(d, self.records - (d.record - before)) for before, d in enumerate(ordered)]

    def tensorflow_reads(self) -> int | None:
        """How many records the OD API's reader gets from the file before it stops."""
        if not self.opened:
            return None
        if self.compressed or any(d["kind"] == "not-a-tfrecord" for d in self.damaged):
            return 0  # it reads the bytes as framing and fails at byte 0
        ordered = sorted(self.damages, key=lambda d: d.record)
        for before, damage in enumerate(ordered):
            if damage.stops_tensorflow:
                return damage.record - before
        return self.records

    def to_dict(self) -> dict[str, Any]:
        ranges = list(self.damaged) + [
            {"kind": d.kind.value, "offset": d.offset, "end": d.end, "record": d.record,
             "tf_offset": d.tf_offset, "records_recovered_after": recovered}
            for d, recovered in self.damage_ranges()
        ]
        ranges.sort(key=lambda d: d["offset"])
        return {
            "file": self.file,
            "role": self.role,
            "kind": self.kind,
            "bytes": self.bytes,
            "records": self.records,
            "tensorflow_reads": self.tensorflow_reads(),
            "damaged_ranges": ranges,
            "lost_bytes": sum(d["end"] - d["offset"] for d in ranges),
        }


@dataclass
class Partial:
    """Findings, per-file stats and aggregator states of some of the work; merges associatively."""

    store: FindingStore
    files: dict[str, FileStats] = field(default_factory=dict)
    states: dict[str, Any] = field(default_factory=dict)
    #: Findings left out by the policy: ``baseline`` (accepted before), ``per-file-ignores``.
    left_out: dict[str, int] = field(default_factory=dict)
    #: Fingerprint -> what it names, of every finding made (only when a baseline is written).
    fingerprints: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def empty(cls, ctx: CheckContext, aggregators: list[Aggregator]) -> Partial:
        return cls(
            store=FindingStore(ctx.max_findings_per_rule),
            states={agg.name: agg.new() for agg in aggregators},
        )

    def emit(self, finding: Finding | FindingTally, ctx: CheckContext,
             record: str | None = None) -> None:
        """Keep a finding (count a tally) unless ``--select``/``--ignore`` rule it out, or the
        policy leaves it out. ``record`` names the finding's record for a baseline
        (:func:`tfod_doctor.policy.record_key`)."""
        if not ctx.rule_filter.allows(finding.rule):
            return
        policy = ctx.policy
        if policy is not None:
            finding = policy.retag(finding)
            if isinstance(finding, Finding) and self._left_out(finding, policy, record):
                return
        self.store.add(finding)

    def _left_out(self, finding: Finding, policy: FindingPolicy, record: str | None) -> bool:
        """Whether the policy leaves the finding out (counted by why); collects fingerprints."""
        if policy.ignored_for_file(finding):
            self.left_out["per-file-ignores"] = self.left_out.get("per-file-ignores", 0) + 1
            return True
        if not policy.wants_record_keys:
            return False
        mark = fingerprint(finding, record)
        if policy.collect:
            self.fingerprints[mark] = _named(finding, record)
        if policy.baseline is not None and mark in policy.baseline:
            self.left_out["baseline"] = self.left_out.get("baseline", 0) + 1
            return True
        return False

    def file(self, name: str, role: str | None) -> FileStats:
        """The stats of one file, created on first use."""
        stats = self.files.get(name)
        if stats is None:
            stats = self.files[name] = FileStats(name, role)
        return stats

    def compact(self, aggregators: list[Aggregator]) -> Partial:
        """Before sending this partial elsewhere: drop the findings past each rule's cap, and
        let the aggregators fold what they gathered."""
        self.store.findings()  # trims every rule's bucket to the cap
        for agg in aggregators:
            compact(agg, self.states[agg.name])
        return self

    def merge(self, other: Partial, aggregators: list[Aggregator]) -> Partial:
        """Fold ``other`` into this partial (in place); returns self."""
        self.store.merge(other.store)
        for why, count in other.left_out.items():
            self.left_out[why] = self.left_out.get(why, 0) + count
        self.fingerprints.update(other.fingerprints)
        for name, stats in other.files.items():
            if name in self.files:
                self.files[name].merge(stats)
            else:
                self.files[name] = stats
        for agg in aggregators:
            self.states[agg.name] = agg.merge(self.states[agg.name], other.states[agg.name])
        return self


def _named(finding: Finding, record: str | None) -> dict[str, Any]:
    """What a baseline entry shows a reader: the rule, where, and the message."""
    where = finding.location
    place = record or str(where)
    return {"rule": finding.rule, "where": place, "message": finding.message}


@dataclass
class Piece:
    """What reading one work item gave: its partial, and where its records stopped.

    ``stop`` is the offset where the item after the last one read starts (``>= item.end``, or
    the file size) and ``next_index`` its index: the next piece of the file must start there.
    """

    item: WorkItem
    partial: Partial
    stop: int
    next_index: int
