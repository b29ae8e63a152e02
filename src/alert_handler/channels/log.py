"""The `log` channel: writes each notification to the service log. Useful while setting up."""

from __future__ import annotations

from loguru import logger

from alert_handler.channels.base import ChannelSettings, Delivery, Message


class LogSettings(ChannelSettings):
    level: str = "INFO"


class LogChannel:
    name = "log"
    Settings = LogSettings

    def __init__(self, settings: LogSettings) -> None:
        self.settings = settings

    async def send(self, message: Message) -> Delivery:
        # Alert text is attacker-controlled: pass it as arguments, never as the format string.
        logger.bind(receiver=message.receiver, notification=message.key).log(
            self.settings.level,
            "notification {} to {}: {} firing, {} resolved: {}",
            message.status,
            message.receiver,
            len(message.firing),
            len(message.resolved),
            [a.title for a in message.alerts],
        )
        return Delivery.sent()

    def preview(self, message: Message) -> dict[str, str]:
        titles = [a.title for a in message.alerts]
        line = (
            f"notification {message.status} to {message.receiver}: "
            f"{len(message.firing)} firing, {len(message.resolved)} resolved: {titles}"
        )
        return {"level": self.settings.level, "text": line}

    async def close(self) -> None:
        return None
