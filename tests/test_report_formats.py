"""The report formats as tools and people read them: JSON against the published schema, SARIF
against the official SARIF 2.1.0 schema, JUnit through a JUnit reader, the terminal text, and the
HTML page's content (the browser test loads it in Chromium)."""

from __future__ import annotations

import base64
import html
import io
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from report_helpers import box_rule, demo_report, records_of

from tfod_doctor import catalogue
from tfod_doctor import report as reports
from tfod_doctor.api import check, scan, scan_plan_and_context
from tfod_doctor.cli import app, main
from tfod_doctor.cli.common import use_color
from tfod_doctor.engine import execute
from tfod_doctor.findings import Location, Severity
from tfod_doctor.records import FeatureView
from tfod_doctor.report import RenderOptions
from tfod_doctor.report.json_format import json_schema
from tfod_doctor.report.model import SCHEMA_VERSION, Report
from tfod_doctor.report.pictures import BAD, THUMB_SIDE, draw_record
from tfod_doctor.testing import make_dataset

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def module_tmp(tmp_path_factory):
    return tmp_path_factory.mktemp("reports")


@pytest.fixture
def demo(tmp_path, monkeypatch):
    """The demo dataset's report, with dataset stats and a box finding (see report_helpers)."""
    monkeypatch.chdir(tmp_path)
    return demo_report(Path("demo"), monkeypatch)


def _published_schema() -> dict:
    return json_schema()  # read from the installed package, as users get it


# -- JSON -----------------------------------------------------------------------------------------


def test_json_report_validates_against_the_published_schema(demo):
    report, _ = demo
    schema = _published_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    data = json.loads(reports.render(report, "json"))
    jsonschema.Draft202012Validator(schema).validate(data)
    published = schema["properties"]["schema_version"]["const"]
    assert data["schema_version"] == SCHEMA_VERSION == published
    assert {"classes", "boxes_per_image", "box_sizes", "box_aspect", "image_sizes"} <= set(
        data["stats"]
    )


def test_the_schema_rejects_what_is_not_a_report(demo):
    report, _ = demo
    validator = jsonschema.Draft202012Validator(_published_schema())
    data = json.loads(reports.render(report, "json"))
    for broken in (
        {k: v for k, v in data.items() if k != "summary"},
        {**data, "findings": [{**data["findings"][0], "severity": "fatal"}]},
        {**data, "findings": [{**data["findings"][0], "location": {"file": "x", "line": 0}}]},
        {**data, "stats": {**data["stats"], "box_sizes": {"edges": [0, 1], "counts": [-1]}}},
    ):
        assert not validator.is_valid(broken)


def test_json_report_reads_back(demo):
    report, _ = demo
    again = Report.from_dict(json.loads(reports.render(report, "json")))
    assert again.summary == report.summary
    assert [f.to_dict() for f in again] == [f.to_dict() for f in report]


# -- SARIF ----------------------------------------------------------------------------------------


def _sarif(report: Report, **options) -> dict:
    return json.loads(reports.render(report, "sarif", RenderOptions(**options)))


def test_sarif_validates_against_the_official_schema(demo):
    report, _ = demo
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text())
    log = _sarif(report, command="scan")
    jsonschema.Draft4Validator(schema).validate(log)
    assert log["version"] == "2.1.0"
    assert len(log["runs"][0]["results"]) == len(report.findings)


def test_sarif_record_findings_point_at_the_record_file(demo):
    report, _ = demo
    run = _sarif(report)["runs"][0]
    corrupted = next(r for r in run["results"] if r["ruleId"] == "R004")
    finding = report.by_rule("R004")[0]
    place = corrupted["locations"][0]["physicalLocation"]
    assert place["artifactLocation"] == {"uri": finding.location.file, "uriBaseId": "%SRCROOT%"}
    assert place["region"] == {"startLine": 1}
    assert f"record {finding.location.record}" in corrupted["message"]["text"]
    assert corrupted["properties"]["location"]["offset"] == finding.location.offset
    assert corrupted["level"] == "error"
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == Path.cwd().as_uri() + "/"


