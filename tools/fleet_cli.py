"""`cityfleet serve`, `user`, `token`, `department`, `device`, `demo`: run and administer the fleet service.

Every command takes --db PATH (default: the instance folder's cityfleet.db, or
CITYFLEET_DATABASE). Keys that are not configured are kept in keys.json beside
the database.
"""
import getpass
import json
import os

import click

_DB = click.option("--db", "db_path", type=click.Path(dir_okay=False), default=None, envvar="CITYFLEET_DATABASE",
                   help="SQLite database file (created and migrated if new).")


def _app(db_path):
    from fleet import create_app
    if db_path is None:
        return create_app()
    db_path = os.path.abspath(db_path)
    instance = os.environ.get("CITYFLEET_INSTANCE") or os.path.dirname(db_path)
    return create_app(instance_path=instance, overrides={"DATABASE": db_path})


def _store(app):
    from fleet.storage import Store
    return Store(app.config["DATABASE"])


def _cli_identity():
    from fleet.auth import ADMIN, Identity
    return Identity("user", 0, "cli:%s" % getpass.getuser(), ADMIN, None)


def _fail(e):
    raise click.ClickException(str(e)) from None


@click.command()
@_DB
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port to listen on.")
@click.option("--threads", default=None, type=click.IntRange(1, 256),
              help="Python threads per worker process (default: 1, the fastest measured; fleet/server.py).")
@click.option("--workers", default=None, type=click.IntRange(1, 64),
              help="Worker processes (default: one per core, at least 2).")
def serve(db_path, host, port, threads, workers):
    """Run the fleet service under Granian (a production WSGI server) in worker processes."""
    import logging

    from fleet import server
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = _app(db_path)
    workers = workers or server.default_workers()
    threads = threads or server.THREADS
    click.echo("cityfleet serving %s on http://%s:%d/ (%d workers x %d threads)"
               % (app.config["DATABASE"], host, port, workers, threads))
    server.serve(app, host=host, port=port, workers=workers, threads=threads)


@click.group()
def user():
    """Manage users of the web UI."""


@user.command("add")
@_DB
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(("admin", "operator", "viewer", "technician")))
@click.option("--department", default=None, help="Department code (operators and viewers need one).")
@click.option("--password", default=None, help="Password (asked for when left out).")
def user_add(db_path, username, role, department, password):
    """Add a user with a hashed password."""
    from fleet import auth
    from fleet.storage import Conflict
    app = _app(db_path)
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    store = _store(app)
    try:
        user_id = auth.create_user(store, username, password, role, department, actor=_cli_identity().actor)
    except (ValueError, Conflict) as e:
        _fail(e)
    finally:
        store.close()
    click.echo("user %s (id %d, %s%s) added" % (username, user_id, role, " of " + department if department else ""))


@click.group()
def token():
    """Manage API tokens (network-server integrations, scripts)."""


@token.command("create")
@_DB
@click.option("--role", required=True, type=click.Choice(("admin", "operator", "viewer", "technician", "integration")))
@click.option("--department", default=None, help="Limit the token to one department.")
@click.option("--name", default=None, help="A label for the token (default: the role).")
def token_create(db_path, role, department, name):
    """Create a token and print it once; it is stored only as a hash."""
    from fleet import auth
    app = _app(db_path)
    store = _store(app)
    try:
        token_id, value = auth.create_token(store, name or role, role, department, actor=_cli_identity().actor)
    except ValueError as e:
        _fail(e)
    finally:
        store.close()
    click.echo("token %d (%s) created; it will not be shown again:" % (token_id, role), err=True)
    click.echo(value)


@token.command("revoke")
@_DB
@click.argument("token_id", type=int)
def token_revoke(db_path, token_id):
    """Revoke a token by id."""
    from fleet import accounts, errors
    store = _store(_app(db_path))
    try:
        # The same rule as the web UI and API: the token's department is audited.
        accounts.revoke_token(store, _cli_identity(), token_id, None)
    except errors.ApiError as e:
        _fail(e.message)
    finally:
        store.close()
    click.echo("token %d revoked" % token_id)


@token.command("list")
@_DB
def token_list(db_path):
    """List tokens (never their values)."""
    store = _store(_app(db_path))
    try:
        for t in store.tokens():
            click.echo("%4d  %-12s %-12s %-6s %s%s" % (t["id"], t["name"], t["role"], t["department"] or "-",
                                                     t["prefix"] + "...", "  revoked" if t["revoked_at"] else ""))
    finally:
        store.close()


@click.group()
def department():
    """Manage departments."""


