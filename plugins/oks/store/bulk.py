"""Set-based writes of many rows: COPY in, VALUES-joined updates, statistics after.

- :func:`bulk_insert`: rows into a table in one go — COPY on PostgreSQL, executemany on SQLite.
- :func:`update_many`: many rows updated by id. SQLAlchemy's executemany of an UPDATE is one round
  trip per row on psycopg2 (only INSERTs are batched), a million statements at a million enrolments;
  on PostgreSQL the rows travel as one array per column (five thousand rows a statement), unnested
  and joined to the table, each cast to its column's type; SQLite, in-process, keeps the executemany.
- :func:`refresh_statistics`: ANALYZE after a bulk load.

A write the database refuses raises :class:`BulkLoadError`, never the database's own text: it quotes
the refused value (a name, a TCKN).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

__all__ = ["BulkLoadError", "bulk_insert", "update_many", "refresh_statistics"]

_UPDATE_PAGE = 5000


def _copy_field(value: object) -> str:
    # NULL is the unquoted empty field; every value is quoted, so no text — an empty name, the
    # letters \N — can ever be read back as NULL, and a separator or quote inside stays data.
    if value is None:
        return ""
    if isinstance(value, bool):
        value = "t" if value else "f"
    elif isinstance(value, dict | list):  # a JSON column
        value = json.dumps(value, ensure_ascii=False)
    return '"' + str(value).replace('"', '""') + '"'


class BulkLoadError(RuntimeError):
    """A bulk load the database refused. The message names the table, the payroll row and the field
    only: the database's own text quotes the refused value (a name, a TCKN), so it is never passed on."""


# PostgreSQL says where COPY stopped in the error's context ("COPY payroll_lines, line 3, column
# last_name: ..."); the value after the colon is personal, so only the line and the column are read.
_COPY_WHERE = re.compile(r"COPY \w+, line (\d+)(?:, column (\w+))?")


def _refused(exc: BaseException, table: sa.Table, rows: list[dict]) -> BulkLoadError:
    error = getattr(exc, "orig", exc)
    context = getattr(getattr(error, "diag", None), "context", None) or ""
    where = _COPY_WHERE.search(context)
    line = int(where.group(1)) if where else 0
    if 0 < line <= len(rows):
        field = where.group(2) or getattr(getattr(error, "diag", None), "column_name", None)
        at = f"at payroll row {rows[line - 1].get('row_no')}" + (f", field {field}" if field else "")
    else:
        at = f"in the batch of {len(rows)} rows starting at payroll row {rows[0].get('row_no') if rows else None}"
    return BulkLoadError(
        f"loading into {table.name} failed {at} ({type(error).__name__}); "
        "the database's message is withheld because it quotes personal data"
    )


def _copy(conn: Connection, table: sa.Table, columns: Sequence[str], rows: list[dict]) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write(",".join(_copy_field(row.get(c)) for c in columns))
        buffer.write("\n")
    buffer.seek(0)
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.copy_expert(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)", buffer)
    except Exception as exc:  # noqa: BLE001 - any driver error: its text may hold the value
        raise _refused(exc, table, rows) from None
    finally:
        cursor.close()


def bulk_insert(conn: Connection, table: sa.Table, columns: Sequence[str], rows: list[dict]) -> None:
    """Rows (dicts keyed by ``columns``) into ``table`` in one go: COPY on PostgreSQL."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        _copy(conn, table, columns, rows)
        return
    try:
        conn.execute(sa.insert(table), [{c: row.get(c) for c in columns} for row in rows])
    except sa.exc.DBAPIError as exc:
        raise _refused(exc, table, rows) from None


def refresh_statistics(conn: Connection, *tables: str) -> None:
    """ANALYZE tables after a bulk load (PostgreSQL): with the statistics of an empty table the planner
    picks nested loops over a hundred thousand rows — minutes instead of seconds."""
    if conn.dialect.name == "postgresql":
        for table in tables:
            conn.exec_driver_sql(f"ANALYZE {table}")




def update_many(conn: Connection, table: sa.Table, rows: Sequence[dict], *, key: str = "id") -> None:
    """Set, for each row (a dict of ``key`` and the columns to set, all rows alike), those columns on
    the table's row with that key, and ``updated_at`` to now where the table has one."""
    if not rows:
        return
    columns = [c for c in rows[0] if c != key]
    if any(set(row) != {key, *columns} for row in rows):
        raise ValueError("update_many: every row must set the same columns")
    stamp = "updated_at" in table.c and "updated_at" not in columns
    if conn.dialect.name != "postgresql":
        values = {c: sa.bindparam(f"_{c}") for c in columns} | ({"updated_at": sa.func.current_timestamp()} if stamp else {})
        try:
            conn.execute(
                sa.update(table).where(table.c[key] == sa.bindparam(f"_{key}")).values(values),
                [{f"_{c}": v for c, v in row.items()} for row in rows],
            )
        except sa.exc.DBAPIError as exc:
            raise _update_refused(exc, table, rows) from None
        return
    names = [key, *columns]
    types = [table.c[c].type.compile(dialect=conn.dialect) for c in names]
    processors = [table.c[c].type.bind_processor(conn.dialect) for c in names]
    sets = [f'"{c}" = v."{c}"' for c in columns] + (["updated_at = CURRENT_TIMESTAMP"] if stamp else [])
    aliases = ", ".join(f'"{n}"' for n in names)
    # One array per column, unnested side by side: the driver adapts a whole list at once, where a
    # VALUES list is formatted row by row in Python (a third of an insurer answer's cost).
    arrays = ", ".join(f"CAST(%(c{i})s AS {t}[])" for i, t in enumerate(types))
    sql = f'UPDATE "{table.name}" AS t SET {", ".join(sets)} FROM unnest({arrays}) AS v({aliases}) WHERE t."{key}" = v."{key}"'
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        for start in range(0, len(rows), _UPDATE_PAGE):
            page = rows[start : start + _UPDATE_PAGE]
            cursor.execute(sql, {f"c{i}": [p(row[c]) if p else row[c] for row in page]
                                 for i, (c, p) in enumerate(zip(names, processors, strict=True))})  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - any driver error: its text may hold the value
        raise _update_refused(exc, table, rows) from None
    finally:
        cursor.close()


def _update_refused(exc: BaseException, table: sa.Table, rows: Sequence[dict]) -> BulkLoadError:
    error = getattr(exc, "orig", exc)
    return BulkLoadError(
        f"updating {len(rows)} rows of {table.name} failed ({type(error).__name__}); "
        "the database's message is withheld because it may quote personal data"
    )
