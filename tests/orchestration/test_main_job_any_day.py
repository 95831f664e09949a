"""The main job (``oks run-month``, what ``make run`` does) on chosen days, with the clock frozen there.

Each run is a new process with fresh homes — the user's first ``make run`` — whose clock starts on the
day (and keeps ticking): 1 January just after midnight (still 31 December in UTC), Christmas Day, a
bayram day, the last day of a month. The default period is that day's month in Istanbul; a year
whose SGK parameters are not on file runs with the PEK-limit check reported as not performed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from oks.rules.parameters import available_years

REPO = Path(__file__).resolve().parents[2]

DAYS = [
    ("2027-01-01T00:30:00+03:00", "2027-01"),  # New Year's Day, 30 minutes in (21:30 on 31 December in UTC)
    ("2026-12-25T10:00:00+03:00", "2026-12"),  # Christmas Day: an ordinary Friday here, the year's last wages ahead
    ("2027-03-10T11:00:00+03:00", "2027-03"),  # Ramazan Bayramı, second day
    ("2027-02-28T16:00:00+03:00", "2027-02"),  # a month's last day (a Sunday): some wages already due
]


def _clean_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a new user: none of this test session's Airflow or OKS settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "OKS_", "_AIRFLOW"))}
    env.update(AIRFLOW_HOME=str(tmp_path / "airflow"), OKS_HOME=str(tmp_path / "oks"), NO_COLOR="1")
    return env


@pytest.mark.parametrize(("moment", "period"), DAYS, ids=[d[0][:10] for d in DAYS])
def test_the_main_job_runs_on_this_day(moment, period, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "tests.frozen_clock", moment, "run-month", "--repo", str(REPO), "--employees", "120", "--employers", "3"],
        cwd=REPO, env=_clean_env(tmp_path), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    out = result.stdout
    assert result.returncode == 0, out[-3000:] + result.stderr[-3000:]
    assert f"period {period} (this month" in out
    assert re.search(rf"OKS monthly run {period}: succeeded", out)
    if int(period[:4]) in available_years():
        assert f"PEK limits checked against {period[:4]}.toml" in out
    else:
        assert f"PEK limits NOT CHECKED for {period}" in out and f"parameters/{period[:4]}.toml" in out
    payments = [line for line in out.splitlines() if re.match(r"\s+#\d+\s", line)]
    # Every approval answered: paid, or late where the day is past a wage's deadline ("some wages already due").
    assert payments and all(line.rstrip().endswith(("paid", "late")) for line in payments)
    assert "0.00 TL" not in out
