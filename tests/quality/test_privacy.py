"""KVKK: no personal value of the payroll reaches the quarantine messages, the logs, the summary or the
Data Docs unmasked — checked by scanning every file of the generated site for every value."""

from __future__ import annotations

import html
import json
import logging
import os
from datetime import date

from oks.pipeline.validate import validate_personnel
from oks.rules.identity import normalize_mobile
from tests.payroll_files import person
from tests.quality.quarantined import quarantined

NAMES = [
    ("Elif", "Yıldız"), ("Mehmet Emin", "Öztürk"), ("Hüseyin", "Çelik"), ("Zeynep", "Şahin"), ("Gülşen", "Aydın"),
    ("İbrahim", "Koç"), ("Ümran", "Doğan"), ("Şükrü", "Kılıç"), ("Nurcan", "Erdoğan"), ("Ömer Faruk", "Güneş"),
]  # fmt: skip


def _rows():
    rows = []
    for n, (first, last) in enumerate(NAMES, start=1):
        rows.append(person(n, first_name=first, last_name=last, email=f"{first.split()[0].lower()}{n}@ornek.com.tr"))
    # Every personal field fails somewhere, so that GX samples it for Data Docs.
    rows[0]["tckn"] = rows[0]["tckn"][:-1] + str((int(rows[0]["tckn"][-1]) + 1) % 10)
    rows[1]["iban"] = rows[1]["iban"][:2] + "99" + rows[1]["iban"][4:]
    rows[2]["mobile"] = "0216 444 55 66"
    rows[3]["email"] = "zeynep4@@ornek"
    rows[4]["birth_date"] = date(2030, 2, 3)
    rows[5]["birth_date"] = date(1899, 7, 8)
    rows.append(dict(rows[6], payroll_id="P77777"))  # a repeated line: its TCKN in the sample
    return rows


def _personal_values(rows) -> set[str]:
    values = set()
    for row in rows:
        for field in ("tckn", "iban", "email"):
            if row[field]:
                values.add(row[field])
        values.add(row["mobile"])
        values.add(row["mobile"].replace(" ", ""))
        try:
            values.add(normalize_mobile(row["mobile"])[3:])  # the national number
        except ValueError:
            pass
        values.update(row["first_name"].split())
        values.update(row["last_name"].split())
        values.add(f"{row['first_name']} {row['last_name']}")
    values.update(("2030-02-03", "1899-07-08", "03.02.2030", "08.07.1899"))  # the failing birth dates
    return values


def _spellings(value: str) -> set[str]:
    return {value, html.escape(value), json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}


def _leaks(text: str, values: set[str]) -> list[str]:
    return sorted(value for value in values if any(spelling in text for spelling in _spellings(value)))


def test_no_personal_value_in_messages_logs_summary_or_data_docs(store, stage, tmp_path, caplog, monkeypatch):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    rows = _rows()
    values = _personal_values(rows)
    run_id = stage(rows)
    caplog.set_level(logging.DEBUG)

    summary = validate_personnel(store, run_id, data_docs_dir=tmp_path / "docs", invalid_share_threshold=1.0)

    by_row, records = quarantined(store, run_id)
    assert set(by_row) == {1, 2, 3, 4, 5, 6, 11}  # the planted faults were found (and sampled)
    assert _leaks("\n".join(r.message for r in records), values) == []
    assert _leaks("\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records), values) == []
    assert _leaks(json.dumps(summary, ensure_ascii=False), values) == []

    site = tmp_path / "docs"
    files = [p for p in site.rglob("*") if p.is_file()]
    assert (site / "index.html") in files and len([p for p in files if p.suffix == ".html"]) >= 5
    leaks = {}
    for path in files:
        text = path.read_bytes().decode("utf-8", errors="replace")
        found = _leaks(text, values)
        if found:
            leaks[str(path.relative_to(site))] = found
    assert leaks == {}
    # The masks themselves are there: operations can still tell rows apart.
    validation_pages = "".join(p.read_text(encoding="utf-8") for p in (site / "validations").rglob("*.html"))
    assert rows[0]["tckn"][:3] + "******" + rows[0]["tckn"][-2:] in validation_pages
    assert "2030-**-**" in validation_pages

    # GX worked in memory: nothing written into the working directory; no usage statistics.
    assert list(cwd.iterdir()) == []
    assert os.environ["GX_ANALYTICS_ENABLED"] == "false"
