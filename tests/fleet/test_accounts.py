"""Managing users and API tokens through the JSON API: roles, department scope, shown-once
secrets, revocation and disabling taking effect at once, the last-admin guard, the audit log."""
import json
import logging
import types

import pytest

from fleet import accounts, accounts_api
from tests.fleet.conftest import PASSWORD, Client, make_token

ADDR = {"REMOTE_ADDR": "198.51.100.7"}


@pytest.fixture
def admin(app):
    return Client(app).login("admin")


def _user_id(store, username):
    return store.user_by_name(username)["id"]


def _audit(store):
    return store._all("SELECT * FROM audit ORDER BY id")


def _can_login(app, username, password):
    try:
        Client(app).login(username, password)
    except AssertionError:
        return False
    return True


# ---- users ----

def test_admin_lists_users_paged_without_hashes(app, admin):
    body = admin.get("/api/users?limit=2").json
    assert [u["username"] for u in body["items"]] == ["admin", "td"] and body["next"] == {"after": 2}
    assert set(body["items"][1]) == {"id", "username", "role", "department", "disabled", "created_at"}
    assert body["items"][1]["department"] == "TD" and body["items"][1]["disabled"] is False
    rest = admin.get("/api/users?after=2").json
    assert [u["username"] for u in rest["items"]] == ["tdview", "fehd", "tech"] and rest["next"] is None
    td = admin.get("/api/users?department=TD").json["items"]
    assert [u["username"] for u in td] == ["td", "tdview", "tech"]
    assert "password" not in admin.get("/api/users").get_data(as_text=True)


@pytest.mark.parametrize("role,department", [("operator", "TD"), ("viewer", "TD"), ("technician", "TD"),
                                             ("integration", None)])
def test_only_admins_manage_users(app, store, role, department):
    c = Client(app, make_token(app, role, department))
    uid = _user_id(store, "tdview")
    assert c.get("/api/users").status_code == 403
    assert c.get("/api/users/%d" % uid).status_code == 403
    assert c.post("/api/users", json={"username": "x", "role": "viewer", "department": "TD"}).status_code == 403
    assert c.patch("/api/users/%d" % uid, json={"disabled": True}).status_code == 403
    assert c.post("/api/users/%d/password" % uid, json={}).status_code == 403
    assert store.user_by_name("x") is None and not store.user(uid)["disabled"]


def test_add_user_with_a_password_and_with_a_generated_one(app, admin, store):
    r = admin.post("/api/users", json={"username": "wsd-1", "role": "operator", "department": "WSD",
                                       "password": "a long enough one"})
    assert r.status_code == 201 and "password" not in r.json
    assert r.json["user"]["username"] == "wsd-1" and r.json["user"]["department"] == "WSD"
    assert _can_login(app, "wsd-1", "a long enough one")

    r = admin.post("/api/users", json={"username": "wsd-2", "role": "viewer", "department": "WSD"})
    assert r.status_code == 201 and r.headers["Cache-Control"] == "no-store"
    generated = r.json["password"]
    assert len(generated) >= 16
    assert _can_login(app, "wsd-2", generated)
    uid = r.json["user"]["id"]
    assert generated not in admin.get("/api/users/%d" % uid).get_data(as_text=True)
    assert generated not in admin.get("/api/users").get_data(as_text=True)


@pytest.mark.parametrize("body,field,status", [
    ({"username": "", "role": "viewer", "department": "TD"}, "username", 422),
    ({"username": "has space", "role": "viewer", "department": "TD"}, "username", 422),
    ({"username": "x", "role": "viewer", "department": None}, "department", 422),
    ({"username": "x", "role": "viewer", "department": "NOPE"}, "department", 422),
    ({"username": "x", "role": "integration"}, "role", 422),
    ({"username": "x", "role": "superuser"}, "role", 422),
    ({"username": "x", "role": "admin", "password": "short"}, "password", 422),
    ({"username": "x", "role": 7}, "role", 422),
    ({"username": "td", "role": "viewer", "department": "TD"}, None, 409),
])
def test_bad_users_are_refused(app, admin, store, body, field, status):
    r = admin.post("/api/users", json=body)
    assert r.status_code == status and r.json["ok"] is False, r.json
    if field:
        assert r.json["errors"][0]["field"] == field
    assert store.user_by_name("x") is None
    assert admin.post("/api/users", data="nope", content_type="application/json").status_code == 400


