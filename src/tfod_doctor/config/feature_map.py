"""Blocks in an input reader that try to map record keys onto the OD API's, read as intent.

The OD API's ``InputReader`` has no way to rename record keys: the decoder reads a fixed set
(``odapi.features.DETECTION_KEYS``). Configs still try it, as tutorials write them::

    train_input_reader {
      input_features {
        feature_map { key: "boxes" value: "bbox" }
        feature_map { key: "classes" value: "labels" }
      }
    }

Training stops at the parse (``Message type "object_detection.protos.InputReader" has no field
named "input_features".``, C002). The block still says what the user meant: which record key
holds the boxes and which the classes. :func:`feature_map_intent` reads it (``key`` is the record
key, ``value`` its role; the other way round when only ``key`` names an OD API key), and
:func:`explain_fixed_keys` adds the explanation to the C002 finding.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

from tfod_doctor.catalogue import config as C
from tfod_doctor.config import schema
from tfod_doctor.config.textproto import Block, Entry, ParsedText, Pos, Scalar
from tfod_doctor.findings import Finding
from tfod_doctor.odapi import features as K
from tfod_doctor.odapi.suggest import BOX_GROUP, suggest_key

READERS = {"train_input_reader": "train", "eval_input_reader": "eval"}
#: What an OD API key (or the box group) holds, in a few words.
ROLES = {K.IMAGE: "image", BOX_GROUP: "boxes", K.LABEL: "class ids", K.TEXT: "class names"}
#: Names of invented reader fields that are about record keys (they get the fixed-keys advice
#: even when they hold no mapping).
_KEYISH = re.compile(r"feature|key|field|map|column|decod|schema", re.I)


@dataclass(frozen=True)
class FeatureMapping:
    """One ``key: ... value: ...`` pair: the record key, and the OD API key it stands for."""

    record_key: str
    #: The OD API key (:data:`~tfod_doctor.odapi.suggest.BOX_GROUP` for boxes); ``None`` when the
    #: pair names nothing tfod-doctor recognises.
    od_key: str | None
    #: ``train`` or ``eval``: the reader the block is in.
    split: str
    pos: Pos

    @property
    def role(self) -> str:
        """``boxes``, ``class ids``, ``class names``, ``image``, or the OD API key."""
        if self.od_key is None:
            return "unknown"
        return ROLES.get(self.od_key, self.od_key)

    @property
    def renames(self) -> bool:
        """Whether the record key differs from the OD API key (a rename or split is needed)."""
        return self.od_key is not None and self.od_key != self.record_key

    def to_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {"record_key": self.record_key, "od_key": self.od_key, "role": self.role,
                "split": self.split, "line": self.pos.line, "column": self.pos.column}


@dataclass(frozen=True)
class FeatureMapIntent:
    """Every mapping a config's input readers write, in order (empty when there is none)."""

    mappings: tuple[FeatureMapping, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.mappings)

    def for_split(self, split: str) -> FeatureMapIntent:
        """The mappings of one reader."""
        return FeatureMapIntent(tuple(m for m in self.mappings if m.split == split))

    def record_key(self, od_key: str) -> str | None:
        """The record key the user says holds ``od_key`` (``BOX_GROUP`` for the flat boxes)."""
        for mapping in self.mappings:
            if mapping.od_key == od_key:
                return mapping.record_key
        return None

    @property
    def boxes_key(self) -> str | None:
        """The record key that holds the boxes (a flat list), per the config."""
        return self.record_key(BOX_GROUP)

    def renames(self) -> dict[str, str]:
        """Record key -> OD API key, for every mapping that needs a rename (boxes excluded:
        a flat list is split, with :func:`tfod_doctor.odapi.layout.to_od_boxes`)."""
        return {m.record_key: m.od_key for m in self.mappings
                if m.renames and m.od_key is not None and m.od_key != BOX_GROUP}

    def describe(self) -> str:
        """``boxes under 'boxes', class ids under 'classes'``."""
        parts = [f"{m.role} under {m.record_key!r}" for m in _unique(self.mappings)
                 if m.od_key is not None]
        return ", ".join(parts)

    def to_list(self) -> list[dict[str, object]]:
        """JSON-ready."""
        return [m.to_dict() for m in self.mappings]


