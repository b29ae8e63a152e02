"""The channels' HTTP client: httpx's API over aiohttp, against real servers on loopback."""

from __future__ import annotations

import asyncio
import base64
import gzip
import socket
import time
import urllib.parse

import httpx
import pytest

from alert_handler.channels import http
from alert_handler.channels.base import Delivery
from tests.http_sink import http_sink
from tests.loopback import QuietHandler, loopback


async def test_sends_the_url_exactly_as_given() -> None:
    # A signed URL (Teams Workflows, SAS) must reach the service byte for byte.
    with http_sink() as sink:
        async with http.client(5) as client:
            answer = await client.post(f"{sink.url}/hook?sp=%2Ftriggers%2Frun&sig=a%2Bb%3D", json={"x": 1})
    assert answer.status_code == 200 and answer.text == "ok"
    [request] = sink.received
    assert request.path == "/hook?sp=%2Ftriggers%2Frun&sig=a%2Bb%3D"
    assert request.json() == {"x": 1} and request.headers["content-type"] == "application/json"


async def test_goes_through_the_proxy_the_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    with http_sink() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        async with http.client(5) as client:
            answer = await client.post("http://hooks.example.invalid/alert", content=b"{}")
    assert answer.status_code == 200
    [request] = proxy.received
    assert request.path == "http://hooks.example.invalid/alert"  # absolute form: a proxy request


async def test_no_proxy_hosts_are_reached_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nobody listens there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with http_sink() as sink:
        async with http.client(5) as client:
            answer = await client.post(f"{sink.url}/hook", content=b"{}")
    assert answer.status_code == 200 and len(sink.received) == 1


def _gzipped(body: bytes) -> type[QuietHandler]:
    """A server that answers every POST with `body`, gzip-compressed (as some vendors' gateways do)."""

    class Gzipped(QuietHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            payload = gzip.compress(body)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Gzipped


async def test_a_compressed_answer_is_read_decoded() -> None:
    with loopback(_gzipped(b'{"errcode": 0, "errmsg": "ok"}')) as url:
        async with http.client(5) as client:
            answer = await client.post(url, json={})
    assert answer.json() == {"errcode": 0, "errmsg": "ok"}


async def test_failures_come_back_as_the_httpx_errors_they_are() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    async with http.client(5) as client:
        refused = await http.exchange(client, "POST", f"http://127.0.0.1:{port}/hook?token=s3cret")
    assert refused == Delivery.failed("connection failed (ConnectError)", retry=True)

    class Silent(QuietHandler):
        def do_POST(self) -> None:
            time.sleep(1.0)

    with loopback(Silent) as url:
        async with http.client(0.2) as client:
            slow = await http.exchange(client, "POST", f"{url}/hook?token=s3cret", content=b"{}")
    assert slow == Delivery.failed("timed out", retry=True)


async def test_a_connection_dropped_mid_answer_is_a_read_error() -> None:
    class Hangup(QuietHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)

    with loopback(Hangup) as url:
        async with http.client(5) as client:
            dropped = await http.exchange(client, "POST", url, content=b"{}")
    assert dropped == Delivery.failed("connection failed (ReadError)", retry=True)


async def test_one_client_serves_many_requests_at_once() -> None:
    with http_sink() as sink:
        sink.delay = 0.01
        async with http.client(5) as client:
            answers = await asyncio.gather(*(client.post(f"{sink.url}/hook", json={"n": i}) for i in range(100)))
    assert [a.status_code for a in answers] == [200] * 100
    assert sorted(r.json()["n"] for r in sink.received) == list(range(100))


async def test_a_channels_request_goes_straight_to_aiohttp(monkeypatch: pytest.MonkeyPatch) -> None:
    # `exchange` sends what channels send (content, a form, headers, basic auth) without httpx's
    # request machinery, which cost half of a webhook send's CPU.
    async def not_through_httpx(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the request went through httpx's client")

    with http_sink() as sink:
        async with http.client(5) as client:
            monkeypatch.setattr(client, "request", not_through_httpx)
            posted = await http.exchange(
                client, "POST", f"{sink.url}/hook?sig=a%2Bb", content=b'{"x": 1}',
                headers={"Content-Type": "application/json", "User-Agent": "alert-handler-test"},
            )  # fmt: skip
            form = await http.exchange(client, "POST", f"{sink.url}/sms", data={"To": "+861", "Body": "磁盘 满"},
                                       auth=("AC1", "s3cret"))  # fmt: skip
    assert isinstance(posted, httpx.Response) and posted.status_code == 200 and posted.text == "ok"
    assert isinstance(form, httpx.Response) and form.status_code == 200
    first, second = sink.received
    assert first.path == "/hook?sig=a%2Bb" and first.json() == {"x": 1}
    assert first.headers["content-type"] == "application/json" and first.headers["user-agent"] == "alert-handler-test"
    assert second.headers["authorization"] == "Basic " + base64.b64encode(b"AC1:s3cret").decode()
    assert second.headers["content-type"] == "application/x-www-form-urlencoded"
    assert urllib.parse.parse_qs(second.body.decode()) == {"To": ["+861"], "Body": ["磁盘 满"]}


async def test_a_compressed_answer_to_a_channels_request_is_read_decoded() -> None:
    with loopback(_gzipped(b'{"errcode": 310000, "errmsg": "keywords not in content"}')) as url:
        async with http.client(5) as client:
            answer = await http.exchange(client, "POST", url, content=b"{}")
    assert isinstance(answer, httpx.Response)
    assert http.json_body(answer) == {"errcode": 310000, "errmsg": "keywords not in content"}
