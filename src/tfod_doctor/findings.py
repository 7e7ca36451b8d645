"""What a check reports: severities, locations and findings (the data every layer shares)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any


class Severity(IntEnum):
    """How bad a finding is; the order is the order of ``--fail-on`` thresholds."""

    INFO = 0
    WARNING = 1
    DATA_LOSS = 2
    ERROR = 3

    @property
    def label(self) -> str:
        """The name users see and type: ``info``, ``warning``, ``data-loss``, ``error``."""
        return self.name.lower().replace("_", "-")

    @classmethod
    def parse(cls, text: str) -> Severity:
        """Read a severity as users write it (``data-loss``, ``data_loss``, ``ERROR``)."""
        key = text.strip().upper().replace("-", "_")
        try:
            return cls[key]
        except KeyError:
            names = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {text!r}; use one of: {names}") from None


#: The order in which summaries list severities: silent data loss leads, it is the one nobody sees.
SUMMARY_ORDER: tuple[Severity, ...] = (
    Severity.DATA_LOSS,
    Severity.ERROR,
    Severity.WARNING,
    Severity.INFO,
)


@dataclass(frozen=True, slots=True)
class Location:
    """Where a finding is: a record in a file, or a line and column in a text file.

    ``record`` is 0-based (as ``Dataset.skip(n)`` counts); ``offset`` is a byte offset in the file;
    ``line`` and ``column`` are 1-based, as editors show them.
    """

    file: str | None = None
    record: int | None = None
    offset: int | None = None
    key: str | None = None
    line: int | None = None
    column: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: every field, ``None`` where unknown."""
        return {
            "file": self.file,
            "record": self.record,
            "offset": self.offset,
            "key": self.key,
            "line": self.line,
            "column": self.column,
        }

    def sort_key(self) -> tuple:
        """A total order: by file, then position in it, then key."""
        return (
            self.file or "",
            -1 if self.record is None else self.record,
            -1 if self.offset is None else self.offset,
            -1 if self.line is None else self.line,
            -1 if self.column is None else self.column,
            self.key or "",
        )

    def __str__(self) -> str:
        parts = [self.file or "<input>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        text = ":".join(parts)
        if self.record is not None:
            text += f" record {self.record}"
        if self.offset is not None:
            text += f" @ byte {self.offset}"
        if self.key:
            text += f" [{self.key}]"
        return text


@dataclass(slots=True)
class Finding:
    """One problem found: which rule, how bad, where, what, how to fix it, and the evidence."""

    rule: str
    severity: Severity
    message: str
    location: Location = field(default_factory=Location)
    hint: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of DESIGN.md."""
        return {
            "rule": self.rule,
            "severity": self.severity.label,
            "message": self.message,
            "hint": self.hint,
            "location": self.location.to_dict(),
            "evidence": self.evidence,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        """Read back what :meth:`to_dict` wrote."""
        return cls(
            rule=data["rule"],
            severity=Severity.parse(data["severity"]),
            message=data["message"],
            hint=data.get("hint", ""),
            location=Location(**data.get("location", {})),
            evidence=dict(data.get("evidence", {})),
        )

    def sort_key(self) -> tuple:
        """Report order: by place, then rule."""
        return (*self.location.sort_key(), self.rule)


@dataclass(frozen=True, slots=True)
class FindingTally:
    """Findings of one rule and severity that are counted but never made.

    A rule that knows how many findings it has can make only those a report keeps (the first of
    each rule by place, see ``report.model.FindingStore``) and tally the others.
    """

    rule: str
    severity: Severity
    count: int
