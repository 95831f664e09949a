"""The repository's own promises: pinned dependencies agree with the lock; the compose file parses;
no test module or conftest is imported by another module."""

from __future__ import annotations

import ast
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


def _not_importable(module: str) -> bool:
    """A test module (``test_*``) or a conftest of the test suite: pytest imports those itself, and
    importing one elsewhere runs it a second time under another name (its tests collected twice, its
    fixtures defined twice). Shared helpers belong in plain modules, shared fixtures in a plugin
    registered in tests/conftest.py."""
    parts = module.split(".")
    return parts[0] == "tests" and any(p == "conftest" or p.startswith("test_") for p in parts[1:])


def _imports_of_test_modules(path: str, source: str) -> set[str]:
    """Modules of the test suite that are test modules or conftests, imported anywhere in ``source``
    (also inside functions, relatively, as ``from tests import test_x``, or as a pytest plugin)."""
    package = path.removesuffix(".py").split("/")
    package = package if package[-1] == "__init__" else package[:-1]
    package = [p for p in package if p != "__init__"]
    found = set()
    for node in ast.walk(ast.parse(source, path)):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            # from a test module or conftest, or (``from tests import test_cli``) a test module itself
            targets = [module] if _not_importable(module) else [f"{module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytest_plugins" for t in node.targets):
            targets = [c.value for c in ast.walk(node.value) if isinstance(c, ast.Constant) and isinstance(c.value, str)]
        found |= {target for target in targets if _not_importable(target)}
    return found


def _test_suite_imports() -> dict[str, set[str]]:
    found = {}
    for file in sorted((ROOT / "tests").rglob("*.py")):
        path = file.relative_to(ROOT).as_posix()
        if imported := _imports_of_test_modules(path, file.read_text(encoding="utf-8")):
            found[path] = imported
    return found


def test_the_import_check_sees_every_spelling():
    source = """
import tests.des.conftest
from tests import test_cli
from .conftest import x
from ..pipeline.test_obligations import month
from tests.des.simulator import PERIOD
from tests.fixtures import des_simulator
def f():
    from tests.orchestration.test_notifiers import smtp
pytest_plugins = ["tests.orchestration.test_notifiers", "pytester"]
"""
    assert _imports_of_test_modules("tests/store/test_x.py", source) == {
        "tests.des.conftest", "tests.test_cli", "tests.store.conftest", "tests.pipeline.test_obligations",
        "tests.orchestration.test_notifiers",
    }  # fmt: skip
    assert _imports_of_test_modules("tests/store/__init__.py", "from .conftest import x") == {"tests.store.conftest"}


def test_no_module_imports_a_test_module_or_a_conftest():
    imported = {path: modules for path, modules in _test_suite_imports().items() if modules}
    assert not imported, (
        f"test modules and conftests are never imported by another module: {imported}; move the helper into a "
        "plain module beside them (e.g. tests/pipeline/months.py), or a fixture several packages use into a plugin "
        "under tests/fixtures/ registered in tests/conftest.py's pytest_plugins"
    )


def test_the_layers_below_orchestration_import_no_airflow():
    """oks.store, oks.des, oks.pipeline and oks.rules take URLs and settings objects; the Airflow
    connections are read above them (DesHook, Resources). The issue's own check, as a test: no line
    naming ``airflow`` or ``BaseHook`` outside comments."""
    found = []
    for layer in ("store", "des", "pipeline", "rules"):
        for path in sorted((ROOT / "plugins" / "oks" / layer).rglob("*.py")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                code = line.split("#", 1)[0]
                if "airflow" in code or "BaseHook" in code:
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []
