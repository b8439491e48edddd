"""Typed, layered settings.

Access is by attribute (``settings.sim.seed``). Each section is a frozen dataclass whose fields are declared
with ``setting(...)``: the field's type annotation is the type the loader enforces (bool, int, float, str,
``tuple[str, ...]`` for lists, ``Path``), and the ``setting`` arguments are its bounds. Add a section by adding a
dataclass here, a field for it on ``Settings``, and its keys, each with a comment, to config/default.toml (a
test checks both agree).

Precedence, lowest first (later layers override earlier ones key by key):

1. the dataclass defaults below (equal to config/default.toml; a test keeps them in step),
2. config/default.toml, then its ``[profiles.<profile>]`` table,
3. the user file, then its ``[profiles.<profile>]`` table. The user file is ``--config PATH``, else
   ``$DESK_CONFIG_FILE``, else ``config.toml`` in the user config directory (see ``desk.locations``); the first two
   must exist, the last is optional,
4. ``DESK_*`` variables in ``./.env``,
5. ``DESK_*`` environment variables (``__`` separates nesting levels: ``DESK_SIM__SEED=3`` sets ``sim.seed``,
   ``DESK_VENUES__BINANCE__API_KEY`` sets ``venues.binance.api_key``),
6. command-line flags.

So a profile overrides the base keys of its own file only: a key in the user file's base table beats the same
key in config/default.toml's profile table. The profile is ``--profile``, else ``$DESK_PROFILE`` (``.env``
counts); it must be defined in at least one file layer. ``.env`` and the environment may also set
``DESK_CONFIG_FILE`` and ``DESK_PROFILE``.

Every value is validated where it enters; a bad one raises ``ConfigError`` (exit 2) with one line naming the
key, the value, where it came from and what was expected. Secrets (keys named like api_key, api_secret, secret,
passphrase, token) are accepted only from files, ``.env`` and the environment, are left out of ``repr`` and are
never echoed in messages.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import tomllib
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import MISSING, Field, dataclass, field, fields, is_dataclass
from functools import cache
from pathlib import Path
from typing import Any

from desk import locations
from desk.errors import UserError

VENUES: tuple[str, ...] = ("sim", "binance", "coinbase", "kraken")
SECRET_NAME = re.compile(r"(^|_)(api_key|secret|passphrase|token)$")
_LOOKS_SECRET = re.compile(r"key|secret|pass|token|auth|cred|api")
SYMBOL_PATTERN = r"[A-Z0-9]+-[A-Z0-9]+"


class ConfigError(UserError):
    """A bad settings file or value. The message is one line: key, value, where it came from, what was expected."""


# --- declaring settings ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Rule:
    """What a value must satisfy beyond its type. Numbers: ``ge``/``gt``/``le``; strings (and each list item):
    ``choices`` or a regex ``pattern`` (described in words by ``shape``)."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    choices: tuple[str, ...] = ()
    pattern: str = ""
    shape: str = ""
    nonempty: bool = False
    secret: bool = False
    path_default: Callable[[Mapping[str, str] | None], Path] | None = None


def setting(
    default: Any = MISSING,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    choices: tuple[str, ...] = (),
    pattern: str = "",
    shape: str = "",
    nonempty: bool = False,
    secret: bool = False,
    path_default: Callable[[Mapping[str, str] | None], Path] | None = None,
) -> Any:
    """A dataclass field carrying its validation rule. ``secret`` fields stay out of ``repr``. A ``Path`` field
    with ``path_default`` takes its default from ``desk.locations`` (an empty string in a file means that default).
    """
    rule = Rule(ge, gt, le, choices, pattern, shape, nonempty, secret, path_default)
    if path_default is not None:
        return field(default_factory=lambda: path_default(None), metadata={"rule": rule})
    return field(default=default, repr=not secret, metadata={"rule": rule})


# --- the sections ------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class MarketSettings:
    """Which market the desk opens on."""

    venue: str = setting("sim", choices=VENUES)
    symbols: tuple[str, ...] = setting(
        ("BTC-USD", "ETH-USD", "SOL-USD"),
        pattern=SYMBOL_PATTERN,
        shape="BASE-QUOTE symbols like BTC-USD",
        nonempty=True,
    )


