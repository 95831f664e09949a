"""The contract (openapi.yaml) as a checker: every answer a test receives must match it."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

import yaml
from jsonschema import Draft202012Validator


@cache
def document() -> dict:
    return yaml.safe_load(resources.files("oks.des").joinpath("openapi.yaml").read_text())


def error_codes() -> set[str]:
    return set(document()["components"]["schemas"]["ErrorCode"]["enum"])


def person_error_codes() -> set[str]:
    return set(document()["components"]["schemas"]["PersonErrorCode"]["enum"])


@cache
def _operations() -> list[tuple[re.Pattern, str, str, dict]]:
    ops = []
    for template, item in document()["paths"].items():
        pattern = re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", template) + "$")
        for method, operation in item.items():
            if method in {"get", "put", "post", "delete", "patch"}:
                ops.append((pattern, method.upper(), template, operation))
    return ops


def _resolve(node: dict) -> dict:
    """Follow an OpenAPI ``$ref`` (a response object); schemas are left to jsonschema."""
    while "$ref" in node:
        target = document()
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


@cache
def _validator(template: str, method: str, status_key: str) -> Draft202012Validator | None:
    operation = next(op for _, m, t, op in _operations() if t == template and m == method)
    response = _resolve(operation["responses"][status_key])
    schema = response.get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        return None
    # Wrapped so that the schema's "#/components/..." references resolve inside the contract.
    wrapped = {"$id": "urn:oks-des-contract", "components": document()["components"], "allOf": [schema]}
    return Draft202012Validator(wrapped)


@cache
def _error_validator() -> Draft202012Validator:
    components = document()["components"]
    return Draft202012Validator({"$id": "urn:oks-des-contract", "components": components, "$ref": "#/components/schemas/Error"})


def check(method: str, path: str, status: int, body) -> str:
    """Raise AssertionError unless ``status`` and ``body`` are what the contract allows; returns the
    operation's template."""
    for pattern, op_method, template, operation in _operations():  # noqa: B007 - the match is used after the loop
        if op_method == method and pattern.match(path):
            break
    else:
        # Outside the contract's operations only the generic errors may come back, in the error shape.
        assert status in (404, 405), f"{method} {path} is not in the contract, yet answered {status}"
        errors = list(_error_validator().iter_errors(body))
        assert not errors, f"{method} {path} {status}: not an error answer: {errors[0].message[:300]}"
        return ""
    responses = operation["responses"]
    status_key = str(status) if str(status) in responses else f"{str(status)[0]}XX"
    assert status_key in responses, f"{method} {template}: status {status} is not documented"
    validator = _validator(template, method, status_key)
    if validator is not None:
        errors = sorted(validator.iter_errors(body), key=lambda e: e.path)
        assert not errors, f"{method} {template} {status}: answer breaks the contract: {errors[0].message[:300]}"
    return template


def response_hook(seen: list | None = None):
    """A ``requests`` response hook that checks every answer from ``/api/`` against the contract."""
    from urllib.parse import urlsplit

    def hook(response, *args, **kwargs):
        path = urlsplit(response.url).path
        if path.startswith("/api/"):
            body = response.json()
            check(response.request.method, path, response.status_code, body)
            if seen is not None:
                seen.append((response.request.method, path, response.status_code, body, response.request.body))
        return response

    return hook
