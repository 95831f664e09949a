"""The installed ``oks`` command, run as a user runs it: a separate process from the venv's bin."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

OKS = shutil.which("oks", path=str(Path(sys.executable).parent)) or shutil.which("oks")


def oks(*args: str) -> subprocess.CompletedProcess:
    assert OKS, "the oks console script is not installed (pip install -e .)"
    return subprocess.run([OKS, *args], capture_output=True, text=True, timeout=60, env={**os.environ, "NO_COLOR": "1"})


def test_deadline_on_kurban_arife_skips_the_bayram():
    result = oks("deadline", "2026-05-26")
    assert result.returncode == 0, result.stderr
    assert "due on        2026-06-01 Monday" in result.stdout
    assert "cut-off       none" in result.stdout
    assert result.stdout.count("skipped") == 5


def test_deadline_json_with_half_day_cutoff_and_turkish_date():
    result = oks("deadline", "25.05.2026", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"wage_paid_on": "2026-05-25", "due_on": "2026-05-26", "cutoff": "12:00", "skipped": []}


def test_deadline_rejects_a_non_date():
    result = oks("deadline", "26/05/2026")
    assert result.returncode == 2
    assert "use 2026-05-26 or 26.05.2026" in result.stderr


@pytest.mark.parametrize(
    ("kind", "value", "stdout", "status"),
    [
        ("tckn", "172 917 160 60", "17291716060", 0),
        ("tckn", "17291716061", "checksum", 1),
        ("iban", "tr33 0006 1005 1978 6457 8413 26", "TR330006100519786457841326", 0),
        ("iban", "DE89370400440532013000", "country", 1),
        ("mobile", "0532 123 45 67", "+905321234567", 0),
        ("mobile", "0212 123 45 67", "not_mobile", 1),
    ],
)
def test_check_id(kind, value, stdout, status):
    result = oks("check-id", kind, value)
    assert (result.stdout.strip(), result.returncode) == (stdout, status)
    if status:
        compact = value.replace(" ", "")
        assert compact not in result.stderr  # the reason is shown masked


def test_help_lists_every_command():
    result = oks("--help")
    assert result.returncode == 0
    for command in ("deadline", "check-id", "demo"):
        assert command in result.stdout


def test_demo_shows_masked_people_and_a_deadline():
    result = oks("demo", "--wage-paid-on", "2026-05-25")
    assert result.returncode == 0, result.stderr
    assert "172******60" in result.stdout and "17291716060" not in result.stdout
    assert "due by 2026-05-26 Tuesday before 12:00" in result.stdout
