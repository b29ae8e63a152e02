"""The `alert-handler` command: serve, migrate, manage API keys, send a test alert."""

from __future__ import annotations

import asyncio
import json
import shlex
from datetime import UTC, datetime
from typing import Annotated

import httpx
import typer

from alert_handler import __version__
from alert_handler.db import create_engine
from alert_handler.logs import configure
from alert_handler.security.keys import Scope
from alert_handler.settings import Settings, get_settings
from alert_handler.store import api_keys
from alert_handler.store.migrate import upgrade

app = typer.Typer(help="alert-handler: receive, de-duplicate, route and act on alerts.", no_args_is_help=True)


def _now() -> datetime:
    return datetime.now(UTC)


async def _ensure_admin_key(settings: Settings) -> str | None:
    """On first start (no keys at all) create an admin key and return it, once."""
    engine = create_engine(settings.database_url)
    try:
        async with engine.begin() as conn:
            if await api_keys.count_active(conn) or (await api_keys.list_keys(conn)):
                return None
            _, key = await api_keys.create(
                conn, name="admin", scopes=[Scope.ADMIN], tenant=settings.default_tenant, now=_now()
            )
            return key
    finally:
        await engine.dispose()


def _banner(settings: Settings, host: str, port: int, key: str | None) -> str:
    base = settings.public_url or f"http://{host}:{port}"
    lines = ["", f"  alert-handler {__version__} is starting on {base}", f"  API docs:  {base}/docs"]
    if key:
        body = json.dumps(
            {
                "source": "monitoring-system",
                "severity": "critical",
                "title": "服务器CPU使用率过高",
                "description": "服务器CPU使用率达到95%",
                "tags": ["cpu", "performance"],
                "metadata": {"server": "web-01", "cpu_usage": 95.2},
            },
            ensure_ascii=False,
        )
        lines += [
            "",
            "  First start: an admin API key was created. It is shown only this once; keep it:",
            f"      {key}",
            "",
            "  Send a first alert:",
            f"      curl -s -X POST {base}/api/v1/alerts -H 'Authorization: Bearer {key}' \\",
            f"           -H 'Content-Type: application/json' -d {shlex.quote(body)}",
            f"  Then list it:  curl -s {base}/api/v1/alerts -H 'Authorization: Bearer {key}'",
        ]
    elif not settings.auth_enabled:
        lines += ["  Authentication is off (AUTH_ENABLED=false): requests need no API key."]
    else:
        lines += ["  (API keys exist already; make a new one with `alert-handler create-api-key`)"]
    return "\n".join(lines) + "\n"


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (default: HOST setting)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: PORT setting)")] = None,
    workers: Annotated[int, typer.Option(min=1, help="API processes (use PostgreSQL or MySQL for more than 1)")] = 1,
    migrate: Annotated[bool, typer.Option(help="Apply database migrations first")] = True,
) -> None:
    """Run the API (migrating the database first). Prints the admin API key on first start."""
    import uvicorn

    settings = get_settings()
    configure(settings.log_level, settings.log_format, access_log=settings.access_log)
    host = host or settings.host
    port = port or settings.port
    if workers > 1 and settings.is_sqlite:
        raise typer.BadParameter(
            "several workers need PostgreSQL or MySQL; SQLite has one writer", param_hint="--workers"
        )
    if migrate:
        upgrade(settings.database_url)
    key = asyncio.run(_ensure_admin_key(settings)) if settings.auth_enabled else None
    typer.echo(_banner(settings, host, port, key))
    uvicorn.run(
        "alert_handler.api.main:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=settings.access_log,
        log_config=None,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
    )


@app.command("migrate")
def migrate_command(
    revision: Annotated[str, typer.Argument(help="Target revision")] = "head",
) -> None:
    """Apply database migrations (Alembic) up to REVISION."""
    settings = get_settings()
    configure(settings.log_level, settings.log_format, access_log=settings.access_log)
    upgrade(settings.database_url, revision)
    typer.echo(f"database is at {revision}")


@app.command("create-api-key")
def create_api_key(
    name: Annotated[str, typer.Option(help="A name to recognise the key by")],
    scope: Annotated[list[Scope], typer.Option(help="Scope (repeatable): ingest, read, write, admin")],
    tenant: Annotated[str | None, typer.Option(help="Tenant (default: DEFAULT_TENANT)")] = None,
) -> None:
    """Create an API key and print it (shown only this once)."""
    settings = get_settings()

    async def run() -> str:
        engine = create_engine(settings.database_url)
        try:
            async with engine.begin() as conn:
                record, key = await api_keys.create(
                    conn, name=name, scopes=scope, tenant=tenant or settings.default_tenant, now=_now()
                )
        finally:
            await engine.dispose()
        typer.echo(f"created key {record.id} '{record.name}' ({', '.join(record.scopes)}); store it now:", err=True)
        return key

    typer.echo(asyncio.run(run()))


@app.command("revoke-api-key")
def revoke_api_key(
    key: Annotated[str, typer.Argument(help="The key's id, name or prefix (as `list-api-keys` shows)")],
) -> None:
    """Revoke an API key; requests with it get 401 from then on."""
    settings = get_settings()

    async def run() -> int:
        engine = create_engine(settings.database_url)
        try:
            async with engine.begin() as conn:
                return await api_keys.revoke(conn, key, _now())
        finally:
            await engine.dispose()

    revoked = asyncio.run(run())
    if not revoked:
        typer.echo(f"no active key matches {key!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {revoked} key(s)")


@app.command("list-api-keys")
def list_api_keys() -> None:
    """List API keys (never the keys themselves)."""
    settings = get_settings()

    async def run() -> list[api_keys.KeyRecord]:
        engine = create_engine(settings.database_url)
        try:
            async with engine.connect() as conn:
                return await api_keys.list_keys(conn)
        finally:
            await engine.dispose()

    for r in asyncio.run(run()):
        state = f"revoked {r.revoked_at:%Y-%m-%d %H:%M}" if r.revoked_at else "active"
        typer.echo(f"{r.id:>4}  {r.prefix}…  {r.name:<20} {','.join(r.scopes):<24} {r.tenant:<10} {state}")


@app.command("send-test-alert")
def send_test_alert(
    api_key: Annotated[str, typer.Option(envvar="ALERT_HANDLER_API_KEY", help="An API key with the ingest scope")],
    url: Annotated[str | None, typer.Option(help="Base URL of the service (default: from HOST/PORT)")] = None,
    severity: Annotated[str, typer.Option()] = "warning",
    title: Annotated[str, typer.Option()] = "Test alert from alert-handler",
    source: Annotated[str, typer.Option()] = "alert-handler-cli",
    resolve: Annotated[bool, typer.Option(help="Send it as resolved")] = False,
) -> None:
    """POST a test alert to a running service and print the answer."""
    settings = get_settings()
    base = url or settings.public_url or f"http://{settings.host}:{settings.port}"
    body = {
        "source": source,
        "severity": severity,
        "title": title,
        "description": "Sent by `alert-handler send-test-alert`.",
        "tags": ["test"],
        "status": "resolved" if resolve else "firing",
    }
    try:
        response = httpx.post(
            f"{base.rstrip('/')}/api/v1/alerts",
            json=body,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=10,
        )
    except httpx.HTTPError as exc:
        typer.echo(f"could not reach {base}: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"{response.status_code} {response.text}")
    if response.status_code >= 300:
        raise typer.Exit(1)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)
