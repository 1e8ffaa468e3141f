"""Alembic environment and core revisions (plugins bring their own version directories)."""
