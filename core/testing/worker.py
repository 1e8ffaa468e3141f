"""Celery app for a test worker: ``celery -A bayline.testing.worker worker`` with BAYLINE_* env."""
from bayline import create_app
from bayline.testing import tasks  # noqa: F401  (register the test tasks)

app = create_app()
celery = app.extensions["celery"]
