"""Ingest: sources normalize what arrives; the writer commits it (accepted means durable)."""
