"""The differential diagnosis: which of an explanation's causes the user's own files show.

The candidate causes are the explanation's rules. A check of the config, label map and records
with only those rules (``tfod_doctor.explain(text, config=...)`` runs it) sorts them into the
causes the files show (with the findings and where they are), the causes they rule out, and the
rules this version cannot check yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tfod_doctor.explain.explanation import Explanation, RuleRef

if TYPE_CHECKING:
    from tfod_doctor.findings import Finding
    from tfod_doctor.report.model import Report

#: Findings shown per confirmed rule (the report has them all).
SHOWN_PER_RULE = 3


@dataclass
class Confirmed:
    """A candidate cause the files show: its rule, how many findings, the first of them."""

    rule: RuleRef
    count: int
    findings: list[Finding]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {"rule": self.rule.id, "count": self.count,
                "findings": [finding.to_dict() for finding in self.findings]}


@dataclass
class Confirmation:
    """What the user's files say about the candidate causes."""

    config: str
    shown: list[Confirmed] = field(default_factory=list)
    ruled_out: list[RuleRef] = field(default_factory=list)
    not_checked: list[RuleRef] = field(default_factory=list)
    #: Why the files could not be checked (the config does not exist, ...), if so.
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of ``explain --config``."""
        return {
            "config": self.config,
            "shown": [confirmed.to_dict() for confirmed in self.shown],
            "ruled_out": [rule.id for rule in self.ruled_out],
            "not_checked": [rule.id for rule in self.not_checked],
            "error": self.error,
        }


def rules_to_check(found: Explanation) -> list[str]:
    """The candidate causes this version can look for in the files (none for errors that are
    not about the files)."""
    if not found.about_files:
        return []
    return [rule.id for rule in found.rules if rule.known]


def needs_deep(found: Explanation) -> bool:
    """Whether the candidate causes need every image decoded (``--deep``)."""
    return "--deep" in found.next_command


def confirmation(found: Explanation, config: str, report: Report) -> Confirmation:
    """Sort the explanation's rules by what ``report`` (a check with only those rules) found."""
    result = Confirmation(config)
    checked = set(rules_to_check(found))
    for rule in found.rules:
        if rule.id not in checked:
            result.not_checked.append(rule)
            continue
        count = report.rule_counts.get(rule.id, 0)
        if count:
            findings = [f for f in report.findings if f.rule == rule.id][:SHOWN_PER_RULE]
            result.shown.append(Confirmed(rule, count, findings))
        else:
            result.ruled_out.append(rule)
    return result
