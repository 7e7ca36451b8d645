"""Findings placed in a text file: line, column, and the source line quoted as evidence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tfod_doctor.catalogue import Rule
from tfod_doctor.config.textproto import ParsedText, Pos
from tfod_doctor.findings import Finding, Location, Severity

#: The evidence key that holds the quoted source line (the terminal report draws a caret under it).
SOURCE_LINE = "source_line"


@dataclass
class TextFile:
    """A parsed text file as the user named it, to place findings in."""

    name: str
    parsed: ParsedText

    def at(self, pos: Pos | None) -> Location:
        """The location of a place in this file (the file alone when ``pos`` is None)."""
        if pos is None:
            return Location(file=self.name)
        return Location(file=self.name, line=pos.line, column=pos.column)

    def finding(self, rule: Rule, message: str, pos: Pos | None, hint: str | None = None,
                severity: Severity | None = None, **evidence: Any) -> Finding:
        """A finding of ``rule`` at ``pos``, quoting the source line."""
        if pos is not None:
            evidence.setdefault(SOURCE_LINE, self.parsed.line_text(pos.line))
        return rule.finding(message, self.at(pos), hint=hint or None, severity=severity,
                            **{k: v for k, v in evidence.items() if v is not None})
