"""Sending dtx's coordinator token from dtm's Python SDK (docs/security.md, "Sending the token
from the SDKs"). dtmcli calls requests.post / requests.get, which go through
requests.Session.request: wrap it so that calls to the coordinator carry the header."""

import requests

_request = requests.Session.request


def send_token(dtm: str, token: str) -> None:
    """Adds `Authorization: Bearer <token>` to every request whose URL starts with `dtm` + '/'."""

    def with_token(self, method, url, *args, **kwargs):
        if str(url).startswith(dtm + "/"):
            kwargs["headers"] = {**(kwargs.get("headers") or {}), "Authorization": f"Bearer {token}"}
        return _request(self, method, url, *args, **kwargs)

    requests.Session.request = with_token


def stop_sending() -> None:
    requests.Session.request = _request