@department.command("add")
@_DB
@click.argument("code")
@click.argument("name")
def department_add(db_path, code, name):
    """Add a department (CODE such as FEHD, and its full NAME)."""
    from fleet.storage import Conflict
    store = _store(_app(db_path))
    try:
        with store.transaction():
            store.add_department(code, name)
            store.audit(_cli_identity().actor, "department.add", "department", code, code, {"name": name})
    except Conflict as e:
        _fail(e)
    finally:
        store.close()
    click.echo("department %s added" % code)


@click.group()
def device():
    """Register, import and decommission devices."""


def _registry_call(db_path, fn):
    from fleet import registry
    from fleet.crypto import SecretBox
    from fleet.storage import Conflict
    app = _app(db_path)
    store = _store(app)
    try:
        return fn(store, SecretBox(app.config["DATA_KEY"]), registry.board_names(app.config["BOARDS_DIR"]),
                  app.config["JOIN_EUI"])
    except registry.InvalidDevice as e:
        _fail("nothing registered:\n" + "\n".join("  %s %s, %s: %s" % ("line" if "line" in x else "device", x.get("line", x.get("index")),
                                                          x["field"] or "-", x["error"])
                                                 for x in e.errors))
    except Conflict as e:
        _fail(e)
    finally:
        store.close()


@device.command("add")
@_DB
@click.option("--kind", required=True)
@click.option("--board", required=True)
@click.option("--department", required=True)
@click.option("--name", default=None)
@click.option("--location", default=None)
@click.option("--lat", "latitude", type=float, default=None)
@click.option("--lon", "longitude", type=float, default=None)
@click.option("--tag", "tags", multiple=True, help="A tag (repeat for more).")
@click.option("--dev-eui", "dev_eui", default=None, help="The board's factory DevEUI (default: a new one).")
@click.option("--claim", is_flag=True, help="Give a claim code instead of the bundle.")
def device_add(db_path, claim, **fields):
    """Register a device; prints its provisioning bundle (secrets shown once) as JSON."""
    from fleet import registry
    fields["tags"] = list(fields["tags"])
    data = {k: v for k, v in fields.items() if v not in (None, [])}
    bundles = _registry_call(db_path, lambda store, box, boards, join_eui: registry.register(
        store, box, _cli_identity(), [data], boards, join_eui, claim))
    click.echo(json.dumps(bundles[0], indent=2))


@device.command("import")
@_DB
@click.argument("csv_file", type=click.File("r", encoding="utf-8-sig"))
@click.option("--claim", is_flag=True, help="Give claim codes instead of bundles.")
def device_import(db_path, csv_file, claim):
    """Register every row of a CSV in one transaction (all or none); prints the bundles as JSON."""
    from fleet import registry
    text = csv_file.read()
    bundles = _registry_call(db_path, lambda store, box, boards, join_eui: registry.import_csv(
        store, box, _cli_identity(), text, boards, join_eui, claim))
    click.echo(json.dumps(bundles, indent=2))


@device.command("decommission")
@_DB
@click.argument("device_id", type=int)
def device_decommission(db_path, device_id):
    """Decommission a device: ingest stops, history stays."""
    from fleet import registry
    store = _store(_app(db_path))
    try:
        d = store.device(device_id)
        if d is None:
            _fail("no device %d" % device_id)
        if d["status"] == "decommissioned":
            _fail("device %d is already decommissioned" % device_id)
        registry.decommission(store, _cli_identity(), d)
    finally:
        store.close()
    click.echo("device %d (%s) decommissioned" % (device_id, d["dev_eui"]))


@click.group()
def demo():
    """The demo city: seed it, or seed and serve it."""


@demo.command("seed")
@_DB
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 31))
def demo_seed(db_path, days):
    """Fill a new database with the demo city (uplinks posted through ingest)."""
    from fleet import demo as demo_mod
    try:
        counts = demo_mod.seed(_app(db_path), days, log=click.echo)
    except RuntimeError as e:
        _fail(e)
    click.echo(json.dumps(counts))


@demo.command("run")
@_DB
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--fresh", is_flag=True, help="Delete the database first and seed anew.")
def demo_run(db_path, host, port, fresh):
    """Seed the demo city if the database is new, print the logins, and serve it."""
    from fleet import demo as demo_mod
    from fleet import server
    db_path = os.path.abspath(db_path or "instance/demo.db")
    if fresh:
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db_path + suffix):
                os.remove(db_path + suffix)
    app = _app(db_path)
    store = _store(app)
    empty = not store.departments()
    store.close()
    if empty:
        demo_mod.seed(app, log=click.echo)
    click.echo("\ncityfleet demo city: http://%s:%d/" % (host, port))
    click.echo("logins (password %s):" % demo_mod.PASSWORD)
    for username, role, dept in demo_mod.USERS:
        click.echo("  %-6s %s%s" % (username, role, " of " + dept if dept else ""))
    server.serve(app, host=host, port=port)


COMMANDS = (serve, user, token, department, device, demo)
