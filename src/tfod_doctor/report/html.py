"""``--format html``: one self-contained page a person reads at a glance, and the notebook view.

The page needs no network: styles are inline, plots are SVG and thumbnails JPEG ``data:`` URIs.
Its parts, top to bottom: the summary (counts by severity, data loss first); findings grouped by
rule with thumbnails of the offending records, their bad boxes highlighted (an eval image leaked
from train beside its train copy); the dataset's plots (classes, boxes per image, box sizes and
shapes, image sizes); the files; the schema present; and a grid of sample images with their boxes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from html import escape

from tfod_doctor import catalogue
from tfod_doctor.findings import SUMMARY_ORDER, Finding, Severity
from tfod_doctor.report import RenderOptions, register
from tfod_doctor.report.gallery import (
    Limits,
    Picture,
    RecordFetcher,
    finding_pictures,
    label_names,
    sample_pictures,
)
from tfod_doctor.report.model import SCHEMA_VERSION, Report
from tfod_doctor.report.plots import plots
from tfod_doctor.report.terminal import human_bytes, rule_order

#: Locations listed openly per rule; the rest fold away.
_OPEN_ROWS = 8
#: Locations listed per rule in the fold (all kept ones with --verbose).
_FOLDED_ROWS = 100

_HEADLINES = {
    Severity.DATA_LOSS: "Training would run and silently learn from wrong or missing data.",
    Severity.ERROR: "Training or evaluation would stop with an error.",
    Severity.WARNING: "Nothing stops training, but some things look wrong.",
    Severity.INFO: "Nothing wrong; a few notes.",
}

CSS = """
:root{--dl:#a21caf;--er:#dc2626;--wa:#b45309;--in:#0369a1;--ok:#15803d;--bg:#f6f7f9;
--card:#fff;--ink:#1f2330;--mute:#667085;--line:#e4e7ec;--code:#f2f4f7}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
main{max-width:1240px;margin:0 auto;padding:24px 28px 48px}
h1{font-size:24px;margin:0 0 4px}h1 small{color:var(--mute);font-weight:500}
h2{font-size:19px;margin:36px 0 12px;padding-bottom:6px;border-bottom:1px solid var(--line)}
h3{font-size:16px;margin:0}
code,.mono{font:12.5px/1.4 ui-monospace,"SFMono-Regular",Menlo,Consolas,monospace}
code{background:var(--code);padding:1px 4px;border-radius:4px;word-break:break-word}
pre.src{font:12px/1.35 ui-monospace,"SFMono-Regular",Menlo,Consolas,monospace;margin:6px 0 0;
background:var(--code);padding:6px 8px;border-radius:4px;overflow-x:auto}
.meta{color:var(--mute);margin:0}.meta b{color:var(--ink)}
nav{margin:14px 0 0;display:flex;gap:16px;flex-wrap:wrap}
nav a{color:var(--in);text-decoration:none;font-weight:500}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:18px 0 8px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 18px;
min-width:140px;border-top:4px solid var(--line)}
.card .n{font-size:28px;font-weight:700;line-height:1.1}.card .l{color:var(--mute)}
.card.hot.data-loss{border-top-color:var(--dl)}.card.hot.data-loss .n{color:var(--dl)}
.card.hot.error{border-top-color:var(--er)}.card.hot.error .n{color:var(--er)}
.card.hot.warning{border-top-color:var(--wa)}.card.hot.warning .n{color:var(--wa)}
.card.hot.info{border-top-color:var(--in)}.card.hot.info .n{color:var(--in)}
.verdict{font-size:16px;font-weight:600;margin:10px 0 0}
.verdict.clean{color:var(--ok)}
.overview{margin-top:14px}
table{border-collapse:collapse;width:100%;background:var(--card);border:1px solid var(--line);
border-radius:8px;overflow:hidden}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:#fafbfc;font-weight:600;color:#475467;font-size:12.5px}
tr:last-child td{border-bottom:none}td.num,th.num{text-align:right;white-space:nowrap}
td.where{width:38%;word-break:break-all}
.rule{background:var(--card);border:1px solid var(--line);border-left:5px solid var(--line);
border-radius:10px;padding:16px 18px;margin:0 0 16px}
.rule.data-loss{border-left-color:var(--dl)}.rule.error{border-left-color:var(--er)}
.rule.warning{border-left-color:var(--wa)}.rule.info{border-left-color:var(--in)}
.rule header{display:flex;gap:10px;align-items:baseline;flex-wrap:wrap}
.rule .count{color:var(--mute)}
.rule p{margin:8px 0}
.badge{display:inline-block;font-size:11px;font-weight:700;text-transform:uppercase;
letter-spacing:.04em;color:#fff;border-radius:4px;padding:2px 7px;background:var(--mute);
white-space:nowrap}
.badge.data-loss{background:var(--dl)}.badge.error{background:var(--er)}
.badge.warning{background:var(--wa)}.badge.info{background:var(--in)}
.fix{background:#ecfdf3;border:1px solid #abefc6;border-radius:6px;padding:8px 12px;margin:10px 0}
.fix b{color:var(--ok)}
details{margin:8px 0}summary{cursor:pointer;color:var(--in);font-weight:500}
.thumbs{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0 4px}
figure{margin:0;background:#15171c;border-radius:8px;padding:6px;max-width:260px}
figure img{display:block;max-width:248px;height:auto;border-radius:4px;margin:0 auto}
figcaption{color:#d0d5dd;font-size:11.5px;margin-top:5px;word-break:break-all}
figcaption span{display:block;color:#98a2b3;word-break:normal}
.plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:14px}
.plot{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:10px 12px}
.plot h3{font-size:14px;margin:0 0 6px}.plot img{width:100%;height:auto;display:block}
.note{color:var(--mute);font-size:12.5px;margin:4px 0}.nowrap{white-space:nowrap}
.samples .thumbs{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr))}
.samples figure{max-width:none;display:flex;flex-direction:column;justify-content:space-between}
.samples figure img{max-width:100%}
.verdict+.verdict{margin-top:2px}
.pair{display:flex;flex-wrap:wrap;gap:12px;align-items:center;margin:12px 0 4px}
.pair .apart{margin:0;color:var(--mute);font-weight:600}
footer{color:var(--mute);margin-top:40px;font-size:12px}
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _prose(text: str) -> str:
    """Escaped text with its `backticked` parts set as code."""
    parts = _e(text).split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: leave the text as it is
        return _e(text)
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


# -- page parts ---------------------------------------------------------------------------------


def _header(report: Report, options: RenderOptions) -> str:
    totals = report.stats.get("totals") or {}
    inputs = ", ".join(report.inputs[:4]) + (f" and {len(report.inputs) - 4} more"
                                             if len(report.inputs) > 4 else "")
    facts = [f"<b>{_e(inputs or '-')}</b>"]
    if totals:
        facts.append(f"{_plural(totals.get('files', 0), 'file')} · "
                     f"{_plural(totals.get('records', 0), 'record')} · "
                     f"{human_bytes(totals.get('bytes', 0))}")
    if report.stats.get("images"):
        facts.append(f"images: {_e(report.stats['images'])}")
    return (f"<header><h1>tfod-doctor <small>{_e(options.command)} report</small></h1>"
            f"<p class=meta>{' · '.join(facts)}</p>{_nav(report)}</header>")


def _nav(report: Report) -> str:
    links = [("findings", "Findings"), ("dataset", "Dataset"), ("files", "Files"),
             ("schema", "Schema"), ("samples", "Sample images")]
    if not report.stats.get("schema"):
        links = [link for link in links if link[0] != "schema"]
    return "<nav>" + "".join(f'<a href="#{k}">{v}</a>' for k, v in links) + "</nav>"


def summary_cards(report: Report) -> str:
    """Counts by severity as cards (data loss first), and a one-line verdict."""
    cards = []
    for severity in SUMMARY_ORDER:
        n = report.severity_counts.get(severity, 0)
        hot = " hot" if n else ""
        cards.append(f'<div class="card {severity.label}{hot}"><div class=n>{n:,}</div>'
                     f"<div class=l>{_e(severity.label)}</div></div>")
    present = [s for s in SUMMARY_ORDER if report.severity_counts.get(s, 0)]
    if not present:
        verdict = '<p class="verdict clean">No findings: nothing in this data would trip up ' \
                  "training.</p>"
    else:
        serious = [s for s in present if s >= Severity.DATA_LOSS] or present[:1]
        verdict = "".join(f"<p class=verdict>{_e(_HEADLINES[s])}</p>" for s in serious)
    omitted = report.summary.get("omitted", 0)
    note = (f"<p class=note>{omitted:,} findings beyond the first ones per rule are counted but "
            "not listed.</p>" if omitted else "")
    return (f"<section class=summary><div class=cards>{''.join(cards)}</div>{verdict}{note}"
            "</section>")


def _overview(report: Report, rules: list[str]) -> str:
    rows = []
    for rule_id in rules:
        rule = catalogue.get(rule_id)
        severity = report.rule_severity(rule_id)
        rows.append(
            f'<tr><td><a href="#rule-{rule_id}">{_e(rule_id)}</a></td>'
            f"<td class=nowrap>{_e(rule.name)}</td>"
            f'<td><span class="badge {severity.label}">{_e(severity.label)}</span></td>'
            f"<td class=num>{report.rule_counts[rule_id]:,}</td>"
            f"<td>{_prose(rule.summary)}</td></tr>"
        )
    return ("<table class=overview><thead><tr><th>rule</th><th>name</th><th>severity</th>"
            "<th class=num>findings</th><th>what it means</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def source_excerpt(finding: Finding) -> str:
    """The quoted source line of a line:column finding with a caret under the column, or ``""``."""
    source, line = finding.evidence.get("source_line"), finding.location.line
    if not isinstance(source, str) or line is None:
        return ""
    gutter = f"{line} | "
    caret = ""
    if finding.location.column:
        caret = "\n" + " " * (len(gutter) + finding.location.column - 1) + "^"
    return f"<pre class=src>{_e(gutter + source.expandtabs(1))}{caret}</pre>"


def _location_rows(findings: list[Finding]) -> str:
    return "".join(
        f'<tr><td class="where mono" title="{_e(f.location)}">{_e(f.location)}</td>'
        f"<td>{_e(f.message)}{source_excerpt(f)}</td></tr>"
        for f in findings
    )


def _locations(findings: list[Finding], count: int, verbose: bool) -> str:
    head = "<table><thead><tr><th>where</th><th>what</th></tr></thead><tbody>"
    shown = findings[:_OPEN_ROWS]
    folded = findings[_OPEN_ROWS:] if verbose else findings[_OPEN_ROWS:_FOLDED_ROWS]
    parts = [f"{head}{_location_rows(shown)}</tbody></table>"]
    if folded:
        parts.append(f"<details><summary>{len(folded):,} more locations</summary>"
                     f"{head}{_location_rows(folded)}</tbody></table></details>")
    listed = len(shown) + len(folded)
    if count > listed:
        parts.append(f"<p class=note>{count - listed:,} more not listed here "
                     "(<code>--verbose</code> lists every kept one; <code>--format json</code> "
                     "has them all).</p>")
    return "".join(parts)


def _figure(picture: Picture) -> str:
    message = picture.findings[0].message if picture.findings else ""
    short = message if len(message) <= 140 else message[:137] + "…"
    detail = f"<span>{_e(short)}</span>" if short else ""
    alt = f"{picture.file} record {picture.record}"
    return (f'<figure><img src="{picture.uri}" alt="{_e(alt)}" loading="eager">'
            f"<figcaption>{_e(picture.caption)}{detail}</figcaption></figure>")


def _pair(picture: Picture, twin: Picture) -> str:
    """An eval picture beside its train copy, and how far apart their hashes are (D017)."""
    evidence = picture.findings[0].evidence if picture.findings else {}
    bits, of = evidence.get("bits"), evidence.get("hash_bits")
    apart = (f"{bits} of {of} hash bits differ" if isinstance(bits, int) else
             "identical image bytes")
    alt = f"{twin.file} record {twin.record}"
    return (f"<div class=pair>{_figure(picture)}"
            f'<figure class=twin><img src="{twin.uri}" alt="{_e(alt)}" loading="eager">'
            f"<figcaption>{_e(twin.caption)}</figcaption></figure>"
            f"<p class=apart>{_e(apart)}</p></div>")


def _thumbs(pictures: list[Picture]) -> str:
    if not pictures:
        return ""
    pairs = "".join(_pair(p, p.twin) for p in pictures if p.twin is not None)
    single = [p for p in pictures if p.twin is None]
    grid = f"<div class=thumbs>{''.join(_figure(p) for p in single)}</div>" if single else ""
    legend = ("<p class=note>Boxes drawn thick in red are the ones the findings name.</p>"
              if any(p.highlighted for p in pictures) else "")
    return f"{pairs}{grid}{legend}"


def _rule_article(report: Report, rule_id: str, pictures: list[Picture], verbose: bool) -> str:
    rule = catalogue.get(rule_id)
    findings = report.by_rule(rule_id)
    severity = report.rule_severity(rule_id)
    count = report.rule_counts[rule_id]
    hint = findings[0].hint if findings and findings[0].hint else rule.fix
    why = [f"<p>{_prose(rule.why)}</p>",
           f"<p><b>Example:</b> <code>{_e(rule.example)}</code></p>"]
    if rule.tf_message:
        why.append(f"<p><b>What TensorFlow says:</b> <code>{_e(rule.tf_message)}</code></p>")
    return (
        f'<article class="rule {severity.label}" id="rule-{_e(rule_id)}"><header>'
        f'<span class="badge {severity.label}">{_e(severity.label)}</span>'
        f"<h3>{_e(rule_id)} {_e(rule.name)}</h3><span class=count>{_plural(count, 'finding')}"
        f"</span></header><p>{_prose(rule.summary)}</p>"
        f"<div class=fix><b>Fix:</b> {_prose(hint)}</div>"
        f"{_thumbs(pictures)}{_locations(findings, count, verbose)}"
        f"<details><summary>Why it matters</summary>{''.join(why)}</details></article>"
    )


def _findings_section(report: Report, pictures: Mapping[str, list[Picture]],
                      options: RenderOptions) -> str:
    rules = sorted(report.rule_counts, key=lambda r: rule_order(r, report.rule_severity(r)))
    if not rules:
        return ("<section id=findings><h2>Findings</h2><p class=note>None. Every rule passed."
                "</p></section>")
    articles = "".join(
        _rule_article(report, rule_id, list(pictures.get(rule_id, [])), options.verbose)
        for rule_id in rules
    )
    return (f"<section id=findings><h2>Findings by rule</h2>{_overview(report, rules)}"
            f"<div style='height:16px'></div>{articles}</section>")


def _dataset_section(report: Report) -> str:
    drawn = plots(report.stats)
    if not drawn:
        return ("<section id=dataset><h2>Dataset</h2><p class=note>This report holds no class or "
                "box statistics.</p></section>")
    cells = "".join(
        f'<div class=plot><h3>{_e(p.title)}</h3><img src="{p.uri}" alt="{_e(p.title)}">'
        + (f"<p class=note>{_e(p.note)}</p>" if p.note else "") + "</div>"
        for p in drawn
    )
    return f"<section id=dataset><h2>Dataset</h2><div class=plots>{cells}</div></section>"


def _files_section(report: Report) -> str:
    files = report.stats.get("files") or []
    if not files:
        return ("<section id=files><h2>Files</h2><p class=note>No record file was read.</p>"
                "</section>")
    rows = []
    for entry in files:
        damaged = entry.get("damaged_ranges") or []
        damage = ", ".join(f"{d['kind']} @ {d['offset']:,}" for d in damaged[:4])
        if len(damaged) > 4:
            damage += f", +{len(damaged) - 4}"
        rows.append(
            f"<tr><td class=mono>{_e(entry['file'])}</td><td>{_e(entry.get('role') or '')}</td>"
            f"<td>{_e(entry.get('kind') or '')}</td>"
            f"<td class=num>{human_bytes(entry.get('bytes', 0))}</td>"
            f"<td class=num>{entry.get('records', 0):,}</td>"
            f"<td class=num>{human_bytes(entry['lost_bytes']) if entry.get('lost_bytes') else ''}"
            f"</td><td>{_e(damage)}</td></tr>"
        )
    return ("<section id=files><h2>Files</h2><table><thead><tr><th>file</th><th>split</th>"
            "<th>kind</th><th class=num>size</th><th class=num>records</th>"
            "<th class=num>lost</th><th>damage</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></section>")


def _schema_section(report: Report) -> str:
    schema = report.stats.get("schema") or {}
    if not schema:
        return ""
    rows = []
    for key, info in schema.items():
        kinds = ", ".join(f"{k} ({n:,})" if len(info["kinds"]) > 1 else k
                          for k, n in info["kinds"].items())
        length = info["length"]
        rows.append(f"<tr><td class=mono>{_e(key)}</td><td>{_e(kinds)}</td>"
                    f"<td class=num>{info['records']:,}</td>"
                    f"<td class=num>{length['min']} / {length['median']:g} / {length['max']}"
                    "</td></tr>")
    return ("<section id=schema><h2>Schema present</h2><table><thead><tr><th>key</th>"
            "<th>kinds</th><th class=num>records</th><th class=num>length min / median / max"
            f"</th></tr></thead><tbody>{''.join(rows)}</tbody></table></section>")


def _samples_section(pictures: list[Picture], out_of_time: bool) -> str:
    if not pictures:
        return ("<section id=samples class=samples><h2>Sample images</h2><p class=note>No "
                "record could be read back for pictures.</p></section>")
    note = ("<p class=note>Pictures stopped at the time limit.</p>" if out_of_time else "")
    return (f"<section id=samples class=samples><h2>Sample images</h2><p class=note>The first "
            f"records of the files, with their boxes as training sees them.</p>"
            f"{_thumbs(pictures)}{note}</section>")


def _limits(options: RenderOptions) -> Limits:
    return Limits(per_rule=options.thumbnails_per_rule, total=options.max_thumbnails,
                  samples=options.samples, seconds=options.picture_seconds)


def render_html(report: Report, options: RenderOptions) -> str:
    """The self-contained HTML page."""
    names = label_names(report, options.label_names)
    limits = _limits(options)
    with RecordFetcher(limits.seconds) as fetcher:
        by_rule = finding_pictures(report, fetcher, limits, names)
        samples = sample_pictures(report, fetcher, limits, names)
        out_of_time = fetcher.out_of_time
    total = len(report)
    title = f"tfod-doctor {options.command}: {_plural(total, 'finding')}"
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = "".join((
        _header(report, options), summary_cards(report),
        _findings_section(report, by_rule, options), _dataset_section(report),
        _files_section(report), _schema_section(report), _samples_section(samples, out_of_time),
        f"<footer>tfod-doctor {_e(report.version)} · report schema {SCHEMA_VERSION} · "
        f"{stamp}</footer>",
    ))
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )


register("html", render_html)


# -- notebooks ----------------------------------------------------------------------------------

_TOP = 10
_NOTEBOOK_PICTURES = 6


def notebook_summary(report: Report) -> str:
    """Jupyter's view of a report: counts by severity, the top findings, and thumbnails."""
    options = RenderOptions(thumbnails_per_rule=2, max_thumbnails=_NOTEBOOK_PICTURES, samples=0,
                            picture_seconds=5.0)
    limits = _limits(options)
    with RecordFetcher(limits.seconds) as fetcher:
        pictures = finding_pictures(report, fetcher, limits, label_names(report))
    top = sorted(report.findings, key=lambda f: rule_order(f.rule, f.severity))[:_TOP]
    rows = "".join(
        f"<tr><td>{_e(f.rule)}</td><td><span class='badge {f.severity.label}'>"
        f"{_e(f.severity.label)}</span></td><td class='where mono'>{_e(f.location)}</td>"
        f"<td>{_e(f.message)}</td></tr>"
        for f in top
    )
    more = len(report) - len(top)
    tail = f"<p class=note>… and {more:,} more</p>" if more > 0 else ""
    thumbs = _thumbs([p for rule in pictures.values() for p in rule])
    table = ("<table><thead><tr><th>rule</th><th>severity</th><th>where</th><th>what</th></tr>"
             f"</thead><tbody>{rows}</tbody></table>" if top else "")
    return (f"<div class=tfod-doctor><style>{_scoped_css()}</style>{summary_cards(report)}"
            f"{table}{tail}{thumbs}</div>")


def _scoped_css() -> str:
    """The page's styles limited to the notebook cell (``.tfod-doctor``)."""
    rules = []
    for block in CSS.replace("\n", "").split("}"):
        if "{" not in block:
            continue
        selectors, body = block.split("{", 1)
        if selectors.strip() in (":root", "*", "body"):
            target = ".tfod-doctor" if selectors.strip() != "*" else ".tfod-doctor *"
            rules.append(f"{target}{{{body}}}")
            continue
        scoped = ",".join(f".tfod-doctor {s.strip()}" for s in selectors.split(","))
        rules.append(f"{scoped}{{{body}}}")
    return "".join(rules)
