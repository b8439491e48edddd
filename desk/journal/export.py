"""Journal tables to parquet or CSV through polars."""

from __future__ import annotations

from pathlib import Path

from desk.errors import UserError
from desk.journal.store import JournalReader

TABLES = ("orders", "order_events", "fills", "strategy_runs", "risk_events", "audit", "equity")


def export_tables(reader: JournalReader, out: Path, fmt: str) -> list[Path]:
    import polars as pl

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--out {str(out)!r}: cannot create the directory ({exc.strerror})") from None
    written = []
    for table in TABLES:
        rows = reader.table(table)
        frame = pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()
        path = out / f"{table}.{fmt}"
        if fmt == "parquet":
            frame.write_parquet(path)
        else:
            frame.write_csv(path)
        written.append(path)
    return written
