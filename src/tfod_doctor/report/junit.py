"""``--format junit``: JUnit XML, which every CI system shows as a test report.

One test suite per rule family, one test case per rule. A rule fails when it has findings at or
above ``--fail-on`` (as the exit code does): the failure lists where and what, and how to fix it.
Findings below the threshold leave the test passing and are listed in its ``system-out``. Rules
that ``--select``/``--ignore`` left out are skipped.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable

from tfod_doctor import catalogue
from tfod_doctor.catalogue import FAMILIES, Rule
from tfod_doctor.findings import Finding
from tfod_doctor.report import RenderOptions, register
from tfod_doctor.report.model import TOOL, Report

#: Findings listed in one failure's text; the count is always exact.
MAX_LISTED = 50
_NOT_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot hold (they become U+FFFD)."""
    return _NOT_XML.sub("\ufffd", text)


def _listing(findings: list[Finding], count: int) -> str:
    lines = [f"{f.location}: {f.message}" for f in findings[:MAX_LISTED]]
    if count > len(lines):
        lines.append(f"... and {count - len(lines)} more (--format json lists them)")
    return "\n".join(lines)


def _plural(n: int) -> str:
    return f"{n} finding{'s' if n != 1 else ''}"


def _testcase(rule: Rule, report: Report, options: RenderOptions) -> tuple[ET.Element, bool]:
    findings = report.by_rule(rule.id)
    count = report.rule_counts.get(rule.id, 0)
    case = ET.Element("testcase", {
        "classname": f"{TOOL}.{rule.family}", "name": f"{rule.id} {rule.name}", "time": "0",
    })
    if options.rule_filter is not None and not options.rule_filter.allows(rule.id):
        ET.SubElement(case, "skipped", {"message": "not selected (--select/--ignore)"})
        return case, False
    if findings and findings[0].location.file:
        case.set("file", xml_text(findings[0].location.file))
        if findings[0].location.line is not None:
            case.set("line", str(findings[0].location.line))
    # Judged on every finding counted, not only those kept: as the exit code is.
    severity = report.rule_severity(rule.id)
    failing = bool(count) and severity >= options.fail_on
    if failing:
        first = findings[0].message if findings else rule.summary
        failure = ET.SubElement(case, "failure", {
            "message": xml_text(f"{_plural(count)}: {first}"), "type": severity.label,
        })
        hint = findings[0].hint if findings and findings[0].hint else rule.fix
        failure.text = xml_text(f"{_listing(findings, count)}\n\nFix: {hint}\n\n{rule.summary}")
    elif count:
        out = ET.SubElement(case, "system-out")
        out.text = xml_text(f"{_plural(count)} below --fail-on {options.fail_on.label}:\n"
                            + _listing(findings, count))
    return case, failing


def _suite(name: str, rules: Iterable[Rule], report: Report,
           options: RenderOptions) -> ET.Element:
    suite = ET.Element("testsuite", {"name": name})
    properties = ET.SubElement(suite, "properties")
    for value in report.inputs:
        ET.SubElement(properties, "property", {"name": "input", "value": xml_text(value)})
    tests = failures = skipped = 0
    for rule in rules:
        case, failing = _testcase(rule, report, options)
        suite.append(case)
        tests += 1
        failures += failing
        skipped += case.find("skipped") is not None
    suite.attrib.update({"tests": str(tests), "failures": str(failures), "errors": "0",
                         "skipped": str(skipped), "time": "0"})
    return suite


def to_junit(report: Report, options: RenderOptions | None = None) -> ET.Element:
    """The report as a JUnit ``<testsuites>`` element."""
    options = options or RenderOptions()
    root = ET.Element("testsuites", {"name": f"{TOOL} {options.command}"})
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for letter, family in FAMILIES.items():
        rules = [rule for rule in catalogue.all_rules() if rule.id.startswith(letter)]
        if not rules:
            continue
        suite = _suite(f"{TOOL} {options.command}: {family}", rules, report, options)
        root.append(suite)
        for name in totals:
            totals[name] += int(suite.get(name, 0))
    root.attrib.update({name: str(total) for name, total in totals.items()})
    root.attrib.update({"errors": "0", "time": "0"})
    return root


def render_junit(report: Report, options: RenderOptions) -> str:
    """The JUnit XML document."""
    root = to_junit(report, options)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


register("junit", render_junit)
