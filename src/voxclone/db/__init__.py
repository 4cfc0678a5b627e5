"""Metadata: SQLAlchemy tables, query functions and Alembic migrations.

- ``tables``: the declarative tables (the schema's single description).
- ``session``: ``create_db_engine(url)`` and ``create_session_factory(engine)``.
- ``migrate``: ``upgrade_database(url)`` / ``upgrade_database_sync(url)`` apply the migrations
  in ``migrations/`` (shipped inside the package).
- ``keys``, ``voices``, ``jobs``, ``cache``: query functions, one module per table group.

Query functions take an ``AsyncSession`` first and everything else by keyword. They
**flush but never commit**: the caller (a service) owns the transaction and commits or rolls
back once per unit of work, so several calls form one atomic change. No function in this
package commits, except ``migrate.upgrade_database``, which runs on its own connection.

Owner scoping: functions that take ``key_id`` only ever see records of that key; another
key's record reads as missing (``None``/``False``), exactly as if it did not exist.

Functions that change rows with a conditional UPDATE (``jobs.claim_job``, ``jobs.finish_job``,
``jobs.cancel_job``, ``cache.record_hit`` ...) write straight to the database and refresh the
objects they return; they are safe against a concurrent writer doing the same.
"""
