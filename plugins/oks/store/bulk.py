"""Set-based updates of many rows by id: one statement per thousand rows on PostgreSQL.

SQLAlchemy's executemany of an UPDATE is one round trip per row on psycopg2 (only INSERTs are
batched); at a million enrolments that is a million statements. On PostgreSQL the rows travel as one
``VALUES`` list joined to the table, each column cast to its own type; SQLite, in-process, keeps the
executemany.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

__all__ = ["update_many"]

_PAGE = 1000


def update_many(conn: Connection, table: sa.Table, rows: Sequence[dict], *, key: str = "id", touch: bool = True) -> None:
    """Set, for each row (a dict of ``key`` and the columns to set, all rows alike), those columns on
    the table's row with that key; ``touch`` also sets ``updated_at`` to now."""
    if not rows:
        return
    columns = [c for c in rows[0] if c != key]
    if any(set(row) != {key, *columns} for row in rows):
        raise ValueError("update_many: every row must set the same columns")
    stamp = touch and "updated_at" in table.c and "updated_at" not in columns
    if conn.dialect.name != "postgresql":
        values = {c: sa.bindparam(f"_{c}") for c in columns} | ({"updated_at": sa.func.current_timestamp()} if stamp else {})
        conn.execute(
            sa.update(table).where(table.c[key] == sa.bindparam(f"_{key}")).values(values),
            [{f"_{c}": v for c, v in row.items()} for row in rows],
        )
        return
    from psycopg2.extras import execute_values

    names = [key, *columns]
    types = [table.c[c].type.compile(dialect=conn.dialect) for c in names]
    template = "(" + ", ".join(f"%s::{t}" for t in types) + ")"
    sets = [f'"{c}" = v."{c}"' for c in columns] + (["updated_at = CURRENT_TIMESTAMP"] if stamp else [])
    aliases = ", ".join(f'"{n}"' for n in names)
    sql = f'UPDATE "{table.name}" AS t SET {", ".join(sets)} FROM (VALUES %s) AS v({aliases}) WHERE t."{key}" = v."{key}"'

    processors = [table.c[c].type.bind_processor(conn.dialect) for c in names]
    data = [tuple(p(row[c]) if p else row[c] for c, p in zip(names, processors, strict=True)) for row in rows]
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        execute_values(cursor, sql, data, template=template, page_size=_PAGE)
    finally:
        cursor.close()
