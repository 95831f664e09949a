"""Two processes migrating one empty PostgreSQL store at once — two workers, or two deployments,
starting together — both succeed: the second waits for the first and finds the schema current."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from oks.store import current_revision, open_store
from oks.store.schema import metadata

pytestmark = pytest.mark.postgres

# Each process waits for the same moment, then migrates: they meet inside the first migration.
_MIGRATE = """
import sys, time
from oks.store import open_store
start = float(sys.argv[2])
time.sleep(max(0.0, start - time.time()))
open_store(sys.argv[1]).dispose()
"""


def _empty_schema(postgres_url: str) -> tuple[str, str]:
    schema = f"race_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    url = make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return schema, url.render_as_string(hide_password=False)


@pytest.mark.parametrize("attempt", range(3))  # a race: met more than once, or it proves little
def test_two_processes_migrating_one_empty_store_at_once_both_succeed(postgres_url, attempt):
    schema, url = _empty_schema(postgres_url)
    start = time.time() + 4.0  # both interpreters are up (imports take ~1-2 s) before the moment
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    processes = [subprocess.Popen([sys.executable, "-c", _MIGRATE, url, repr(start)], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]  # fmt: skip
    results = [(p.wait(timeout=120), p.stderr.read()) for p in processes]
    try:
        for code, stderr in results:
            assert code == 0, stderr[-3000:]
        engine = open_store(url, upgrade=False)
        try:
            assert current_revision(engine) is not None
            assert set(metadata.tables) <= set(sa.inspect(engine).get_table_names())
        finally:
            engine.dispose()
    finally:
        admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
