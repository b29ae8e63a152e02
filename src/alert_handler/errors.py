"""Errors the services raise, in one place.

    AlertHandlerError
    ├── StorageUnavailable   the database could not take the write; the caller may retry (503)
    ├── ConfigError          settings or configuration that cannot work (refused at start)
    ├── TemplateError        a notification template that cannot be found, compiled or rendered
    └── InvalidInput         a request that fails validation (422), naming each field

Domain decisions (a refused status change, a duplicate) are returned values, not exceptions.
"""


class AlertHandlerError(Exception):
    """Base of every error this package raises on purpose."""


class StorageUnavailable(AlertHandlerError):
    pass


class ConfigError(AlertHandlerError):
    pass


class InvalidInput(AlertHandlerError):
    """Input that fails validation; `errors` name each failing field (`loc`) and say why (`msg`)."""

    def __init__(self, errors: list[dict[str, object]]) -> None:
        self.errors = errors
        super().__init__(summarize(errors))


def summarize(errors: list[dict[str, object]], limit: int = 3) -> str:
    """`alerts[3].severity: <why>; …` — the first few errors as one readable line."""
    parts = []
    for error in errors[:limit]:
        raw_loc = error.get("loc")
        # The first element says where (body, query, path); the rest names the field.
        loc = [str(p) for p in raw_loc][1:] if isinstance(raw_loc, list | tuple) else []
        path = ""
        for piece in loc:
            path += f"[{piece}]" if piece.isdigit() else (f".{piece}" if path else piece)
        parts.append(f"{path or 'body'}: {error.get('msg')}")
    more = f" (and {len(errors) - limit} more)" if len(errors) > limit else ""
    return "; ".join(parts) + more


class TemplateError(AlertHandlerError):
    """A notification template that cannot be found, compiled or rendered; the message names
    the template file (or `template` for an inline one) and the line."""
