"""gunicorn settings for the production stack (deploy/Procfile): threaded workers (Server-Sent Events
hold a connection per open page), the app's own JSON access line per request (``bayline.access``,
with the request id) instead of gunicorn's, and Prometheus' multiprocess files cleaned per worker.

Run it with ``--preload`` (deploy/Procfile): the master imports the app once and forks the workers
from it (copy-on-write: less memory per worker, one import instead of one per worker); ``post_fork``
gives each worker its own database and Redis connections (``bayline.forking.after_fork``). Each worker's
database pool holds one connection per thread: ``BAYLINE_DB_POOL_SIZE`` defaults to ``threads`` (set
here before the app loads)."""
import os

bind = f"{os.environ.get('BAYLINE_BIND', '127.0.0.1')}:{os.environ.get('BAYLINE_PORT', '8000')}"
workers = int(os.environ.get("BAYLINE_WEB_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("BAYLINE_WEB_THREADS", "16"))
os.environ.setdefault("BAYLINE_DB_POOL_SIZE", str(threads))  # read by the app (bayline.config)
timeout = 120
graceful_timeout = 20
keepalive = 30
accesslog = None  # one JSON line per request comes from the app (bayline.access)
errorlog = "-"
forwarded_allow_ips = os.environ.get("BAYLINE_FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_fork(server, worker):  # gunicorn calls it in the new worker, before it serves
    from bayline.forking import after_fork

    after_fork()
    pool = int(os.environ.get("BAYLINE_DB_POOL_SIZE", threads))
    if pool < worker.cfg.threads:
        server.log.warning("BAYLINE_DB_POOL_SIZE=%s is below the worker's %s threads: requests will wait "
                           "for a database connection", pool, worker.cfg.threads)


def child_exit(server, worker):  # gunicorn calls it with these two
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
