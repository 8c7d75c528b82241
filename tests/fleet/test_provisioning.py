"""Registering boards: identity and keys, bundles shown once, secrets encrypted, claim codes, CSV import."""
import logging
import re

from fleet.crypto import SecretBox
from tests.fleet.conftest import DATA_KEY

CSV_HEADER = "kind,board,department,name,latitude,longitude,location,tags\n"


def test_register_returns_a_bundle_with_fresh_identity_and_keys(token_client, store):
    tech = token_client("technician", "TD")
    r = tech.post("/api/provisioning/devices", json={"kind": "parking_bay", "board": "lilygo-t-beam",
                                                      "name": "bay-9", "tags": ["Pilot", "district:wan-chai"]})
    assert r.status_code == 201 and r.headers["Cache-Control"] == "no-store"
    [b] = r.json["bundles"]
    assert b["device"]["department"] == "TD" and b["device"]["tags"] == ["district:wan-chai", "pilot"]
    lw = b["lorawan"]
    assert re.fullmatch(r"[0-9A-F]{16}", lw["dev_eui"]) and re.fullmatch(r"[0-9A-F]{16}", lw["join_eui"])
    assert int(lw["dev_eui"][:2], 16) & 0x02               # locally administered EUI-64
    assert re.fullmatch(r"[0-9A-F]{32}", lw["app_key"]) and re.fullmatch(r"[0-9A-F]{64}", b["seal"]["device_key"])
    assert b["seal"]["device_id"] == lw["dev_eui"]


def test_secrets_are_encrypted_at_rest_and_never_shown_again(token_client, user_client, store, app):
    r = token_client("admin").post("/api/provisioning/devices", json={"kind": "water_main", "board": "esp32-s3-rs485",
                                                                     "department": "WSD"})
    b = r.json["bundles"][0]
    blob = store.device_secrets(b["device"]["id"])
    assert b["lorawan"]["app_key"].encode() not in blob and b["seal"]["device_key"].encode() not in blob
    assert SecretBox(DATA_KEY).open(blob) == {"app_key": b["lorawan"]["app_key"], "device_key": b["seal"]["device_key"]}
    with open(app.config["DATABASE"], "rb") as f:
        assert b["lorawan"]["app_key"].encode() not in f.read()
    shown = token_client("admin").get("/api/devices/%d" % b["device"]["id"]).get_data(as_text=True)
    assert b["lorawan"]["app_key"] not in shown and b["seal"]["device_key"] not in shown


def test_secrets_are_never_logged(token_client, caplog):
    caplog.set_level(logging.DEBUG)
    r = token_client("admin").post("/api/provisioning/devices", json={"kind": "parking_bay", "board": "esp32-devkitc",
                                                                     "department": "TD"})
    b = r.json["bundles"][0]
    assert b["lorawan"]["app_key"] not in caplog.text and b["seal"]["device_key"] not in caplog.text


def test_register_reports_every_bad_field_and_registers_nothing(token_client, store):
    r = token_client("admin").post("/api/provisioning/devices", json={"devices": [
        {"kind": "parking_bay", "board": "esp32-devkitc", "department": "TD"},
        {"kind": "toaster", "board": "arduino", "department": "XX", "latitude": 200, "tags": ["bad tag!"]},
    ]})
    assert r.status_code == 422 and r.json["ok"] is False
    assert {(e["index"], e["field"]) for e in r.json["errors"]} == {
        (1, "kind"), (1, "board"), (1, "department"), (1, "latitude"), (1, "tags")}
    assert store.list_devices() == []


def test_board_types_come_from_the_boards_folder(app, token_client, tmp_path):
    boards = tmp_path / "boards"
    boards.mkdir()
    (boards / "my-board.json").write_text("{}")
    app.config["BOARDS_DIR"] = str(boards)
    client = token_client("admin")
    assert client.get("/api/provisioning/boards").json["boards"] == ["my-board"]
    r = client.post("/api/provisioning/devices", json={"kind": "parking_bay", "board": "esp32-devkitc",
                                                        "department": "TD"})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "board"


def test_technician_may_register_only_in_its_department(token_client):
    r = token_client("technician", "TD").post("/api/provisioning/devices", json={
        "kind": "parking_bay", "board": "esp32-devkitc", "department": "FEHD"})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "department"


def test_viewer_may_not_register(token_client):
    r = token_client("viewer", "TD").post("/api/provisioning/devices", json={"kind": "parking_bay",
                                                                             "board": "esp32-devkitc"})
    assert r.status_code == 403


