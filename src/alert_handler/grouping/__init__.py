"""Grouping decisions (pure): which group an alert joins, and when a group's receiver is told."""
