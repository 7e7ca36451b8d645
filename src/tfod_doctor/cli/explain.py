"""``tfod-doctor explain``: a TensorFlow error, a pasted traceback or log, or a rule id."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from tfod_doctor import catalogue
from tfod_doctor.cli.rules import describe
from tfod_doctor.errors import UserError
from tfod_doctor.explain import (
    Explanation,
    RuleRef,
    config_in_log,
    explain,
    not_recognised_command,
)


def _read_input(parts: tuple[str, ...]) -> str:
    reading_stdin = parts == ("-",)
    path = Path(parts[0]) if len(parts) == 1 and len(parts[0]) < 4096 and "\n" not in parts[0] \
        else None
    if not reading_stdin and (path is None or not path.exists() or path.is_dir()):
        return " ".join(parts)
    # Imported here: explaining a message or a rule id starts without the records (and numpy).
    from tfod_doctor.records.inputs import read_capped, read_input_text

    try:
        if reading_stdin:  # bytes from a real stdin, text from one a test or notebook set
            data = read_capped(getattr(sys.stdin, "buffer", sys.stdin))
            return data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        return read_input_text(parts[0])
    except OSError as exc:
        raise UserError(f"cannot read {parts[0]}: {exc.strerror or exc}") from exc


def _as_rule(parts: tuple[str, ...]) -> catalogue.Rule | None:
    if len(parts) != 1 or " " in parts[0].strip():
        return None
    try:
        return catalogue.get(parts[0])
    except KeyError:
        return None


def render(found: Explanation) -> str:
    """An explanation as plain text."""
    lines = [f"Recognised: {found.matched}", ""]
    if not found.about_files:
        lines += ["This is not a problem in your data (config, label map or records).", ""]
    lines += ["Likely cause(s):"]
    lines += [f"  {i}. {cause}" for i, cause in enumerate(found.causes, start=1)]
    if found.advice:
        lines += ["", found.advice]
    if found.rules:
        lines += ["", "Rules that find it:"]
        lines += [f"  {_rule_line(rule)}" for rule in found.rules]
    if found.confirmation is not None:
        lines += ["", *_confirmation_lines(found)]
    if found.notes:
        lines += ["", "Also in the log:"]
        for note in found.notes:
            rules = f"  (rules {', '.join(rule.id for rule in note.rules)})" if note.rules else ""
            lines += [f"  - {note.matched}", f"    {note.cause}{rules}"]
    lines += ["", "Next:", f"  {found.next_command}"]
    if found.rules and any(rule.known for rule in found.rules):
        first = next(rule for rule in found.rules if rule.known)
        lines += [f"  tfod-doctor explain {first.id}      (the rule in full)"]
    return "\n".join(lines) + "\n"


def _rule_line(rule: RuleRef) -> str:
    if rule.known:
        return f"{rule.id} {rule.name} ({rule.severity}): {rule.summary}"
    return f"{rule.id} (not in this version's rule catalogue)"


def _confirmation_lines(found: Explanation) -> list[str]:
    confirmed = found.confirmation
    assert confirmed is not None
    lines = [f"Checked against your files ({confirmed.config}):"]
    if confirmed.error:
        return [*lines, f"  could not check them: {confirmed.error}"]
    for shown in confirmed.shown:
        lines.append(f"  FOUND {shown.rule.id} {shown.rule.name}: {shown.count} finding(s)")
        for finding in shown.findings:
            lines.append(f"    {finding.location}: {finding.message}")
    if not found.about_files:
        lines.append("  Nothing to check: this error is not about the files.")
    elif not (confirmed.shown or confirmed.ruled_out):
        lines.append("  No rule of this version checks these causes in the files.")
    elif not confirmed.shown:
        lines.append("  Your files show none of these causes: the error may come from files "
                     "the config does not name, or from something tfod-doctor cannot check.")
    for rule in confirmed.ruled_out:
        lines.append(f"  ruled out {rule.id} {rule.name}: your files do not show it")
    for rule in confirmed.not_checked:
        if found.about_files:
            lines.append(f"  not checked {rule.id}: not in this version's rule catalogue")
    return lines


@click.command(
    epilog="""\b
Examples:
  tfod-doctor explain "DataLossError: corrupted record at 1234"
  tfod-doctor explain train.log                 a log file or saved traceback
  python model_main_tf2.py ... 2>&1 | tfod-doctor explain -
  tfod-doctor explain train.log --config pipeline.config   confirm the cause in your files
  tfod-doctor explain B005                      one rule in full

Exit codes: 0 recognised (or a rule shown), 1 not recognised, 2 no input.
"""
)
@click.argument("message", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--config", "config", type=click.Path(dir_okay=True), default=None,
              help="Check the candidate causes in the files this pipeline.config names (found "
                   "by itself when the log shows --pipeline_config_path=).")
def explain_command(message: tuple[str, ...], fmt: str, config: str | None) -> int:
    """Explain MESSAGE: a TensorFlow / OD API error, a whole traceback, a log FILE, `-` for
    standard input, or a rule id: likely causes, the rules that find them, what to run next;
    with a config, which cause your own files show and where."""
    rule = _as_rule(message)
    if rule is not None:
        click.echo(json.dumps(rule.to_dict(), indent=2) if fmt == "json" else describe(rule))
        return 0
    text = _read_input(message)
    if not text.strip():
        raise UserError("nothing to explain: give an error message, a log file, or - for stdin")
    found = explain(text)
    config = config or _config_named_by(text)
    if found is not None and config is not None:
        from tfod_doctor.api import explain as explain_with_files

        found = explain_with_files(text, config=config)
    if found is None:
        command = not_recognised_command(text)
        if fmt == "json":
            click.echo(json.dumps({"recognised": False, "next": command}, indent=2))
        else:
            click.echo("Not recognised: tfod-doctor does not know this message (yet).\n"
                       "Check the config, label map and records together; most training errors "
                       f"come from them:\n  {command}")
        return 1
    click.echo(json.dumps(found.to_dict(), indent=2) if fmt == "json" else render(found),
               nl=fmt == "json")
    return 0


def _config_named_by(text: str) -> str | None:
    """The pipeline.config the log's command line names, if it is there to be read."""
    named = config_in_log(text)
    return named if named is not None and Path(named).is_file() else None


explain_command.name = "explain"
COMMANDS = [explain_command]
