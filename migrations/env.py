"""Alembic env shared by the core and every plugin.

Run through :mod:`bayline.migrate` (``flask db upgrade``), which passes the
connection, the component's version table and its table filter in
``config.attributes``. The core uses ``alembic_version``; plugin ``x`` uses
``alembic_version_x`` and only sees tables prefixed ``x_``, so uninstalling a
plugin never confuses the core's history.
"""
from alembic import context

from bayline import models  # noqa: F401  (complete the metadata)
from bayline.db import Base

config = context.config
connection = config.attributes["connection"]
include_object = config.attributes.get("include_object")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table=config.attributes.get("version_table", "alembic_version"),
    include_object=include_object,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    user_module_prefix=config.attributes.get("user_module_prefix"),
)
with context.begin_transaction():
    context.run_migrations()