@dataclass(frozen=True, slots=True)
class SimSettings:
    """The built-in simulated market (deterministic for a seed)."""

    seed: int = setting(7, ge=0)
    rate: float = setting(400.0, gt=0)  # messages per simulated second, all symbols together
    speed: float = setting(1.0, gt=0)  # simulated seconds per wall-clock second


@dataclass(frozen=True, slots=True)
class UISettings:
    theme: str = setting("desk-dark", pattern=r"[a-z0-9][a-z0-9_-]*", shape="a theme name like desk-dark")
    refresh_hz: float = setting(15.0, ge=5, le=30)
    depth_levels: int = setting(20, ge=1, le=500)
    tape_size: int = setting(200, ge=1, le=100_000)


_WS_URL = r"wss?://\S+"
_HTTP_URL = r"https?://\S+"


@dataclass(frozen=True, slots=True)
class VenueSettings:
    """Endpoints and credentials of one exchange."""

    ws_url: str = setting("", pattern=_WS_URL, shape="a ws:// or wss:// URL")
    rest_url: str = setting("", pattern=_HTTP_URL, shape="an http:// or https:// URL")
    api_key: str = setting("", secret=True)
    api_secret: str = setting("", secret=True)


@dataclass(frozen=True, slots=True)
class VenuesSettings:
    binance: VenueSettings = field(
        default_factory=lambda: VenueSettings("wss://stream.binance.com:9443", "https://api.binance.com")
    )
    coinbase: VenueSettings = field(
        default_factory=lambda: VenueSettings("wss://advanced-trade-ws.coinbase.com", "https://api.coinbase.com")
    )
    kraken: VenueSettings = field(
        default_factory=lambda: VenueSettings("wss://ws.kraken.com/v2", "https://api.kraken.com")
    )

    def get(self, venue: str) -> VenueSettings:
        """Settings of a venue by name; ``KeyError`` for ``sim`` or an unknown name."""
        if venue not in ("binance", "coinbase", "kraken"):
            raise KeyError(venue)
        value: VenueSettings = getattr(self, venue)
        return value


@dataclass(frozen=True, slots=True)
class TradingSettings:
    live_enabled: bool = setting(False)
    maker_fee_bps: float = setting(10.0, ge=-50, le=500)  # negative: a maker rebate
    taker_fee_bps: float = setting(10.0, ge=0, le=500)
    account_value: float = setting(10_000.0, gt=0)  # quote currency, for sizing and risk limits


@dataclass(frozen=True, slots=True)
class JournalSettings:
    path: Path = setting(path_default=locations.journal_path)  # noqa: RUF009 (setting() returns a field)


@dataclass(frozen=True, slots=True)
class RiskSettings:
    """Pre-trade limits, circuit-breaker triggers and alerts (docs/risk.md)."""

    max_position_qty: tuple[str, ...] = setting(
        ("BTC-USD=1", "ETH-USD=20", "SOL-USD=400"), pattern=r"[A-Z0-9]+-[A-Z0-9]+=[0-9.]+", shape="SYMBOL=QTY"
    )
    max_position_notional: float = setting(20_000.0, gt=0)
    max_gross_exposure: float = setting(50_000.0, gt=0)
    max_concentration: float = setting(1.0, gt=0)
    max_order_qty: tuple[str, ...] = setting(
        ("BTC-USD=0.5", "ETH-USD=10", "SOL-USD=200"), pattern=r"[A-Z0-9]+-[A-Z0-9]+=[0-9.]+", shape="SYMBOL=QTY"
    )
    max_order_notional: float = setting(10_000.0, gt=0)
    daily_loss_limit: float = setting(500.0, gt=0)
    max_drawdown: float = setting(0.10, gt=0, le=1)
    reduce_only_at: float = setting(0.8, gt=0, le=1)
    max_orders_per_minute: int = setting(300, ge=1)
    max_consecutive_losses: int = setting(6, ge=1)
    max_strategy_errors: int = setting(3, ge=1)
    stale_after_s: float = setting(5.0, gt=0)
    var_limit: float = setting(2_000.0, gt=0)
    var_confidence: float = setting(0.99, gt=0, le=0.9999)
    var_horizon: str = setting("1d", pattern=r"[0-9]+(\.[0-9]+)?[smhdw]?", shape="a horizon like 1d, 4h, 30m")
    var_method: str = setting("parametric", choices=("parametric", "historical", "mc"))
    var_interval_s: float = setting(5.0, gt=0)
    var_paths: int = setting(100_000, ge=1000)
    alert_bell: bool = setting(False)
    alert_command: str = setting("")


