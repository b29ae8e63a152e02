"""Persistence: tables, migrations and the repositories the services call."""
