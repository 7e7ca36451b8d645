"""The command group: every command is listed, and a command imports only what it needs."""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys

import click
import pytest

import tfod_doctor.cli as cli
from tfod_doctor.cli import COMMAND_MODULES, app, main
from tfod_doctor.testing import make_dataset


def _defined_commands() -> dict[str, str]:
    """Each command that a module of the package defines in ``COMMANDS``, and that module."""
    found: dict[str, str] = {}
    for module in pkgutil.iter_modules(cli.__path__):
        commands = getattr(importlib.import_module(f"tfod_doctor.cli.{module.name}"),
                           "COMMANDS", ())
        found.update((command.name, module.name) for command in commands)
    return found


def test_every_command_defined_is_listed_with_its_module():
    assert _defined_commands() == COMMAND_MODULES
    with click.Context(app) as ctx:
        for name in app.list_commands(ctx):
            assert app.get_command(ctx, name).name == name
        assert app.get_command(ctx, "nope") is None


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    listed = capsys.readouterr().out.split("Commands:")[1]
    for name in COMMAND_MODULES:
        assert f"\n  {name} " in listed


def test_an_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["chek"])
    assert exit_info.value.code == 2
    assert "No such command 'chek'" in capsys.readouterr().err


_RUN_AND_LIST_MODULES = """
import json, sys
from tfod_doctor.cli import app
try:
    app.main(sys.argv[1:], standalone_mode=False)
except SystemExit:
    pass
print()
print(json.dumps(sorted(sys.modules)))
"""


def _run_and_list_modules(*args: str) -> tuple[str, set[str]]:
    """What a command prints, and every module imported by the time it is done (run fresh)."""
    run = subprocess.run([sys.executable, "-c", _RUN_AND_LIST_MODULES, *args],
                         capture_output=True, text=True, timeout=120, check=True)
    output, _, modules = run.stdout.rpartition("\n\n")
    return output, set(json.loads(modules))


def test_check_does_not_import_converting_or_fixing(tmp_path):
    """What ``check`` never uses is not imported (it made every check start 0.1 s later)."""
    dataset = make_dataset(tmp_path / "data", ["label_above_num_classes"])
    report = tmp_path / "report.json"
    _, modules = _run_and_list_modules("check", str(dataset.config_path), "--format", "json",
                                       "-o", str(report))
    assert "L002" in json.loads(report.read_text())["rule_counts"]  # the check did run
    assert "tfod_doctor.cli.check" in modules
    assert not {m for m in modules if m.startswith(("tfod_doctor.converters",
                                                    "tfod_doctor.fixing",
                                                    "tfod_doctor.cli.convert"))}


@pytest.mark.parametrize(("args", "shown"), [
    (["rules"], "B001"),
    (["explain", "B001"], "B001"),
    (["explain", "DataLossError: corrupted record at 1234"], "byte 1234"),
])
def test_rules_and_explain_start_without_the_checks(args, shown):
    """``rules`` and ``explain`` read the catalogue only: they start without the engine, the
    checks and numpy (which took them from about 0.1 s to 0.3 s)."""
    output, modules = _run_and_list_modules(*args)
    assert shown in output
    assert not {m for m in modules if m.startswith(("tfod_doctor.checks", "tfod_doctor.engine",
                                                    "tfod_doctor.api", "numpy"))}


def test_the_package_gives_its_public_names_on_first_use():
    import tfod_doctor

    for name in tfod_doctor.__all__:
        assert getattr(tfod_doctor, name) is not None
    assert tfod_doctor.check.__module__ == "tfod_doctor.api"
    assert set(tfod_doctor.__all__) <= set(dir(tfod_doctor))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        tfod_doctor.nope  # noqa: B018
