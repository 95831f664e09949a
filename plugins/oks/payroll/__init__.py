"""Payroll sources: the column contract, readers (SQL, CSV, XLSX), and the synthetic generator."""
