"""The pure OKS domain: identity, calendar, eligibility, contributions, yearly parameters.

No I/O beyond the package's own data files, no Airflow, no database: everything here is a function of
its arguments, so the rules are tested in isolation and reused by every layer above.
"""
