"""gunicorn settings for the production stack (deploy/Procfile): threaded workers (Server-Sent Events
hold a connection per open page), the app's own JSON access line per request (``bayline.access``,
with the request id) instead of gunicorn's, and Prometheus' multiprocess files cleaned per worker."""
import os

bind = f"{os.environ.get('BAYLINE_BIND', '127.0.0.1')}:{os.environ.get('BAYLINE_PORT', '8000')}"
workers = int(os.environ.get("BAYLINE_WEB_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("BAYLINE_WEB_THREADS", "16"))
timeout = 120
graceful_timeout = 20
keepalive = 30
accesslog = None  # one JSON line per request comes from the app (bayline.access)
errorlog = "-"
forwarded_allow_ips = os.environ.get("BAYLINE_FORWARDED_ALLOW_IPS", "127.0.0.1")


def child_exit(server, worker):  # gunicorn calls it with these two
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
