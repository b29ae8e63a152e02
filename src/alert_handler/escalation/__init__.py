"""Escalation policies: who is told next while an alert fires unacknowledged."""
