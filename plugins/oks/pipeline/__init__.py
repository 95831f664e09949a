"""The monthly steps as plain functions: each takes its inputs explicitly and returns a small summary."""
