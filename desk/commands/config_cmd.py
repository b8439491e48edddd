"""`desk config show|check`: the effective settings and where each value came from.

Human output is TOML-shaped (``key = value  # source``) so a line can be pasted into a settings file; values
are rendered with JSON syntax, which TOML shares for strings, numbers, booleans and lists of strings.
"""

from __future__ import annotations

import typer

from desk.commands.options import ConfigOpt, JsonOpt, ProfileOpt, resolve_for_command


def register(app: typer.Typer) -> None:
    group = typer.Typer(name="config", help="Show or check the effective settings.")
    group.callback(invoke_without_command=True)(_help_without_subcommand)
    group.command("show")(show)
    group.command("check")(check)
    app.add_typer(group, name="config")


def _help_without_subcommand(ctx: typer.Context) -> None:
    """Show or check the effective settings."""
    # Not ``no_args_is_help``: that reports the help as a usage error (exit 2); a bare `desk config` is a question.
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit()


def show(ctx: typer.Context, json_out: JsonOpt = False, config: ConfigOpt = None, profile: ProfileOpt = None) -> None:
    """Print every effective setting with its source (default, a file, a profile, env var, .env or cli)."""
    import json

    from desk.config import display_value

    resolved = resolve_for_command(ctx, config, profile)
    if json_out:
        doc = {key: {"value": display_value(key, value), "source": source} for key, value, source in resolved.items()}
        typer.echo(json.dumps(doc, indent=2))
        return
    rows = [(f"{key} = {json.dumps(display_value(key, value))}", source) for key, value, source in resolved.items()]
    width = max(len(left) for left, _ in rows)
    typer.echo(f"# profile: {resolved.profile or '(none)'}; files: {', '.join(map(str, resolved.files))}")
    for left, source in rows:
        typer.echo(f"{left.ljust(width)}  # {source}")


def check(ctx: typer.Context, config: ConfigOpt = None, profile: ProfileOpt = None) -> None:
    """Validate every layer of settings: prints OK, or the first error (exit 2)."""
    resolved = resolve_for_command(ctx, config, profile)
    files = ", ".join(map(str, resolved.files))
    typer.echo(f"OK: {len(resolved.values)} settings valid (profile: {resolved.profile or '(none)'}; files: {files})")
