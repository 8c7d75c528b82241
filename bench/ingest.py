"""Fleet service figures: ingest throughput and page latency.

1. ChirpStack "up" events per second through POST /ingest/chirpstack, the fleet
   service running as in production (`cityfleet serve`: Granian, one worker
   process per core) on 127.0.0.1, fed by one client thread over keep-alive
   connections (epoll), each waiting for its answer before the next request: one event
   per request (as ChirpStack sends them) with the default workers (the median of
   three rounds of new events, each round shown) and with one worker, and batches of
   100 (our batch extension). Every event is checked stored at the end.
2. The raw ceiling in the same run: cbor2 decode of the same frames plus a
   batched SQLite insert (executemany, WAL) of readings, with no HTTP, JSON,
   dedupe or state; the floor of the web stack: the same requests refused
   right after the token check; and the client's own ceiling: the same client
   and requests against a trivial WSGI app under Granian with the same workers
   and threads (what the load generator and HTTP alone allow on this machine).
3. Device-list and device-page latency (p50, p95) through the app, on a store
   of 100,000 devices bulk-loaded through the storage layer, with 30 days of
   hourly readings for a sample of them (the pages query one device's rows by
   index, so the other devices' readings change nothing but the index depth).

    python -m bench.ingest [--quick] [--json]
"""
import argparse
import base64
import json
import os
import random
import selectors
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

import cbor2

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KINDS = ("parking_bay", "rodent_station", "smart_toilet", "water_main", "hiker_tracker")
DEPARTMENTS = ("FEHD", "TD", "WSD", "AFCD")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1))))]


# ---- 1. ingest through the production server

def _ingest_setup(workdir, devices):
    from cryptography.fernet import Fernet

    from fleet import auth, create_app, demo, registry
    from fleet.crypto import SecretBox
    db = os.path.join(workdir, "ingest.db")
    app = create_app(instance_path=workdir, overrides={"DATABASE": db, "DATA_KEY": Fernet.generate_key().decode()})
    with app.app_context():
        from fleet.db import get_store
        store = get_store()
        store.add_department("TD", "Transport Department")
        _, token = auth.create_token(store, "bench", auth.INTEGRATION, None)
        ident = auth.Identity("user", 0, "bench", auth.ADMIN, None)
        bundles = registry.register(store, SecretBox(app.config["DATA_KEY"]), ident,
                                    [{"kind": "parking_bay", "board": registry.board_names(app.config["BOARDS_DIR"])[0],
                                      "department": "TD"} for _ in range(devices)],
                                    registry.board_names(app.config["BOARDS_DIR"]))
    return app, db, token, [b["lorawan"]["dev_eui"] for b in bundles], demo


def _events(dev_euis, count, demo):
    from protocols import frames
    rng = random.Random(1)
    now = time.time()
    out = []
    for n in range(count):
        payload = frames.encode("parking_bay", {"occupied": n % 2 == 0, "changes": n % 1000, "battery": 80})
        out.append(demo.chirpstack_up(dev_euis[n % len(dev_euis)], "bay", n // len(dev_euis) + 1,
                                      now - 3600 + n * 0.01, payload, rng))
    return out


