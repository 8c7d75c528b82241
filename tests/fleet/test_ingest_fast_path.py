"""The ingest fast path (fleet.ingest.FastPath): ChirpStack posts with a token are answered
below Flask exactly as Flask would answer them, everything else is left to Flask, and
the fast path stands aside when the app has hooks it was not written for."""
import pytest

from fleet import crypto, create_app, ingest
from tests.fleet.conftest import DATA_KEY, Client, make_token, register, up_event


def _post(client, event, kind="up", **kw):
    return client.post("/ingest/chirpstack?event=" + kind, json=event, **kw)


def _headers(response):
    return {k: v for k, v in response.headers.items() if k != "Content-Length"}


def test_a_token_post_is_answered_below_flask_as_flask_would(app, integration, device, store):
    fast = ingest.fast_path(app)
    r = _post(integration, up_event(device["dev_eui"], f_cnt=1, dedup="a"))
    assert fast.served == 1 and r.status_code == 200
    assert r.json == {"ok": True, "status": "stored", "uplink_id": store.uplinks(device["id"])[0]["id"]}
    fast.enabled = False                                    # the same kind of request through Flask
    flask_r = _post(integration, up_event(device["dev_eui"], f_cnt=2, dedup="b"))
    assert fast.served == 1 and flask_r.status_code == 200
    assert _headers(r) == _headers(flask_r) and r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.get_data().replace(b'"uplink_id":%d' % r.json["uplink_id"], b"") == \
        flask_r.get_data().replace(b'"uplink_id":%d' % flask_r.json["uplink_id"], b"")


def test_a_batch_and_other_event_kinds_take_the_fast_path(app, integration, device, store):
    from tests.fleet.conftest import fixture
    r = integration.post("/ingest/chirpstack?event=up", json=[up_event(device["dev_eui"], f_cnt=n, dedup=str(n))
                                                               for n in (1, 2)])
    assert [x["status"] for x in r.json["results"]] == ["stored", "stored"]
    assert _post(integration, fixture("chirpstack_join", device["dev_eui"]), "join").json["status"] == "recorded"
    assert ingest.fast_path(app).served == 2
    assert [u["session"] for u in store.uplinks(device["id"])] == [0, 0]


@pytest.mark.parametrize("case", ["bad token", "viewer token", "not json", "empty batch", "bad event", "no event",
                                  "malformed event", "text body"])
def test_anything_else_is_answered_by_flask(app, token_client, device, case):
    client = token_client("integration")
    event, kind, kw = up_event(device["dev_eui"]), "up", {}
    if case == "bad token":
        client.token = "cf_" + "x" * 40
    elif case == "viewer token":
        client = token_client("viewer", "TD")
    elif case == "not json":
        kw = {"data": b"{not json", "content_type": "application/json"}
    elif case == "empty batch":
        event = []
    elif case == "bad event":
        kind = "nonsense"
    elif case == "no event":
        kind = ""
    elif case == "malformed event":
        event = dict(event, fCnt="seven")
    elif case == "text body":
        kw = {"data": b"{}", "content_type": "text/plain"}
    if kw:
        r = client.post("/ingest/chirpstack?event=" + kind, **kw)
    else:
        r = _post(client, event, kind)
    assert r.status_code in (400, 401, 403) and r.json["ok"] is False and r.json["status"] == r.status_code
    assert ingest.fast_path(app).served == 0


def test_a_browser_session_goes_to_flask_and_its_csrf_check(app, user_client, device):
    admin = user_client("admin")
    r = admin.http.post("/ingest/chirpstack?event=up", json=up_event(device["dev_eui"]),
                        headers={"Authorization": "Bearer " + make_token(app, "integration")})
    assert r.status_code == 200 and ingest.fast_path(app).served == 0     # a cookie came: Flask answered


def test_the_token_use_is_noted_and_a_revoked_token_refused(app, device, store):
    token = make_token(app, "integration", name="gwin")
    client = Client(app, token)
    assert _post(client, up_event(device["dev_eui"], f_cnt=1, dedup="a")).status_code == 200
    row = store.token_by_hash(crypto.token_hash(token))
    assert store.token(row["id"])["last_used_at"] is not None
    store.revoke_token(row["id"])
    r = _post(client, up_event(device["dev_eui"], f_cnt=2, dedup="b"))
    assert r.status_code == 401 and ingest.fast_path(app).served == 1


def test_a_failure_below_flask_is_left_to_flask_and_leaves_no_transaction(app, integration, device, store,
                                                                           monkeypatch, caplog):
    real, calls = ingest.pipeline.prepare, []

    def fails_once(*args):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return real(*args)
    monkeypatch.setattr(ingest.pipeline, "prepare", fails_once)
    r = _post(integration, up_event(device["dev_eui"]))
    assert r.status_code == 200 and r.json["status"] == "stored" and len(calls) == 2
    assert ingest.fast_path(app).served == 0 and "ingest fast path failed" in caplog.text
    assert len(store.uplinks(device["id"])) == 1


def test_a_hook_it_does_not_know_puts_the_fast_path_aside(tmp_path):
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "f.db"), "SECRET_KEY": "t", "DATA_KEY": DATA_KEY,
                      "BOARDS_DIR": str(tmp_path / "no-boards")}, instance_path=str(tmp_path / "instance"))
    seen = []
    app.before_request(lambda: seen.append(1))
    with app.app_context():
        from fleet.db import get_store
        get_store().add_department("TD", "Transport")
    b = register(app)
    client = Client(app, make_token(app, "integration"))
    assert _post(client, up_event(b["lorawan"]["dev_eui"])).json["status"] == "stored"
    assert seen == [1] and ingest.fast_path(app).enabled is False and ingest.fast_path(app).served == 0


def test_the_setting_turns_it_off(tmp_path):
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "f.db"), "SECRET_KEY": "t", "DATA_KEY": DATA_KEY,
                      "BOARDS_DIR": str(tmp_path / "no-boards"), "INGEST_FAST_PATH": False},
                     instance_path=str(tmp_path / "instance"))
    with app.app_context():
        from fleet.db import get_store
        get_store().add_department("TD", "Transport")
    b = register(app)
    client = Client(app, make_token(app, "integration"))
    assert _post(client, up_event(b["lorawan"]["dev_eui"])).json["status"] == "stored"
    assert ingest.fast_path(app).served == 0


def test_a_fast_path_that_cannot_learn_the_app_stands_aside(app, integration, device, monkeypatch, caplog):
    def broken(self):
        raise RuntimeError("cannot tell")
    monkeypatch.setattr(ingest.FastPath, "_learn", broken)
    assert _post(integration, up_event(device["dev_eui"])).json["status"] == "stored"
    assert ingest.fast_path(app).enabled is False and "left aside" in caplog.text
