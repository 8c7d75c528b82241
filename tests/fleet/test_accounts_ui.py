"""The user and token pages through the test client (the browser test is in test_browser.py)."""
import re

from tests.fleet.conftest import PASSWORD, Client, make_token


def _form(c, url, **fields):
    return c.http.post(url, data=dict(fields, csrf_token=c.csrf))


def _nav(page):
    return re.search(r"<nav>(.*?)</nav>", page, re.S).group(1)


def _secret(page):
    return re.search(r'<code id="secret">([^<]+)</code>', page).group(1)


def test_nav_links_follow_the_role(app):
    admin = _nav(Client(app).login("admin").http.get("/").get_data(as_text=True))
    assert "Users" in admin and "Tokens" in admin and "Password" in admin
    op = _nav(Client(app).login("td").http.get("/").get_data(as_text=True))
    assert "Users" not in op and "Tokens" in op and "Password" in op
    viewer_client = Client(app).login("tdview")
    viewer = _nav(viewer_client.http.get("/").get_data(as_text=True))
    assert "Users" not in viewer and "Tokens" not in viewer and "Password" in viewer
    assert viewer_client.http.get("/tokens").status_code == 403
    assert viewer_client.http.get("/users").status_code == 403
    assert Client(app).login("td").http.get("/users").status_code == 403


def test_admin_adds_a_user_with_a_generated_password_shown_once(app, store):
    c = Client(app).login("admin")
    listing = c.http.get("/users").get_data(as_text=True)
    assert 'id="users"' in listing and ">tdview<" in listing
    assert 'id="new-user"' in c.http.get("/users/new").get_data(as_text=True)
    r = _form(c, "/users/new", username="hygiene-3", role="viewer", department="FEHD", password="")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    generated = _secret(r.get_data(as_text=True))
    assert "shown this once" in r.get_data(as_text=True)
    uid = store.user_by_name("hygiene-3")["id"]
    for url in ("/users", "/users/%d" % uid, "/audit"):
        assert generated not in c.http.get(url).get_data(as_text=True), url
    assert "hygiene-3 · viewer · FEHD" in Client(app).login("hygiene-3", generated).http.get("/").get_data(as_text=True)


def test_admin_adds_a_user_with_a_chosen_password_and_sees_form_errors(app, store):
    c = Client(app).login("admin")
    r = _form(c, "/users/new", username="td2", role="operator", department="TD", password="typed by the admin")
    assert r.status_code == 302 and r.headers["Location"] == "/users/%d" % store.user_by_name("td2")["id"]
    assert "User td2 added." in c.http.get(r.headers["Location"]).get_data(as_text=True)
    r = _form(c, "/users/new", username="td3", role="operator", department="", password="")
    assert r.status_code == 422 and "needs a department" in r.get_data(as_text=True)
    assert 'value="td3"' in r.get_data(as_text=True)          # the form keeps what was typed
    r = _form(c, "/users/new", username="td2", role="viewer", department="TD", password="")
    assert r.status_code == 409 and "exists" in r.get_data(as_text=True)
    assert store.user_by_name("td3") is None


def test_admin_edits_disables_enables_and_resets_a_user(app, store):
    c = Client(app).login("admin")
    uid = store.user_by_name("tdview")["id"]
    victim = Client(app).login("tdview")
    r = _form(c, "/users/%d" % uid, role="operator", department="TD")
    assert r.status_code == 302 and store.user(uid)["role"] == "operator"
    r = _form(c, "/users/%d/disable" % uid)
    assert r.status_code == 302 and store.user(uid)["disabled"] == 1
    assert victim.http.get("/").status_code == 302                  # signed out at once
    assert 'id="enable-user"' in c.http.get("/users/%d" % uid).get_data(as_text=True)
    assert _form(c, "/users/%d/enable" % uid).status_code == 302 and store.user(uid)["disabled"] == 0
    r = _form(c, "/users/%d/password" % uid, password="")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    Client(app).login("tdview", _secret(r.get_data(as_text=True)))
    assert c.http.get("/users/999").status_code == 404


def test_the_last_admin_cannot_disable_or_demote_themself_in_the_ui(app, store):
    c = Client(app).login("admin")
    me = store.user_by_name("admin")["id"]
    r = _form(c, "/users/%d/disable" % me)
    assert r.status_code == 409 and "last enabled admin" in r.get_data(as_text=True)
    r = _form(c, "/users/%d" % me, role="viewer", department="TD")
    assert r.status_code == 409 and store.user(me)["role"] == "admin" and not store.user(me)["disabled"]


def test_change_own_password_page(app):
    c = Client(app).login("fehd")
    assert 'id="change-password"' in c.http.get("/account/password").get_data(as_text=True)
    r = _form(c, "/account/password", current_password="nope", new_password="new password 1")
    assert r.status_code == 422 and "is wrong" in r.get_data(as_text=True)
    r = _form(c, "/account/password", current_password=PASSWORD, new_password="new password 1")
    assert r.status_code == 302
    assert "Password changed." in c.http.get("/account/password").get_data(as_text=True)
    Client(app).login("fehd", "new password 1")
    token = Client(app, make_token(app, "operator", "TD"))
    assert token.get("/account/password").status_code == 403


def test_token_created_in_the_ui_is_shown_once_and_revoked(app, store):
    c = Client(app).login("td")
    page = c.http.get("/tokens/new").get_data(as_text=True)
    assert "<option selected>integration</option>" in page and "<option>technician</option>" in page
    assert ">admin</option>" not in page and ">viewer</option>" not in page
    r = _form(c, "/tokens/new", name="td-chirpstack", role="integration")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    secret = _secret(r.get_data(as_text=True))
    assert Client(app, secret).get("/api/me").json == {"ok": True, "kind": "token", "name": "td-chirpstack",
                                                       "role": "integration", "department": "TD"}
    listing = c.http.get("/tokens").get_data(as_text=True)
    assert "td-chirpstack" in listing and secret[:8] in listing and secret not in listing
    token_id = [t for t in store.tokens() if t["name"] == "td-chirpstack"][0]["id"]
    r = _form(c, "/tokens/%d/revoke" % token_id)
    assert r.status_code == 302
    assert "revoked" in c.http.get("/tokens").get_data(as_text=True)
    assert Client(app, secret).get("/api/me").status_code == 401
    r = _form(c, "/tokens/new", name="x", role="viewer")
    assert r.status_code == 403 and store.tokens()[0]["name"] == "td-chirpstack"


def test_operators_see_and_revoke_only_their_departments_tokens_in_the_ui(app, store):
    make_token(app, "integration", "FEHD", name="fehd-ns")
    make_token(app, "technician", "TD", name="td-tech")
    ids = {t["name"]: t["id"] for t in store.tokens()}
    c = Client(app).login("td")
    page = c.http.get("/tokens").get_data(as_text=True)
    assert "td-tech" in page and "fehd-ns" not in page
    assert _form(c, "/tokens/%d/revoke" % ids["fehd-ns"]).status_code == 404
    assert store.token(ids["fehd-ns"])["revoked_at"] is None
    admin_page = Client(app).login("admin").http.get("/tokens").get_data(as_text=True)
    assert "td-tech" in admin_page and "fehd-ns" in admin_page
