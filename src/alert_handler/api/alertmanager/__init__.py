"""Alertmanager's API v2 (`/api/v2`): its JSON shapes and answers, over this service's alerts and silences."""