def test_sarif_config_findings_point_at_line_and_column(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rule = box_rule(monkeypatch)
    Path("pipeline.config").write_text("model {\n  ssd {\n    num_classes: 0\n")
    finding = rule.finding("num_classes is 0", Location(file="pipeline.config", line=3, column=5))
    report = Report(inputs=["pipeline.config"], findings=[finding], rule_counts={rule.id: 1},
                    severity_counts={rule.severity: 1})
    result = _sarif(report)["runs"][0]["results"][0]
    assert result["locations"][0]["physicalLocation"]["region"] == {"startLine": 3,
                                                                   "startColumn": 5}


def test_sarif_rules_carry_their_help(demo):
    report, _ = demo
    driver = _sarif(report)["runs"][0]["tool"]["driver"]
    for result in _sarif(report)["runs"][0]["results"]:
        descriptor = driver["rules"][result["ruleIndex"]]
        rule = catalogue.get(result["ruleId"])
        assert descriptor["id"] == rule.id
        assert rule.fix in descriptor["help"]["text"] and rule.why in descriptor["help"]["markdown"]
        assert descriptor["shortDescription"]["text"] == rule.summary


def test_sarif_levels_follow_severity(demo):
    report, _ = demo
    levels = {r["ruleId"]: r["level"] for r in _sarif(report)["runs"][0]["results"]}
    assert levels["R006"] == "error"  # data loss is an error to CI, not a note
    assert levels["B999"] == "error"


# -- JUnit ----------------------------------------------------------------------------------------


def test_junit_has_one_test_case_per_rule_failing_with_its_findings(demo, tmp_path):
    junitparser = pytest.importorskip("junitparser")
    report, _ = demo
    path = tmp_path / "report.xml"
    path.write_text(reports.render(report, "junit", RenderOptions(command="scan")))
    xml = junitparser.JUnitXml.fromfile(str(path))
    cases = {case.name: case for suite in xml for case in suite}
    assert set(cases) == {f"{r.id} {r.name}" for r in catalogue.all_rules()}
    failing = {name.split()[0] for name, case in cases.items() if not case.is_passed}
    assert failing == set(report.rule_counts)
    failure = cases["R006 cut-in-header"].result[0]
    assert failure.type == "data-loss"
    assert failure.message.startswith("1 finding:")
    assert report.by_rule("R006")[0].message in failure.text
    assert "Fix:" in failure.text


def test_junit_passes_rules_below_fail_on_and_lists_them(demo):
    report, _ = demo
    root = ET.fromstring(reports.render(report, "junit", RenderOptions(fail_on=Severity.ERROR)))
    assert root.tag == "testsuites"
    cases = {c.get("name"): c for c in root.iter("testcase")}
    data_loss = cases["R006 cut-in-header"]
    assert data_loss.find("failure") is None
    assert "below --fail-on error" in data_loss.find("system-out").text
    assert cases["R004 corrupted-payload"].find("failure") is not None


def test_junit_counts_agree_with_the_xsd_shape(demo):
    report, _ = demo
    root = ET.fromstring(reports.render(report, "junit"))
    total = failures = 0
    for suite in root.findall("testsuite"):
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases)
        assert int(suite.get("failures")) == sum(c.find("failure") is not None for c in cases)
        for case in cases:
            assert case.get("classname") and case.get("name") and case.get("time") == "0"
            failure = case.find("failure")
            if failure is not None:
                assert failure.get("message") and failure.get("type")
        total += len(cases)
        failures += int(suite.get("failures"))
    assert (int(root.get("tests")), int(root.get("failures"))) == (total, failures)


def test_junit_fails_a_rule_whose_worst_findings_were_not_kept(tmp_path):
    """D001 is info in the train split and data loss in the eval split. With one finding kept
    per rule, the one kept is a train one (it comes first by place); the rule must still fail
    at --fail-on data-loss, as the exit code does."""
    dataset = make_dataset(tmp_path / "data")
    copies = {"train": tmp_path / "a_train_copy.tfrecord",
              "eval": tmp_path / "z_eval_copy.tfrecord"}
    copies["train"].write_bytes(dataset.train_files[0].read_bytes())
    copies["eval"].write_bytes(dataset.eval_files[0].read_bytes())
    plan, ctx = scan_plan_and_context(
        [*map(str, dataset.train_files), str(copies["train"])],
        eval_inputs=[*map(str, dataset.eval_files), str(copies["eval"])])
    report = execute(plan, replace(ctx, max_findings_per_rule=1))
    kept = report.by_rule("D001")
    assert [f.severity for f in kept] == [Severity.INFO]
    assert report.exit_code(Severity.DATA_LOSS) == 1
    options = RenderOptions(fail_on=Severity.DATA_LOSS)
    root = ET.fromstring(reports.render(report, "junit", options))
    case = next(c for c in root.iter("testcase") if c.get("name").startswith("D001"))
    assert case.find("failure").get("type") == "data-loss"


