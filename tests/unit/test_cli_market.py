"""`desk book`, `desk feed` and `desk config show|check` through ``desk.cli.main`` (exit codes, stderr, stdout).

Most tests run the real entry point in-process on an app holding only these commands (fast, and isolated from
other command modules); the SIGINT test needs a real process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import typer

from desk import cli
from desk.config import schema
from desk.domain.events import BookDelta, BookSnapshot
from desk.feeds.sim import DEFAULT_SYMBOLS, NS, SimulatedMarket

MY_MODULES = ("desk.commands.market", "desk.commands.config_cmd")
INSTRUMENTS = {s.instrument.symbol: s.instrument for s in DEFAULT_SYMBOLS}


@dataclass
class Result:
    code: int
    out: str
    err: str


Run = Callable[..., Result]


@pytest.fixture
def desk(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Run:
    for name in list(os.environ):
        if name.startswith("DESK_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DESK_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> Result:
        app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)
        app.callback(invoke_without_command=True)(cli.root)
        monkeypatch.setattr(cli, "app", app)
        monkeypatch.setattr(cli, "COMMAND_MODULES", MY_MODULES)
        monkeypatch.setattr(sys, "argv", ["desk", *args])
        code = 0
        try:
            cli.main()
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


def one_line_error(result: Result) -> str:
    assert result.code == 2, result
    assert result.out == ""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("desk: error: ")
    return lines[0].removeprefix("desk: error: ")


# --- an independent picture of the book: plain dicts fed from the market's own events ----------------------
def reference_book(symbol: str, seed: int, seconds: float) -> dict[str, object]:
    market = SimulatedMarket(DEFAULT_SYMBOLS, seed=seed, rate=400.0)
    bids: dict[int, int] = {}
    asks: dict[int, int] = {}
    seq = ts = 0
    events = [*market.snapshots(), *market.events_until(market.now_ns + int(seconds * NS))]
    for event in events:
        if isinstance(event, BookSnapshot) and event.symbol == symbol:
            bids, asks = dict(event.bids), dict(event.asks)
            seq, ts = event.seq, event.ts_ns
        elif isinstance(event, BookDelta) and event.symbol == symbol:
            assert event.first_seq == seq + 1
            for side, levels in ((bids, event.bids), (asks, event.asks)):
                for price, size in levels:
                    if size:
                        side[price] = size
                    else:
                        side.pop(price, None)
            seq, ts = event.seq, event.ts_ns
    return {"bids": bids, "asks": asks, "seq": seq, "ts": ts}


def iso(ts_ns: int) -> str:
    return datetime.fromtimestamp(ts_ns // NS, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{ts_ns % NS:09d}Z"


# --- desk book ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("symbol", "depth"), [("BTC-USD", 5), ("SOL-USD", 12)])
def test_book_json_matches_an_independent_book(desk: Run, symbol: str, depth: int) -> None:
    result = desk("book", symbol, "--depth", str(depth), "--json")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert list(doc) == ["symbol", "venue", "seq", "ts", "state", "bids", "asks"]
    ref = reference_book(symbol, seed=7, seconds=5.0)
    inst = INSTRUMENTS[symbol]
    bids = sorted(ref["bids"].items(), reverse=True)[:depth]  # type: ignore[attr-defined]
    asks = sorted(ref["asks"].items())[:depth]  # type: ignore[attr-defined]
    assert doc["symbol"] == symbol and doc["venue"] == "sim" and doc["state"] == "live"
    assert doc["seq"] == ref["seq"] and doc["ts"] == iso(ref["ts"])  # type: ignore[arg-type]
    # Exact decimal strings on the grid: ticks * tick size, written with the tick size's number of decimals.
    assert doc["bids"] == [[f"{p * inst.tick_size:f}", f"{s * inst.lot_size:f}"] for p, s in bids]
    assert doc["asks"] == [[f"{p * inst.tick_size:f}", f"{s * inst.lot_size:f}"] for p, s in asks]
    assert len(doc["bids"]) == len(doc["asks"]) == depth
    assert Decimal(doc["bids"][0][0]) < Decimal(doc["asks"][0][0])
    for price, _ in doc["bids"] + doc["asks"]:
        assert len(price.split(".")[1]) == inst.price_decimals
        assert Decimal(price) % inst.tick_size == 0


def test_book_seed_flag_env_and_config_agree_and_change_the_book(desk: Run, tmp_path: Path) -> None:
    default = desk("book", "BTC-USD", "--json").out
    flag = desk("book", "BTC-USD", "--json", "--seed", "3").out
    assert flag != default
    (tmp_path / "s.toml").write_text("[sim]\nseed = 3\n")
    assert desk("--config", "s.toml", "book", "BTC-USD", "--json").out == flag
    assert desk("book", "BTC-USD", "--json", "--config", "s.toml").out == flag
    os.environ["DESK_SIM__SEED"] = "3"
    assert desk("book", "BTC-USD", "--json").out == flag
    assert desk("book", "BTC-USD", "--json", "--seed", "7").out == default  # the flag beats the environment


def test_book_human_table(desk: Run) -> None:
    result = desk("book", "ETH-USD", "--depth", "4")
    assert result.code == 0, result.err
    ref = reference_book("ETH-USD", seed=7, seconds=5.0)
    best_bid = max(ref["bids"])  # type: ignore[call-overload]
    best_ask = min(ref["asks"])  # type: ignore[call-overload]
    inst = INSTRUMENTS["ETH-USD"]
    lines = result.out.splitlines()
    assert lines[0].startswith("ETH-USD on sim") and lines[0].endswith("live")
    rows = [line for line in lines if line.startswith("│")]
    assert len(rows) == 4
    cells = rows[0].strip("│").split("│")
    assert [c.strip() for c in cells[2:4]] == [inst.price_str(best_bid), inst.price_str(best_ask)]
    mid = (best_bid + best_ask) * inst.tick_size / 2
    assert f"spread {inst.price_str(best_ask - best_bid)} " in lines[-1]
    assert f"mid {mid:f} " in lines[-1]
    assert "imbalance" in lines[-1]


def test_book_watch_streams_json_lines(desk: Run) -> None:
    result = desk("book", "BTC-USD", "--watch", "--duration", "0.4", "--json", "--depth", "3")
    assert result.code == 0, result.err
    docs = [json.loads(line) for line in result.out.splitlines()]
    assert docs, "at least one redraw in 0.4 s at 15 Hz"
    for doc in docs:
        assert doc["state"] == "live" and len(doc["bids"]) == 3
        assert Decimal(doc["bids"][0][0]) < Decimal(doc["asks"][0][0])
    assert [d["seq"] for d in docs] == sorted(d["seq"] for d in docs)


def test_book_watch_human_lines(desk: Run) -> None:
    result = desk("book", "BTC-USD", "--watch", "--duration", "0.3")
    assert result.code == 0, result.err
    assert result.out and all(" BTC-USD #" in line and " | ask " in line for line in result.out.splitlines())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["book", "XRP-USD"], "unknown symbol 'XRP-USD': expected one of BTC-USD, ETH-USD, SOL-USD"),
        (["feed", "btc-usd"], "unknown symbol 'btc-usd': expected one of BTC-USD, ETH-USD, SOL-USD"),
        (
            ["book", "BTC-USD", "--venue", "ftx"],
            "market.venue = 'ftx' from the command line: expected one of sim, binance, coinbase, kraken",
        ),
        (
            ["book", "BTC-USD", "--venue", "kraken", "--ws-url", "https://x"],
            "venues.kraken.ws_url = 'https://x' from the command line: expected a ws:// or wss:// URL",
        ),
        (
            ["book", "BTC-USD", "--ws-url", "wss://x"],
            "--ws-url 'wss://x' has no effect on the simulated market: expected --venue binance|coinbase|kraken",
        ),
        (
            ["book", "BTC-USD", "--duration", "2"],
            "--duration 2 applies only to --watch: expected --watch with --duration",
        ),
        (["book", "BTC-USD", "--depth", "0"], "'--depth'"),
        (["book", "BTC-USD", "--depth", "many"], "'--depth'"),
        (["book", "BTC-USD", "--seed", "-1"], "'--seed'"),
        (["book", "BTC-USD", "--bogus"], "--bogus"),
        (["book"], "'symbol'"),
        (["--profile", "nope", "book", "BTC-USD"], "unknown profile 'nope': expected one of live, paper, sim"),
        (["book", "BTC-USD", "--profile", "nope"], "unknown profile 'nope': expected one of live, paper, sim"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(desk: Run, args: list[str], message: str) -> None:
    text = one_line_error(desk(*args))
    if message.startswith("'") or message == "--bogus":
        assert message in text  # typer's own wording for flag parsing errors
    else:
        assert text == message


def test_bad_settings_file_is_one_line_exit_2(desk: Run, tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("[sim]\nrate = 'fast'\n")
    text = one_line_error(desk("--config", "bad.toml", "book", "BTC-USD"))
    assert text == f"sim.rate = 'fast' in {tmp_path / 'bad.toml'}: expected a number > 0"
    (tmp_path / "syntax.toml").write_text("[sim\n")
    assert "line 1" in one_line_error(desk("config", "check", "--config", "syntax.toml"))


# --- desk feed ------------------------------------------------------------------------------------------------
def test_feed_json_lines(desk: Run) -> None:
    result = desk("feed", "SOL-USD", "--duration", "0.4", "--json")
    assert result.code == 0, result.err
    events = [json.loads(line) for line in result.out.splitlines()]
    assert [e["type"] for e in events[:3]] == ["status", "snapshot", "status"]
    assert [e["state"] for e in (events[0], events[2])] == ["connecting", "live"]
    assert {e["symbol"] for e in events} == {"SOL-USD"}
    assert {e["type"] for e in events} <= {"status", "snapshot", "delta", "trade"}
    deltas = [e for e in events if e["type"] == "delta"]
    assert deltas, "the market moves within 0.4 s at 400 messages/s"
    expected_seq = events[1]["seq"] + 1
    for delta in deltas:  # contiguous sequence numbers: nothing dropped or reordered
        assert delta["first_seq"] == expected_seq
        expected_seq = delta["seq"] + 1
    inst = INSTRUMENTS["SOL-USD"]
    for trade in (e for e in events if e["type"] == "trade"):
        assert trade["side"] in ("buy", "sell")
        assert Decimal(trade["price"]) % inst.tick_size == 0 and Decimal(trade["size"]) > 0


def test_feed_human_lines_and_zero_duration(desk: Run) -> None:
    result = desk("feed", "BTC-USD", "--duration", "0")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].endswith("BTC-USD status connecting")
    assert " BTC-USD snapshot #0: 60 bids, 60 asks, best " in lines[1]
    assert lines[2].endswith("BTC-USD status live")


def test_feed_sigint_exits_cleanly(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    env["DESK_HOME"] = str(tmp_path / "home")
    proc = subprocess.Popen(
        [sys.executable, "-m", "desk", "feed", "BTC-USD", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
        # A background shell may start us with SIGINT ignored; Ctrl-C must reach Python's handler.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # the feed is running once it has printed
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=30)
    assert proc.returncode in (0, 130)
    assert b"Traceback" not in err and err.strip() == b""
    assert json.loads(first)["type"] == "status"
    for line in rest.splitlines():
        json.loads(line)  # every line written is complete


# --- desk config ----------------------------------------------------------------------------------------------
def test_config_show_json_has_every_key_with_value_and_source(desk: Run, tmp_path: Path) -> None:
    os.environ["DESK_VENUES__BINANCE__API_KEY"] = "abc-very-secret"
    (tmp_path / ".env").write_text("DESK_UI__REFRESH_HZ=20\n")
    result = desk("--profile", "paper", "config", "show", "--json")
    assert result.code == 0, result.err
    assert "abc-very-secret" not in result.out
    doc = json.loads(result.out)
    assert list(doc) == list(schema().leaves)
    assert doc["venues.binance.api_key"] == {"value": "***", "source": "env DESK_VENUES__BINANCE__API_KEY"}
    assert doc["venues.kraken.api_secret"] == {"value": "***", "source": "default"}
    assert doc["market.venue"] == {"value": "binance", "source": "profile paper (default)"}
    assert doc["ui.refresh_hz"] == {"value": 20.0, "source": ".env DESK_UI__REFRESH_HZ"}
    assert doc["market.symbols"] == {"value": ["BTC-USD", "ETH-USD", "SOL-USD"], "source": "default"}
    assert doc["journal.path"]["value"] == str(tmp_path / "home" / "data" / "journal.sqlite")


def test_config_show_human_is_toml_shaped(desk: Run) -> None:
    os.environ["DESK_VENUES__KRAKEN__API_SECRET"] = "zzz-secret"
    result = desk("config", "show")
    assert result.code == 0, result.err
    assert "zzz-secret" not in result.out
    lines = {line.split(" = ")[0]: line for line in result.out.splitlines() if " = " in line}
    assert lines["sim.seed"].split("#")[0].strip() == "sim.seed = 7"
    assert lines["sim.seed"].endswith("# default")
    assert lines["venues.kraken.api_secret"].split("#")[0].strip() == 'venues.kraken.api_secret = "***"'
    assert lines["trading.live_enabled"].split("#")[0].strip() == "trading.live_enabled = false"


def test_config_check(desk: Run, tmp_path: Path) -> None:
    ok = desk("config", "check")
    assert ok.code == 0 and ok.out.startswith(f"OK: {len(schema().leaves)} settings valid")
    (tmp_path / "home" / "config").mkdir(parents=True)
    (tmp_path / "home" / "config" / "config.toml").write_text("[ui]\nrefresh_hz = 60\n")
    path = tmp_path / "home" / "config" / "config.toml"
    assert one_line_error(desk("config", "check")) == f"ui.refresh_hz = 60 in {path}: expected a number in [5, 30]"


def test_bare_config_prints_help(desk: Run) -> None:
    result = desk("config")
    assert result.code == 0
    assert "show" in result.out and "check" in result.out


def test_main_keeps_the_exit_code_of_typer_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    """``desk.cli.main`` runs typer without standalone mode, where ``typer.Exit(code)`` is returned, not raised."""

    def register(app: typer.Typer) -> None:
        @app.command("fail")
        def fail() -> None:
            raise typer.Exit(3)

    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)
    app.callback(invoke_without_command=True)(cli.root)
    monkeypatch.setattr(cli, "app", app)
    monkeypatch.setattr(cli, "COMMAND_MODULES", ())
    monkeypatch.setattr(cli, "_register", lambda: register(app))
    monkeypatch.setattr(sys, "argv", ["desk", "fail"])
    with pytest.raises(SystemExit) as info:
        cli.main()
    assert info.value.code == 3
