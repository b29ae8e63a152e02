"""`/api/v2/status` and `/api/v2/receivers`: what `amtool config show` and `amtool config routes` read.

`config.original` is the running configuration (the file with the objects made through the
API) as YAML, with secrets masked as `/api/v1/config` masks them. Clustering does not apply:
several processes share the database instead, so the cluster is `disabled`.
"""

from __future__ import annotations

import platform

import yaml
from fastapi import APIRouter

from alert_handler import __version__
from alert_handler.api.alertmanager.schemas import (
    AlertmanagerConfig,
    AlertmanagerStatus,
    ClusterStatus,
    Receiver,
    VersionInfo,
)
from alert_handler.api.config_views import shown
from alert_handler.api.deps import ReadKey, RuntimeDep

router = APIRouter()


def config_yaml(data: dict[str, object]) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)


@router.get("/status", response_model=AlertmanagerStatus, summary="Status (Alertmanager API v2)")
async def get_status(rt: RuntimeDep, _: ReadKey) -> AlertmanagerStatus:
    loaded = rt.config.current
    data = loaded.config.model_dump(mode="json", by_alias=True, exclude_unset=True)
    data["receivers"] = [shown("receivers", r) for r in data.get("receivers", [])]
    return AlertmanagerStatus(
        cluster=ClusterStatus(status="disabled", peers=[]),
        versionInfo=VersionInfo(
            version=__version__,
            revision=loaded.revision,
            branch="",
            buildUser="alert-handler",
            buildDate="",
            goVersion=f"python{platform.python_version()}",
        ),
        config=AlertmanagerConfig(original=config_yaml(data)),
        uptime=rt.started_at,
    )


@router.get("/receivers", response_model=list[Receiver], summary="Receivers (Alertmanager API v2)")
async def get_receivers(rt: RuntimeDep, _: ReadKey) -> list[Receiver]:
    return [Receiver(name=r.name) for r in rt.config.current.config.receivers]