def test_junit_skips_the_rules_left_out_by_select(tmp_path):
    junitparser = pytest.importorskip("junitparser")
    dataset = make_dataset(tmp_path / "data", ["bad_payload_crc", "nan_box"])
    path = tmp_path / "report.xml"
    with pytest.raises(SystemExit) as exit_info:
        main(["scan", *map(str, dataset.record_files), "--select", "R", "--format", "junit",
              "-o", str(path)])
    assert exit_info.value.code == 1
    xml = junitparser.JUnitXml.fromfile(str(path))
    cases = {case.name.split()[0]: case for suite in xml for case in suite}
    skipped = {rule for rule, case in cases.items() if case.is_skipped}
    assert skipped == {rule for rule in cases if not rule.startswith("R")}
    assert not cases["R004"].is_passed and not cases["R004"].is_skipped  # bad data CRC
    assert cases["B003"].is_skipped  # the NaN box is there, but B was not selected
    root = ET.parse(path).getroot()
    assert int(root.get("skipped")) == len(skipped)
    assert sum(int(suite.get("skipped")) for suite in root) == len(skipped)


def test_junit_survives_control_characters(monkeypatch):
    rule = box_rule(monkeypatch)
    finding = rule.finding("bad byte \x00\x1b here", Location(file="a\x07.tfrecord"))
    report = Report(inputs=["x"], findings=[finding], rule_counts={rule.id: 1},
                    severity_counts={rule.severity: 1})
    root = ET.fromstring(reports.render(report, "junit"))
    failure = next(c for c in root.iter("testcase") if c.get("name").startswith("B999"))
    assert "bad byte \ufffd\ufffd here" in failure.find("failure").get("message")


# -- terminal -------------------------------------------------------------------------------------


def _many(monkeypatch, n: int) -> Report:
    rule = box_rule(monkeypatch)
    findings = [rule.finding(f"box problem number {i}", Location(file="d.tfrecord", record=i,
                                                                 offset=100 * i))
                for i in range(n)]
    return Report(inputs=["d.tfrecord"], findings=findings, rule_counts={rule.id: n},
                  severity_counts={rule.severity: n})


def test_text_leads_with_the_summary_data_loss_first(demo):
    report, _ = demo
    lines = reports.render(report, "text", RenderOptions(command="scan")).splitlines()
    assert lines[1].startswith("2 data-loss · 1 error · 0 warning · 0 info")
    titles = [line for line in lines if re.match(r"^ (DATA-LOSS|ERROR|WARNING|INFO) ", line)]
    assert [t.split()[1] for t in titles] == ["B999", "R006", "R004"]


def test_text_caps_each_rule_and_verbose_lists_all(monkeypatch):
    report = _many(monkeypatch, 10)
    short = reports.render(report, "text")
    assert short.count("box problem number") == 3
    assert "… and 7 more (--verbose lists them)" in short
    every = reports.render(report, "text", RenderOptions(verbose=True))
    assert every.count("box problem number") == 10


def test_text_keeps_to_the_width_and_colours_only_when_asked(demo):
    report, _ = demo
    plain = reports.render(report, "text", RenderOptions(width=72, command="scan"))
    assert "\x1b[" not in plain
    assert max(len(line) for line in plain.splitlines()) <= 72
    assert not any(line != line.rstrip() for line in plain.splitlines())
    coloured = reports.render(report, "text", RenderOptions(color=True, width=72))
    assert "\x1b[" in coloured


def test_no_color_is_honoured(monkeypatch):
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_color()
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_color()


# -- HTML -----------------------------------------------------------------------------------------


