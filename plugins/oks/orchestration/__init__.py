"""Airflow-facing parts: notifiers, triggers, sensors, deadline references, callbacks."""
