"""The repository's own promises: pinned dependencies agree with the lock; the compose file parses."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"{path.name}: {line!r} is not pinned with =="
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def test_every_direct_dependency_is_pinned_and_locked_at_the_same_version():
    direct, lock = _pins(ROOT / "requirements.txt"), _pins(ROOT / "constraints.txt")
    assert direct["apache-airflow"] == "3.3.2"
    assert direct["great-expectations"].startswith("1.24.")
    for name, version in direct.items():
        assert lock.get(name) == version, f"{name}: requirements.txt {version}, constraints.txt {lock.get(name)}"


def test_the_installed_environment_matches_the_lock():
    lock = _pins(ROOT / "constraints.txt")
    for name in ("apache-airflow", "great-expectations", "sqlalchemy", "holidays", "python-stdnum"):
        assert metadata.version(name) == lock[name]


def test_compose_file_parses_and_names_the_backing_services():
    compose = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
    assert {"postgres", "redis"} <= set(compose["services"])