def test_claim_code_gives_the_bundle_once(token_client, store):
    admin = token_client("admin")
    r = admin.post("/api/provisioning/devices", json={"claim": True, "devices": [
        {"kind": "smart_toilet", "board": "esp32-s3-rs485", "department": "FEHD"}]})
    [made] = r.json["bundles"]
    assert set(made) == {"device", "dev_eui", "claim_code"} and re.fullmatch(r"[A-Z2-9]{4}(-[A-Z2-9]{4}){2}",
                                                                               made["claim_code"])
    assert store.device(made["device"]["id"])["claim_pending"]
    # Another department's technician cannot claim it: unknown code.
    assert token_client("technician", "TD").post("/api/provisioning/claim", json={
        "claim_code": made["claim_code"]}).status_code == 404
    tech = token_client("technician", "FEHD")
    got = tech.post("/api/provisioning/claim", json={"claim_code": made["claim_code"].lower().replace("-", "")})
    assert got.status_code == 200 and got.json["bundle"]["lorawan"]["dev_eui"] == made["dev_eui"]
    assert got.headers["Cache-Control"] == "no-store"
    assert tech.post("/api/provisioning/claim", json={"claim_code": made["claim_code"]}).status_code == 404
    assert [a["action"] for a in store.audit_log() if a["action"].startswith("device.")] == [
        "device.claim", "device.register"]


def test_csv_import_registers_all_rows(token_client, store):
    text = CSV_HEADER + ("parking_bay,esp32-devkitc,TD,bay-1,22.28,114.17,Wan Chai,pilot;district:wan-chai\n"
                         "rodent_station,heltec-wifi-lora-32-v3,FEHD,rat-1,,,Mong Kok,\n")
    r = token_client("admin").post("/api/provisioning/import", data=text, content_type="text/csv")
    assert r.status_code == 201 and len(r.json["bundles"]) == 2
    d = store.device(r.json["bundles"][0]["device"]["id"])
    assert d["latitude"] == 22.28 and d["tags"] == ["district:wan-chai", "pilot"] and d["location"] == "Wan Chai"


def test_csv_import_reports_every_bad_row_by_line_and_field_and_imports_nothing(token_client, store):
    text = CSV_HEADER + ("parking_bay,esp32-devkitc,TD,ok,,,,\n"
                         "parking_bay,esp32-devkitc,TD,bad-lat,95,,,\n"
                         "fridge,esp32-devkitc,TD,bad-kind,,,,\n"
                         "parking_bay,esp32-devkitc,NOPE,bad-dept,,,,\n"
                         "parking_bay,esp32-devkitc,TD,too,many,cells,,,,\n")
    r = token_client("admin").post("/api/provisioning/import", data=text, content_type="text/csv")
    assert r.status_code == 422
    got = [(e["line"], e["field"]) for e in r.json["errors"]]
    assert got == [(3, "latitude"), (4, "kind"), (5, "department"), (6, ""), (6, "latitude"), (6, "longitude")]
    assert store.list_devices() == []


def test_csv_import_as_upload_with_claim_codes(token_client):
    import io
    text = CSV_HEADER + "water_main,esp32-s3-rs485,WSD,main-1,,,,\n"
    r = token_client("admin").post("/api/provisioning/import?claim=1",
                                   data={"file": (io.BytesIO(text.encode()), "boards.csv")})
    assert r.status_code == 201 and "claim_code" in r.json["bundles"][0]


def test_csv_import_bad_header(token_client):
    r = token_client("admin").post("/api/provisioning/import", data="kind,colour\nparking_bay,red\n",
                                   content_type="text/csv")
    assert r.status_code == 422 and r.json["errors"] == [{"line": 1, "field": "board", "error": "missing column"}]


def test_registration_is_audited_with_who_and_where(token_client, store):
    token_client("admin").post("/api/provisioning/devices", json={"kind": "parking_bay", "board": "esp32-devkitc",
                                                                  "department": "TD"},
                               environ_base={"REMOTE_ADDR": "10.1.2.3"})
    a = store.audit_log()[0]
    assert (a["actor"], a["action"], a["department"], a["remote_addr"]) == ("token:admin", "device.register", "TD",
                                                                           "10.1.2.3")
    assert a["at"] > 0 and "app_key" not in str(a["detail"])


def test_factory_dev_eui_is_kept_and_must_be_unique(token_client):
    admin = token_client("admin")
    body = {"kind": "parking_bay", "board": "esp32-devkitc", "department": "TD", "dev_eui": "70b3d57ed0001234"}
    r = admin.post("/api/provisioning/devices", json=body)
    assert r.status_code == 201 and r.json["bundles"][0]["lorawan"]["dev_eui"] == "70B3D57ED0001234"
    again = admin.post("/api/provisioning/devices", json=body)
    assert again.status_code == 409 and "70B3D57ED0001234" in again.json["error"]
    bad = admin.post("/api/provisioning/devices", json=dict(body, dev_eui="xyz"))
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "dev_eui"
