"""The ``tfod-doctor`` command line. Each command lives in its own module in this package."""

from __future__ import annotations

import importlib
import os
import sys

import click

from tfod_doctor._version import __version__
from tfod_doctor.errors import UserError

EPILOG = """\b
Examples:
  tfod-doctor demo                        see what it does on a generated dataset
  tfod-doctor check pipeline.config       check config, label map and records together
  tfod-doctor lint pipeline.config        config and label map only, fast (pre-commit)
  tfod-doctor scan 'data/*.tfrecord'      inventory and check record files
  tfod-doctor explain "corrupted record at 1234"
  tfod-doctor rules                       list every rule
  tfod-doctor convert coco instances.json --out records/ --eval-ratio 0.1
  tfod-doctor export coco 'records/eval-*.tfrecord' --out coco_eval/

Exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage error or nothing readable.
"""


#: Each command, and the module of this package that defines it in its ``COMMANDS``.
COMMAND_MODULES = {
    "check": "check", "convert": "convert", "demo": "demo", "explain": "explain",
    "export": "convert", "fix": "fix", "lint": "lint", "rules": "rules", "scan": "scan",
    "show": "show",
}


class _LazyGroup(click.Group):
    """A group that imports a command's module only when that command is used (running
    ``check`` does not import the converters), or when the help lists every command."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_MODULES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMAND_MODULES.get(cmd_name)
        if module is None:
            return None
        commands = importlib.import_module(f"{__name__}.{module}").COMMANDS
        return next(command for command in commands if command.name == cmd_name)


@click.group(
    cls=_LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EPILOG,
)
@click.version_option(__version__, "--version", prog_name="tfod-doctor")
def app() -> None:
    """Find, explain and fix what breaks TensorFlow Object Detection API training:
    TFRecords, pipeline.config and label map, checked together."""


def _system_answer(exc: OSError) -> str:
    """``cannot use PATH: No space left on device`` from an OSError."""
    reason = exc.strerror or str(exc)
    if exc.filename is None:
        return reason
    other = f" -> {exc.filename2}" if exc.filename2 is not None else ""
    return f"cannot use {exc.filename}{other}: {reason}"


def main(argv: list[str] | None = None) -> None:
    """The console script: run a command and exit with its code, never with a traceback."""
    try:
        code = app.main(args=argv, prog_name="tfod-doctor", standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:
        exc.show()
        code = exc.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("interrupted", err=True)
        code = 130
    except UserError as exc:
        click.secho(f"error: {exc}", fg="red", err=True)
        code = exc.exit_code
    except BrokenPipeError:
        code = 0
    except OSError as exc:
        # What the system answered about a file (disk full, permissions, a path that is not a
        # folder...): a problem of the input or the machine, which the commands report where
        # they can; this is the net for the places that cannot.
        click.secho(f"error: {_system_answer(exc)}", fg="red", err=True)
        code = 2
    except Exception as exc:
        if os.environ.get("TFOD_DOCTOR_DEBUG"):
            raise
        click.secho(
            f"internal error: {type(exc).__name__}: {exc}\nThis is a bug in tfod-doctor; run "
            "again with TFOD_DOCTOR_DEBUG=1 for the traceback and report it.",
            fg="red", err=True,
        )
        code = 3
    sys.exit(code if isinstance(code, int) else 0)
