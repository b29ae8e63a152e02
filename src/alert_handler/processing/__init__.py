"""Processing: what happens to a stored alert, shared by the embedded worker and Celery.

process.py   rules, routes, mute marks, group membership, escalation start (per alert)
flush.py     a due group: mute, the notification log's decision, the notification row
deliver.py   due notifications: send through the channel, retry with backoff, record
sweeps.py    time-driven work: escalation steps, alerts whose ends_at passed, mute marks
pipeline.py  what the steps share (config, channels, settings, clock) and `run_once`
"""