def _start_server(workdir, db, port, workers, threads):
    # The service as it runs in production: `cityfleet serve` (Granian, worker processes).
    env = dict(os.environ, CITYFLEET_DATABASE=db, CITYFLEET_INSTANCE=workdir, PYTHONPATH=ROOT)
    proc = subprocess.Popen([sys.executable, "-c", "from tools.cli import main; main()", "serve", "--db", db,
                             "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
                             "--threads", str(threads)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    _wait_listening(proc, port, "the fleet service")
    return proc


def trivial_app(environ, start_response):
    """A WSGI app that reads the body and answers a small JSON at once (the client's baseline)."""
    environ["wsgi.input"].read()
    body = b'{"ok":true,"status":"stored"}'
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _start_trivial(port, workers, threads):
    # The same HTTP server and settings as `cityfleet serve`, with trivial_app behind it.
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.Popen([sys.executable, "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1",
                             "--port", str(port), "--workers", str(workers), "--blocking-threads", str(threads),
                             "--no-ws", "--log-level", "warning", "bench.ingest:trivial_app"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    _wait_listening(proc, port, "the trivial app")
    return proc


def _wait_listening(proc, port, what):
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    _stop(proc)
    raise RuntimeError("%s did not start" % what)


def _tree_cpu(pid):
    # CPU seconds (user + system) of a process and its children, from /proc (None elsewhere).
    total, found = 0, False
    try:
        names = os.listdir("/proc")
    except OSError:
        return None
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(name) == pid or int(fields[1]) == pid:          # fields[1]: the parent's pid
            total += int(fields[11]) + int(fields[12])          # utime, stime in clock ticks
            found = True
    return total / os.sysconf("SC_CLK_TCK") if found else None


def _stop(proc):
    proc.terminate()            # Granian's main process stops its workers
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def _request(path, token, body):
    return (b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
            % (path.encode(), token.encode(), len(body), body))


def _answer(buf):
    # One complete response at the start of buf: (status, connection closed by the
    # server?, bytes left over), or None while it is incomplete.
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = buf[:end].lower().split(b"\r\n")
    length = next(int(x.split(b":")[1]) for x in lines if x.startswith(b"content-length:"))
    if len(buf) < end + 4 + length:
        return None
    return int(lines[0][9:12]), b"connection: close" in lines, buf[end + 4 + length:]


class _Client:
    """One keep-alive connection of the load generator and the requests it still has to send."""

    def __init__(self, port, requests):
        self.port = port
        self.requests = requests
        self.sent = 0
        self.buf = b""
        self.sock = None

    def connect(self):
        """Open (or open again) the connection, non-blocking."""
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.buf = b""

    def send_next(self):
        """Send the next request (the send buffer is empty: its answer came before)."""
        request = self.requests[self.sent]
        self.sent += 1
        done = self.sock.send(request)
        if done < len(request):
            self.sock.setblocking(True)
            self.sock.sendall(request[done:])
            self.sock.setblocking(False)


def _post_all(port, token, bodies, clients, path="/ingest/chirpstack?event=up", expect=200):
    # `clients` keep-alive connections each post their share of bodies one request at a
    # time, waiting for each answer before the next request. One thread drives them all
    # through epoll, and the requests are built beforehand and answers parsed minimally,
    # so that the load generator takes as little as possible of the two cores it
    # shares with the server (no thread switches, no interpreter lock handovers).
    requests = [_request(path, token, body) for body in bodies]
    pending = [_Client(port, requests[i::clients]) for i in range(clients) if requests[i::clients]]
    errors = []
    sel = selectors.DefaultSelector()
    started = time.perf_counter()
    cpu = time.process_time()
    for c in pending:
        c.connect()
        sel.register(c.sock, selectors.EVENT_READ, c)
        c.send_next()
    active = len(pending)
    while active:
        ready = sel.select(60)
        if not ready:
            raise RuntimeError("no answer from the server for 60 s")
        for key, _ in ready:
            c = key.data
            chunk = c.sock.recv(65536)
            if not chunk:
                raise RuntimeError("the server closed the connection without an answer")
            c.buf += chunk
            answer = _answer(c.buf)
            if answer is None:
                continue
            status, closed, c.buf = answer
            if status != expect:
                errors.append(status)
            if closed or c.sent == len(c.requests):
                sel.unregister(c.sock)
                c.sock.close()
                if c.sent == len(c.requests):
                    active -= 1
                    continue
                c.connect()
                sel.register(c.sock, selectors.EVENT_READ, c)
            c.send_next()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    sel.close()
    if errors:
        raise RuntimeError("ingest answered %d errors (first %s)" % (len(errors), errors[0]))
    return elapsed, cpu / len(bodies)


def bench_ingest(events_count, workdir, clients=16, workers=None, threads=None, rounds=3):
    """Events per second through /ingest/chirpstack under `cityfleet serve`: one event per
    request with `workers` processes (`rounds` rounds of new events: other work on a shared
    machine comes and goes) and with one, batches of 100, and the web stack's floor."""
    from fleet import server
    from fleet.storage.base import connect
    # `cityfleet serve`'s own defaults unless told otherwise: one process per core.
    workers, threads = workers or server.default_workers(), threads or server.THREADS
    app, db, token, euis, demo = _ingest_setup(workdir, 1000)
    events = _events(euis, events_count * (2 + rounds), demo)
    single_one = [json.dumps(e).encode() for e in events[:events_count]]
    batched = [json.dumps(events[i:i + 100]).encode() for i in range(events_count, 2 * events_count, 100)]
    single = [json.dumps(e).encode() for e in events[2 * events_count:]]
    out = {"events": events_count, "client_threads": clients, "workers": workers, "server_threads": threads,
           "rounds": rounds}
    port = _free_port()
    proc = _start_server(workdir, db, port, 1, threads)
    try:
        _post_all(port, token, single_one[:200], clients)        # warm up (these are then duplicates)
        elapsed, _ = _post_all(port, token, single_one[200:], clients)
        out["single_one_worker_events_per_s"] = (events_count - 200) / elapsed
    finally:
        _stop(proc)
    port = _free_port()
    proc = _start_server(workdir, db, port, workers, threads)
    try:
        _post_all(port, token, single[:200], clients)
        server_cpu, rates, client_cpu = _tree_cpu(proc.pid), [], 0
        shares = [single[200:][i::rounds] for i in range(rounds)]
        for share in shares:
            elapsed, cpu = _post_all(port, token, share, clients)
            rates.append(len(share) / elapsed)
            client_cpu += cpu * len(share)
        if server_cpu is not None:
            out["server_cpu_us_per_event"] = (_tree_cpu(proc.pid) - server_cpu) / (len(single) - 200) * 1e6
        out["single_rounds_events_per_s"] = rates
        out["single_events_per_s"] = sorted(rates)[len(rates) // 2]          # the median round
        out["client_cpu_us_per_request"] = client_cpu / (len(single) - 200) * 1e6
        out["batch100_events_per_s"] = events_count / _post_all(port, token, batched, min(clients, 4))[0]
        refused = single[200:events_count]
        # The floor of HTTP, Flask and token auth: the same requests refused at once (unknown ?event=).
        out["refused_requests_per_s"] = len(refused) / _post_all(
            port, token, refused, clients, "/ingest/chirpstack?event=none", 400)[0]
    finally:
        _stop(proc)
    # The client's ceiling: the same requests to a trivial app under the same server settings.
    port = _free_port()
    proc = _start_trivial(port, workers, threads)
    try:
        _post_all(port, token, single[:200], clients)
        elapsed, client_cpu = _post_all(port, token, refused, clients)
        out["trivial_requests_per_s"] = len(refused) / elapsed
        out["trivial_client_cpu_us_per_request"] = client_cpu * 1e6
    finally:
        _stop(proc)
    conn = connect(db)
    stored = conn.execute("SELECT COUNT(*) FROM uplinks").fetchone()[0]
    conn.close()
    if stored != len(events):
        raise RuntimeError("%d events posted, %d stored" % (len(events), stored))
    out["payloads"] = [base64.b64decode(e["data"]) for e in events[:events_count]]
    return out


# ---- 2. the raw ceiling

def bench_raw(payloads, workdir, batch=500):
    """cbor2 decode of the frames plus batched SQLite inserts of the readings, events per second."""
    conn = sqlite3.connect(os.path.join(workdir, "raw.db"), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE readings (device_id INTEGER, time REAL, occupied INTEGER, changes INTEGER,"
                 " battery REAL)")
    conn.execute("CREATE INDEX idx_readings ON readings (device_id, time)")
    started = time.perf_counter()
    rows = []
    for n, payload in enumerate(payloads):
        item = cbor2.loads(payload)
        rows.append((n % 1000, n * 0.01, int(item[1]), item[2], item[3] * 5))
        if len(rows) == batch:
            conn.execute("BEGIN")
            conn.executemany("INSERT INTO readings VALUES (?, ?, ?, ?, ?)", rows)
            conn.execute("COMMIT")
            rows = []
    if rows:
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO readings VALUES (?, ?, ?, ?, ?)", rows)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return {"events_per_s": len(payloads) / elapsed}


# ---- 3. page latency on 100,000 devices

def _bulk_devices(store, count, now, rng):
    rows, tags = [], []
    for i in range(1, count + 1):
        kind = KINDS[i % len(KINDS)]
        silent = rng.random() < 0.03
        rows.append({"id": i, "dev_eui": "%016X" % (0x0200000000000000 + i), "join_eui": "0200000000000001",
                     "name": "%s-%06d" % (kind, i), "kind": kind, "board": "esp32-devkitc",
                     "department": DEPARTMENTS[i % len(DEPARTMENTS)], "location": "district %d" % (i % 18),
                     "tags": json.dumps(["district:%d" % (i % 18)]), "status": "active", "secrets": b"bench",
                     "created_at": now - 40 * 86400, "session": 0,
                     "last_seen": now - (3 * 86400 if silent else rng.uniform(0, 3600)),
                     "battery": rng.choice((10, 50, 80, 95)), "alarm": "SOS" if rng.random() < 0.005 else None})
        tags.append((i, "district:%d" % (i % 18)))
    store.bulk_devices(rows, tags)


def _bulk_readings(store, device_ids, days, now, rng):
    from fleet.demo import reading
    from protocols import frames
    uplink_id = store.max_uplink_id()
    uplinks, receptions, readings = [], [], {k: [] for k in KINDS}
    for device_id in device_ids:
        kind = KINDS[device_id % len(KINDS)]
        for h in range(days * 24):
            uplink_id += 1
            t = now - days * 86400 + h * 3600
            values = reading(kind, rng, 80)
            uplinks.append({"id": uplink_id, "device_id": device_id, "time": t, "source": "chirpstack",
                            "dedup_id": None, "session": 0, "f_cnt": h, "f_port": 2, "sf": 9, "frequency": 923200000,
                            "frame_kind": kind, "payload": frames.encode(kind, values), "fields": None})
            receptions.append({"uplink_id": uplink_id, "gateway_id": "gw%d" % (device_id % 40), "rssi": -100.0,
                               "snr": 5.0, "channel": 0, "time": t})
            row = {"uplink_id": uplink_id, "device_id": device_id, "time": t}
            row.update({k: (int(v) if isinstance(v, bool) else v) for k, v in values.items()})
            readings[kind].append(row)
    store.bulk_uplinks(uplinks, readings, receptions)
    return len(uplinks)


def _timed(client, urls, headers):
    times = []
    for url in urls:
        started = time.perf_counter()
        r = client.get(url, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        if r.status_code != 200:
            raise RuntimeError("%s answered %d" % (url, r.status_code))
    return {"p50_ms": _percentile(times, 50), "p95_ms": _percentile(times, 95), "requests": len(times)}


def bench_pages(workdir, devices=100000, sampled=1000, days=30, requests=200):
    """p50/p95 latency of the device list and device page, HTML and JSON, as an admin and a department."""
    from cryptography.fernet import Fernet

    from fleet import auth, create_app
    db = os.path.join(workdir, "pages.db")
    app = create_app(instance_path=workdir, overrides={"DATABASE": db, "DATA_KEY": Fernet.generate_key().decode()})
    rng, now = random.Random(2), time.time()
    started = time.perf_counter()
    with app.app_context():
        from fleet.db import get_store
        store = get_store()
        for code in DEPARTMENTS:
            store.add_department(code, code)
        _bulk_devices(store, devices, now, rng)
        sample = rng.sample(range(1, devices + 1), sampled)
        uplinks = _bulk_readings(store, sample, days, now, rng)
        store.analyze()
        token_td = auth.create_token(store, "bench-td", auth.VIEWER, "TD")[1]
        token_admin = auth.create_token(store, "bench-admin", auth.ADMIN, None)[1]
    load_s = time.perf_counter() - started
    client = app.test_client()
    td = {"Authorization": "Bearer " + token_td}
    admin = {"Authorization": "Bearer " + token_admin}
    td_sample = [d for d in sample if DEPARTMENTS[d % 4] == "TD"]
    list_urls = ["/devices", "/devices?kind=water_main", "/devices?state=silent", "/devices?state=low_battery",
                 "/devices?tag=district:7", "/devices?q=000123", "/devices?state=alarm", "/devices?after=%d"]
    lists = [u % rng.randrange(devices) if "%d" in u else u for u in list_urls * (requests // len(list_urls))]
    pages = ["/devices/%d" % rng.choice(td_sample) for _ in range(requests)]
    return {
        "devices": devices, "devices_with_readings": sampled, "days": days, "uplinks": uplinks,
        "load_s": load_s,
        "device_list_html_td": _timed(client, lists, td),
        "device_list_api_admin": _timed(client, ["/api" + u for u in lists], admin),
        "device_page_html_td": _timed(client, pages, td),
        "device_page_api_td": _timed(client, ["/api" + p for p in pages], td),
        "overview_html_td": _timed(client, ["/"] * (requests // 4), td),
    }


def run(quick=False, pages=True, clients=16, threads=None):
    """Every figure of this benchmark as a dict (pages False: the ingest figures alone)."""
    with tempfile.TemporaryDirectory(prefix="cityfleet-bench-") as workdir:
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        ingest = bench_ingest(2000 if quick else 6000, workdir, clients=clients, threads=threads)
        ingest["load_average_before"] = load
        raw = bench_raw(ingest.pop("payloads"), workdir)
        figures = {"ingest": ingest, "raw_ceiling": raw}
        if pages:
            figures["pages"] = bench_pages(workdir, devices=20000 if quick else 100000,
                                           sampled=200 if quick else 1000, requests=80 if quick else 200)
    return figures


def report(figures):
    """The figures as text lines."""
    i, r, p = figures["ingest"], figures["raw_ceiling"], figures.get("pages")
    lines = [
        "fleet ingest (ChirpStack up events through /ingest/chirpstack, `cityfleet serve` on 127.0.0.1:"
        " Granian, %d thread(s) per worker; %d client connections on the same machine)"
        % (i["server_threads"], i["client_threads"]),
        "  one event per request, %d workers  %8.0f events/s   (CPU per event: server %s us, client %.0f us)"
        % (i["workers"], i["single_events_per_s"], "%.0f" % i["server_cpu_us_per_event"]
           if "server_cpu_us_per_event" in i else "?", i["client_cpu_us_per_request"]),
        "    (the median of %d rounds: %s events/s)"
        % (len(i["single_rounds_events_per_s"]), ", ".join("%.0f" % x for x in i["single_rounds_events_per_s"])),
        "  one event per request, 1 worker   %8.0f events/s" % i["single_one_worker_events_per_s"],
        "  100 events per request            %8.0f events/s" % i["batch100_events_per_s"],
        "  raw ceiling (cbor2 decode + batched SQLite insert, same run) %8.0f events/s" % r["events_per_s"],
        "  HTTP + Flask + token check alone (requests refused at once) %8.0f requests/s" % i["refused_requests_per_s"],
        "  client and HTTP alone (a trivial WSGI app, same server)   %8.0f requests/s   (client CPU %.0f us)"
        % (i["trivial_requests_per_s"], i["trivial_client_cpu_us_per_request"]),
        "  (load average before the run: %s; other work on the machine takes cores from both sides)"
        % ("%.1f" % i["load_average_before"] if i.get("load_average_before") is not None else "?"),
    ]
    if p is None:
        return lines
    lines.append("fleet pages (%d devices, %d of them with %d days of hourly readings: %d uplinks; loaded in %.0f s)"
                 % (p["devices"], p["devices_with_readings"], p["days"], p["uplinks"], p["load_s"]))
    for key in ("device_list_html_td", "device_list_api_admin", "device_page_html_td", "device_page_api_td",
                "overview_html_td"):
        lines.append("  %-24s p50 %6.1f ms  p95 %6.1f ms  (%d requests)" % (
            key, p[key]["p50_ms"], p[key]["p95_ms"], p[key]["requests"]))
    return lines


def main(argv=None):
    """Run the fleet benchmarks and print them (--json for machine-readable figures)."""
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a fast check")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--ingest-only", action="store_true", help="the ingest figures alone, not the pages")
    parser.add_argument("--clients", type=int, default=16, help="client connections posting events (default 16)")
    parser.add_argument("--threads", type=int, default=None, help="server threads per worker (default: serve's)")
    args = parser.parse_args(argv)
    figures = run(args.quick, not args.ingest_only, args.clients, args.threads)
    print(json.dumps(figures, indent=2) if args.json else "\n".join(report(figures)))
    return figures


if __name__ == "__main__":
    main()
