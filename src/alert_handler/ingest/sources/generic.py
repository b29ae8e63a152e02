"""Any JSON, read through the integration's field mapping (paths such as `alert.labels`).

The body is one alert object, a list of them, or (with `mapping.alerts`) an object holding the
list. For each alert: `title` must be found and be text; `severity`, `source`, `description`,
`dedup_key` and `status` are used when found (numbers are taken as text); `labels` must be an
object when found, its values made text. An error names the path in the body.
"""

from __future__ import annotations

from typing import Any

from alert_handler.domain.severity import parse_severity
from alert_handler.errors import InvalidInput
from alert_handler.ingest.json_path import MISSING, Path, lookup, parse_path
from alert_handler.ingest.sources.alertmanager import TEXT_LIMIT, TITLE_LIMIT
from alert_handler.ingest.sources.base import Context, Loc, Normalized, build, check_batch, clip, label_name, parse_json
from alert_handler.routing.integrations import FieldMapping


def _invalid(loc: Loc, message: str, kind: str = "value_error") -> InvalidInput:
    return InvalidInput([{"loc": ["body", *loc], "msg": message, "type": kind}])


def _text(item: Any, path: str | None, where: Loc, *, required: bool = False) -> str | None:
    if path is None:
        return None
    parsed: Path = parse_path(path)
    value = lookup(item, parsed)
    if value is MISSING or value is None or value == "":
        if required:
            raise _invalid((*where, *parsed), f"required: the mapping reads the title from {path}", "missing")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _invalid((*where, *parsed), f"expected text or a number, got {type(value).__name__}")
    return str(value).strip()


def _labels(item: Any, path: str | None, where: Loc) -> dict[str, str]:
    if path is None:
        return {}
    parsed = parse_path(path)
    value = lookup(item, parsed)
    if value is MISSING or value is None:
        return {}
    if not isinstance(value, dict):
        raise _invalid((*where, *parsed), f"expected an object of labels, got {type(value).__name__}")
    labels = {}
    for name, raw in value.items():
        if isinstance(raw, dict | list):
            raise _invalid((*where, *parsed, name), "a label value must be text or a number")
        if raw is not None:
            labels[label_name(str(name))] = clip(str(raw), 1024)
    return labels


def _items(document: Any, mapping: FieldMapping) -> tuple[list[Any], Loc]:
    if mapping.alerts is not None:
        where = parse_path(mapping.alerts)
        found = lookup(document, where)
        if not isinstance(found, list):
            raise _invalid(where, f"expected a list of alerts at {mapping.alerts}")
        return found, where
    return (document, ()) if isinstance(document, list) else ([document], ())


def normalize_with(body: bytes, ctx: Context, mapping: FieldMapping) -> Normalized:
    document = parse_json(body)
    items, base = _items(document, mapping)
    check_batch(len(items), ctx, base)
    resolved_values = {v.strip().lower() for v in mapping.resolved_values}
    alerts = []
    for index, item in enumerate(items):
        where: Loc = (*base, index) if base or isinstance(document, list) else ()
        if not isinstance(item, dict):
            raise _invalid(where, f"expected an alert object, got {type(item).__name__}")
        severity = _text(item, mapping.severity, where)
        status = _text(item, mapping.status, where)
        fields = {
            "source": clip(_text(item, mapping.source, where) or ctx.source or ctx.integration, 255),
            "severity": (parse_severity(severity) if severity else None) or ctx.severity or "warning",
            "title": clip(_text(item, mapping.title, where, required=True), TITLE_LIMIT),
            "description": clip(_text(item, mapping.description, where), TEXT_LIMIT),
            "labels": _labels(item, mapping.labels, where),
            "metadata": {"integration": ctx.integration},
            "dedup_key": _text(item, mapping.dedup_key, where),
            "status": "resolved" if status and status.lower() in resolved_values else "firing",
        }
        renamed = {
            k: (*parse_path(p),) for k, p in mapping.model_dump().items() if isinstance(p, str) and k != "alerts"
        }
        alerts.append(build(fields, ctx, where=where, renamed=renamed))
    return Normalized(alerts=alerts)
