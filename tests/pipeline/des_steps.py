"""Helpers for pipeline tests against the DES simulator: WS credentials, the identity register the
simulator checks names against, and a bounded wait for DES to finish.

A plain module, not a test module: test modules are never imported by other modules.
"""

from __future__ import annotations

import time

from oks.des.models import WsCredentials

CREDENTIALS = WsCredentials(user="oks", password="secret")


def register_file(tmp_path, rows, mismatch=()):
    lines = ["tckn,first_name,last_name,birth_date"]
    for r in rows:
        last = "Başkası" if r["payroll_id"] in mismatch else r["last_name"]
        lines.append(f"{r['tckn']},{r['first_name']},{last},{r['birth_date'].isoformat()}")
    path = tmp_path / "identity_register.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def wait(read, done, *, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = read()
        if done(value):
            return value
        time.sleep(0.05)
    raise AssertionError(f"still waiting: {value}")
