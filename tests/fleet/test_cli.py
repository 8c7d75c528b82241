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
    again = run("token", "revoke", "--db", db, 1)
    assert again.exit_code == 1 and "already revoked" in again.output
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


def _free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(tmp_path, *args):
    import os
    import subprocess
    import sys
    import time
    import urllib.request
    port = _free_port()
    cmd = [sys.executable, "-c", "from tools.cli import main; main()", "serve", "--db", str(tmp_path / "s.db"),
           "--host", "127.0.0.1", "--port", str(port)] + list(args)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=dict(os.environ),
                            start_new_session=True)
    deadline = time.time() + 30
    while True:
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/api/openapi.json" % port, timeout=2) as r:
                assert r.status == 200 and r.headers["Server"] == "granian"
                return proc, port
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                raise AssertionError("the service did not start: %s" % proc.stdout.read().decode()[-2000:])
            time.sleep(0.2)


def _stop(proc):
    proc.terminate()
    try:
        return proc.wait(20)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_serve_runs_the_app_under_granian(tmp_path):
    proc, _ = _serve(tmp_path)
    assert _stop(proc) == 0                     # SIGTERM: a graceful stop
    assert b" workers x 1 threads" in proc.stdout.read()      # the default: one thread per worker


def test_serve_with_worker_processes_ingests_concurrent_events(tmp_path):
    # Two worker processes, many concurrent single-event posts: every event is stored
    # exactly once (duplicates answered as such), with its reading and device state.
    import json
    import threading
    import urllib.request
    from tests.fleet.conftest import DATA_KEY, bay_frame, up_event
    from fleet import auth, create_app, registry
    from fleet.crypto import SecretBox
    app = create_app(instance_path=str(tmp_path), overrides={"DATABASE": str(tmp_path / "s.db"),
                                                             "DATA_KEY": DATA_KEY})
    store = Store(app.config["DATABASE"])
    store.add_department("TD", "Transport")
    _, token = auth.create_token(store, "cs", auth.INTEGRATION, None)
    ident = auth.Identity("user", 0, "test", auth.ADMIN, None)
    euis = [b["lorawan"]["dev_eui"] for b in registry.register(
        store, SecretBox(DATA_KEY), ident, [{"kind": "parking_bay", "board": "esp32-devkitc", "department": "TD"}
                                            for _ in range(4)], registry.DEFAULT_BOARDS)]
    events = [up_event(euis[n % 4], bay_frame(changes=n), f_cnt=n // 4 + 1, dedup="d-%d" % n) for n in range(120)]
    proc, port = _serve(tmp_path, "--workers", "2", "--threads", "4")
    statuses, pids = [], set()
    try:
        def post(share):
            for e in share:
                req = urllib.request.Request("http://127.0.0.1:%d/ingest/chirpstack?event=up" % port,
                                             data=json.dumps(e).encode(), method="POST",
                                             headers={"Authorization": "Bearer " + token,
                                                      "Content-Type": "application/json"})
                with urllib.request.urlopen(req, timeout=30) as r:
                    statuses.append(json.loads(r.read())["status"])
        # Every event twice, from different threads: the second copy is a duplicate.
        threads = [threading.Thread(target=post, args=((events + events)[i::8],)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        import subprocess
        pids = set(subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split())
    finally:
        assert _stop(proc) == 0
    assert len(pids) == 2                                   # two worker processes served
    assert sorted(statuses) == ["duplicate"] * 120 + ["stored"] * 120
    assert store._scalar("SELECT COUNT(*) FROM uplinks") == 120
    assert store._scalar("SELECT COUNT(*) FROM readings_parking_bay") == 120
    assert store._scalar("SELECT COUNT(DISTINCT dedup_id) FROM uplinks") == 120
    for eui in euis:
        d = store.device_by_eui(eui)
        assert d["status"] == "active" and d["battery"] == 85
    store.close()
