"""Schema, versioned by ``PRAGMA user_version`` and upgraded by ordered migrations.

Prices and quantities are stored twice: as exact decimal strings (what the user sees, independent of any
instrument definition) and as integer ticks/lots (what the desk computes with). Times are integer nanoseconds.
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: tuple[str, ...] = (
    # 1: the trading loop
    """
    CREATE TABLE orders (
        client_id TEXT PRIMARY KEY,
        symbol TEXT NOT NULL,
        side TEXT NOT NULL,
        type TEXT NOT NULL,
        tif TEXT NOT NULL,
        post_only INTEGER NOT NULL,
        quantity TEXT NOT NULL,
        price TEXT,
        quantity_lots INTEGER NOT NULL,
        price_ticks INTEGER,
        strategy TEXT NOT NULL,
        status TEXT NOT NULL,
        filled_lots INTEGER NOT NULL,
        reason TEXT NOT NULL,
        created_ns INTEGER NOT NULL,
        updated_ns INTEGER NOT NULL
    );
    CREATE INDEX orders_status ON orders(status);
    CREATE TABLE order_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        order_id TEXT NOT NULL,
        status TEXT NOT NULL,
        filled_lots INTEGER NOT NULL,
        reason TEXT NOT NULL,
        ts_ns INTEGER NOT NULL
    );
    CREATE TABLE fills (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        fill_id TEXT NOT NULL UNIQUE,
        order_id TEXT NOT NULL,
        symbol TEXT NOT NULL,
        side TEXT NOT NULL,
        price TEXT NOT NULL,
        quantity TEXT NOT NULL,
        price_ticks INTEGER NOT NULL,
        quantity_lots INTEGER NOT NULL,
        fee TEXT NOT NULL,
        liquidity TEXT NOT NULL,
        strategy TEXT NOT NULL,
        ts_ns INTEGER NOT NULL
    );
    CREATE TABLE strategy_runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        key TEXT NOT NULL,
        name TEXT NOT NULL,
        symbol TEXT NOT NULL,
        params TEXT NOT NULL,
        state TEXT NOT NULL,
        reason TEXT NOT NULL,
        ts_ns INTEGER NOT NULL
    );
    CREATE TABLE risk_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        state TEXT NOT NULL,
        detail TEXT NOT NULL,
        ts_ns INTEGER NOT NULL
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        source TEXT NOT NULL,
        action TEXT NOT NULL,
        detail TEXT NOT NULL,
        ts_ns INTEGER NOT NULL
    );
    CREATE TABLE equity (
        ts_ns INTEGER NOT NULL,
        equity REAL NOT NULL
    );
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database to ``SCHEMA_VERSION``; refuses a database written by a newer desk."""
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version > SCHEMA_VERSION:
        raise RuntimeError(f"journal schema version {version} is newer than this desk ({SCHEMA_VERSION})")
    for number in range(version, SCHEMA_VERSION):
        conn.executescript(f"BEGIN; {MIGRATIONS[number]}; PRAGMA user_version = {number + 1}; COMMIT;")
    return SCHEMA_VERSION
