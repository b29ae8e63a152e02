"""The Redis transport the Celery app uses: kombu's, with one redis-py client per channel for its
commands; messages it puts are ordinary Celery task messages. On a private redis-server."""

from __future__ import annotations

import base64
import json

import redis

from alert_handler.settings import Settings
from alert_handler.worker.app import PROCESS_TASK, make_celery
from alert_handler.worker.redis_transport import Transport
from tests.worker.conftest import RedisServer


def test_tasks_published_through_one_client_are_celery_messages(redis_server: RedisServer) -> None:
    settings = Settings(broker_url=redis_server.url)
    app = make_celery(settings)
    with app.connection_for_write() as connection:
        assert isinstance(connection.transport, Transport)
        channel = connection.default_channel
        assert channel._create_client() is channel._create_client()
        assert channel._create_client(asynchronous=True) is not channel._create_client()

    for ids in ([1, 2, 3], [4]):
        app.send_task(PROCESS_TASK, args=[ids], argsrepr=repr([ids]), retry=False, expires=300)

    queued = redis.Redis.from_url(redis_server.url).lrange(settings.broker_queue, 0, -1)
    messages = [json.loads(m) for m in reversed(queued)]
    assert [m["headers"]["task"] for m in messages] == [PROCESS_TASK, PROCESS_TASK]
    bodies = [json.loads(base64.b64decode(m["body"])) for m in messages]
    assert [args for args, _kwargs, _embed in bodies] == [[[1, 2, 3]], [[4]]]


def test_other_brokers_keep_their_own_transport() -> None:
    app = make_celery(Settings(broker_url="amqp://guest:guest@127.0.0.1:5672//"))
    assert app.conf.broker_transport is None
    assert app.connection_for_write().transport_cls == "amqp"
