"""Partial results of a piece of work, and their associative merge."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tfod_doctor.checks.base import Aggregator
from tfod_doctor.checks.context import CheckContext
from tfod_doctor.findings import Finding
from tfod_doctor.report.model import FindingStore


@dataclass
class FileStats:
    """What one file (or one byte range of it) held."""

    file: str
    role: str | None = None
    kind: str = ""
    bytes: int = 0
    records: int = 0
    damaged: list[dict[str, Any]] = field(default_factory=list)
    #: Whether the file could be opened at all.
    opened: bool = False
    #: How many records the OD API's reader gets before it stops (known for whole files only).
    tensorflow_reads: int | None = None

    def merge(self, other: FileStats) -> FileStats:
        self.kind = self.kind or other.kind
        self.bytes = max(self.bytes, other.bytes)
        self.records += other.records
        self.opened = self.opened or other.opened
        if self.tensorflow_reads is None or other.tensorflow_reads is None:
            self.tensorflow_reads = None  # pieces of one file: unknown from a piece alone
        self.damaged.extend(other.damaged)
        self.damaged.sort(key=lambda d: d["offset"])
        return self

    def to_dict(self) -> dict[str, Any]:
        lost = sum(d["end"] - d["offset"] for d in self.damaged)
        return {
            "file": self.file,
            "role": self.role,
            "kind": self.kind,
            "bytes": self.bytes,
            "records": self.records,
            "tensorflow_reads": self.tensorflow_reads,
            "damaged_ranges": self.damaged,
            "lost_bytes": lost,
        }


@dataclass
class Partial:
    """Findings, per-file stats and aggregator states of some of the work; merges associatively."""

    store: FindingStore
    files: dict[str, FileStats] = field(default_factory=dict)
    states: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def empty(cls, ctx: CheckContext, aggregators: list[Aggregator]) -> Partial:
        return cls(
            store=FindingStore(ctx.max_findings_per_rule),
            states={agg.name: agg.new() for agg in aggregators},
        )

    def emit(self, finding: Finding, ctx: CheckContext) -> None:
        """Keep a finding unless ``--select``/``--ignore`` rule it out."""
        if ctx.rule_filter.allows(finding.rule):
            self.store.add(finding)

    def file(self, name: str, role: str | None) -> FileStats:
        """The stats of one file, created on first use."""
        stats = self.files.get(name)
        if stats is None:
            stats = self.files[name] = FileStats(name, role)
        return stats

    def merge(self, other: Partial, aggregators: list[Aggregator]) -> Partial:
        """Fold ``other`` into this partial (in place); returns self."""
        self.store.merge(other.store)
        for name, stats in other.files.items():
            if name in self.files:
                self.files[name].merge(stats)
            else:
                self.files[name] = stats
        for agg in aggregators:
            self.states[agg.name] = agg.merge(self.states[agg.name], other.states[agg.name])
        return self
