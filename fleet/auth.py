"""Who is asking: browser sessions (with CSRF tokens), API tokens, roles and department scope."""
import functools
import hashlib
import secrets
import threading
import time

from flask import Blueprint, current_app, g, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSessionInterface

from fleet import crypto, errors
from fleet.db import get_store

bp = Blueprint("auth", __name__, url_prefix="/auth")

ADMIN, OPERATOR, VIEWER, TECHNICIAN, INTEGRATION = "admin", "operator", "viewer", "technician", "integration"
ROLES = (ADMIN, OPERATOR, VIEWER, TECHNICIAN, INTEGRATION)
USER_ROLES = (ADMIN, OPERATOR, VIEWER, TECHNICIAN)
READERS = (ADMIN, OPERATOR, VIEWER)
WRITERS = (ADMIN, OPERATOR)
PROVISIONERS = (ADMIN, OPERATOR, TECHNICIAN)
_UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, without building the cookie signer for a request
    that sends no session cookie (network servers and API clients with tokens)."""

    def open_session(self, app, request):
        """The request's session: a new, empty one when it sends no session cookie."""
        if app.secret_key and self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)


class Identity:
    """The caller: a logged-in user or an API token, with role and department."""

    def __init__(self, kind, ident, name, role, department):
        self.kind = kind              # "user" or "token"
        self.id = ident
        self.name = name
        self.role = role
        self.department = department

    @property
    def scope(self):
        """The department every query is limited to; None for admins (the whole city)."""
        return None if self.role == ADMIN else self.department

    @property
    def actor(self):
        """How the audit log names this caller."""
        return self.name if self.kind == "user" else "token:%s" % self.name


def validate_role(role, department):
    """Raise ValueError unless role and department fit together."""
    if role not in ROLES:
        raise ValueError("role must be one of %s" % ", ".join(ROLES))
    if role in (OPERATOR, VIEWER) and not department:
        raise ValueError("an %s needs a department" % role)


def create_user(store, username, password, role, department, actor="cli", remote_addr=None):
    """Create a user with a hashed password (audited); returns its id."""
    if role not in USER_ROLES:
        raise ValueError("a user's role must be one of %s" % ", ".join(USER_ROLES))
    validate_role(role, department)
    if department and store.department(department) is None:
        raise ValueError("no department %s" % department)
    if len(password) < 8:
        raise ValueError("a password needs at least 8 characters")
    with store.transaction():
        user_id = store.add_user(username, crypto.hash_password(password), role, department)
        store.audit(actor, "user.add", "user", user_id, department, {"username": username, "role": role},
                    remote_addr)
    return user_id


def create_token(store, name, role, department, actor="cli", remote_addr=None):
    """Create an API token (audited); returns (id, token). The token is never stored or shown again."""
    validate_role(role, department)
    if department and store.department(department) is None:
        raise ValueError("no department %s" % department)
    token = crypto.new_token()
    with store.transaction():
        token_id = store.add_token(name, crypto.token_hash(token), token[:8], role, department, actor)
        store.audit(actor, "token.create", "token", token_id, department, {"name": name, "role": role},
                    remote_addr)
    return token_id, token


def revoke_token(store, token_id, actor="cli", remote_addr=None):
    """Revoke a token (audited); False if there was no live token with that id."""
    with store.transaction():
        done = store.revoke_token(token_id)
        if done:
            store.audit(actor, "token.revoke", "token", token_id, None, {}, remote_addr)
    return done


def _bearer():
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise errors.Unauthorized("Authorization must be 'Bearer <token>'")
    return value.strip()


