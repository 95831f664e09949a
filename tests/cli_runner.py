"""The installed ``oks`` command, run as a user runs it: a separate process from the venv's bin.

A plain module, not a test module, so the CLI tests of any package can run the command the same way.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

OKS = shutil.which("oks", path=str(Path(sys.executable).parent)) or shutil.which("oks")


def oks(*args: str) -> subprocess.CompletedProcess:
    assert OKS, "the oks console script is not installed (pip install -e .)"
    return subprocess.run([OKS, *args], capture_output=True, text=True, timeout=60, env={**os.environ, "NO_COLOR": "1"})
