"""The contract document itself: valid, shipped with the package, served as is, matched by the routes;
and the simulator kept off the product's code path."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from importlib import resources
from pathlib import Path

import requests
from jsonschema import Draft202012Validator

from oks.des.simulator.app import create_app

from .contract import document, error_codes

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "plugins" / "oks"


def test_the_contract_is_openapi_3_with_valid_schemas():
    doc = document()
    assert doc["openapi"].startswith("3.1")
    for schema in doc["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    assert {"/api/v1/auth/token", "/api/v1/contracts/{contract_no}/payments", "/api/v1/contracts/{contract_no}/events"} <= set(doc["paths"])


def test_the_contract_ships_as_package_data():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "des/openapi.yaml" in pyproject["tool"]["setuptools"]["package-data"]["oks"]
    assert resources.files("oks.des").joinpath("openapi.yaml").is_file()


def test_the_simulator_serves_the_contract_unchanged(sim):
    served = requests.get(sim.url + "/openapi.yaml", timeout=10)
    assert served.status_code == 200
    assert served.text == resources.files("oks.des").joinpath("openapi.yaml").read_text()


def test_every_contract_operation_has_a_route_and_every_api_route_is_in_the_contract(tmp_path):
    from oks.des.simulator.db import Database
    from oks.des.simulator.des import Des
    from oks.des.simulator.faults import Faults

    db = Database(tmp_path / "s.sqlite")
    app = create_app(Des(db), Faults())
    routes = {(method, route.path) for route in app.routes for method in getattr(route, "methods", ()) if method != "HEAD"}
    db.close()
    contract = {
        (method.upper(), path)
        for path, item in document()["paths"].items()
        for method in item
        if method in {"get", "put", "post", "delete"}
    }
    assert contract <= routes
    assert {r for r in routes if r[1].startswith("/api/")} == {c for c in contract if c[1].startswith("/api/")}


def test_every_error_code_the_simulator_raises_is_in_the_contract():
    raised = set()
    for path in (PACKAGE / "des" / "simulator").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "ApiError" and len(node.args) >= 2:
                code = node.args[1]
                if isinstance(code, ast.Constant):
                    raised.add(code.value)
    raised |= {"VALIDATION_ERROR", "RATE_LIMITED", "INTERNAL_ERROR", "BAD_GATEWAY", "SERVICE_UNAVAILABLE", "GATEWAY_TIMEOUT"}
    assert raised - error_codes() == set(), "codes raised but not documented"


def test_no_product_module_imports_the_simulator():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith("des/simulator/"):
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if name.startswith("oks.des.simulator"):
                    # Only the demo launchers may — `oks simulator`, `oks ui` and the local monthly run of
                    # `make run` — and only inside a function, never at import.
                    launchers = {"des/commands.py", "orchestration/local_run.py", "orchestration/commands.py"}
                    in_function = relative in launchers and node.col_offset > 0
                    if not in_function:
                        offenders.append(f"{relative}:{node.lineno}")
    assert offenders == []


def test_importing_the_client_does_not_load_the_simulator_fastapi_or_airflow():
    code = (
        "import sys, oks.des.client, oks.des.gateway, oks.des.ledger, oks.des.settings\n"
        "bad = [m for m in sys.modules if m.startswith(('oks.des.simulator', 'fastapi', 'uvicorn', 'airflow'))]\n"
        "print(bad)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