@dataclass(frozen=True, slots=True)
class Settings:
    market: MarketSettings = field(default_factory=MarketSettings)
    sim: SimSettings = field(default_factory=SimSettings)
    ui: UISettings = field(default_factory=UISettings)
    venues: VenuesSettings = field(default_factory=VenuesSettings)
    trading: TradingSettings = field(default_factory=TradingSettings)
    journal: JournalSettings = field(default_factory=JournalSettings)
    risk: RiskSettings = field(default_factory=RiskSettings)


# --- schema: the dataclasses seen as flat dotted keys ---------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Leaf:
    key: str
    kind: type  # bool, int, float, str, tuple (of str) or Path
    rule: Rule

    @property
    def secret(self) -> bool:
        return self.rule.secret


@dataclass(frozen=True, slots=True)
class Schema:
    leaves: dict[str, Leaf]
    sections: frozenset[str]


@cache
def _typed_fields(cls: type) -> tuple[tuple[Field[Any], Any, bool], ...]:
    """(field, resolved type, is a section) for each field of a settings dataclass."""
    hints = typing.get_type_hints(cls)
    return tuple(
        (f, hints[f.name], isinstance(hints[f.name], type) and is_dataclass(hints[f.name])) for f in fields(cls)
    )


@cache
def schema() -> Schema:
    leaves: dict[str, Leaf] = {}
    sections: set[str] = set()

    def walk(cls: type, prefix: str) -> None:
        for f, hint, is_section in _typed_fields(cls):
            key = prefix + f.name
            if is_section:
                sections.add(key)
                walk(hint, key + ".")
                continue
            kind = tuple if typing.get_origin(hint) is tuple else hint
            if kind not in (bool, int, float, str, tuple, Path):
                raise TypeError(f"setting {key}: unsupported type {hint}")
            rule = f.metadata.get("rule", Rule())
            if bool(SECRET_NAME.search(f.name)) != rule.secret:
                raise TypeError(f"setting {key}: secret=True must be declared exactly for secret-like names")
            leaves[key] = Leaf(key, kind, rule)

    walk(Settings, "")
    return Schema(leaves, frozenset(sections))


def is_secret(key: str) -> bool:
    return bool(SECRET_NAME.search(key.rsplit(".", 1)[-1]))


def flatten(settings: Settings) -> dict[str, object]:
    """``{"section.key": value}`` for every setting, in declaration order."""
    out: dict[str, object] = {}
    for key in schema().leaves:
        obj: Any = settings
        for part in key.split("."):
            obj = getattr(obj, part)
        out[key] = obj
    return out


def _build(cls: type, prefix: str, values: Mapping[str, object]) -> Any:
    kwargs = {
        f.name: _build(hint, f"{prefix}{f.name}.", values) if is_section else values[prefix + f.name]
        for f, hint, is_section in _typed_fields(cls)
    }
    return cls(**kwargs)


# --- validation ----------------------------------------------------------------------------------------------
def _num(x: float) -> str:
    return f"{x:g}"


