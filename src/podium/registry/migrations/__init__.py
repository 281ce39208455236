"""The registry's Alembic migrations: ``env.py`` and one file a revision in ``versions/``.

They are run by :mod:`podium.registry.migrate` (``podium db upgrade``, or automatically on a new,
empty database), never through an ``alembic.ini``. A revision is written by hand, named
``NNNN_what.py`` with ``revision = "NNNN"``, and follows the one before it; a test checks that a
database brought to head has exactly the tables of ``podium.registry.tables.registry_metadata()``.
"""
