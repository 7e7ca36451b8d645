"""The ``tfod-doctor`` command line. Each command lives in its own module in this package."""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys

import click

from tfod_doctor._version import __version__
from tfod_doctor.errors import UserError

EPILOG = """\b
Examples:
  tfod-doctor demo                        see what it does on a generated dataset
  tfod-doctor check pipeline.config       check config, label map and records together
  tfod-doctor scan 'data/*.tfrecord'      inventory and check record files
  tfod-doctor explain "corrupted record at 1234"
  tfod-doctor rules                       list every rule
  tfod-doctor convert coco instances.json --out records/ --eval-ratio 0.1
  tfod-doctor export coco 'records/eval-*.tfrecord' --out coco_eval/

Exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage error or nothing readable.
"""


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EPILOG,
)
@click.version_option(__version__, "--version", prog_name="tfod-doctor")
def app() -> None:
    """Find, explain and fix what breaks TensorFlow Object Detection API training:
    TFRecords, pipeline.config and label map, checked together."""


_SKIP = {"common"}
for _module in pkgutil.iter_modules(__path__):
    if _module.name not in _SKIP and not _module.name.startswith("_"):
        _commands = importlib.import_module(f"{__name__}.{_module.name}")
        for _command in getattr(_commands, "COMMANDS", ()):
            app.add_command(_command)


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
