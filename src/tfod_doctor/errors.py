"""Errors users cause (bad paths, bad options): a clear message and exit code 2, no traceback."""

from __future__ import annotations


class UserError(Exception):
    """Something the user gave cannot be used; the message says what and how to fix it."""

    exit_code = 2
