"""``tfod-doctor explain``: a TensorFlow error, a pasted traceback or log, or a rule id."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from tfod_doctor import catalogue
from tfod_doctor.cli.rules import describe
from tfod_doctor.errors import UserError
from tfod_doctor.explain import Explanation, explain, not_recognised_command


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
    lines = [f"Recognised: {found.matched}", "", "Likely cause(s):"]
    lines += [f"  {i}. {cause}" for i, cause in enumerate(found.causes, start=1)]
    if found.advice:
        lines += ["", found.advice]
    if found.rules:
        lines += ["", "Rules that find it:"]
        for rule in found.rules:
            if rule.known:
                lines.append(f"  {rule.id} {rule.name} ({rule.severity}): {rule.summary}")
            else:
                lines.append(f"  {rule.id} (not in this version's rule catalogue)")
    lines += ["", "Next:", f"  {found.next_command}"]
    if found.rules and any(rule.known for rule in found.rules):
        first = next(rule for rule in found.rules if rule.known)
        lines += [f"  tfod-doctor explain {first.id}      (the rule in full)"]
    return "\n".join(lines) + "\n"


@click.command(
    epilog="""\b
Examples:
  tfod-doctor explain "DataLossError: corrupted record at 1234"
  tfod-doctor explain train.log                 a log file or saved traceback
  python model_main_tf2.py ... 2>&1 | tfod-doctor explain -
  tfod-doctor explain B005                      one rule in full

Exit codes: 0 recognised (or a rule shown), 1 not recognised, 2 no input.
"""
)
@click.argument("message", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def explain_command(message: tuple[str, ...], fmt: str) -> int:
    """Explain MESSAGE: a TensorFlow / OD API error, a whole traceback, a log FILE, `-` for
    standard input, or a rule id: likely causes, the rules that find them, what to run next."""
    rule = _as_rule(message)
    if rule is not None:
        click.echo(json.dumps(rule.to_dict(), indent=2) if fmt == "json" else describe(rule))
        return 0
    text = _read_input(message)
    if not text.strip():
        raise UserError("nothing to explain: give an error message, a log file, or - for stdin")
    found = explain(text)
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


explain_command.name = "explain"
COMMANDS = [explain_command]
