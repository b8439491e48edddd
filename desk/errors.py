"""Errors the CLI turns into one line on stderr and an exit code (see references/cli.md)."""

from __future__ import annotations


class UserError(Exception):
    """Bad input from the user: unknown symbol, bad flag or value, unreadable file. Exit code 2."""

    exit_code = 2


class RuntimeFailure(Exception):
    """Something failed while running (network down, journal locked). Exit code 1."""

    exit_code = 1
