"""The report: findings (capped per rule, counted exactly), summary, stats; its JSON form."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tfod_doctor._version import __version__
from tfod_doctor.findings import SUMMARY_ORDER, Finding, FindingTally, Severity

TOOL = "tfod-doctor"
#: Bumped when the JSON report changes incompatibly.
SCHEMA_VERSION = 1


class FindingStore:
    """Findings as they come in: every one counted, at most ``cap`` kept per rule.

    The kept ones are the first by location, so the result does not depend on the order in which
    partial stores are merged.
    """

    def __init__(self, cap: int = 1000) -> None:
        self.cap = cap
        self.kept: dict[str, list[Finding]] = {}
        self.counts: Counter[tuple[str, Severity]] = Counter()

    def add(self, finding: Finding | FindingTally) -> None:
        """Count a finding, and keep it if it is among the first ``cap`` of its rule (a tally
        is only counted: its findings come after at least ``cap`` of their rule)."""
        if isinstance(finding, FindingTally):
            self.counts[(finding.rule, finding.severity)] += finding.count
            return
        self.counts[(finding.rule, finding.severity)] += 1
        bucket = self.kept.setdefault(finding.rule, [])
        bucket.append(finding)
        if len(bucket) > 2 * self.cap:
            self._trim(finding.rule)

    def extend(self, findings: Iterable[Finding | FindingTally]) -> None:
        """Add several findings."""
        for finding in findings:
            self.add(finding)

    def _trim(self, rule: str) -> None:
        bucket = self.kept[rule]
        bucket.sort(key=_finding_order)
        del bucket[self.cap :]

    def merge(self, other: FindingStore) -> FindingStore:
        """Fold another store into this one (in place); returns self."""
        self.counts.update(other.counts)
        for rule, findings in other.kept.items():
            self.kept.setdefault(rule, []).extend(findings)
            if len(self.kept[rule]) > self.cap:
                self._trim(rule)
        return self

    def findings(self) -> list[Finding]:
        """The kept findings, in report order."""
        for rule in self.kept:
            self._trim(rule)
        return sorted((f for bucket in self.kept.values() for f in bucket), key=_finding_order)


def _finding_order(finding: Finding) -> tuple:
    return (*finding.sort_key(), finding.message)


@dataclass
class Report:
    """What a check or scan found. Iterate over it for the findings."""

    inputs: list[str]
    findings: list[Finding] = field(default_factory=list)
    #: Findings per rule, including those not kept in ``findings``.
    rule_counts: dict[str, int] = field(default_factory=dict)
    #: Findings per severity, including those not kept in ``findings``.
    severity_counts: dict[Severity, int] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    #: True when no input could be read at all (exit code 2).
    nothing_read: bool = False
    version: str = __version__
    #: The worst severity each rule fired with (rules like F002 or D001 vary by context).
    rule_worst: dict[str, Severity] = field(default_factory=dict)
    #: Fingerprint -> what it names, of every finding made, when a baseline is being written.
    fingerprints: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_store(
        cls, inputs: list[str], store: FindingStore, stats: dict[str, Any], nothing_read: bool
    ) -> Report:
        """A report from a fully merged store."""
        rule_counts: Counter[str] = Counter()
        severity_counts: Counter[Severity] = Counter()
        rule_worst: dict[str, Severity] = {}
        for (rule, severity), count in store.counts.items():
            rule_counts[rule] += count
            severity_counts[severity] += count
            rule_worst[rule] = max(severity, rule_worst.get(rule, severity))
        return cls(
            inputs=list(inputs),
            findings=store.findings(),
            rule_counts=dict(sorted(rule_counts.items())),
            severity_counts=dict(severity_counts),
            stats=stats,
            nothing_read=nothing_read,
            rule_worst=rule_worst,
        )

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings)

    def __len__(self) -> int:
        return sum(self.rule_counts.values())

    @property
    def summary(self) -> dict[str, int]:
        """Counts by severity, data loss first, and how many findings were left out."""
        counts = {s.label: self.severity_counts.get(s, 0) for s in SUMMARY_ORDER}
        counts["omitted"] = len(self) - len(self.findings)
        return counts

    def worst(self) -> Severity | None:
        """The highest severity present, or ``None`` for a clean report."""
        present = [s for s, n in self.severity_counts.items() if n]
        return max(present) if present else None

    def at_least(self, severity: Severity) -> int:
        """How many findings are at or above ``severity``."""
        return sum(n for s, n in self.severity_counts.items() if s >= severity)

    def exit_code(self, fail_on: Severity = Severity.DATA_LOSS) -> int:
        """0 clean, 1 findings at or above ``fail_on``, 2 nothing could be read."""
        if self.nothing_read:
            return 2
        return 1 if self.at_least(fail_on) else 0

    def rule_severity(self, rule: str) -> Severity:
        """The worst severity a rule fired with (its catalogue severity if it did not fire)."""
        if rule in self.rule_worst:
            return self.rule_worst[rule]
        kept = [f.severity for f in self.findings if f.rule == rule]
        if kept:
            return max(kept)
        from tfod_doctor import catalogue

        return catalogue.get(rule).severity

    def by_rule(self, rule: str) -> list[Finding]:
        """The kept findings of one rule."""
        return [f for f in self.findings if f.rule == rule]

    def to_dict(self) -> dict[str, Any]:
        """The JSON report of DESIGN.md."""
        return {
            "tool": TOOL,
            "version": self.version,
            "schema_version": SCHEMA_VERSION,
            "inputs": self.inputs,
            "summary": self.summary,
            "rule_counts": self.rule_counts,
            "findings": [f.to_dict() for f in self.findings],
            "stats": self.stats,
        }

    def to_json(self, indent: int | None = 2) -> str:
        """The JSON report as text."""
        return json.dumps(self.to_dict(), indent=indent, sort_keys=False, default=json_default)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        """Read a JSON report back."""
        severity_counts = {
            Severity.parse(label): n for label, n in data["summary"].items() if label != "omitted"
        }
        return cls(
            inputs=list(data["inputs"]),
            findings=[Finding.from_dict(f) for f in data["findings"]],
            rule_counts=dict(data.get("rule_counts", {})),
            severity_counts=severity_counts,
            stats=dict(data.get("stats", {})),
            version=data.get("version", __version__),
        )

    def _repr_html_(self) -> str:
        from tfod_doctor.report.html import notebook_summary

        return notebook_summary(self)


def json_default(value: Any) -> Any:
    """Turn what JSON cannot hold (bytes, sets, numpy scalars) into what it can."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
