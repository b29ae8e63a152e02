"""Notification channels: one module per channel type behind the interface in `base.py`."""