_IMG = re.compile(r'<img src="([^"]+)"[^>]*alt="([^"]*)"')


def _images(page: str) -> list[tuple[str, str]]:
    return _IMG.findall(page)


def _decode(uri: str) -> Image.Image:
    head, data = uri.split(",", 1)
    assert head.endswith(";base64")
    raw = base64.b64decode(data)
    if head.startswith("data:image/svg+xml"):
        assert b"<svg" in raw[:400]
        return Image.new("RGB", (1, 1))
    return Image.open(io.BytesIO(raw)).convert("RGB")


def _section(page: str, ident: str) -> str:
    start = page.index(f"id={ident}")
    end = page.find("<section", start)
    return page[start:end if end > 0 else None]


def _pixels_like(image: Image.Image, colour: tuple[int, int, int], tolerance: int = 60) -> int:
    """How many pixels are within ``tolerance`` (summed over channels) of ``colour``."""
    pixels = np.asarray(image.convert("RGB"), dtype=int)
    return int((np.abs(pixels - np.array(colour)).sum(axis=2) < tolerance).sum())


def test_html_is_one_self_contained_file(demo):
    report, _ = demo
    page = reports.render(report, "html", RenderOptions(command="scan"))
    assert page.startswith("<!doctype html>")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "<link" not in page and "<script" not in page
    images = _images(page)
    assert images and all(uri.startswith("data:image/") for uri, _ in images)
    for uri, _ in images:
        _decode(uri)


def test_html_shows_offending_records_with_their_bad_boxes_highlighted(demo):
    report, _ = demo
    page = reports.render(report, "html")
    article = page[page.index('id="rule-B999"'):]
    article = article[: article.index("</article>")]
    pictures = _images(article)
    finding = report.by_rule("B999")[0]
    assert [alt for _, alt in pictures] == [f"{finding.location.file} record "
                                            f"{finding.location.record}"]
    payload = next(r.payload for r in records_of([finding.location.file])
                   if r.offset == finding.location.offset)
    view = FeatureView.from_payload(payload)
    plain = _pixels_like(draw_record(view, max_side=THUMB_SIDE), BAD)
    highlighted = _pixels_like(_decode(pictures[0][0]), BAD)
    assert highlighted > plain + 100, (highlighted, plain)


def test_html_summary_leads_and_rules_follow_by_severity(demo):
    report, _ = demo
    page = reports.render(report, "html")
    cards = re.findall(r'<div class="card ([a-z-]+)[^"]*"><div class=n>(\d+)</div>', page)
    assert cards == [("data-loss", "2"), ("error", "1"), ("warning", "0"), ("info", "0")]
    assert page.index("class=summary") < page.index("id=findings")
    order = re.findall(r'<article class="rule [a-z-]+" id="rule-(\w+)"', page)
    assert order == ["B999", "R006", "R004"]


def test_html_plots_every_statistic_present(demo):
    report, _ = demo
    dataset = _section(reports.render(report, "html"), "dataset")
    titles = [alt for uri, alt in _images(dataset) if uri.startswith("data:image/svg+xml")]
    assert titles == ["Boxes per class", "Boxes per image", "Box sizes", "Box shapes",
                      "Box sizes per class", "Box shapes per class",
                      "Image sizes (width × height)", "Image formats"]
    svg = base64.b64decode(_images(dataset)[0][0].split(",", 1)[1]).decode()
    for entry in report.stats["classes"]:
        assert entry["name"] in svg  # classes are named from the label map