def _unique(mappings: tuple[FeatureMapping, ...]) -> list[FeatureMapping]:
    seen: set[tuple[str, str | None]] = set()
    out = []
    for mapping in mappings:
        if (mapping.record_key, mapping.od_key) not in seen:
            seen.add((mapping.record_key, mapping.od_key))
            out.append(mapping)
    return out


def _od_key(text: str) -> str | None:
    if text in K.KINDS_OF_KEY or text == BOX_GROUP:
        return text
    suggestion = suggest_key(text)
    return suggestion.key if suggestion is not None else None


def _mapping(block: Block, split: str, pos: Pos) -> FeatureMapping | None:
    """A ``{ key: "..." value: "..." }`` block as a mapping."""
    values = {e.name: e.value.text for e in block.entries
              if isinstance(e.value, Scalar) and e.name in ("key", "value")}
    if set(values) != {"key", "value"}:
        return None
    key, value = values["key"], values["value"]
    if key in K.KINDS_OF_KEY and value not in K.KINDS_OF_KEY:
        return FeatureMapping(value, key, split, pos)  # written the other way round
    return FeatureMapping(key, _od_key(value) or _od_key(key), split, pos)


def _pairs(entry: Entry, split: str) -> Iterator[FeatureMapping]:
    if not isinstance(entry.value, Block):
        return
    found = _mapping(entry.value, split, entry.pos)
    if found is not None:
        yield found
        return
    for child in entry.value.entries:
        yield from _pairs(child, split)


def invented_reader_fields(parsed: ParsedText) -> Iterator[tuple[Entry, str]]:
    """Every field of an input reader that ``InputReader`` does not have, with its split."""
    known = schema.message("InputReader").fields
    for entry in parsed.root.entries:
        split = READERS.get(entry.name)
        if split is None or not isinstance(entry.value, Block):
            continue
        for child in entry.value.entries:
            if child.name not in known:
                yield child, split


def feature_map_intent(parsed: ParsedText) -> FeatureMapIntent:
    """The record-key mappings written in the input readers (see the module docstring)."""
    mappings: list[FeatureMapping] = []
    for entry, split in invented_reader_fields(parsed):
        mappings.extend(_pairs(entry, split))
    return FeatureMapIntent(tuple(mappings))


def explain_fixed_keys(parsed: ParsedText, findings: list[Finding]) -> list[Finding]:
    """C002 findings on invented reader fields about record keys, with why the keys are fixed
    and, when the block maps record keys to roles, what it says the records hold."""
    fields = {}
    for entry, split in invented_reader_fields(parsed):
        intent = FeatureMapIntent(tuple(_pairs(entry, split)))
        if intent or _KEYISH.search(entry.name):
            fields[(entry.pos.line, entry.pos.column)] = (entry, intent)
    if not fields:
        return findings
    out = []
    for finding in findings:
        place = (finding.location.line, finding.location.column)
        if finding.rule == C.UNKNOWN_FIELD.id and place in fields:
            finding = _explained(finding, *fields[place])
        out.append(finding)
    return out


def _explained(finding: Finding, entry: Entry, intent: FeatureMapIntent) -> Finding:
    keys = ", ".join(K.DETECTION_KEYS)
    said = finding.evidence.get("tensorflow")
    message = finding.message + (f"; training stops with `{said}`" if said else "")
    message += (f". The OD API cannot rename record keys: its decoder reads a fixed set of keys "
                f"({keys})")
    hint = ("delete the block and write the records with those keys")
    evidence = dict(finding.evidence, od_keys=list(K.DETECTION_KEYS))
    if intent:
        message += f". The block says the records hold {intent.describe()}"
        hint += ("; `tfod-doctor fix` reads the block as its rename plan (it splits a flat box "
                 "list into the four coordinate lists) and writes the config without it")
        evidence["feature_map"] = intent.to_list()
    elif finding.hint:
        hint = f"{finding.hint}; {hint}"
    return replace(finding, message=message, hint=hint, evidence=evidence)
