"""deploy/nginx.conf run by a real nginx in front of a real voxclone server on loopback: TLS
terminated with the documented certificate paths, HTTP sent to HTTPS, WebSockets upgraded, the
body limit the app's, and the request id passed through. Needs nginx (`.ci/run` installs it)."""

from __future__ import annotations

import re
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.conftest import ADMIN_KEY, make_settings
from tests.remote.servers import ThreadServer, free_port
from voxclone.api.app import create_app

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


@dataclass
class Proxy:
    http: str
    https: str
    cert: Path


def local_config(tmp: Path, upstream_port: int, http_port: int, https_port: int) -> Path:
    """The shipped config with only what a loopback test must change: the upstream hosts, the
    ports, the certificate paths and the files nginx writes."""
    conf = (DEPLOY / "nginx.conf").read_text()
    assert "ssl_certificate     /etc/nginx/certs/fullchain.pem;" in conf
    assert "ssl_certificate_key /etc/nginx/certs/privkey.pem;" in conf
    conf = re.sub(r"server api\d+:8000", f"server 127.0.0.1:{upstream_port}", conf)
    conf = conf.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    conf = conf.replace("listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;")
    conf = conf.replace("/etc/nginx/certs/", f"{tmp}/certs/")
    conf = conf.replace(
        "http {",
        f"http {{\n    access_log off;\n    client_body_temp_path {tmp}/body;\n"
        f"    proxy_temp_path {tmp}/proxy;",
        1,
    )
    path = tmp / "nginx.conf"
    path.write_text(conf)
    return path


def self_signed(certs: Path) -> Path:
    certs.mkdir()
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(certs / "privkey.pem"), "-out", str(certs / "fullchain.pem"),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return certs / "fullchain.pem"


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    assert Path(NGINX).exists(), "these tests need nginx: apt-get install nginx-light"
    tmp = tmp_path_factory.mktemp("nginx")
    cert = self_signed(tmp / "certs")
    app = create_app(make_settings(tmp / "data"))
    with ThreadServer(app, ws="websockets-sansio") as upstream:
        http_port, https_port = free_port(), free_port()
        conf = local_config(tmp, int(upstream.rsplit(":", 1)[1]), http_port, https_port)
        globals_ = f"pid {tmp}/nginx.pid; error_log {tmp}/error.log;"
        check = subprocess.run(
            [NGINX, "-t", "-c", str(conf), "-g", globals_], capture_output=True, text=True
        )
        assert check.returncode == 0, check.stderr
        subprocess.run([NGINX, "-c", str(conf), "-g", globals_], check=True, timeout=30)
        try:
            yield Proxy(f"http://127.0.0.1:{http_port}", f"https://127.0.0.1:{https_port}", cert)
        finally:
            subprocess.run([NGINX, "-c", str(conf), "-g", globals_, "-s", "stop"], timeout=30)


def test_http_is_sent_to_https(proxy: Proxy) -> None:
    r = httpx.get(f"{proxy.http}/v1/voices?x=1", follow_redirects=False)
    assert r.status_code == 301
    assert r.headers["location"].startswith("https://127.0.0.1")
    assert r.headers["location"].endswith("/v1/voices?x=1")


def test_https_reaches_the_app_with_hsts_and_a_request_id(proxy: Proxy) -> None:
    with httpx.Client(verify=ssl.create_default_context(cafile=str(proxy.cert))) as client:
        r = client.get(f"{proxy.https}/health")
        assert r.status_code == 200, r.text
        assert r.headers["strict-transport-security"].startswith("max-age=")
        assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"])  # nginx's $request_id
        r = client.get(f"{proxy.https}/v1/keys", headers={"X-API-Key": ADMIN_KEY})
        assert r.status_code == 200


def test_a_body_over_the_apps_limit_is_refused_at_the_proxy(proxy: Proxy) -> None:
    with httpx.Client(verify=ssl.create_default_context(cafile=str(proxy.cert))) as client:
        r = client.post(f"{proxy.https}/v1/voices", content=b"\0" * (33 * 1024 * 1024))
    assert r.status_code == 413


def test_websockets_are_upgraded_through_tls(proxy: Proxy) -> None:
    """The app itself answers the WebSocket (it refuses the missing key with its own close
    code and reason), so the upgrade went through nginx."""
    context = ssl.create_default_context(cafile=str(proxy.cert))
    url = proxy.https.replace("https://", "wss://") + "/v1/text-to-speech/some-voice/ws"
    messages: list[str | bytes] = []
    with (
        connect(url, ssl=context, open_timeout=10) as ws,
        pytest.raises(ConnectionClosed) as closed,
    ):
        while True:
            messages.append(ws.recv(timeout=10))
    assert closed.value.rcvd is not None, messages
    assert closed.value.rcvd.code == 1008, closed.value.rcvd
    assert "API key" in str(messages) + closed.value.rcvd.reason
