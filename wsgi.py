"""WSGI entry point: ``gunicorn wsgi:app``."""
from bayline import create_app

app = create_app()
