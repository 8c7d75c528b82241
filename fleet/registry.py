"""The device registry's rules: validation, identity and keys, claim codes, CSV import.

Used alike by the provisioning API and the `cityfleet device` commands; storage
goes through the Store, secrets through a SecretBox.
"""
import csv
import io
import json
import os
import re

from protocols import schema as S

from fleet import crypto
from fleet.storage.migrations import READING_COLUMNS

SENSOR_KINDS = tuple(k[S.KIND_NAME] for k in S.KINDS if k[S.DIRECTION] == S.UP and k[S.KIND_NAME] in READING_COLUMNS)
DEFAULT_BOARDS = ("esp32-devkitc", "lilygo-t-beam", "heltec-wifi-lora-32-v3", "esp32-s3-rs485")
CSV_COLUMNS = ("kind", "board", "department", "name", "latitude", "longitude", "location", "tags", "dev_eui")
_EUI = re.compile(r"^[0-9A-Fa-f]{16}$")
_TAG = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,39}$")
_MAX_TAGS = 16
_MAX_IMPORT = 10000


class RegistryError(Exception):
    """The request to the registry cannot be carried out."""


class InvalidDevice(RegistryError):
    """Device fields are invalid; errors lists {line, field, error} for each problem."""

    def __init__(self, errors):
        super().__init__("%d invalid field(s)" % len(errors))
        self.errors = errors


def board_names(boards_dir):
    """The board types: the boards/<name>.json files present, else the fixed list."""
    try:
        names = sorted(f[:-5] for f in os.listdir(boards_dir) if f.endswith(".json"))
    except OSError:
        names = []
    return tuple(names) or DEFAULT_BOARDS


def _number(value, field, lo, hi, problems):
    if value in (None, ""):
        return None
    try:
        n = float(value)
    except (TypeError, ValueError):
        problems.append((field, "must be a number"))
        return None
    if not lo <= n <= hi:
        problems.append((field, "must be within %g..%g" % (lo, hi)))
        return None
    return n


def _tags(value, problems):
    if value in (None, ""):
        return []
    items = value.split(";") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(t, str) for t in items):
        problems.append(("tags", "must be a list of strings (or ';'-separated text)"))
        return []
    tags = sorted({t.strip().lower() for t in items if t.strip()})
    bad = [t for t in tags if not _TAG.match(t)]
    if bad:
        problems.append(("tags", "%r is not a tag (a-z, 0-9, _ . : -, at most 40)" % bad[0]))
    if len(tags) > _MAX_TAGS:
        problems.append(("tags", "at most %d tags" % _MAX_TAGS))
    return tags


def _text(value, field, limit, problems):
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append((field, "must be text"))
        return None
    value = value.strip()
    if len(value) > limit:
        problems.append((field, "at most %d characters" % limit))
    return value or None


def validate(data, boards, departments, scope):
    """Check one device's fields; returns (clean dict, [(field, message)])."""
    problems = []
    if not isinstance(data, dict):
        return None, [("", "each device must be an object")]
    if "_" in data:
        problems.append(("", data["_"]))
    unknown = sorted(set(data) - set(CSV_COLUMNS) - {"_"})
    if unknown:
        problems.append((unknown[0], "unknown field"))
    kind = data.get("kind")
    if kind not in SENSOR_KINDS:
        problems.append(("kind", "must be one of %s" % ", ".join(SENSOR_KINDS)))
    if data.get("board") not in boards:
        problems.append(("board", "must be one of %s" % ", ".join(boards)))
    department = data.get("department") or scope
    if department not in departments:
        problems.append(("department", "no department %r" % (department,)))
    elif scope is not None and department != scope:
        problems.append(("department", "you may register devices only in %s" % scope))
    clean = {
        "kind": kind, "board": data.get("board"), "department": department,
        "name": _text(data.get("name"), "name", 80, problems),
        "location": _text(data.get("location"), "location", 200, problems),
        "latitude": _number(data.get("latitude"), "latitude", -90, 90, problems),
        "longitude": _number(data.get("longitude"), "longitude", -180, 180, problems),
        "tags": _tags(data.get("tags"), problems),
    }
    eui = data.get("dev_eui")
    if eui not in (None, ""):
        if not isinstance(eui, str) or not _EUI.match(eui):
            problems.append(("dev_eui", "must be 16 hex digits (a board's factory DevEUI), or left out"))
        else:
            clean["dev_eui"] = eui.upper()
    return clean, problems


def _identity(clean, box, join_eui):
    # A fresh identity and keys: DevEUI (unless the board has a factory one), JoinEUI,
    # LoRaWAN AppKey, sealed-frame device key.
    secrets_ = {"app_key": crypto.new_key(16), "device_key": crypto.new_key(32)}
    row = dict(clean, dev_eui=clean.get("dev_eui") or crypto.new_eui(), join_eui=join_eui or crypto.new_eui(),
               secrets=box.seal(secrets_))
    return row, secrets_


