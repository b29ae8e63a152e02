"""Muting: silences, inhibition rules and time intervals, as pure decisions over plain data.

Nothing here reads a clock, a database or the network: callers pass `now` and the alerts.
"""
