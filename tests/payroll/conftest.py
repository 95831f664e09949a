"""Synthetic payroll datasets for the generator's tests: generated once per session and argument set."""

from __future__ import annotations

import pytest

from .synthetic_reading import DEMO


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory):
    """``demo_data(fmt, **overrides)`` → the Manifest of a generated dataset (cached per arguments)."""
    from oks.payroll.synthetic import generate

    cache = {}

    def make(fmt: str = "sqlite", **overrides):
        args = {**DEMO, "fmt": fmt, **overrides}
        key = tuple(sorted(args.items()))
        if key not in cache:
            cache[key] = generate(tmp_path_factory.mktemp(f"demo-{fmt}"), **args)
        return cache[key]

    return make
