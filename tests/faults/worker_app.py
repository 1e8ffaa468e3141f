"""Celery app for the fault tests' workers: ``celery -A tests.faults.worker_app:celery worker``.

The app is configured from ``BAYLINE_*`` environment variables like any worker. The only change:
Redis hands an unacknowledged task to another worker after ``FAULT_VISIBILITY_TIMEOUT`` seconds
(production keeps kombu's default of one hour), so a killed worker's task comes back within the test.
"""
import os

from bayline import create_app
from bayline.messaging import tasks as messaging_tasks  # noqa: F401  (bayline.messaging.send)
from bayline.photos import tasks  # noqa: F401  (register bayline.photos.process_photo)

app = create_app()
celery = app.extensions["celery"]
celery.conf.broker_transport_options = {"visibility_timeout": int(os.environ.get("FAULT_VISIBILITY_TIMEOUT", "3"))}
