"""Bulk writing for the generator: rows buffered per table and written in chunks, parents
before children, with ids handed out up front.

Hundreds of thousands of rows must go in within seconds, so the writer talks to the driver
directly: ``COPY ... FROM STDIN`` on PostgreSQL, ``executemany`` on SQLite, with values
converted once per column exactly as the SQLAlchemy types would store them (on SQLite:
timestamps as naive UTC text, money as REAL, JSON as text).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crmphase.database import UTCDateTime
from crmphase.extensions import db

Convert = Callable[[object], object]


class IdAllocator:
    """Hands out primary keys after the highest one in each table, so children can point at
    parents before anything is written. On PostgreSQL the sequences are moved past the
    ids used (:meth:`sync_sequences`), so the application's own inserts go on from there."""

    def __init__(self, connection: Connection):
        self.connection = connection
        self._next: dict[str, int] = {}

    def next(self, table: sa.Table) -> int:
        name = table.name
        if name not in self._next:
            highest = self.connection.scalar(sa.select(sa.func.max(table.c.id)))
            self._next[name] = (highest or 0) + 1
        value = self._next[name]
        self._next[name] = value + 1
        return value

    def sync_sequences(self) -> None:
        if self.connection.dialect.name != "postgresql":
            return
        for name in self._next:
            statement = (  # table names of our own metadata, not input
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608
                f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {name}), false)"
            )
            self.connection.exec_driver_sql(statement)


def _sqlite_datetime(value):
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetimes are not stored; use crmphase.clock.now()")
    value = value.astimezone(UTC)
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}"
    )


def _sqlite_date(value):
    return None if value is None else value.isoformat()


def _sqlite_decimal(value):
    return None if value is None else float(value)


def _json(value):
    return json.dumps(value)


def _sqlite_bool(value):
    return None if value is None else int(value)


def _converter(column: sa.Column, dialect: str) -> Convert | None:
    kind = column.type
    if isinstance(kind, sa.JSON):
        return _json
    if dialect != "sqlite":
        return None  # psycopg adapts datetime, date, Decimal and bool itself
    if isinstance(kind, UTCDateTime | sa.DateTime):
        return _sqlite_datetime
    if isinstance(kind, sa.Date):
        return _sqlite_date
    if isinstance(kind, sa.Numeric) and not isinstance(kind, sa.Integer | sa.Float):
        return _sqlite_decimal
    if isinstance(kind, sa.Boolean):
        return _sqlite_bool
    return None


class BulkWriter:
    """Buffers rows (dicts) per table; every ``chunk_size`` rows it writes all buffers in
    the order of the foreign keys (``metadata.sorted_tables``)."""

    def __init__(self, connection: Connection, chunk_size: int = 5000):
        self.connection = connection
        self.dialect = connection.dialect.name
        self.chunk_size = chunk_size
        self._buffers: dict[str, list[dict]] = defaultdict(list)
        self._raw: dict[str, tuple[tuple[str, ...], list[tuple]]] = {}
        self._pending = 0
        self.counts: dict[str, int] = defaultdict(int)
        self._order = list(db.metadata.sorted_tables)

    def add(self, table: sa.Table, row: dict) -> None:
        """Buffer a row given as Python values (converted for the driver on writing)."""
        self._buffers[table.name].append(row)
        self._pending += 1
        if self._pending >= self.chunk_size:
            self.flush()

    def add_raw(self, table: sa.Table, columns: tuple[str, ...], values: tuple) -> None:
        """Buffer a row of ``columns`` whose values are already what the driver takes
        (see :meth:`stamp`, and numbers as decimal text): the generator's big tables."""
        self._raw.setdefault(table.name, (columns, []))[1].append(values)
        self._pending += 1
        if self._pending >= self.chunk_size:
            self.flush()

    def stamp(self, day, minutes: int) -> str:
        """A UTC moment ``minutes`` after midnight of ``day``, as the driver takes it."""
        clock = f"{day.isoformat()} {minutes // 60:02d}:{minutes % 60:02d}:00"
        return f"{clock}+00" if self.dialect == "postgresql" else f"{clock}.000000"

    def flush(self) -> None:
        for table in self._order:
            rows = self._buffers.get(table.name)
            if rows:
                self._write(table, list(rows[0]), self._tuples(table, rows))
                self.counts[table.name] += len(rows)
                self._buffers[table.name] = []
            raw = self._raw.pop(table.name, None)
            if raw:
                self._write(table, list(raw[0]), raw[1])
                self.counts[table.name] += len(raw[1])
        self._pending = 0

    def _tuples(self, table: sa.Table, rows: list[dict]) -> list[tuple]:
        names = list(rows[0])
        converters = [_converter(table.c[name], self.dialect) for name in names]
        if all(c is None for c in converters):
            return [tuple(row[name] for name in names) for row in rows]
        pairs = list(zip(names, converters, strict=True))
        return [tuple(row[n] if c is None else c(row[n]) for n, c in pairs) for row in rows]

    def _write(self, table: sa.Table, names: list[str], tuples: list[tuple]) -> None:
        columns = ", ".join(names)
        if self.dialect == "postgresql":
            dbapi_connection = self.connection.connection.dbapi_connection
            if dbapi_connection is None:
                raise RuntimeError("the bulk writer's connection was closed")
            cursor = dbapi_connection.cursor()
            with cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy:
                for values in tuples:
                    copy.write_row(values)
            cursor.close()
        else:
            marks = ", ".join("?" for _ in names)
            self.connection.exec_driver_sql(
                f"INSERT INTO {table.name} ({columns}) VALUES ({marks})",  # noqa: S608
                tuples,
            )