def test_role_and_department_changes_take_effect_at_once(app, admin, store, device):
    td = Client(app).login("td")
    assert td.patch("/api/devices/%d" % device["id"], json={"name": "a"}).status_code == 200
    uid = _user_id(store, "td")
    r = admin.patch("/api/users/%d" % uid, json={"role": "viewer"})
    assert r.status_code == 200 and r.json["user"]["role"] == "viewer"
    assert td.patch("/api/devices/%d" % device["id"], json={"name": "b"}).status_code == 403
    r = admin.patch("/api/users/%d" % uid, json={"department": "FEHD"})
    assert r.json["user"]["department"] == "FEHD"
    assert td.get("/api/devices/%d" % device["id"]).status_code == 404      # now another department's
    assert admin.patch("/api/users/%d" % uid, json={"department": None}).status_code == 422   # a viewer needs one
    assert admin.patch("/api/users/%d" % uid, json={"username": "x"}).json["errors"][0]["field"] == "username"
    assert admin.patch("/api/users/%d" % uid, json={"disabled": "yes"}).status_code == 422
    assert admin.patch("/api/users/%d" % uid, json={}).status_code == 400
    assert admin.patch("/api/users/999", json={"disabled": True}).status_code == 404
    assert store.user(uid)["role"] == "viewer" and store.user(uid)["department"] == "FEHD"


def test_disabling_ends_sessions_at_once_and_enabling_restores_sign_in(app, admin, store):
    td = Client(app).login("td")
    assert td.get("/api/me").status_code == 200
    uid = _user_id(store, "td")
    r = admin.patch("/api/users/%d" % uid, json={"disabled": True}, environ_base=ADDR)
    assert r.status_code == 200 and r.json["user"]["disabled"] is True
    assert td.get("/api/me").status_code == 401
    assert td.http.get("/").status_code == 302
    assert not _can_login(app, "td", PASSWORD)
    assert admin.patch("/api/users/%d" % uid, json={"disabled": False}).json["user"]["disabled"] is False
    assert _can_login(app, "td", PASSWORD)
    actions = [(a["action"], a["actor"], a["remote_addr"], a["department"]) for a in _audit(store)][-2:]
    assert actions == [("user.disable", "admin", "198.51.100.7", "TD"), ("user.enable", "admin", "127.0.0.1", "TD")]


def test_the_last_enabled_admin_cannot_be_disabled_or_demoted(app, admin, store):
    me = _user_id(store, "admin")
    for change in ({"disabled": True}, {"role": "operator", "department": "TD"}, {"role": "technician"}):
        r = admin.patch("/api/users/%d" % me, json=change)
        assert r.status_code == 409 and "last enabled admin" in r.json["error"], change
    token_admin = Client(app, make_token(app, "admin"))             # not a user: it does not count
    assert token_admin.patch("/api/users/%d" % me, json={"disabled": True}).status_code == 409
    other = admin.post("/api/users", json={"username": "admin2", "role": "admin", "password": PASSWORD}).json
    assert admin.patch("/api/users/%d" % other["user"]["id"], json={"disabled": True}).status_code == 200
    assert admin.patch("/api/users/%d" % me, json={"disabled": True}).status_code == 409     # admin2 is disabled
    assert admin.patch("/api/users/%d" % other["user"]["id"], json={"disabled": False}).status_code == 200
    r = admin.patch("/api/users/%d" % me, json={"role": "viewer", "department": "TD"})
    assert r.status_code == 200 and r.json["user"]["role"] == "viewer"
    admin2 = Client(app).login("admin2")
    assert admin2.patch("/api/users/%d" % other["user"]["id"], json={"disabled": True}).status_code == 409
    assert store.user(other["user"]["id"])["role"] == "admin" and not store.user(me)["disabled"]