def expectation(leaf: Leaf) -> str:
    """What a valid value looks like, in words (the tail of every error message)."""
    r = leaf.rule
    if leaf.kind is bool:
        return "true or false"
    if leaf.kind in (int, float):
        text = "an integer" if leaf.kind is int else "a number"
        low = f"[{_num(r.ge)}" if r.ge is not None else f"({_num(r.gt)}" if r.gt is not None else None
        if low is not None and r.le is not None:
            return f"{text} in {low}, {_num(r.le)}]"
        if r.gt is not None:
            return f"{text} > {_num(r.gt)}"
        if r.ge is not None:
            return f"{text} >= {_num(r.ge)}"
        if r.le is not None:
            return f"{text} <= {_num(r.le)}"
        return text
    if leaf.kind is Path:
        return "a file path (empty for the default location)"
    if leaf.kind is tuple:
        items = r.shape or (f"values from {', '.join(r.choices)}" if r.choices else "strings")
        return f"a {'non-empty ' if r.nonempty else ''}list of {items} without duplicates"
    if r.choices:
        return f"one of {', '.join(r.choices)}"
    return r.shape or ("a non-empty string" if r.nonempty else "a string")


def _shown(key: str, raw: object) -> str:
    """A value as error messages quote it: secrets never, long values cut."""
    if is_secret(key):
        return "***"
    text = repr(raw)
    return text if len(text) <= 80 else text[:77] + "..."


def _invalid(leaf: Leaf, raw: object, where: str) -> ConfigError:
    return ConfigError(f"{leaf.key} = {_shown(leaf.key, raw)} {where}: expected {expectation(leaf)}")


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def _from_text(leaf: Leaf, text: str) -> object:
    """Parse a value given as text (environment, .env, command line); ``ValueError`` if it cannot be."""
    stripped = text.strip()
    if leaf.kind is bool:
        if stripped.lower() in _TRUE:
            return True
        if stripped.lower() in _FALSE:
            return False
        raise ValueError(text)
    if leaf.kind is int:
        return int(stripped)
    if leaf.kind is float:
        return float(stripped)
    if leaf.kind is tuple:
        if stripped.startswith("["):  # TOML list syntax; tomllib.TOMLDecodeError is a ValueError
            return tomllib.loads(f"v = {stripped}")["v"]
        return [part.strip() for part in stripped.split(",") if part.strip()]
    return text


def _check_text(leaf: Leaf, text: str, where: str) -> object:
    """Parse and check a value given as text; errors quote the text as the user wrote it."""
    try:
        return _check(leaf, _from_text(leaf, text), where)
    except (ValueError, ConfigError):
        raise _invalid(leaf, text, where) from None


def _check(leaf: Leaf, raw: object, where: str) -> object:
    """The value as the dataclass stores it, or ``ConfigError``."""
    r = leaf.rule
    kind = leaf.kind

    def bad() -> ConfigError:
        return _invalid(leaf, raw, where)

    if kind is bool:
        if not isinstance(raw, bool):
            raise bad()
        return raw
    if kind in (int, float):
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise bad()
        if kind is int and not isinstance(raw, int):
            raise bad()
        value = float(raw) if kind is float else raw
        if not math.isfinite(value):
            raise bad()
        if (
            (r.gt is not None and not value > r.gt)
            or (r.ge is not None and not value >= r.ge)
            or (r.le is not None and not value <= r.le)
        ):
            raise bad()
        return value
    if kind is Path:
        if isinstance(raw, Path):
            return raw
        if not isinstance(raw, str):
            raise bad()
        return Path(raw).expanduser() if raw else None  # None: the location default, filled in by the caller
    items = list(raw) if kind is tuple and isinstance(raw, list | tuple) else [raw] if kind is str else None
    if items is None or not all(isinstance(i, str) and _item_ok(r, i) for i in items):
        raise bad()
    if kind is tuple:
        if (r.nonempty and not items) or len(set(items)) != len(items):
            raise bad()
        return tuple(items)
    if r.nonempty and not raw:
        raise bad()
    return raw


def _item_ok(rule: Rule, item: str) -> bool:
    if rule.choices:
        return item in rule.choices
    if rule.pattern:
        return re.fullmatch(rule.pattern, item) is not None
    return True


# --- layers ----------------------------------------------------------------------------------------------------
_Values = dict[str, tuple[object, str]]
"""Validated values of one layer: ``{key: (value, source label)}``."""


