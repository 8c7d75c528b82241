"""Settings: defaults, then the instance file, then CITYFLEET_* environment variables."""
import json
import os
import secrets

from cryptography.fernet import Fernet

DEFAULTS = {
    "DATABASE": None,                 # default: <instance>/cityfleet.db
    "SILENT_AFTER": 86400,            # seconds without an uplink before a device counts as silent
    "LOW_BATTERY": 20,                # percent
    "PAGE_SIZE": 50,
    "MAX_PAGE_SIZE": 500,
    "MAX_CONTENT_LENGTH": 8 * 1024 * 1024,
    "MAX_BATCH": 1000,                # events in one ingest request (our batch extension)
    "JOIN_EUI": None,                 # one JoinEUI for the fleet; None: a random one per device
    "BOARDS_DIR": os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "boards"),
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "PERMANENT_SESSION_LIFETIME": 12 * 3600,
    "LOGIN_ATTEMPTS": 5,              # failed sign-ins per user and address ...
    "LOGIN_WINDOW": 900,              # ... within this many seconds before sign-in is refused
    # Downlinks (fleet/downlinks.py): where they go. NETWORK_SERVER is chirpstack, tts or none
    # (queued in the fleet only). The API key is a secret: never logged, shown or audited.
    "NETWORK_SERVER": "none",
    "NETWORK_SERVER_URL": None,       # ChirpStack's REST API or The Things Stack's base URL
    "NETWORK_SERVER_API_KEY": None,
    "NETWORK_SERVER_TIMEOUT": 3.0,    # seconds: a web request waits at most this for the server
    "TTS_APPLICATION_ID": None,
    "TTS_WEBHOOK_ID": None,
    "TTS_DEVICE_ID": "eui-{dev_eui}", # The Things Stack's end device id ({dev_eui}: lower-case hex)
    "DOWNLINK_PORT": 2,               # the fPort the firmware reads downlink frames on
}

_KEYS_FILE = "keys.json"


def load(app, test_config=None, overrides=None):
    """Fill app.config in order: defaults, instance config.py, CITYFLEET_* env vars, overrides;
    or defaults and test_config only."""
    app.config.from_mapping(DEFAULTS)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env(prefix="CITYFLEET")
        app.config.from_mapping(overrides or {})
    else:
        app.config.from_mapping(test_config)
    if not app.config["DATABASE"]:
        app.config["DATABASE"] = os.path.join(app.instance_path, "cityfleet.db")
    _ensure_keys(app)


def _ensure_keys(app):
    # SECRET_KEY signs sessions; DATA_KEY (Fernet) encrypts device secrets at rest.
    # Missing ones are generated once and kept in <instance>/keys.json (mode 0600).
    if app.config.get("SECRET_KEY") and app.config.get("DATA_KEY"):
        return
    os.makedirs(app.instance_path, exist_ok=True)
    path = os.path.join(app.instance_path, _KEYS_FILE)
    keys = {}
    if os.path.exists(path):
        with open(path) as f:
            keys = json.load(f)
    if not keys.get("SECRET_KEY") or not keys.get("DATA_KEY"):
        keys.setdefault("SECRET_KEY", secrets.token_hex(32))
        keys.setdefault("DATA_KEY", Fernet.generate_key().decode("ascii"))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(keys, f)
    for name in ("SECRET_KEY", "DATA_KEY"):
        if not app.config.get(name):
            app.config[name] = keys[name]
