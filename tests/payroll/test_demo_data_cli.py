"""`oks demo-data` as a user runs it: the installed script, in its own process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .synthetic_reading import read_register

OKS = shutil.which("oks", path=str(Path(sys.executable).parent)) or shutil.which("oks")


def oks(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    assert OKS, "the oks console script is not installed (pip install -e .)"
    return subprocess.run([OKS, *args], capture_output=True, text=True, timeout=120, cwd=cwd, env={**os.environ, "NO_COLOR": "1"})


def test_help_lists_the_options():
    result = oks("demo-data", "--help")
    assert result.returncode == 0, result.stderr
    for flag in ("--employers", "--employees", "--period", "--seed", "--defect-share", "--identity-mismatch-share",
                 "--format", "--encoding", "--out", "--chunk-size"):  # fmt: skip
        assert flag in result.stdout
    assert "sqlite,csv,xlsx" in result.stdout and "cp1254" in result.stdout


@pytest.mark.parametrize("fmt", ["sqlite", "csv"])
def test_a_small_run_writes_the_files_and_prints_counts_but_no_personal_data(tmp_path, fmt):
    out = tmp_path / "demo"
    result = oks("demo-data", "--employers", "3", "--employees", "80", "--period", "2026-10", "--seed", "9",
                 "--format", fmt, "--encoding", "cp1254", "--defect-share", "0.1", "--out", str(out))  # fmt: skip
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["employees"] == 80 and manifest["seed"] == 9 and manifest["format"] == fmt
    assert {p.name for p in out.iterdir()} == {*manifest["files"].values(), "manifest.json"}
    assert f"{manifest['rows']} rows" in result.stdout and "tckn_checksum" in result.stdout
    for person in read_register(out).values():  # KVKK: the terminal shows counts, never people
        assert person["tckn"] not in result.stdout and person["last_name"] not in result.stdout


def test_json_output_is_the_manifest(tmp_path):
    result = oks("demo-data", "--employees", "20", "--period", "2026-03", "--out", str(tmp_path), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--period", "2026/10"], "YYYY-MM"),
        (["--defect-share", "3"], "between 0 and 1"),
        (["--employees", "0"], "at least 1"),
        (["--defect-share", "0.9"], "defect_share"),
        (["--wage-day", "2026-13-01"], "not a date"),
    ],
)
def test_bad_arguments_exit_2_with_the_reason(tmp_path, args, message):
    result = oks("demo-data", "--out", str(tmp_path / "x"), *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert not (tmp_path / "x").exists()


def test_building_the_cli_does_not_load_the_generator():
    code = "import sys, oks.cli; oks.cli.build_parser(); print(sorted(m for m in sys.modules if 'synthetic' in m or m == 'openpyxl'))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