def _unknown(key: str, raw: object, where: str, env_style: bool = False) -> ConfigError:
    """Unknown key (or ``DESK_*__*`` variable), with the closest real one when there is a near miss."""
    known = [_env_name(k) for k in schema().leaves] if env_style else list(schema().leaves)
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.75)
    hint = f" (did you mean {close[0]}?)" if close else ""
    # A misspelt secret is still a secret: hide the value when the name looks like one or is close to one.
    looks_secret = _LOOKS_SECRET.search(key.lower()) or (close and is_secret(close[0].lower()))
    shown = "***" if looks_secret else _shown(key, raw)
    expected = "a DESK_SECTION__KEY variable naming a setting" if env_style else "a key documented in default.toml"
    return ConfigError(f"unknown setting {key} = {shown} {where}: expected {expected}{hint}")


def _env_name(key: str) -> str:
    return "DESK_" + key.upper().replace(".", "__")


def _table_values(table: Mapping[str, Any], prefix: str, where: str, source: str, out: _Values) -> None:
    sch = schema()
    for name, raw in table.items():
        key = prefix + name
        leaf = sch.leaves.get(key)
        if leaf is not None:
            out[key] = (_check(leaf, raw, where), source)
        elif key in sch.sections:
            if not isinstance(raw, dict):
                raise ConfigError(f"{key} = {raw!r} {where}: expected a table [{key}]")
            _table_values(raw, key + ".", where, source, out)
        else:
            raise _unknown(key, raw, where)


@dataclass(frozen=True, slots=True)
class _FileLayer:
    path: Path
    label: str  # "default" or the file path
    base: _Values
    profiles: dict[str, _Values]


