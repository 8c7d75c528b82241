"""The production server: the app under Granian, in several worker processes.

    serve(app, host, port, workers=None, threads=THREADS)

Granian (a Rust HTTP server with a WSGI interface) parses HTTP and handles the
connections outside the Python interpreter; each worker process runs the app in
`threads` Python threads. The app is built once in the master process
(settings read, migrations run) and the workers are forked from it (or, where
processes are spawned rather than forked, each builds it again from the same
CITYFLEET_* environment). Each thread opens its own SQLite connection in its
own process (fleet.db); writers of all processes queue at the database's write
gate, and the ingest requests of one process share commits
(fleet.storage.base.GroupCommit). One process per core lets the ingest path use
every core; one process alone is bound to one core by the interpreter's lock.

One thread per worker by default: the threads of a process share one
interpreter lock, so more threads add no CPU, and a writer holding the write
gate must win that lock back after every SQLite call while its siblings run
Python, which keeps the gate, and the other process, waiting. Measured on the
2-core machine (fleet/README.md), through Flask 2 workers x 1 thread ingest 15
to 40 % more single events per second than 2 x 4, with 10 to 20 % less CPU per
event; through the ingest fast path 1, 2 and 4 threads come out alike.
"""
import os

_APP = None             # the app built by the master, inherited by forked workers
THREADS = 1             # Python threads per worker process (see above)


def default_workers():
    """One worker process per core (at least 2, so a slow request never blocks the service)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 2
    return max(2, cores)


def _worker_app(target):
    # Granian's target loader, called in each worker process.
    if _APP is not None:
        return _APP
    from fleet import create_app
    return create_app()


def make_server(app, host="127.0.0.1", port=8080, workers=None, threads=THREADS):
    """The Granian server for app (not started)."""
    from granian.constants import Interfaces
    from granian.log import LogLevels
    from granian.server import Server
    global _APP
    _APP = app
    # A worker that is spawned (not forked) builds the app from the environment.
    os.environ["CITYFLEET_DATABASE"] = os.path.abspath(app.config["DATABASE"])
    os.environ["CITYFLEET_INSTANCE"] = app.instance_path
    return Server(
        "fleet:create_app", address=host, port=port, interface=Interfaces.WSGI,
        workers=workers or default_workers(), blocking_threads=threads,
        log_level=LogLevels.info, log_access=False,       # requests are not logged: ingest would flood it
        respawn_failed_workers=True, factory=True, websockets=False,
    )


def serve(app, host="127.0.0.1", port=8080, workers=None, threads=THREADS):
    """Run app under Granian until stopped (SIGINT or SIGTERM: a graceful stop)."""
    from fleet import db
    db.close_thread_store(app)            # the master's own connection (a seed, a check) stays behind
    make_server(app, host, port, workers, threads).serve(target_loader=_worker_app)
