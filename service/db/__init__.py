"""The service's storage layer: models, sessions, migrations and the run lifecycle (shared with the worker)."""
