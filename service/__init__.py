"""The service core: settings, database (models, sessions, migrations, run lifecycle), broker and tokens.

Both `api/` (the web app) and `worker/` (the Celery workers) build on it; the worker never imports `api`.
"""
