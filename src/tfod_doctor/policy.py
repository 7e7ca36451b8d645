"""What a team decided about findings: severity overrides, per-file ignores and a baseline.

A :class:`FindingPolicy` is applied to every finding as it is made (``Partial.emit``), in worker
processes and on Beam alike, so the counts, the exit code and every report agree. It comes from
the project file (``[tool.tfod-doctor]`` in ``pyproject.toml`` or ``tfod-doctor.toml``) and from
``--baseline``.

A baseline names findings by a *fingerprint* that survives re-sharding: a record is named by its
``image/source_id`` (or, without one, by a hash of its image bytes), not by its file and index.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from tfod_doctor.catalogue import RuleFilter
from tfod_doctor.findings import Finding, FindingTally, Severity

_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def record_key(source_id: bytes, image_crc: int | None) -> str | None:
    """How a baseline names a record: its source id, else its image's CRC, else ``None``."""
    if source_id:
        return "source_id:" + source_id.decode("utf-8", "replace")
    if image_crc is not None:
        return f"image:{image_crc:08x}"
    return None


def fingerprint(finding: Finding, record: str | None = None) -> str:
    """A short stable name for a finding: the rule, the record (``record``, from
    :func:`record_key`) or the file's name, the feature key, and the message without numbers
    (counts and positions change when unrelated data changes)."""
    where = finding.location
    if where.record is not None:
        place = record or f"{os.path.basename(where.file or '')}#{where.record}"
        text = ""
    else:
        place = os.path.basename(where.file or "")
        text = _NUMBER.sub("#", finding.message)
    raw = "\x1f".join((finding.rule, place, where.key or "", text))
    return hashlib.sha256(raw.encode("utf-8", "replace")).hexdigest()[:20]


@dataclass(frozen=True)
class FileIgnore:
    """``per-file-ignores``: the rules left out for the files a glob matches."""

    pattern: str
    #: Rule ids, prefixes, families or names (as ``--ignore`` takes them).
    rules: tuple[str, ...]
    selected: RuleFilter = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "selected", RuleFilter(select=self.rules))

    def matches(self, path: str, root: str) -> bool:
        """Whether ``path`` (as the finding names it) matches the glob, taken from ``root``."""
        candidates = {path.replace(os.sep, "/"), os.path.basename(path)}
        if root and not _is_url(path):
            full = os.path.abspath(path)
            candidates.add(os.path.relpath(full, root).replace(os.sep, "/"))
        return any(fnmatch.fnmatchcase(c, self.pattern) for c in candidates)


def _is_url(path: str) -> bool:
    return "://" in path


@dataclass(frozen=True)
class FindingPolicy:
    """Severity overrides, per-file ignores and a baseline, applied to each finding."""

    severities: dict[str, Severity] = field(default_factory=dict)
    file_ignores: tuple[FileIgnore, ...] = ()
    #: The folder per-file globs are relative to (the project file's).
    root: str = ""
    #: Fingerprints of accepted findings: those are left out (``None``: no baseline to read).
    baseline: frozenset[str] | None = None
    #: Collect the fingerprint of every finding made (to write a new baseline).
    collect: bool = False

    @property
    def wants_record_keys(self) -> bool:
        """Whether findings on records need their record's key (a baseline is read or made)."""
        return self.baseline is not None or self.collect

    def with_baseline(self, fingerprints: Iterable[str] | None, collect: bool) -> FindingPolicy:
        """A copy that reads ``fingerprints`` as the baseline, or collects new ones."""
        accepted = None if fingerprints is None else frozenset(fingerprints)
        return replace(self, baseline=accepted, collect=collect)

    def severity_of(self, rule: str, severity: Severity) -> Severity:
        """The severity a finding of ``rule`` is reported with."""
        return self.severities.get(rule, severity)

    def ignored_for_file(self, finding: Finding) -> bool:
        """Whether a per-file ignore leaves this finding out."""
        path = finding.location.file
        if not path or not self.file_ignores:
            return False
        return any(i.selected.allows(finding.rule) and i.matches(path, self.root)
                   for i in self.file_ignores)

    def retag(self, finding: Finding | FindingTally) -> Finding | FindingTally:
        """The finding with its overridden severity (itself when there is none)."""
        severity = self.severities.get(finding.rule)
        if severity is None or severity == finding.severity:
            return finding
        return replace(finding, severity=severity)
