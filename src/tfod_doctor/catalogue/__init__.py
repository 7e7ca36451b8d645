"""The rule catalogue: every rule's stable id, severity, and its documentation, as data.

Rules are declared with :func:`define` in one module per family (``records.py``, ``boxes.py``, ...);
every module in this package is imported when the catalogue is first used. Ids are never reused or
renumbered. The checks that *emit* findings live in :mod:`tfod_doctor.checks`; this package only
describes the rules, so every layer (reports, ``explain``, ``rules``) can read it.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tfod_doctor.findings import Finding, Location, Severity

#: Family letter -> family name. The letter starts every rule id of that family.
FAMILIES: dict[str, str] = {
    "R": "records",
    "F": "features",
    "B": "boxes",
    "L": "labels",
    "I": "images",
    "D": "dataset",
    "C": "config",
    "M": "labelmap",
    "A": "model",
}


@dataclass(frozen=True)
class Rule:
    """One rule: what it finds, why it matters to training, how to fix it, and an example."""

    id: str
    name: str
    severity: Severity
    summary: str
    why: str
    fix: str
    example: str
    #: The name of the :mod:`tfod_doctor.testing` defect that makes this rule fire.
    defect: str | None = None
    #: What TensorFlow or the OD API prints when it trips on this, if it says anything.
    tf_message: str | None = None
    #: Whether ``tfod-doctor fix`` can repair it.
    fixable: bool = False

    @property
    def family(self) -> str:
        """The family name, from the id's letter."""
        return FAMILIES[self.id[0]]

    def finding(
        self,
        message: str,
        location: Location | None = None,
        hint: str | None = None,
        severity: Severity | None = None,
        **evidence: Any,
    ) -> Finding:
        """A finding of this rule; the hint defaults to the rule's fix."""
        return Finding(
            rule=self.id,
            severity=self.severity if severity is None else severity,
            message=message,
            location=location or Location(),
            hint=self.fix if hint is None else hint,
            evidence=evidence,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by ``tfod-doctor rules --format json`` and reports."""
        return {
            "id": self.id,
            "name": self.name,
            "family": self.family,
            "severity": self.severity.label,
            "summary": self.summary,
            "why": self.why,
            "fix": self.fix,
            "example": self.example,
            "tf_message": self.tf_message,
            "fixable": self.fixable,
        }


_RULES: dict[str, Rule] = {}
_NAMES: dict[str, str] = {}
_loaded = False


def define(rule: Rule) -> Rule:
    """Add a rule to the catalogue; ids and names must be unique and well-formed."""
    if rule.id[:1] not in FAMILIES or not rule.id[1:].isdigit() or len(rule.id) != 4:
        raise ValueError(f"rule id {rule.id!r} must be a family letter and three digits")
    if rule.id in _RULES or rule.name in _NAMES:
        raise ValueError(f"rule {rule.id} / {rule.name} is defined twice")
    _RULES[rule.id] = rule
    _NAMES[rule.name] = rule.id
    return rule


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


def all_rules() -> list[Rule]:
    """Every rule, ordered by id."""
    _load()
    return [_RULES[key] for key in sorted(_RULES)]


def get(rule_id: str) -> Rule:
    """A rule by id (``B003``) or name (``inverted-box``); KeyError if there is none."""
    _load()
    key = rule_id.strip()
    if key.upper() in _RULES:
        return _RULES[key.upper()]
    if key.lower() in _NAMES:
        return _RULES[_NAMES[key.lower()]]
    raise KeyError(rule_id)


def _matches(rule: Rule, selector: str) -> bool:
    sel = selector.strip()
    if not sel:
        return False
    if sel.lower() in (rule.family, rule.name, "all"):
        return True
    return rule.id.startswith(sel.upper())


def unknown_selectors(selectors: Iterable[str]) -> list[str]:
    """The selectors that name no rule (so the CLI can refuse a typo instead of ignoring it)."""
    rules = all_rules()
    return [s for s in selectors if s.strip() and not any(_matches(r, s) for r in rules)]


class RuleFilter:
    """``--select`` / ``--ignore``: by id, id prefix (``B``, ``B0``), family name or rule name."""

    def __init__(self, select: Iterable[str] = (), ignore: Iterable[str] = ()) -> None:
        self.select = [s for s in select if s.strip()]
        self.ignore = [s for s in ignore if s.strip()]
        self._cache: dict[str, bool] = {}

    def allows(self, rule_id: str) -> bool:
        """Whether findings of this rule are reported."""
        if rule_id not in self._cache:
            rule = get(rule_id)
            selected = not self.select or any(_matches(rule, s) for s in self.select)
            ignored = any(_matches(rule, s) for s in self.ignore)
            self._cache[rule_id] = selected and not ignored
        return self._cache[rule_id]