def test_html_leaves_out_plots_whose_stats_are_absent(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    dataset = make_dataset("ds", n_train=6, n_eval=2)
    report = scan(dataset.scan_inputs)
    assert "Boxes per class" in _section(reports.render(report, "html"), "dataset")
    for key in ("classes", "boxes_per_image", "box_sizes", "box_aspect", "class_stats",
                "image_sizes", "image_formats"):
        report.stats.pop(key)
    page = reports.render(report, "html")
    assert "holds no class or box statistics" in _section(page, "dataset")
    report.stats["boxes_per_image"] = {"0": 1, "2": 5}
    assert [alt for _, alt in _images(_section(reports.render(report, "html"), "dataset"))] == [
        "Boxes per image"]


def test_html_shows_sample_images_without_findings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    dataset = make_dataset("ds", varied=True, n_train=20, n_eval=6)
    report = scan(dataset.scan_inputs)
    assert len(report) == 0
    page = reports.render(report, "html", RenderOptions(samples=9))
    samples = _images(_section(page, "samples"))
    assert len(samples) == 9
    assert len({alt.split(" record ")[0] for _, alt in samples}) == 3  # spread over the files
    assert "No findings" in page


def test_html_pictures_are_capped_per_rule_and_overall(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report, ds = demo_report(Path("ds"), monkeypatch)
    rule = catalogue.get("B999")
    for record in records_of([str(p) for p in ds.record_files]):
        report.findings.append(rule.finding("again", Location(file=record.file,
                                                              record=record.index,
                                                              offset=record.offset)))
        report.rule_counts["B999"] += 1
    page = reports.render(report, "html", RenderOptions(thumbnails_per_rule=4, samples=0))
    article = page[page.index('id="rule-B999"'):]
    assert len(_images(article[: article.index("</article>")])) == 4
    capped = reports.render(report, "html", RenderOptions(max_thumbnails=2, samples=0))
    assert len([u for u, _ in _images(capped) if u.startswith("data:image/jpeg")]) == 2


def test_html_stops_reading_pictures_at_the_time_limit(demo):
    report, _ = demo
    page = reports.render(report, "html", RenderOptions(picture_seconds=0))
    assert not [u for u, _ in _images(page) if u.startswith("data:image/jpeg")]
    assert "Pictures stopped at the time limit" in page or "could be read back" in page
    assert "id=findings" in page and "B999" in page


def test_html_names_files_that_are_gone(demo, tmp_path):
    report, ds = demo
    for path in ds.record_files:
        path.unlink()
    page = reports.render(report, "html")
    assert "No record could be read back" in page
    assert not [u for u, _ in _images(page) if u.startswith("data:image/jpeg")]


def test_html_quotes_the_source_line_of_config_findings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    dataset = make_dataset("ds", ["config_bad_enum"], n_train=4, n_eval=2)
    report = check(dataset.config_path)
    (bad_enum,) = report.by_rule("C003")
    page = reports.render(report, "html")
    quoted = re.search(r"<pre class=src>(.*?)</pre>", page, re.S).group(1)
    source, caret = html.unescape(quoted).split("\n")
    assert source.startswith(f"{bad_enum.location.line} | ")
    assert caret.endswith("^") and source[len(caret) - 1:].startswith("V3")


def test_notebook_view_shows_summary_findings_and_thumbnails(demo):
    report, _ = demo
    view = report._repr_html_()
    assert 'class="card data-loss hot"' in view
    assert "B999" in view and "R006" in view
    assert any(uri.startswith("data:image/jpeg") for uri, _ in _images(view))
    assert ".tfod-doctor " in view  # its styles stay inside the cell


# -- through the command line ---------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "sarif", "junit", "html", "text"])
def test_scan_writes_every_format(fmt, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    dataset = make_dataset("ds", ["bad_payload_crc"], n_train=6, n_eval=2)
    out = tmp_path / f"report.{fmt}"
    result = CliRunner().invoke(app, ["scan", "ds/data", "--format", fmt, "-o", str(out)],
                                standalone_mode=False)
    assert result.exception is None, result.output
    assert result.return_value == 1  # a corrupted record is an error
    text = out.read_text()
    assert "report written to" in result.output
    assert dataset.train_files[0].name in text
    assert reports.formats() == ["html", "json", "junit", "sarif", "text"]


def test_a_rule_that_fired_with_several_severities_is_shown_with_its_worst():
    from tfod_doctor.findings import Finding, Location, Severity
    from tfod_doctor.report.model import FindingStore

    store = FindingStore()
    store.add(Finding("D001", Severity.INFO, "a train duplicate", Location(file="a", record=0)))
    store.add(Finding("D001", Severity.DATA_LOSS, "an eval duplicate",
                      Location(file="b", record=0)))
    report = Report.from_store(["a", "b"], store, {}, nothing_read=False)
    assert report.rule_severity("D001") is Severity.DATA_LOSS
    text = reports.render(report, "text")
    assert "DATA-LOSS" in text and " INFO " not in text