def test_reset_password_ends_the_users_sessions(app, admin, store):
    td = Client(app).login("td")
    uid = _user_id(store, "td")
    r = admin.post("/api/users/%d/password" % uid, json={})
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    generated = r.json["password"]
    assert td.get("/api/me").status_code == 401
    assert not _can_login(app, "td", PASSWORD) and _can_login(app, "td", generated)
    r = admin.post("/api/users/%d/password" % uid, json={"password": "chosen by the admin"})
    assert r.status_code == 200 and "password" not in r.json
    assert _can_login(app, "td", "chosen by the admin")
    assert admin.post("/api/users/%d/password" % uid, json={"password": "short"}).status_code == 422
    assert admin.post("/api/users/999/password", json={}).status_code == 404
    assert admin.get("/api/me").status_code == 200        # the admin's own session is untouched


def test_users_change_their_own_password(app, store):
    td, other_session = Client(app).login("tdview"), Client(app).login("tdview")
    r = td.post("/api/me/password", json={"current_password": "wrong", "new_password": "brand new secret"})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "current_password"
    r = td.post("/api/me/password", json={"current_password": PASSWORD, "new_password": "short"})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "new_password"
    r = td.post("/api/me/password", json={"current_password": PASSWORD, "new_password": "brand new secret"})
    assert r.status_code == 200
    assert td.get("/api/me").status_code == 200                 # this session stays
    assert other_session.get("/api/me").status_code == 401      # the others end
    assert _can_login(app, "tdview", "brand new secret") and not _can_login(app, "tdview", PASSWORD)
    tech = Client(app).login("tech")                            # every role, technicians too
    assert tech.post("/api/me/password", json={"current_password": PASSWORD,
                                               "new_password": "tech secret 2"}).status_code == 200
    token = Client(app, make_token(app, "operator", "TD"))
    assert token.post("/api/me/password", json={"current_password": "x", "new_password": "y" * 9}).status_code == 403
    assert Client(app).login("td").post("/api/me/password", json={}).status_code == 422


# ---- tokens ----

def test_admin_creates_lists_and_revokes_tokens(app, admin, store):
    r = admin.post("/api/tokens", json={"name": "chirpstack-east", "role": "integration"}, environ_base=ADDR)
    assert r.status_code == 201 and r.headers["Cache-Control"] == "no-store"
    secret, token = r.json["secret"], r.json["token"]
    assert secret.startswith("cft_") and token["prefix"] == secret[:8] and token["department"] is None
    assert token["created_by"] == "admin" and token["revoked"] is False and token["last_used_at"] is None
    caller = Client(app, secret)
    assert caller.get("/api/me").json["name"] == "chirpstack-east"
    listing = admin.get("/api/tokens")
    assert secret not in listing.get_data(as_text=True)
    assert listing.json["items"][0]["id"] == token["id"] and listing.json["items"][0]["last_used_at"] is not None
    assert secret not in admin.get("/api/tokens/%d" % token["id"]).get_data(as_text=True)
    r = admin.post("/api/tokens/%d/revoke" % token["id"])
    assert r.status_code == 200 and r.json["token"]["revoked"] is True
    r = caller.get("/api/me")
    assert r.status_code == 401 and r.json["error"] == "invalid or revoked token"
    assert admin.post("/api/tokens/%d/revoke" % token["id"]).status_code == 409
    assert admin.post("/api/tokens/999/revoke").status_code == 404
    live = admin.get("/api/tokens?live=1").json["items"]
    assert token["id"] not in [t["id"] for t in live]


def test_token_lists_are_paged(app, admin):
    for n in range(3):
        admin.post("/api/tokens", json={"name": "t%d" % n, "role": "viewer", "department": "TD"})
    first = admin.get("/api/tokens?limit=2").json
    assert [t["name"] for t in first["items"]] == ["t2", "t1"] and first["next"] == {"before": first["items"][1]["id"]}
    rest = admin.get("/api/tokens?limit=2&before=%d" % first["next"]["before"]).json
    assert [t["name"] for t in rest["items"]] == ["t0"] and rest["next"] is None
    assert [t["department"] for t in admin.get("/api/tokens?department=TD").json["items"]] == ["TD"] * 3
    assert admin.get("/api/tokens?live=maybe").status_code == 400


@pytest.mark.parametrize("body,field", [
    ({"name": "", "role": "integration"}, "name"),
    ({"name": "x" * 81, "role": "integration"}, "name"),
    ({"name": "x", "role": "root"}, "role"),
    ({"name": "x", "role": "operator"}, "department"),
    ({"name": "x", "role": "viewer", "department": "NOPE"}, "department"),
])
def test_bad_tokens_are_refused(admin, store, body, field):
    r = admin.post("/api/tokens", json=body)
    assert r.status_code == 422 and r.json["errors"][0]["field"] == field
    assert store.tokens() == []


