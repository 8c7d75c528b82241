"""Fixtures for the fleet service: a fresh app on a temporary database per test,
departments, users and tokens, and real-shaped network-server events."""
import base64
import contextlib
import copy
import json
import os
import re
import threading
import time

import pytest
from cryptography.fernet import Fernet

from fleet import auth, create_app, crypto, registry
from fleet.crypto import SecretBox
from fleet.demo import rfc3339
from fleet.storage import Store
from protocols import frames

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
PASSWORD = "correct horse battery"
DATA_KEY = Fernet.generate_key().decode()
# Still scrypt, with cheaper parameters so that a test makes its five users quickly.
crypto.PASSWORD_METHOD = "scrypt:1024:8:1"


def fixture(name, dev_eui="0000000000000000", payload=None):
    """A fixture event with the DevEUI and base64 payload filled in."""
    with open(os.path.join(FIXTURES, name + ".json")) as f:
        text = f.read()
    text = text.replace("__DEV_EUI__", dev_eui.lower() if name.startswith("chirpstack") else dev_eui)
    text = text.replace("__DATA__", base64.b64encode(payload or b"").decode())
    return json.loads(text)


def new_app(tmp_path, departments=()):
    """A fleet app on a fresh database in tmp_path, with the departments {code: name}."""
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "fleet.db"), "SECRET_KEY": "test",
                      "DATA_KEY": DATA_KEY, "BOARDS_DIR": str(tmp_path / "no-boards")},
                     instance_path=str(tmp_path / "instance"))
    with app.app_context():
        from fleet.db import get_store
        for code, name in dict(departments).items():
            get_store().add_department(code, name)
    return app


@contextlib.contextmanager
def served(app):
    """The app served over HTTP on a free local port (threaded): yields its base URL."""
    from werkzeug.serving import make_server
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "http://127.0.0.1:%d" % server.server_port
    finally:
        server.shutdown()


@pytest.fixture
def app(tmp_path):
    app = new_app(tmp_path, {code: code + " department" for code in ("FEHD", "TD", "WSD", "AFCD")})
    with app.app_context():
        from fleet.db import get_store
        store = get_store()
        for name, role, dept in (("admin", "admin", None), ("td", "operator", "TD"), ("tdview", "viewer", "TD"),
                                 ("fehd", "operator", "FEHD"), ("tech", "technician", "TD")):
            auth.create_user(store, name, PASSWORD, role, dept)
    return app


@pytest.fixture
def store(app):
    s = Store(app.config["DATABASE"])
    yield s
    s.close()


class Client:
    """A test client that signs in (with the CSRF token) or sends a bearer token."""

    def __init__(self, app, token=None):
        self.app = app
        self.http = app.test_client()
        self.token = token
        self.csrf = None

    def login(self, username, password=PASSWORD):
        page = self.http.get("/auth/login").get_data(as_text=True)
        self.csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        r = self.http.post("/auth/login", data={"username": username, "password": password, "csrf_token": self.csrf})
        assert r.status_code == 302, r.get_data(as_text=True)
        self.csrf = self.http.get("/api/me").json["csrf_token"]     # a new session has a new token
        return self

    def _headers(self, headers):
        h = dict(headers or {})
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        elif self.csrf:
            h.setdefault("X-CSRF-Token", self.csrf)
        return h

    def get(self, url, **kw):
        return self.http.get(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, url, **kw):
        return self.http.post(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def patch(self, url, **kw):
        return self.http.patch(url, headers=self._headers(kw.pop("headers", None)), **kw)


def make_token(app, role, department=None, name=None):
    with app.app_context():
        from fleet.db import get_store
        return auth.create_token(get_store(), name or role, role, department)[1]


@pytest.fixture
def token_client(app):
    """token_client(role, department) -> a Client that sends a fresh token of that role."""
    return lambda role, department=None: Client(app, make_token(app, role, department))


@pytest.fixture
def user_client(app):
    """user_client(username) -> a signed-in browser Client."""
    return lambda username: Client(app).login(username)


@pytest.fixture
def integration(app):
    return Client(app, make_token(app, "integration"))


def register(app, kind="parking_bay", department="TD", **extra):
    """Register one device directly through the registry; returns its bundle."""
    with app.app_context():
        from fleet.db import get_store
        ident = auth.Identity("user", 0, "test", auth.ADMIN, None)
        item = dict({"kind": kind, "board": "esp32-devkitc", "department": department}, **extra)
        return registry.register(get_store(), SecretBox(app.config["DATA_KEY"]), ident, [item],
                                 registry.DEFAULT_BOARDS)[0]


@pytest.fixture
def device(app):
    """A registered TD parking bay: its bundle's device dict plus dev_eui."""
    b = register(app, name="bay-001", location="Wan Chai", tags=["district:wan-chai"])
    return dict(b["device"], dev_eui=b["lorawan"]["dev_eui"])


def bay_frame(occupied=True, changes=3, battery=85):
    return frames.encode("parking_bay", {"occupied": occupied, "changes": changes, "battery": battery})


def up_event(dev_eui, payload=None, f_cnt=7, dedup="3ac7e3c4-4401-4b8d-9386-a5c902f9202d"):
    """A ChirpStack up event for a device (fCnt and deduplicationId set as given)."""
    e = fixture("chirpstack_up", dev_eui, payload if payload is not None else bay_frame())
    e["fCnt"] = f_cnt
    e["deduplicationId"] = dedup
    e["time"] = rfc3339(time.time() - 60)
    return e


def clone(obj):
    return copy.deepcopy(obj)
