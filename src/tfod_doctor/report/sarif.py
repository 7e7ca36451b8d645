"""``--format sarif``: SARIF 2.1.0, the format GitHub code scanning and other CI tools read.

Config and label-map findings point at ``file:line:column``; record findings point at the record
file (line 1: SARIF viewers place results on lines), with the record index, byte offset and
feature key in the message and in the result's properties. Every rule carries its help text (why
it matters, how to fix it, an example), which code scanning shows beside each alert.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tfod_doctor import catalogue
from tfod_doctor.catalogue import Rule
from tfod_doctor.findings import Finding, Location, Severity
from tfod_doctor.records.sources import has_glob, is_url
from tfod_doctor.report import RenderOptions, register
from tfod_doctor.report.model import TOOL, Report, json_default

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/tfod-doctor/tfod-doctor"
SRCROOT = "%SRCROOT%"
#: How each severity shows in SARIF (``level``) and in GitHub's ``problem.severity``.
LEVELS = {
    Severity.ERROR: ("error", "error"),
    Severity.DATA_LOSS: ("error", "error"),
    Severity.WARNING: ("warning", "warning"),
    Severity.INFO: ("note", "recommendation"),
}


def _help(rule: Rule) -> dict[str, str]:
    text = [rule.summary, "", f"Why it matters: {rule.why}", "", f"How to fix it: {rule.fix}",
            "", f"Example: {rule.example}"]
    markdown = [f"**{rule.summary}**", "", f"**Why it matters.** {rule.why}", "",
                f"**How to fix it.** {rule.fix}", "", "Example:", "", "```", rule.example, "```"]
    if rule.tf_message:
        text += ["", f"What TensorFlow says: {rule.tf_message}"]
        markdown += ["", "What TensorFlow says:", "", "```", rule.tf_message, "```"]
    return {"text": "\n".join(text), "markdown": "\n".join(markdown)}


def rule_descriptor(rule: Rule) -> dict[str, Any]:
    """A SARIF ``reportingDescriptor`` for one rule of the catalogue."""
    level, problem = LEVELS[rule.severity]
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.why},
        "help": _help(rule),
        "defaultConfiguration": {"level": level},
        "properties": {
            "tags": [rule.family, rule.severity.label],
            "precision": "very-high",
            "problem.severity": problem,
            "fixable": rule.fixable,
        },
    }


def artifact_uri(name: str) -> tuple[str, str | None]:
    """A file as a SARIF URI, with its base id: relative paths stay relative to ``%SRCROOT%``
    (the working directory), other local paths become ``file://`` URIs, URLs stay as they are."""
    if is_url(name):
        return name, None
    path = Path(name[len("file://"):] if name.startswith("file://") else name)
    absolute = path if path.is_absolute() else Path.cwd() / path
    try:
        relative = os.path.relpath(absolute, Path.cwd())
    except ValueError:  # another drive on Windows
        relative = None
    if relative is not None and not relative.startswith(".."):
        return quote(Path(relative).as_posix()), SRCROOT
    return absolute.resolve().as_uri(), None


def _region(location: Location) -> dict[str, int]:
    if location.line is not None:
        region = {"startLine": location.line}
        if location.column is not None:
            region["startColumn"] = location.column
        return region
    return {"startLine": 1}


def _physical(file: str, location: Location) -> dict[str, Any]:
    uri, base = artifact_uri(file)
    artifact: dict[str, Any] = {"uri": uri}
    if base:
        artifact["uriBaseId"] = base
    return {"physicalLocation": {"artifactLocation": artifact, "region": _region(location)}}


def _fallback_file(report: Report) -> str | None:
    """Where to pin a finding that names no file: the first input, if it is one file."""
    for name in report.inputs:
        if not has_glob(name) and (is_url(name) or Path(name).is_file()):
            return name
    return None


def _message(finding: Finding) -> str:
    where = finding.location
    place = []
    if where.record is not None:
        place.append(f"record {where.record}")
    if where.offset is not None:
        place.append(f"byte {where.offset}")
    if where.key:
        place.append(f"key {where.key}")
    text = finding.message
    if place and where.line is None:
        text = f"{text} ({', '.join(place)})"
    return f"{text}. Fix: {finding.hint}" if finding.hint else text


def _fingerprint(finding: Finding) -> str:
    where = finding.location
    key = json.dumps([finding.rule, where.file, where.record, where.offset, where.key,
                      where.line, where.column, finding.message])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def _result(finding: Finding, index: dict[str, int], fallback: str | None) -> dict[str, Any]:
    level, _ = LEVELS[finding.severity]
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": index[finding.rule],
        "level": level,
        "message": {"text": _message(finding)},
        "partialFingerprints": {"tfodDoctorFinding/v1": _fingerprint(finding)},
        "properties": {
            "severity": finding.severity.label,
            "location": finding.location.to_dict(),
            "evidence": finding.evidence,
        },
    }
    file = finding.location.file or fallback
    if file:
        result["locations"] = [_physical(file, finding.location)]
    return result


def to_sarif(report: Report, options: RenderOptions | None = None) -> dict[str, Any]:
    """The report as a SARIF 2.1.0 log (a dict ready for ``json.dumps``)."""
    rules = catalogue.all_rules()
    index = {rule.id: i for i, rule in enumerate(rules)}
    fallback = _fallback_file(report)
    run: dict[str, Any] = {
        "tool": {"driver": {
            "name": TOOL,
            "version": report.version,
            "semanticVersion": report.version,
            "informationUri": INFORMATION_URI,
            "rules": [rule_descriptor(rule) for rule in rules],
        }},
        "originalUriBaseIds": {SRCROOT: {"uri": Path.cwd().resolve().as_uri() + "/"}},
        "results": [_result(f, index, fallback) for f in report.findings],
        "invocations": [{"executionSuccessful": not report.nothing_read}],
        "properties": {
            "command": (options or RenderOptions()).command,
            "inputs": report.inputs,
            "summary": report.summary,
            "ruleCounts": report.rule_counts,
        },
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def render_sarif(report: Report, options: RenderOptions) -> str:
    """The SARIF log as indented JSON."""
    return json.dumps(to_sarif(report, options), indent=2, default=json_default) + "\n"


register("sarif", render_sarif)
