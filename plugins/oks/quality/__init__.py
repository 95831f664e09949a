"""Data quality of the payroll snapshot: the personnel and payroll suites (Great Expectations Core),
their SQL checks, the quarantine of failing rows and masked Data Docs.

The step itself is :func:`oks.pipeline.validate.validate_personnel`. Only ``expectations`` and
``gx_runtime`` touch GX, and only when validation runs: importing this package costs nothing.
"""
