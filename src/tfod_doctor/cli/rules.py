"""``tfod-doctor rules``: the rule catalogue, one line per rule, or one rule in full."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table

from tfod_doctor import catalogue
from tfod_doctor.catalogue import Rule
from tfod_doctor.cli.common import use_color
from tfod_doctor.report.terminal import STYLES


def describe(rule: Rule) -> str:
    """One rule in full, as plain text: what, why, how to fix, example, TensorFlow's message."""
    lines = [
        f"{rule.id} {rule.name} ({rule.family}, {rule.severity.label})",
        "",
        rule.summary,
        "",
        "Why it matters:",
        f"  {rule.why}",
        "",
        "How to fix it:",
        f"  {rule.fix}",
        "",
        "Example:",
        f"  {rule.example}",
    ]
    if rule.tf_message:
        lines += ["", "What TensorFlow says:", f"  {rule.tf_message}"]
    lines += ["", f"Automatic fix: {'yes, tfod-doctor fix' if rule.fixable else 'no'}"]
    return "\n".join(lines) + "\n"


@click.command(
    epilog="""\b
Examples:
  tfod-doctor rules                 every rule
  tfod-doctor rules boxes           one family (records, features, boxes, labels, images,
                                    dataset, config, labelmap)
  tfod-doctor rules B003            one rule in full
  tfod-doctor rules --format json
"""
)
@click.argument("selector", required=False)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def rules(selector: str | None, fmt: str) -> int:
    """List the rules (all, a FAMILY, or one RULE in full)."""
    every = catalogue.all_rules()
    if selector:
        try:
            one = catalogue.get(selector)
        except KeyError:
            one = None
        if one is not None:
            click.echo(json.dumps(one.to_dict(), indent=2) if fmt == "json" else describe(one))
            return 0
        chosen = catalogue.RuleFilter([selector])
        if catalogue.unknown_selectors([selector]):
            raise click.BadParameter(f"no rule or family matches {selector!r}",
                                     param_hint="SELECTOR")
        every = [rule for rule in every if chosen.allows(rule.id)]
    if fmt == "json":
        click.echo(json.dumps([rule.to_dict() for rule in every], indent=2))
        return 0
    table = Table(show_edge=False)
    for column in ("id", "name", "severity", "fix", "summary"):
        table.add_column(column, overflow="fold")
    for rule in every:
        table.add_row(rule.id, rule.name, f"[{STYLES[rule.severity]}]{rule.severity.label}[/]",
                      "yes" if rule.fixable else "", rule.summary)
    console = Console(force_terminal=use_color(), no_color=not use_color(), width=140)
    console.print(table)
    console.print(f"{len(every)} rules. `tfod-doctor rules ID` shows one in full.",
                  style="dim")
    return 0


COMMANDS = [rules]