def _read_file(path: Path, label: str) -> _FileLayer:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"settings file {path} does not exist: expected a readable TOML file") from None
    except IsADirectoryError:
        raise ConfigError(f"settings file {path} is a directory: expected a readable TOML file") from None
    except PermissionError:
        raise ConfigError(f"settings file {path} is not readable: expected a readable TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    profiles_raw = data.pop("profiles", {})
    if not isinstance(profiles_raw, dict):
        raise ConfigError(f"profiles = {profiles_raw!r} in {path}: expected tables [profiles.<name>]")
    base: _Values = {}
    _table_values(data, "", f"in {path}", label, base)
    profiles: dict[str, _Values] = {}
    for name, table in profiles_raw.items():
        if not isinstance(table, dict):
            raise ConfigError(f"profiles.{name} = {table!r} in {path}: expected a table [profiles.{name}]")
        values: _Values = {}
        source = f"profile {name} ({label})"
        _table_values(table, "", f"in {path} [profiles.{name}]", source, values)
        profiles[name] = values
    return _FileLayer(path, label, base, profiles)


_RESERVED_ENV = {locations.HOME_ENV, locations.CONFIG_FILE_ENV, locations.PROFILE_ENV}


def _env_values(env: Mapping[str, str], label: str, place: str) -> _Values:
    """``DESK_SECTION__KEY`` variables; a single-underscore near miss of a real key is an error, not ignored.

    ``label`` names the layer in sources (``env``, ``.env``), ``place`` in error messages.
    """
    sch = schema()
    single = {k.replace(".", "_"): k for k in sch.leaves}
    out: dict[str, tuple[object, str]] = {}
    for name in sorted(env):
        if not name.startswith("DESK_") or name in _RESERVED_ENV:
            continue
        text = env[name]
        if "__" not in name:
            near = single.get(name[5:].lower())
            if near is not None:
                raise ConfigError(
                    f"unknown setting {name} = {_shown(near, text)} in {place}: expected {_env_name(near)} "
                    "(two underscores between section and key)"
                )
            continue
        key = name[5:].lower().replace("__", ".")
        leaf = sch.leaves.get(key)
        if leaf is None:
            raise _unknown(name, text, f"in {place}", env_style=True)
        where = f"in {place} {name}"
        out[key] = (_check_text(leaf, text, where), f"{label} {name}")
    return out


def _read_dotenv(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    try:
        raw = dotenv_values(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not readable ({exc}): expected a .env file of NAME=value lines") from None
    return {k: v for k, v in raw.items() if k.startswith("DESK_") and v is not None}


@dataclass(frozen=True, slots=True)
class ResolvedSettings:
    """Effective settings and, for ``desk config show``, the layer each value came from."""

    settings: Settings
    values: dict[str, object]
    sources: dict[str, str]
    profile: str | None
    files: tuple[Path, ...]  # settings files read, lowest precedence first

    def items(self) -> Iterator[tuple[str, object, str]]:
        for key, value in self.values.items():
            yield key, value, self.sources[key]


def resolve_settings(
    config_file: Path | None = None,
    profile: str | None = None,
    cli_overrides: Mapping[str, object] | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> ResolvedSettings:
    """Settings with their sources. ``cli_overrides`` maps dotted keys to flag values (``None`` = not given)."""
    env = dict(os.environ if env is None else env)
    cwd = Path.cwd() if cwd is None else cwd
    sch = schema()

    dotenv_path = cwd / ".env"
    dotenv = _read_dotenv(dotenv_path)
    merged_env = {**dotenv, **{k: v for k, v in env.items() if k.startswith("DESK_")}}

    values: dict[str, object] = dict(flatten(Settings()))
    sources = dict.fromkeys(values, "default")
    for key, leaf in sch.leaves.items():
        if leaf.rule.path_default is not None:
            values[key] = leaf.rule.path_default(merged_env)

    layers: list[_FileLayer] = [_read_file(locations.default_config_file(), "default")]
    user_file: Path | None = None
    if config_file is not None:
        user_file = config_file
    elif merged_env.get(locations.CONFIG_FILE_ENV):
        user_file = Path(merged_env[locations.CONFIG_FILE_ENV])
    else:
        candidate = locations.user_config_file(merged_env)
        user_file = candidate if candidate.is_file() else None
    if user_file is not None:
        user_file = cwd / user_file.expanduser() if not user_file.expanduser().is_absolute() else user_file
        layers.append(_read_file(user_file, str(user_file)))

    profile = profile or merged_env.get(locations.PROFILE_ENV) or None
    if profile is not None and not any(profile in layer.profiles for layer in layers):
        defined = sorted({name for layer in layers for name in layer.profiles})
        raise ConfigError(f"unknown profile {profile!r}: expected one of {', '.join(defined) or '(none defined)'}")

    ordered: list[_Values] = []
    for layer in layers:
        ordered.append(layer.base)
        if profile is not None and profile in layer.profiles:
            ordered.append(layer.profiles[profile])
    ordered.append(_env_values(dotenv, ".env", str(dotenv_path)))
    ordered.append(_env_values(env, "env", "env"))
    ordered.append(_cli_values(cli_overrides or {}))

    for layer_values in ordered:
        for key, (value, source) in layer_values.items():
            leaf = sch.leaves[key]
            if value is None and leaf.rule.path_default is not None:
                value = leaf.rule.path_default(merged_env)
            elif leaf.kind is Path and isinstance(value, Path) and not value.is_absolute():
                value = cwd / value
            values[key] = value
            sources[key] = source

    settings = _build(Settings, "", values)
    return ResolvedSettings(settings, values, sources, profile, tuple(layer.path for layer in layers))


def _cli_values(overrides: Mapping[str, object]) -> _Values:
    sch = schema()
    out: dict[str, tuple[object, str]] = {}
    where = "from the command line"
    for key, raw in overrides.items():
        if raw is None:
            continue
        leaf = sch.leaves.get(key)
        if leaf is None:
            raise _unknown(key, raw, where)
        if leaf.secret:
            raise ConfigError(
                f"{key} cannot be set on the command line: expected it in {_env_name(key)}, .env or a settings file"
            )
        text_value = isinstance(raw, str) and leaf.kind not in (str, Path)
        out[key] = (_check_text(leaf, str(raw), where) if text_value else _check(leaf, raw, where), "cli")
    return out


def load_settings(
    config_file: Path | None = None,
    profile: str | None = None,
    cli_overrides: Mapping[str, object] | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Effective settings from every layer (see the module docstring for the precedence)."""
    return resolve_settings(config_file, profile, cli_overrides, env, cwd).settings


def display_value(key: str, value: object) -> object:
    """A JSON-ready value for ``desk config show``; secrets are always ``"***"``."""
    if is_secret(key):
        return "***"
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    return value