def test_operators_manage_their_departments_integration_and_technician_tokens(app, store):
    fehd_token = make_token(app, "integration", "FEHD", name="fehd-ns")
    citywide = make_token(app, "integration", None, name="city-ns")
    td_viewer = make_token(app, "viewer", "TD", name="td-dashboard")
    ids = {t["name"]: t["id"] for t in store.tokens()}
    for op in (Client(app).login("td"), Client(app, make_token(app, "operator", "TD", name="td-op"))):
        r = op.post("/api/tokens", json={"name": "td-ns", "role": "integration"})
        assert r.status_code == 201 and r.json["token"]["department"] == "TD"
        assert Client(app, r.json["secret"]).get("/api/me").json["department"] == "TD"
        assert op.post("/api/tokens", json={"name": "t", "role": "technician", "department": "TD"}).status_code == 201
        for role in ("viewer", "operator", "admin"):
            assert op.post("/api/tokens", json={"name": "t", "role": role}).status_code == 403
        assert op.post("/api/tokens", json={"name": "t", "role": "integration", "department": "FEHD"}).status_code == 403
        seen = op.get("/api/tokens").json["items"]
        assert {t["department"] for t in seen} == {"TD"} and ids["td-dashboard"] in [t["id"] for t in seen]
        for other in ("fehd-ns", "city-ns"):
            assert op.get("/api/tokens/%d" % ids[other]).status_code == 404
            r = op.post("/api/tokens/%d/revoke" % ids[other])
            assert r.status_code == 404 and r.json["error"] == "no token %d" % ids[other]
        assert op.get("/api/tokens?department=FEHD").json["items"] == seen     # the filter cannot widen the scope
        assert op.post("/api/tokens/%d/revoke" % ids["td-dashboard"]).status_code == 403
    for value in (fehd_token, citywide, td_viewer):
        assert Client(app, value).get("/api/me").status_code == 200          # none of them was revoked
    td_ns = [t for t in store.tokens() if t["name"] == "td-ns"][0]
    assert Client(app).login("td").post("/api/tokens/%d/revoke" % td_ns["id"]).status_code == 200
    for role, department in (("viewer", "TD"), ("technician", "TD"), ("integration", "TD")):
        c = Client(app, make_token(app, role, department))
        assert c.get("/api/tokens").status_code == 403
        assert c.post("/api/tokens", json={"name": "t", "role": "integration"}).status_code == 403


def test_last_use_is_written_at_most_once_a_minute(app, store, monkeypatch):
    value = make_token(app, "viewer", "TD", name="dash")
    token_id = store.tokens()[0]["id"]
    clock = [1_000_000.0]
    monkeypatch.setattr(accounts_api, "time", types.SimpleNamespace(time=lambda: clock[0]))
    monkeypatch.setattr(accounts, "_USES", accounts._UseClock())
    c = Client(app, value)
    c.get("/api/me")
    assert store.token(token_id)["last_used_at"] == 1_000_000.0
    clock[0] += 30
    c.get("/api/me")
    assert store.token(token_id)["last_used_at"] == 1_000_000.0
    clock[0] += 31
    c.get("/api/me")
    assert store.token(token_id)["last_used_at"] == 1_000_061.0


# ---- the audit log ----

