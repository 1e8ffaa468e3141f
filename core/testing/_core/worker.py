"""Celery app for a test worker: ``celery -A bayline.testing._core.worker worker`` with BAYLINE_* env."""
from bayline import create_app
from bayline.testing._core import tasks  # noqa: F401  (register the test tasks)

app = create_app()
celery = app.extensions["celery"]
