"""Layered settings: precedence of every layer, profiles, env nesting, .env, CLI overrides, and each error."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import pytest

from desk import locations
from desk.config import (
    ConfigError,
    Leaf,
    Rule,
    Settings,
    display_value,
    expectation,
    flatten,
    load_settings,
    resolve_settings,
    schema,
)
from desk.errors import UserError


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def cwd(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def env(home: Path) -> dict[str, str]:
    """A clean environment: DESK_HOME keeps every lookup away from the real home directory."""
    return {"DESK_HOME": str(home)}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def user_file(home: Path, text: str) -> Path:
    return write(home / "config" / "config.toml", text)


# --- defaults and default.toml ------------------------------------------------------------------------------
def _base_table() -> dict[str, object]:
    data = tomllib.loads(locations.default_config_file().read_text())
    data.pop("profiles")
    flat: dict[str, object] = {}

    def walk(table: dict[str, object], prefix: str) -> None:
        for name, value in table.items():
            if isinstance(value, dict):
                walk(value, f"{prefix}{name}.")
            else:
                flat[prefix + name] = value

    walk(data, "")
    return flat


def test_default_toml_lists_every_setting_with_the_dataclass_default() -> None:
    table = _base_table()
    defaults = flatten(Settings())
    assert list(table) == list(schema().leaves)
    for key, value in table.items():
        expected = defaults[key]
        if key == "journal.path":
            assert value == ""  # empty: the platform data directory, resolved at load time
        elif isinstance(expected, tuple):
            assert tuple(value) == expected, key  # type: ignore[arg-type]
        else:
            assert value == expected and type(value) is type(expected), key


def test_every_setting_in_default_toml_has_a_comment() -> None:
    lines = locations.default_config_file().read_text().splitlines()
    end = next(i for i, line in enumerate(lines) if line.startswith("[profiles."))
    undocumented = []
    for i, line in enumerate(lines[:end]):
        if re.match(r"[a-z_]+\s*=", line) and not lines[i - 1].startswith("#"):
            undocumented.append(line)
    assert undocumented == []
    assert len([line for line in lines[:end] if re.match(r"[a-z_]+\s*=", line)]) == len(schema().leaves)


def test_defaults_with_nothing_else(env: dict[str, str], cwd: Path, home: Path) -> None:
    resolved = resolve_settings(env=env, cwd=cwd)
    assert set(resolved.sources.values()) == {"default"}
    assert resolved.settings.sim.seed == 7
    assert resolved.settings.market.symbols == ("BTC-USD", "ETH-USD", "SOL-USD")
    assert resolved.settings.venues.kraken.ws_url == "wss://ws.kraken.com/v2"
    assert resolved.settings.venues.get("coinbase").rest_url == "https://api.coinbase.com"
    assert resolved.settings.journal.path == home / "data" / "journal.sqlite"
    assert resolved.files == (locations.default_config_file(),)
    assert resolved.profile is None


# --- precedence ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("layers", "seed", "source"),
    [
        ((), 7, "default"),
        (("file",), 11, "FILE"),
        (("file", "dotenv"), 12, ".env DESK_SIM__SEED"),
        (("file", "dotenv", "env"), 13, "env DESK_SIM__SEED"),
        (("file", "dotenv", "env", "cli"), 14, "cli"),
        (("dotenv", "cli"), 14, "cli"),
        (("file", "env"), 13, "env DESK_SIM__SEED"),
    ],
)
def test_each_layer_beats_the_one_below(
    layers: tuple[str, ...], seed: int, source: str, env: dict[str, str], cwd: Path, home: Path
) -> None:
    overrides: dict[str, object] = {}
    path = user_file(home, "[sim]\nseed = 11\n")
    if "file" not in layers:
        path.unlink()
    if "dotenv" in layers:
        write(cwd / ".env", "DESK_SIM__SEED=12\n")
    if "env" in layers:
        env["DESK_SIM__SEED"] = "13"
    if "cli" in layers:
        overrides["sim.seed"] = 14
    resolved = resolve_settings(env=env, cwd=cwd, cli_overrides=overrides)
    assert resolved.settings.sim.seed == seed
    assert resolved.sources["sim.seed"] == source.replace("FILE", str(path))
    assert resolved.settings.sim.rate == 400.0  # untouched keys keep their default


def test_user_file_choice_config_flag_beats_env_beats_user_dir(env: dict[str, str], cwd: Path, home: Path) -> None:
    user_file(home, "[sim]\nseed = 1\n")
    named = write(cwd / "named.toml", "[sim]\nseed = 2\n")
    flag = write(cwd / "flag.toml", "[sim]\nseed = 3\n")
    assert load_settings(env=env, cwd=cwd).sim.seed == 1
    env["DESK_CONFIG_FILE"] = str(named)
    assert load_settings(env=env, cwd=cwd).sim.seed == 2
    assert load_settings(config_file=Path("flag.toml"), env=env, cwd=cwd).sim.seed == 3  # relative to cwd
    assert resolve_settings(config_file=flag, env=env, cwd=cwd).files[-1] == flag


def test_dotenv_can_name_the_config_file_and_profile(env: dict[str, str], cwd: Path) -> None:
    write(cwd / "mine.toml", "[profiles.fast.sim]\nspeed = 10.0\n")
    write(cwd / ".env", f"DESK_CONFIG_FILE={cwd / 'mine.toml'}\nDESK_PROFILE=fast\nOTHER=1\n")
    resolved = resolve_settings(env=env, cwd=cwd)
    assert resolved.settings.sim.speed == 10.0
    assert resolved.profile == "fast"
    assert resolved.sources["sim.speed"] == f"profile fast ({cwd / 'mine.toml'})"


# --- profiles ----------------------------------------------------------------------------------------------------
def test_shipped_profile_overrides_shipped_base(env: dict[str, str], cwd: Path) -> None:
    resolved = resolve_settings(profile="paper", env=env, cwd=cwd)
    assert resolved.settings.market.venue == "binance"
    assert resolved.sources["market.venue"] == "profile paper (default)"
    assert resolved.settings.trading.live_enabled is False


def test_profile_precedence_within_and_across_files(env: dict[str, str], cwd: Path, home: Path) -> None:
    path = user_file(
        home,
        '[market]\nvenue = "kraken"\n[sim]\nseed = 5\n[profiles.paper.sim]\nseed = 6\n[profiles.mine.sim]\nseed = 9\n',
    )
    paper = resolve_settings(profile="paper", env=env, cwd=cwd)
    # The user file's base beats the shipped file's profile; its own profile beats its own base.
    assert paper.settings.market.venue == "kraken"
    assert paper.sources["market.venue"] == str(path)
    assert paper.settings.sim.seed == 6
    assert paper.sources["sim.seed"] == f"profile paper ({path})"
    # Environment and flags still beat any profile.
    env["DESK_SIM__SEED"] = "8"
    assert load_settings(profile="paper", env=env, cwd=cwd).sim.seed == 8
    assert load_settings(profile="paper", env=env, cwd=cwd, cli_overrides={"sim.seed": 4}).sim.seed == 4


def test_profile_from_env_and_flag_beats_env(env: dict[str, str], cwd: Path, home: Path) -> None:
    user_file(home, "[profiles.a.sim]\nseed = 1\n[profiles.b.sim]\nseed = 2\n")
    env["DESK_PROFILE"] = "a"
    assert load_settings(env=env, cwd=cwd).sim.seed == 1
    assert load_settings(profile="b", env=env, cwd=cwd).sim.seed == 2


def test_unknown_profile(env: dict[str, str], cwd: Path, home: Path) -> None:
    user_file(home, "[profiles.mine.sim]\nseed = 1\n")
    with pytest.raises(ConfigError) as info:
        load_settings(profile="nope", env=env, cwd=cwd)
    assert str(info.value) == "unknown profile 'nope': expected one of live, mine, paper, sim"


def test_unselected_profiles_are_validated_too(env: dict[str, str], cwd: Path, home: Path) -> None:
    path = user_file(home, '[profiles.live.sim]\nrate = "fast"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(env=env, cwd=cwd)
    assert str(info.value) == f"sim.rate = 'fast' in {path} [profiles.live]: expected a number > 0"


# --- environment nesting, text parsing, CLI overrides ----------------------------------------------------------
def test_env_nesting_and_text_values(env: dict[str, str], cwd: Path) -> None:
    env |= {
        "DESK_VENUES__KRAKEN__WS_URL": "ws://127.0.0.1:9000/v2",
        "DESK_MARKET__SYMBOLS": "BTC-USD, NKN-USDT",
        "DESK_TRADING__LIVE_ENABLED": "yes",
        "DESK_UI__REFRESH_HZ": "20",
        "DESK_JOURNAL__PATH": "j/desk.sqlite",
        "DESK_UNRELATED": "ignored: no double underscore and no near-miss of a setting",
        "PATH": "/usr/bin",
    }
    resolved = resolve_settings(env=env, cwd=cwd)
    s = resolved.settings
    assert s.venues.kraken.ws_url == "ws://127.0.0.1:9000/v2"
    assert resolved.sources["venues.kraken.ws_url"] == "env DESK_VENUES__KRAKEN__WS_URL"
    assert s.market.symbols == ("BTC-USD", "NKN-USDT")
    assert s.trading.live_enabled is True
    assert s.ui.refresh_hz == 20.0 and isinstance(s.ui.refresh_hz, float)
    assert s.journal.path == cwd / "j" / "desk.sqlite"


def test_env_list_in_toml_syntax(env: dict[str, str], cwd: Path) -> None:
    env["DESK_MARKET__SYMBOLS"] = '["ETH-USD", "SOL-USD"]'
    assert load_settings(env=env, cwd=cwd).market.symbols == ("ETH-USD", "SOL-USD")


def test_cli_overrides_accept_typed_and_text_values_and_skip_none(env: dict[str, str], cwd: Path) -> None:
    resolved = resolve_settings(
        env=env, cwd=cwd, cli_overrides={"sim.seed": 3, "sim.rate": "250", "market.venue": None}
    )
    assert (resolved.settings.sim.seed, resolved.settings.sim.rate) == (3, 250.0)
    assert resolved.sources["sim.rate"] == "cli"
    assert resolved.sources["market.venue"] == "default"


def test_secrets_only_from_files_and_env(env: dict[str, str], cwd: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env=env, cwd=cwd, cli_overrides={"venues.binance.api_key": "abc123"})
    assert "abc123" not in str(info.value)
    assert "DESK_VENUES__BINANCE__API_KEY" in str(info.value)
    env["DESK_VENUES__BINANCE__API_SECRET"] = "s3cr3t"
    resolved = resolve_settings(env=env, cwd=cwd)
    assert resolved.settings.venues.binance.api_secret == "s3cr3t"
    assert "s3cr3t" not in repr(resolved.settings)
    assert display_value("venues.binance.api_secret", "s3cr3t") == "***"
    assert display_value("venues.binance.ws_url", "wss://x") == "wss://x"


# --- errors: one line naming key, value, place and expectation ------------------------------------------------
@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[sim]\nrate = "fast"\n', "sim.rate = 'fast' in {path}: expected a number > 0"),
        ("[sim]\nrate = 0\n", "sim.rate = 0 in {path}: expected a number > 0"),
        ("[sim]\nseed = 1.5\n", "sim.seed = 1.5 in {path}: expected an integer >= 0"),
        ("[sim]\nseed = true\n", "sim.seed = True in {path}: expected an integer >= 0"),
        ("[ui]\nrefresh_hz = 50\n", "ui.refresh_hz = 50 in {path}: expected a number in [5, 30]"),
        ("[ui]\nrefresh_hz = 4.99\n", "ui.refresh_hz = 4.99 in {path}: expected a number in [5, 30]"),
        ('[market]\nvenue = "ftx"\n', "market.venue = 'ftx' in {path}: expected one of sim, binance, coinbase, kraken"),
        (
            '[market]\nsymbols = ["btc-usd"]\n',
            "market.symbols = ['btc-usd'] in {path}: expected a non-empty list of BASE-QUOTE symbols like BTC-USD "
            "without duplicates",
        ),
        (
            '[market]\nsymbols = ["BTC-USD", "BTC-USD"]\n',
            "market.symbols = ['BTC-USD', 'BTC-USD'] in {path}: expected a non-empty list of BASE-QUOTE symbols "
            "like BTC-USD without duplicates",
        ),
        (
            "[market]\nsymbols = []\n",
            "market.symbols = [] in {path}: expected a non-empty list of BASE-QUOTE symbols like BTC-USD "
            "without duplicates",
        ),
        ('[trading]\nlive_enabled = "no"\n', "trading.live_enabled = 'no' in {path}: expected true or false"),
        (
            '[venues.binance]\nws_url = "https://x"\n',
            "venues.binance.ws_url = 'https://x' in {path}: expected a ws:// or wss:// URL",
        ),
        ("[venues.binance]\napi_key = 12345\n", "venues.binance.api_key = *** in {path}: expected a string"),
        (
            "[sim]\nsed = 3\n",
            "unknown setting sim.sed = 3 in {path}: expected a key documented in default.toml (did you mean sim.seed?)",
        ),
        (
            "[simm]\nseed = 3\n",
            "unknown setting simm = {{'seed': 3}} in {path}: expected a key documented in default.toml",
        ),
        (
            '[venues.kraken]\napi_kye = "hunter2"\n',
            "unknown setting venues.kraken.api_kye = *** in {path}: "
            "expected a key documented in default.toml (did you mean venues.kraken.api_key?)",
        ),
        ("sim = 3\n", "sim = 3 in {path}: expected a table [sim]"),
        ("[profiles]\npaper = 1\n", "profiles.paper = 1 in {path}: expected a table [profiles.paper]"),
    ],
)
def test_bad_values_in_a_file(toml: str, message: str, env: dict[str, str], cwd: Path) -> None:
    path = write(cwd / "bad.toml", toml)
    with pytest.raises(ConfigError) as info:
        load_settings(config_file=path, env=env, cwd=cwd)
    assert str(info.value) == message.format(path=path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("kind", "rule", "text"),
    [
        (float, Rule(gt=0, le=1), "a number in (0, 1]"),
        (int, Rule(ge=1, le=500), "an integer in [1, 500]"),
        (float, Rule(gt=0), "a number > 0"),
        (int, Rule(ge=0), "an integer >= 0"),
        (float, Rule(le=2), "a number <= 2"),
        (float, Rule(), "a number"),
        (str, Rule(choices=("a", "b")), "one of a, b"),
        (str, Rule(nonempty=True), "a non-empty string"),
        (tuple, Rule(shape="SYMBOL=QTY"), "a list of SYMBOL=QTY without duplicates"),
    ],
)
def test_expectation_wording(kind: type, rule: Rule, text: str) -> None:
    assert expectation(Leaf("k", kind, rule)) == text


def test_toml_syntax_error_gives_the_line(env: dict[str, str], cwd: Path) -> None:
    path = write(cwd / "broken.toml", "[sim]\nseed = 3\nrate = = 4\n")
    with pytest.raises(ConfigError) as info:
        load_settings(config_file=path, env=env, cwd=cwd)
    text = str(info.value)
    assert text.startswith(f"{path}: invalid TOML: ")
    assert "line 3" in text and "\n" not in text


def test_missing_or_unreadable_files(env: dict[str, str], cwd: Path) -> None:
    with pytest.raises(ConfigError, match=r"settings file .*nope\.toml does not exist: expected a readable TOML"):
        load_settings(config_file=Path("nope.toml"), env=env, cwd=cwd)
    env["DESK_CONFIG_FILE"] = str(cwd)
    with pytest.raises(ConfigError, match="is a directory"):
        load_settings(env=env, cwd=cwd)
    del env["DESK_CONFIG_FILE"]
    write(cwd / "latin1.toml", "").write_bytes(b"# caf\xe9\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_settings(config_file=cwd / "latin1.toml", env=env, cwd=cwd)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DESK_SIM__RATE", "fast", "sim.rate = 'fast' in env DESK_SIM__RATE: expected a number > 0"),
        ("DESK_SIM__SEED", "-1", "sim.seed = '-1' in env DESK_SIM__SEED: expected an integer >= 0"),
        (
            "DESK_TRADING__LIVE_ENABLED",
            "maybe",
            "trading.live_enabled = 'maybe' in env DESK_TRADING__LIVE_ENABLED: expected true or false",
        ),
        (
            "DESK_SIM__RAET",
            "3",
            "unknown setting DESK_SIM__RAET = '3' in env: expected a DESK_SECTION__KEY variable "
            "naming a setting (did you mean DESK_SIM__RATE?)",
        ),
        (
            "DESK_SIM_SEED",
            "3",
            "unknown setting DESK_SIM_SEED = '3' in env: expected DESK_SIM__SEED (two "
            "underscores between section and key)",
        ),
        (
            "DESK_VENUES__KRAKEN__API_KYE",
            "hunter2",
            "unknown setting DESK_VENUES__KRAKEN__API_KYE = *** in env: "
            "expected a DESK_SECTION__KEY variable naming a setting (did you mean DESK_VENUES__KRAKEN__API_KEY?)",
        ),
    ],
)
def test_bad_environment_values(name: str, value: str, message: str, env: dict[str, str], cwd: Path) -> None:
    env[name] = value
    with pytest.raises(ConfigError) as info:
        load_settings(env=env, cwd=cwd)
    assert str(info.value) == message


def test_bad_dotenv_value_names_the_file(env: dict[str, str], cwd: Path) -> None:
    write(cwd / ".env", "DESK_UI__DEPTH_LEVELS=0\n")
    with pytest.raises(ConfigError) as info:
        load_settings(env=env, cwd=cwd)
    assert str(info.value) == (
        f"ui.depth_levels = '0' in {cwd / '.env'} DESK_UI__DEPTH_LEVELS: expected an integer in [1, 500]"
    )


def test_bad_cli_value(env: dict[str, str], cwd: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env=env, cwd=cwd, cli_overrides={"market.venue": "ftx"})
    assert (
        str(info.value) == "market.venue = 'ftx' from the command line: expected one of sim, binance, coinbase, kraken"
    )


def test_config_error_is_a_user_error_with_exit_code_2() -> None:
    assert issubclass(ConfigError, UserError)
    assert ConfigError.exit_code == 2


# --- locations ----------------------------------------------------------------------------------------------------
def test_desk_home_relocates_every_user_path(tmp_path: Path) -> None:
    env = {"DESK_HOME": str(tmp_path)}
    assert locations.user_config_file(env) == tmp_path / "config" / "config.toml"
    assert locations.data_dir(env) == tmp_path / "data"
    assert locations.cache_dir(env) == tmp_path / "cache"
    assert locations.journal_path(env) == tmp_path / "data" / "journal.sqlite"


def test_without_desk_home_the_platform_directories_are_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.delenv("DESK_HOME", raising=False)
    if not sys.platform.startswith("linux"):
        pytest.skip("XDG variables steer platformdirs on Linux only")
    assert locations.user_config_file({}) == tmp_path / "xdg-config" / "desk" / "config.toml"
    assert locations.journal_path({}) == tmp_path / "xdg-data" / "desk" / "journal.sqlite"


def test_shipped_files_come_from_desk_data_when_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checkout_root = Path(locations.__file__).resolve().parent.parent
    assert locations.default_config_file() == checkout_root / "config" / "default.toml"
    package = tmp_path / "site-packages" / "desk"
    (package / "_data" / "config").mkdir(parents=True)
    monkeypatch.setattr(locations, "_PACKAGE_DIR", package)
    assert locations.default_config_file() == package / "_data" / "config" / "default.toml"
    assert locations.themes_dir() == package / "_data" / "themes"