def test_every_change_is_audited_without_passwords_or_secrets(app, admin, store, caplog):
    caplog.set_level(logging.DEBUG)
    secrets = [PASSWORD, "chosen for wsd", "changed by me"]
    r = admin.post("/api/users", json={"username": "wsd", "role": "viewer", "department": "WSD",
                                       "password": "chosen for wsd"}, environ_base=ADDR)
    uid = r.json["user"]["id"]
    secrets.append(admin.post("/api/users", json={"username": "gen", "role": "viewer", "department": "WSD"},
                              environ_base=ADDR).json["password"])
    admin.patch("/api/users/%d" % uid, json={"role": "operator"}, environ_base=ADDR)
    admin.patch("/api/users/%d" % uid, json={"disabled": True}, environ_base=ADDR)
    admin.patch("/api/users/%d" % uid, json={"disabled": False}, environ_base=ADDR)
    secrets.append(admin.post("/api/users/%d/password" % uid, json={}, environ_base=ADDR).json["password"])
    admin.post("/api/me/password", json={"current_password": PASSWORD, "new_password": "changed by me"},
               environ_base=ADDR)
    r = admin.post("/api/tokens", json={"name": "ns", "role": "integration", "department": "WSD"}, environ_base=ADDR)
    secrets.append(r.json["secret"])
    admin.post("/api/tokens/%d/revoke" % r.json["token"]["id"], environ_base=ADDR)
    rows = _audit(store)[-9:]
    assert [a["action"] for a in rows] == [
        "user.add", "user.add", "user.update", "user.disable", "user.enable", "user.password_reset",
        "user.password_change", "token.create", "token.revoke"]
    assert all(a["actor"] == "admin" and a["remote_addr"] == "198.51.100.7" and a["at"] for a in rows)
    assert json.loads(rows[2]["detail"]) == {"role": ["viewer", "operator"], "username": "wsd"}
    assert json.loads(rows[5]["detail"]) == {"generated": True, "username": "wsd"}
    assert [a["department"] for a in rows] == ["WSD", "WSD", "WSD", "WSD", "WSD", "WSD", None, "WSD", "WSD"]
    stored = json.dumps(store._all("SELECT * FROM audit")) + caplog.text
    for secret in secrets:
        assert secret not in stored
    wsd_view = Client(app, make_token(app, "viewer", "WSD")).get("/api/audit").json["items"]
    assert "token.revoke" in [a["action"] for a in wsd_view]        # the department sees its own


def test_openapi_describes_the_account_routes(app):
    doc = app.test_client().get("/api/openapi.json").json
    for path, method in (("/api/users", "get"), ("/api/users", "post"), ("/api/users/{user_id}", "patch"),
                         ("/api/users/{user_id}/password", "post"), ("/api/me/password", "post"),
                         ("/api/tokens", "get"), ("/api/tokens", "post"), ("/api/tokens/{token_id}", "get"),
                         ("/api/tokens/{token_id}/revoke", "post")):
        assert doc["paths"][path][method]["summary"], (path, method)
    assert "requestBody" in doc["paths"]["/api/tokens"]["post"]
    assert "Roles: admin, operator." == doc["paths"]["/api/tokens"]["get"]["description"]
    names = [p["name"] for p in doc["paths"]["/api/tokens"]["get"]["parameters"]]
    assert {"before", "limit", "department", "live"} <= set(names)


@pytest.mark.parametrize("method,kwargs", [
    ("users_page", {"department": "TD"}),
    ("users_page", {}),
    ("tokens_page", {"department": "TD"}),
    ("tokens_page", {}),
    ("active_admins", {"except_id": 1}),
    ("token", {"token_id": 1}),
    ("user_summary", {"user_id": 1}),
])
def test_account_queries_use_indexes(store, method, kwargs):
    steps = [s for _, plan in store.explain(method, **kwargs) for s in plan]
    assert steps and not [s for s in steps if s.startswith("SCAN")], steps


def test_wrong_current_passwords_are_throttled(app):
    c = Client(app).login("tdview")
    body = {"current_password": "guess", "new_password": "a new password"}
    statuses = [c.post("/api/me/password", json=body).status_code for _ in range(6)]
    assert statuses == [422] * 5 + [429]
    right = c.post("/api/me/password", json=dict(body, current_password=PASSWORD))
    assert right.status_code == 429 and right.json["ok"] is False       # until the window passes
    assert Client(app).login("td").post("/api/me/password", json=dict(body, current_password=PASSWORD)).status_code == 200


def test_revoking_tells_a_token_cache_to_forget_the_token(app, admin, store, monkeypatch):
    from fleet import auth
    forgotten = []
    monkeypatch.setattr(auth, "forget_token", forgotten.append, raising=False)
    make_token(app, "integration", "TD", name="ns")
    token_id = store.tokens()[0]["id"]
    assert admin.post("/api/tokens/%d/revoke" % token_id).status_code == 200
    assert forgotten == [token_id]
