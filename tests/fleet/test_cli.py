"""The `cityfleet` fleet commands: help text everywhere, and each command doing its job on --db."""
import json

import click
import pytest
from click.testing import CliRunner

from fleet import crypto
from fleet.storage import Store
from tools import fleet_cli
from tools.cli import main


def _walk(command, path=()):
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _walk(sub, path + (name,))


def test_every_fleet_command_has_help():
    for top in fleet_cli.COMMANDS:
        for path, command in _walk(top, (top.name,)):
            assert command.help, path
            r = CliRunner().invoke(main, list(path) + ["--help"])
            assert r.exit_code == 0 and "Usage" in r.output, path


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "cli.db")


def run(*args, **kw):
    r = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False, **kw)
    return r


def test_admin_commands_end_to_end(db, tmp_path):
    assert run("department", "add", "--db", db, "TD", "Transport Department").exit_code == 0
    assert run("department", "add", "--db", db, "TD", "again").exit_code == 1
    r = run("user", "add", "--db", db, "alice", "--role", "operator", "--department", "TD", "--password", "s3cret-pw")
    assert r.exit_code == 0 and "alice" in r.output
    r = run("user", "add", "--db", db, "bob", "--role", "operator", "--password", "s3cret-pw")
    assert r.exit_code == 1 and "needs a department" in r.output
    r = run("token", "create", "--db", db, "--role", "integration", "--name", "chirpstack")
    token = r.stdout.strip().splitlines()[-1]
    assert r.exit_code == 0 and token.startswith("cft_")
    s = Store(db)
    assert s.token_by_hash(crypto.token_hash(token))["name"] == "chirpstack"
    listing = run("token", "list", "--db", db).output
    assert "chirpstack" in listing and token not in listing
    r = run("device", "add", "--db", db, "--kind", "parking_bay", "--board", "esp32-devkitc", "--department", "TD",
            "--tag", "pilot", "--name", "bay-1")
    bundle = json.loads(r.output)
    assert bundle["lorawan"]["app_key"] and s.device(bundle["device"]["id"])["tags"] == ["pilot"]
    csv = tmp_path / "boards.csv"
    csv.write_text("kind,board,department,name\nwater_main,esp32-s3-rs485,TD,m1\nfridge,esp32-devkitc,TD,m2\n")
    r = run("device", "import", "--db", db, csv)
    assert r.exit_code == 1 and "line 3, kind" in r.output
    csv.write_text("kind,board,department,name\nwater_main,esp32-s3-rs485,TD,m1\n")
    assert len(json.loads(run("device", "import", "--db", db, "--claim", csv).output)) == 1
    assert run("device", "decommission", "--db", db, bundle["device"]["id"]).exit_code == 0
    assert run("device", "decommission", "--db", db, bundle["device"]["id"]).exit_code == 1
    assert run("token", "revoke", "--db", db, 1).exit_code == 0
    assert s.token_by_hash(crypto.token_hash(token)) is None
    actions = [a["action"] for a in s.audit_log()]
    assert {"department.add", "user.add", "token.create", "device.register", "device.decommission",
            "token.revoke"} <= set(actions)
    assert all(a["actor"].startswith("cli:") for a in s.audit_log())
    s.close()


def test_keys_live_beside_the_database(db, tmp_path):
    import os
    import stat
    run("department", "add", "--db", db, "TD", "Transport")
    mode = os.stat(tmp_path / "keys.json").st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_serve_runs_the_app_under_waitress(tmp_path):
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.request
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-c", "from tools.cli import main; main()", "serve", "--db", str(tmp_path / "s.db"),
           "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=dict(os.environ))
    try:
        deadline = time.time() + 20
        while True:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/api/openapi.json" % port, timeout=1) as r:
                    assert r.status == 200 and r.headers["Server"] == "cityfleet"
                    break
            except OSError:
                assert time.time() < deadline, "the service did not start"
                time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(10)
