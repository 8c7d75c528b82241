"""Users, sessions with CSRF tokens, API tokens and roles."""
import re

from fleet import auth, crypto
from tests.fleet.conftest import PASSWORD, Client, make_token


def test_passwords_are_stored_as_scrypt_hashes(store):
    user = store.user_by_name("td")
    assert user["password_hash"].startswith("scrypt:") and PASSWORD not in user["password_hash"]


def test_login_and_logout(app):
    c = Client(app)
    assert c.http.get("/").status_code == 302
    c.login("td")
    page = c.http.get("/").get_data(as_text=True)
    assert "td · operator · TD" in page
    assert c.http.post("/auth/logout", data={"csrf_token": c.csrf}).status_code == 302
    assert c.http.get("/").status_code == 302


def test_wrong_password_is_refused(app):
    c = Client(app)
    page = c.http.get("/auth/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = c.http.post("/auth/login", data={"username": "td", "password": "nope", "csrf_token": csrf})
    assert r.status_code == 401 and "wrong password" in r.get_data(as_text=True)
    assert c.http.get("/api/me").status_code == 401


def test_login_needs_the_csrf_token(app):
    r = app.test_client().post("/auth/login", data={"username": "td", "password": PASSWORD})
    assert r.status_code == 400 and "CSRF" in r.get_data(as_text=True)


def test_every_unsafe_session_request_needs_the_csrf_token(app, device):
    c = Client(app).login("admin")
    unsafe = [(rule, m) for rule in app.url_map.iter_rules() for m in rule.methods & {"POST", "PATCH", "PUT", "DELETE"}
              if not rule.rule.startswith("/auth/")]
    assert len(unsafe) >= 12
    for rule, method in unsafe:
        url = re.sub(r"<(?:int:)?\w+>", lambda m: "replay" if "action" in m.group(0) else str(device["id"]), rule.rule)
        r = c.http.open(url, method=method, json={})
        assert r.status_code == 400 and "CSRF" in r.get_data(as_text=True), (method, url, r.status_code)
        r = c.http.open(url, method=method, json={}, headers={"X-CSRF-Token": "forged"})
        assert r.status_code == 400, url


def test_open_redirect_after_login_is_refused(app):
    c = Client(app)
    page = c.http.get("/auth/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = c.http.post("/auth/login?next=//evil.example/", data={"username": "td", "password": PASSWORD,
                                                               "csrf_token": csrf})
    assert r.headers["Location"] == "/"


def test_tokens_are_stored_hashed_and_can_be_revoked(app, store):
    value = make_token(app, "viewer", "TD", name="dashboard")
    row = [t for t in store.tokens() if t["name"] == "dashboard"][0]
    assert value.startswith("cft_") and row["prefix"] == value[:8]
    assert store.token_by_hash(crypto.token_hash(value))["id"] == row["id"]
    assert value not in str(store._all("SELECT * FROM tokens"))
    c = Client(app, value)
    assert c.get("/api/me").json["role"] == "viewer"
    assert auth.revoke_token(store, row["id"]) is True
    r = c.get("/api/me")
    assert r.status_code == 401 and r.json["error"] == "invalid or revoked token"
    assert auth.revoke_token(store, row["id"]) is False


def test_bad_authorization_header(app):
    r = app.test_client().get("/api/devices", headers={"Authorization": "Basic dTpw"})
    assert r.status_code == 401 and r.json["error"] == "Authorization must be 'Bearer <token>'"


def test_roles(app, device):
    viewer = Client(app, make_token(app, "viewer", "TD"))
    assert viewer.get("/api/devices/%d" % device["id"]).status_code == 200
    assert viewer.patch("/api/devices/%d" % device["id"], json={"name": "x"}).status_code == 403
    assert viewer.post("/api/devices/%d/decommission" % device["id"]).status_code == 403
    tech = Client(app, make_token(app, "technician", "TD"))
    assert tech.get("/api/devices").status_code == 403
    assert tech.get("/api/provisioning/boards").status_code == 200
    integ = Client(app, make_token(app, "integration"))
    assert integ.get("/api/devices").status_code == 403


def test_role_and_department_rules():
    import pytest
    with pytest.raises(ValueError):
        auth.validate_role("operator", None)
    with pytest.raises(ValueError):
        auth.validate_role("superuser", "TD")
    auth.validate_role("admin", None)


def test_short_password_and_duplicate_user_are_refused(store):
    import pytest
    from fleet.storage import Conflict
    with pytest.raises(ValueError):
        auth.create_user(store, "x", "short", "viewer", "TD")
    with pytest.raises(Conflict):
        auth.create_user(store, "td", PASSWORD, "viewer", "TD")


def test_session_cookie_is_httponly_and_samesite(app):
    c = Client(app)
    c.http.get("/auth/login")
    cookie = c.http.get_cookie("session")
    assert cookie.http_only and cookie.same_site == "Lax"


def test_repeated_failed_logins_are_throttled(app):
    c = Client(app)
    page = c.http.get("/auth/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    statuses = [c.http.post("/auth/login", data={"username": "td", "password": "guess%d" % n, "csrf_token": csrf})
                .status_code for n in range(6)]
    assert statuses == [401] * 5 + [429]
    r = c.http.post("/auth/login", data={"username": "td", "password": PASSWORD, "csrf_token": csrf})
    assert r.status_code == 429                     # even the right password, until the window passes
    Client(app).login("tdview")                     # other users are not affected
