"""The floor for durable ingest: the smallest app that does what issue-style ingest must do.

A plain FastAPI + asyncpg app, as the ingest issue describes its reference: it parses the native
alert body (one alert or a list) with pydantic, fingerprints each alert, and upserts them in
one statement per request (a duplicate bumps a counter), committed before it answers. No
timeline, no work item, no per-alert outcome, no metrics, no auth: every cost alert-handler adds
is missing, so what this app reaches on a machine bounds what any durable ingest on that stack
can reach there.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/ah_floor taskset -c 0 \\
        .venv/bin/python bench/floor_app.py --port 8000

bench/ingest.sh runs it as the system `floor`.
"""

from __future__ import annotations

import argparse
import hashlib
import os
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel, Field

SCHEMA = """
CREATE TABLE IF NOT EXISTS floor_alerts (
    id bigserial PRIMARY KEY,
    fingerprint text NOT NULL UNIQUE,
    source text NOT NULL,
    severity text NOT NULL,
    title text NOT NULL,
    description text NOT NULL,
    tags jsonb NOT NULL,
    metadata jsonb NOT NULL,
    labels jsonb NOT NULL,
    duplicate_count integer NOT NULL DEFAULT 0,
    first_received_at timestamptz NOT NULL,
    last_received_at timestamptz NOT NULL
)
"""

UPSERT = """
INSERT INTO floor_alerts (fingerprint, source, severity, title, description, tags, metadata, labels,
                          first_received_at, last_received_at)
SELECT f, s, sev, t, d, tg::jsonb, m::jsonb, l::jsonb, $9, $9
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
     AS r(f, s, sev, t, d, tg, m, l)
ON CONFLICT (fingerprint) DO UPDATE SET
    duplicate_count = floor_alerts.duplicate_count + 1,
    severity = EXCLUDED.severity,
    metadata = EXCLUDED.metadata,
    last_received_at = EXCLUDED.last_received_at
"""


class Alert(BaseModel):
    source: str = Field(min_length=1, max_length=200)
    severity: str = "warning"
    title: str = Field(min_length=1, max_length=500)
    description: str = ""
    tags: list[str] = []
    metadata: dict[str, Any] = {}
    labels: dict[str, str] = {}


def _fingerprint(alert: Alert) -> str:
    identity = f"{alert.source}\x00{alert.title}\x00{alert.metadata.get('instance', '')}"
    return hashlib.sha256(identity.encode()).hexdigest()


pool: asyncpg.Pool | None = None


@asynccontextmanager
async def lifespan(_app: FastAPI):  # type: ignore[no-untyped-def]
    global pool
    pool = await asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=4, max_size=16)
    async with pool.acquire() as conn:
        await conn.execute(SCHEMA)
    yield
    await pool.close()


app = FastAPI(lifespan=lifespan)


@app.post("/api/v1/alerts")
async def ingest(body: Alert | list[Alert]) -> dict[str, int]:
    alerts = body if isinstance(body, list) else [body]
    # One row per fingerprint in a statement, in key order so that concurrent upserts of shared
    # alerts queue instead of deadlocking.
    rows = {_fingerprint(a): a for a in alerts}
    columns: list[list[str]] = [[] for _ in range(8)]
    for fingerprint, a in sorted(rows.items()):
        encoded = (orjson.dumps(v).decode() for v in (a.tags, a.metadata, a.labels))
        values = (fingerprint, a.source, a.severity, a.title, a.description, *encoded)
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    assert pool is not None
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(UPSERT, *columns, datetime.now(UTC))
    return {"accepted": len(alerts)}


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
