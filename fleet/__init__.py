"""The cityfleet fleet service: a Flask app factory over a SQLite store.

    app = create_app()                       # settings: defaults, instance config.py, CITYFLEET_* env
    app = create_app({"DATABASE": path, "TESTING": True, ...})
"""
import os

from flask import Flask

_SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Content-Security-Policy", "default-src 'self'; style-src 'self'; img-src 'self' data:"),
)


def create_app(test_config=None, instance_path=None, overrides=None):
    """Build the app: settings (overrides win over the environment), storage migrated, every blueprint."""
    instance_path = instance_path or os.environ.get("CITYFLEET_INSTANCE")
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    from fleet.auth import SessionInterface
    app.session_interface = SessionInterface()
    from fleet import config
    config.load(app, test_config, overrides)
    os.makedirs(os.path.dirname(os.path.abspath(app.config["DATABASE"])), exist_ok=True)

    from fleet import accounts_api, accounts_ui, api, auth, db, devices, downlinks_api, errors, ingest, provisioning, ui
    db.init_app(app)
    errors.init_app(app)
    # auth first: its before_app_request sets g.identity for the others' hooks.
    for module in (auth, devices, downlinks_api, provisioning, ingest, api, ui, accounts_api, accounts_ui):
        app.register_blueprint(module.bp)
    app.jinja_env.globals["csrf_token"] = auth.csrf_token

    @app.after_request
    def security_headers(response):
        # Each one unless the view set it (one pass over the headers: every request pays this).
        present = {key.lower() for key, _ in response.headers}
        for key, value in _SECURITY_HEADERS:
            if key.lower() not in present:
                response.headers.add(key, value)
        return response

    return app