def bundle(device, secrets_, claim_code=None):
    """The provisioning bundle of a device; it carries secrets, so it is shown once."""
    out = {
        "device": {k: device[k] for k in ("id", "name", "kind", "board", "department", "location",
                                          "latitude", "longitude", "tags")},
        "lorawan": {"dev_eui": device["dev_eui"], "join_eui": device["join_eui"],
                    "app_key": secrets_["app_key"], "activation": "OTAA", "version": "1.0.4"},
        "seal": {"device_id": device["dev_eui"], "device_key": secrets_["device_key"], "algorithm": "hmac-sha256-64"},
    }
    if claim_code is not None:
        out = {"device": out["device"], "dev_eui": device["dev_eui"], "claim_code": claim_code}
    return out


def register(store, box, ident, items, boards, join_eui=None, claim=False, remote_addr=None, lines=None):
    """Register devices atomically (all or none, audited) and return their bundles.

    With claim, each gets a claim code instead and its secrets wait for claim().
    Raises InvalidDevice listing every bad field, by line when lines is given.
    """
    departments = {d["code"] for d in store.departments()}
    rows, problems = [], []
    for n, data in enumerate(items):
        clean, errs = validate(data, boards, departments, ident.scope)
        where = {"line": lines[n]} if lines else {"index": n}
        problems.extend(dict(where, field=f, error=m) for f, m in errs)
        rows.append(clean)
    if problems:
        raise InvalidDevice(problems)
    made, codes = [], []
    for clean in rows:
        row, secrets_ = _identity(clean, box, join_eui)
        code = crypto.new_claim_code() if claim else None
        if code:
            row["claim_hash"] = crypto.claim_hash(code)
        made.append((row, secrets_))
        codes.append(code)
    with store.transaction():
        ids = store.add_devices([r for r, _ in made])
        for device_id, (row, _) in zip(ids, made):
            store.audit(ident.actor, "device.register", "device", device_id, row["department"],
                        {"dev_eui": row["dev_eui"], "kind": row["kind"], "board": row["board"],
                         "claim": bool(claim)}, remote_addr)
    return [bundle(store.device(i), s, c) for i, (_, s), c in zip(ids, made, codes)]


def parse_csv(text):
    """Rows of an import CSV as (line number, dict); raises InvalidDevice for a bad header."""
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    missing = [c for c in ("kind", "board") if c not in header]
    extra = [c for c in header if c not in CSV_COLUMNS]
    if missing or extra:
        field = (missing or extra)[0]
        raise InvalidDevice([{"line": 1, "field": field,
                              "error": "missing column" if missing else "unknown column"}])
    rows = []
    for row in reader:
        cells = {k: v for k, v in row.items() if k is not None and v not in (None, "")}
        if row.get(None):
            cells["_"] = "the row has more cells than the header"
        rows.append((reader.line_num, cells))
    if not rows:
        raise InvalidDevice([{"line": 1, "field": "", "error": "no rows"}])
    if len(rows) > _MAX_IMPORT:
        raise InvalidDevice([{"line": 1, "field": "", "error": "at most %d rows per import" % _MAX_IMPORT}])
    return rows


def import_csv(store, box, ident, text, boards, join_eui=None, claim=False, remote_addr=None):
    """Register every row of a CSV in one transaction, or none; errors name line and field."""
    rows = parse_csv(text)
    return register(store, box, ident, [data for _, data in rows], boards, join_eui, claim, remote_addr,
                    lines=[n for n, _ in rows])


def claim(store, box, ident, code, remote_addr=None):
    """Exchange a claim code for the device's bundle (once); None if the code is unknown."""
    device = store.device_by_claim(crypto.claim_hash(code or ""))
    if device is None or (ident.scope is not None and device["department"] != ident.scope):
        return None
    secrets_ = box.open(store.device_secrets(device["id"]))
    with store.transaction():
        store.mark_claimed(device["id"])
        store.audit(ident.actor, "device.claim", "device", device["id"], device["department"],
                    {"dev_eui": device["dev_eui"]}, remote_addr)
    return bundle(store.device(device["id"]), secrets_)


def decommission(store, ident, device, remote_addr=None):
    """Decommission a device (audited): ingest stops, its history stays."""
    with store.transaction():
        store.decommission(device["id"])
        store.audit(ident.actor, "device.decommission", "device", device["id"], device["department"],
                    {"dev_eui": device["dev_eui"]}, remote_addr)


def update(store, ident, device, data, remote_addr=None):
    """Change a device's name, location, coordinates or tags (audited)."""
    allowed = ("name", "location", "latitude", "longitude", "tags")  # identity and keys never change
    problems = [(k, "cannot be changed here") for k in data if k not in allowed]
    merged = dict({k: device[k] for k in ("kind", "board", "department")}, **{k: v for k, v in data.items()
                                                                             if k in allowed})
    clean, errs = validate(merged, (device["board"],), {device["department"]}, None)
    problems.extend(errs)
    if problems:
        raise InvalidDevice([{"field": f, "error": m} for f, m in problems])
    changes = {k: clean[k] for k in data}
    with store.transaction():
        store.update_device(device["id"], changes)
        store.audit(ident.actor, "device.update", "device", device["id"], device["department"],
                    json.loads(json.dumps(changes)), remote_addr)
    return store.device(device["id"])
