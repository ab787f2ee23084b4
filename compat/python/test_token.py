"""dtm's official Python SDK (dtmcli, from PyPI) against a dtx coordinator with ApiAuth.Token
set: refused without the token, a saga runs with it (dtx_token.py, the code docs/security.md
gives). The coordinator runs on SQLite on a free loopback port; the branch service is in this
process."""

import json
import os
import socket
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from dtmcli import saga, utils

import dtx_token

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "python-sdk-service-token-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Branches:
    """A branch service that records the path and gid of every call and answers SUCCESS."""

    def __init__(self):
        self.calls: list[tuple[str, str]] = []
        branches = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                path, _, query = self.path.partition("?")
                gid = dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("gid", "")
                self.rfile.read(int(self.headers.get("content-length") or 0))
                branches.calls.append((path, gid))
                body = json.dumps({"dtm_result": "SUCCESS"}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def of(self, gid: str) -> list[str]:
        return [p for p, g in self.calls if g == gid]


@pytest.fixture(scope="module")
def dtm():
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="dtx-python-")
    env = {
        **os.environ,
        "STORE_DRIVER": "sqlite",
        "STORE_DB": os.path.join(tmp, "dtx.sqlite"),
        "HTTP_PORT": str(port),
        "GRPC_PORT": "0",
        "LISTEN_HOST": "127.0.0.1",
        "TRANS_CRON_INTERVAL": "1",
        "API_AUTH_TOKEN": TOKEN,
    }
    log = open(os.path.join(tmp, "coordinator.log"), "w")
    proc = subprocess.Popen(["node", "--import", "tsx", "apps/server/src/main.ts"], cwd=ROOT, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            if requests.get(base + "/api/ping", timeout=1).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            raise RuntimeError("the coordinator did not start: " + open(log.name).read()[-2000:])
        time.sleep(0.2)
    yield base + "/api/dtmsvr"
    proc.terminate()
    proc.wait(15)
    log.close()


@pytest.fixture(scope="module")
def busi():
    b = Branches()
    yield b
    b.server.shutdown()


def quick_start(dtm: str, busi: Branches, gid: str) -> saga.Saga:
    s = saga.Saga(dtm, gid)
    s.add({"amount": 30}, busi.url + "/TransOut", busi.url + "/TransOutCompensate")
    s.add({"amount": 30}, busi.url + "/TransIn", busi.url + "/TransInCompensate")
    s.trans_base.wait_result = True
    return s


def test_refused_without_the_token(dtm, busi):
    r = requests.get(dtm + "/newGid")
    assert r.status_code == 401
    assert "ApiAuth.Token" in r.text
    with pytest.raises(Exception):
        utils.gen_gid(dtm)
    gid = "python-no-token-" + os.urandom(4).hex()
    with pytest.raises(Exception):
        quick_start(dtm, busi, gid).submit()
    time.sleep(1.5)  # a scheduler turn: nothing was stored, so nothing is called later either
    assert busi.of(gid) == []


def test_a_saga_runs_with_the_token(dtm, busi):
    dtx_token.send_token(dtm, TOKEN)
    try:
        gid = utils.gen_gid(dtm)
        quick_start(dtm, busi, gid).submit()
        assert busi.of(gid) == ["/TransOut", "/TransIn"]
        q = requests.get(dtm + "/query", params={"gid": gid})
        assert q.status_code == 200
        assert q.json()["transaction"]["status"] == "succeed"
    finally:
        dtx_token.stop_sending()
    # other URLs are left alone: the branch service gets no token
    assert requests.get(dtm + "/newGid").status_code == 401