@bp.before_app_request
def load_identity():
    """Set g.identity from a bearer token or the session (None when anonymous)."""
    g.identity = None
    token = _bearer()
    if token is not None:
        row = get_store().token_by_hash(crypto.token_hash(token))
        if row is None:
            raise errors.Unauthorized("invalid or revoked token")
        g.identity = Identity("token", row["id"], row["name"], row["role"], row["department"])
        return
    user_id = session.get("user_id")
    if user_id is not None:
        user = get_store().user(user_id)
        if user is None or user["disabled"] or session.get("stamp") != session_stamp(user):
            session.clear()
            return
        g.identity = Identity("user", user["id"], user["username"], user["role"], user["department"])


def session_stamp(user):
    """A fingerprint of the user's password hash kept in the session: a new password ends the
    user's other sessions (the session cookie is signed, not secret, so never the hash itself)."""
    return hashlib.sha256(user["password_hash"].encode("utf-8")).hexdigest()[:16]


def csrf_token():
    """The session's CSRF token (created on first use); templates put it in every form."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def check_csrf():
    """Reject an unsafe request from a browser session without the session's CSRF token."""
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    if "csrf" not in session or not sent or not crypto.same(sent, session["csrf"]):
        raise errors.BadRequest("CSRF token missing or invalid; reload the page and try again")


def require(*roles):
    """Decorate a view: the caller must be signed in (or send a token) with one of roles.

    Unsafe methods from a browser session must carry the CSRF token.
    """
    def decorate(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            ident = g.identity
            if ident is None:
                if errors.wants_json():
                    raise errors.Unauthorized("sign in or send an API token")
                return redirect(url_for("auth.login", next=request.full_path))
            if ident.role not in roles:
                raise errors.Forbidden("the %s role may not do this" % ident.role)
            if ident.kind == "user" and request.method in _UNSAFE:
                check_csrf()
            return view(*args, **kwargs)
        wrapped.roles = roles
        return wrapped
    return decorate


def remote_addr():
    """The caller's address for the audit log."""
    return request.remote_addr


class _Throttle:
    """Failed sign-ins per (username, address): after LOGIN_ATTEMPTS within LOGIN_WINDOW
    seconds, further attempts are refused until the window passes."""

    def __init__(self):
        self._lock = threading.Lock()
        self._fails = {}

    def blocked(self, key, limit, window, now):
        """Whether key has failed limit times within the window."""
        with self._lock:
            recent = [t for t in self._fails.get(key, ()) if t > now - window]
            self._fails[key] = recent
            return len(recent) >= limit

    def fail(self, key, now):
        """Count one failure of key."""
        with self._lock:
            self._fails.setdefault(key, []).append(now)

    def clear(self, key):
        """Forget key's failures after a good sign-in."""
        with self._lock:
            self._fails.pop(key, None)


def _throttle():
    return current_app.extensions.setdefault("cityfleet.login_throttle", _Throttle())


def _safe_next(target):
    # Only local paths: never redirect a login to another site.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("ui.overview")


@bp.route("/login", methods=("GET", "POST"))
def login():
    """Sign in with username and password."""
    error, status = None, 200
    if request.method == "POST":
        check_csrf()
        username = request.form.get("username", "")
        key, now = (username, request.remote_addr), time.time()
        if _throttle().blocked(key, current_app.config["LOGIN_ATTEMPTS"], current_app.config["LOGIN_WINDOW"], now):
            return render_template("auth/login.html", error="Too many failed attempts; try again later."), 429
        user = get_store().user_by_name(username)
        if user is None or user["disabled"] or not crypto.check_password(
                user["password_hash"], request.form.get("password", "")):
            error, status = "Unknown user or wrong password.", 401
            _throttle().fail(key, now)
            current_app.logger.info("failed login for %r from %s", username, request.remote_addr)
        else:
            _throttle().clear(key)
            session.clear()             # a fresh session (and CSRF token) at each sign-in
            session["user_id"] = user["id"]
            session["stamp"] = session_stamp(user)
            session.permanent = True
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", error=error), status


@bp.route("/logout", methods=("POST",))
def logout():
    """Sign out."""
    check_csrf()
    session.clear()
    return redirect(url_for("auth.login"))
