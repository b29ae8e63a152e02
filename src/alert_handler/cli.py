"""The `alert-handler` command: serve, migrate, manage API keys, send a test alert, check the
configuration file and test its routes."""

from __future__ import annotations

import asyncio
import json
import shlex
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TypeVar

import httpx
import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from alert_handler import __version__
from alert_handler.channels.env import env_receivers
from alert_handler.db import create_engine
from alert_handler.errors import ConfigError
from alert_handler.logs import configure
from alert_handler.routing.config import Config, InvalidConfig, load_config
from alert_handler.routing.durations import format_duration
from alert_handler.routing.live import resolve_config_file
from alert_handler.routing.tree import Route, RouteMatch
from alert_handler.security.keys import Scope
from alert_handler.settings import Settings, get_settings
from alert_handler.store import api_keys
from alert_handler.store.migrate import upgrade

app = typer.Typer(help="alert-handler: receive, de-duplicate, route and act on alerts.", no_args_is_help=True)
config_app = typer.Typer(help="The configuration file (CONFIG_FILE): receivers, routes, rules.", no_args_is_help=True)
routes_app = typer.Typer(help="The routing tree of the configuration file.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(routes_app, name="routes")


T = TypeVar("T")


def _now() -> datetime:
    return datetime.now(UTC)


def _in_transaction(settings: Settings, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """Run `work` in one transaction on a short-lived engine (commands run outside any event loop)."""

    async def run() -> T:
        engine = create_engine(settings.database_url)
        try:
            async with engine.begin() as conn:
                return await work(conn)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _ensure_admin_key(settings: Settings) -> str | None:
    """On first start (no keys at all) create an admin key and return it, once."""

    async def work(conn: AsyncConnection) -> str | None:
        if await api_keys.list_keys(conn):
            return None
        _, key = await api_keys.create(
            conn, name="admin", scopes=[Scope.ADMIN], tenant=settings.default_tenant, now=_now()
        )
        return key

    return _in_transaction(settings, work)


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

    from alert_handler.api.http_protocol import CoalescingHttpToolsProtocol

    settings = get_settings()
    configure(settings.log_level, settings.log_format, access_log=settings.access_log)
    host = host or settings.host
    port = port or settings.port
    if workers > 1 and settings.is_sqlite:
        raise typer.BadParameter(
            "several workers need PostgreSQL or MySQL; SQLite has one writer", param_hint="--workers"
        )
    try:  # the file alone, for a clear refusal here; the app checks it again with the API's objects
        _load_or_exit(resolve_config_file(settings.config_file))
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    if migrate:
        upgrade(settings.database_url)
    key = _ensure_admin_key(settings) if settings.auth_enabled else None
    typer.echo(_banner(settings, host, port, key))
    uvicorn.run(
        "alert_handler.api.main:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http=CoalescingHttpToolsProtocol,
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

    async def work(conn: AsyncConnection) -> tuple[api_keys.KeyRecord, str]:
        return await api_keys.create(
            conn, name=name, scopes=scope, tenant=tenant or settings.default_tenant, now=_now()
        )

    record, key = _in_transaction(settings, work)
    typer.echo(f"created key {record.id} '{record.name}' ({', '.join(record.scopes)}); store it now:", err=True)
    typer.echo(key)


@app.command("revoke-api-key")
def revoke_api_key(
    key: Annotated[str, typer.Argument(help="The key's id, name or prefix (as `list-api-keys` shows)")],
) -> None:
    """Revoke an API key; requests with it get 401 from then on."""
    settings = get_settings()

    revoked = _in_transaction(settings, lambda conn: api_keys.revoke(conn, key, _now()))
    if not revoked:
        typer.echo(f"no active key matches {key!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {revoked} key(s)")


@app.command("list-api-keys")
def list_api_keys() -> None:
    """List API keys (never the keys themselves)."""
    settings = get_settings()

    for r in _in_transaction(settings, api_keys.list_keys):
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


def _load_or_exit(path: Path) -> Config:
    try:
        return load_config(path, env_receivers=env_receivers(get_settings()))
    except InvalidConfig as exc:
        for line in exc.lines():
            typer.echo(line, err=True)
        count = len(exc.problems)
        typer.echo(f"{path}: FAILED, {count} problem{'' if count == 1 else 's'}", err=True)
        raise typer.Exit(1) from None


def _summary(config: Config) -> list[str]:
    counts = (
        (len(config.receivers), "receiver", "receivers"),
        (sum(1 for _ in Route.build(config.route).walk()), "route", "routes"),
        (len(config.rules), "rule", "rules"),
        (len(config.inhibit_rules), "inhibit rule", "inhibit rules"),
        (len(config.time_intervals), "time interval", "time intervals"),
        (len(config.escalation_policies), "escalation policy", "escalation policies"),
    )
    return [f" - {count} {one if count == 1 else many}" for count, one, many in counts]


@config_app.command("check")
def config_check(
    file: Annotated[Path | None, typer.Argument(help="The YAML file (default: CONFIG_FILE setting)")] = None,
) -> None:
    """Validate a configuration file (like `amtool check-config`): a summary and exit 0, or
    each problem as FILE: PATH: what is wrong, and exit 1."""
    path = file or resolve_config_file(get_settings().config_file)
    config = _load_or_exit(path)
    typer.echo(f"{path}: SUCCESS\nFound:")
    for line in _summary(config):
        typer.echo(line)


def _describe(match: RouteMatch) -> str:
    group = match.group
    group_by = "..." if group.group_by_all else ",".join(group.group_by)
    muted = f"  mute_time_intervals=[{','.join(match.mute_time_intervals)}]" if match.mute_time_intervals else ""
    active = f"  active_time_intervals=[{','.join(match.active_time_intervals)}]" if match.active_time_intervals else ""
    return (
        f"{match.path}  receiver={match.receiver}  group_by=[{group_by}]"
        f"  group_wait={format_duration(group.group_wait)}  group_interval={format_duration(group.group_interval)}"
        f"  repeat_interval={format_duration(group.repeat_interval)}{muted}{active}"
    )


@routes_app.command("test")
def routes_test(
    labels: Annotated[list[str] | None, typer.Argument(help="The alert's labels, as label=value")] = None,
    config_file: Annotated[
        Path | None, typer.Option("--config", help="The YAML file (default: CONFIG_FILE setting)")
    ] = None,
) -> None:
    """Print each route an alert with these labels ends at, then its receivers on the last line
    (like `amtool config routes test`)."""
    alert: dict[str, str] = {}
    for pair in labels or []:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise typer.BadParameter(f"{pair!r} is not label=value", param_hint="LABELS")
        alert[name.strip()] = value
    config = _load_or_exit(config_file or resolve_config_file(get_settings().config_file))
    matches = Route.build(config.route).match(alert)
    for match in matches:
        typer.echo(_describe(match))
    typer.echo(",".join(dict.fromkeys(m.receiver for m in matches)))
