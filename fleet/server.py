"""The production server: the app under gunicorn, pre-forked into worker processes.

    serve(app, host, port, workers=2, threads=8)

The app is built once in the master process (settings read, migrations run) and
forked into `workers` processes with `threads` threads each (gunicorn's gthread
worker: keep-alive connections, a thread per request in flight). Each thread
opens its own SQLite connection after the fork (fleet.db); writers of all
processes queue at the database's write gate, and the ingest requests of one
process share commits (fleet.storage.base.GroupCommit). One process per core
lets the ingest path use every core of the machine; one process alone is bound
to one core by the interpreter's lock.
"""
import os

from gunicorn.app.base import BaseApplication


def default_workers():
    """One worker process per core (at least 2, so a slow request never blocks the service)."""
    return max(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 2)


class _Gunicorn(BaseApplication):
    # gunicorn's embedding interface: settings from a dict, the app object given.

    def __init__(self, app, options):
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self):
        """Apply the settings given (gunicorn's hook)."""
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        """The WSGI app (gunicorn's hook)."""
        return self.application


def options(host, port, workers, threads):
    """gunicorn settings for the fleet service."""
    return {
        "bind": ["%s:%d" % (host, port)],
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "keepalive": 75,                  # network servers post over long-lived connections
        "timeout": 60,                    # a worker silent this long is restarted
        "graceful_timeout": 20,
        "proc_name": "cityfleet",
        "accesslog": None,                # requests are not logged (ingest would flood the log)
        "errorlog": "-",
        "loglevel": "info",
        "preload_app": True,              # the app (and its migrations) is built before the fork
        "max_requests": 0,
        "limit_request_line": 8190,
    }


def serve(app, host="127.0.0.1", port=8080, workers=None, threads=8):
    """Run app under gunicorn until stopped (SIGINT or SIGTERM: a graceful stop)."""
    from fleet import db
    db.close_thread_store(app)            # the master's own connection (a seed, a check) stays behind
    _Gunicorn(app, options(host, port, workers or default_workers(), threads)).run()
