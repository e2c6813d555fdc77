"""The Alembic migrations, installed as ``crmphase.migrations`` (Flask-Migrate's directory)."""
