"""Managing users and API tokens: who may change whom, within which department, audited.

The rules the web pages (accounts_ui.py) and the JSON API (accounts_api.py) share. Admins manage
every user and token; a department operator manages the integration and technician tokens of its
own department and sees no other token (another one's id answers 404, as devices do). Passwords
and token secrets are returned to the caller once and never stored, logged or audited.
"""
import re
import secrets
import threading
import time

from flask import current_app

from fleet import auth, crypto, errors
from fleet.auth import ADMIN, INTEGRATION, OPERATOR, TECHNICIAN, USER_ROLES
from fleet.present import iso
from fleet.storage import Conflict as TakenError

USER_MANAGERS = (ADMIN,)
TOKEN_MANAGERS = (ADMIN, OPERATOR)
OPERATOR_TOKEN_ROLES = (INTEGRATION, TECHNICIAN)   # the tokens a department operator may hand out
MIN_PASSWORD, MAX_PASSWORD = 8, 256
MAX_NAME = 80
TOUCH_EVERY = 60            # seconds: a token's last use is written at most this often per process
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_USER_FIELDS = ("role", "department", "disabled")


def generate_password():
    """A password to hand over once: 16 URL-safe characters (96 random bits)."""
    return secrets.token_urlsafe(12)


def user_view(row):
    """A user as the API and pages show it (never its password hash)."""
    return {"id": row["id"], "username": row["username"], "role": row["role"], "department": row["department"],
            "disabled": bool(row["disabled"]), "created_at": iso(row["created_at"])}


def token_view(row):
    """A token as the API and pages show it: its label and first characters, never the secret."""
    return {"id": row["id"], "name": row["name"], "prefix": row["prefix"], "role": row["role"],
            "department": row["department"], "created_by": row["created_by"], "created_at": iso(row["created_at"]),
            "last_used_at": iso(row.get("last_used_at")), "revoked": row["revoked_at"] is not None,
            "revoked_at": iso(row["revoked_at"])}


def _invalid(field, message):
    return errors.Invalid("invalid %s: %s" % (field, message), errors=[{"field": field, "error": message}])


def _text(data, field, default=""):
    value = data.get(field, default)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _invalid(field, "must be a string")
    return value.strip()


def _department(store, data, field="department"):
    # "" and None both mean "no department" (admins, city-wide tokens).
    code = _text(data, field) or None
    if code is not None and store.department(code) is None:
        raise _invalid(field, "no department %s" % code)
    return code


def _check_password(password, field="password"):
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise _invalid(field, "a password needs %d to %d characters" % (MIN_PASSWORD, MAX_PASSWORD))
    return password


def _role_fits(role, department, allowed):
    if role not in allowed:
        raise _invalid("role", "must be one of %s" % ", ".join(allowed))
    try:
        auth.validate_role(role, department)
    except ValueError as e:
        raise _invalid("department", str(e)) from None


# ---- users (admins only) ----

def visible_user(store, user_id):
    """The user with this id, else NotFound."""
    row = store.user_summary(user_id)
    if row is None:
        raise errors.NotFound("no user %d" % user_id)
    return row


def add_user(store, ident, data, addr):
    """Create a user from {username, role, department, password}; without a password one is
    generated. Returns (user, generated password or None)."""
    username = _text(data, "username")
    if not _USERNAME.match(username):
        raise _invalid("username", "1 to 64 letters, digits or . _ @ -, starting with a letter or digit")
    role = _text(data, "role")
    department = _department(store, data)
    _role_fits(role, department, USER_ROLES)
    password = data.get("password") or None
    generated = None
    if password is None:
        password = generated = generate_password()
    _check_password(password)
    try:
        user_id = auth.create_user(store, username, password, role, department, ident.actor, addr)
    except TakenError:
        raise errors.Conflict("user %s exists" % username) from None
    return user_view(store.user_summary(user_id)), generated


def _changes(store, user, data):
    unknown = sorted(set(data) - set(_USER_FIELDS))
    if unknown:
        raise _invalid(unknown[0], "cannot be changed here (only %s)" % ", ".join(_USER_FIELDS))
    new = {}
    if "role" in data:
        new["role"] = _text(data, "role")
    if "department" in data:
        new["department"] = _department(store, data)
    if "disabled" in data:
        if not isinstance(data["disabled"], bool):
            raise _invalid("disabled", "must be true or false")
        new["disabled"] = int(data["disabled"])
    _role_fits(new.get("role", user["role"]), new.get("department", user["department"]), USER_ROLES)
    return {k: v for k, v in new.items() if v != user[k]}


def _is_active_admin(role, disabled):
    return role == ADMIN and not disabled


def update_user(store, ident, user_id, data, addr):
    """Change a user's role, department or disabled flag ({role, department, disabled}).

    Refused (Conflict) when it would leave no enabled admin; a disabled user's sessions end
    at their next request (the session is checked against the user on every request)."""
    if not isinstance(data, dict) or not data:
        raise errors.BadRequest("the body must be a non-empty JSON object")
    with store.transaction():      # the last-admin count and the change in one write transaction
        user = visible_user(store, user_id)
        changes = _changes(store, user, data)
        after = dict(user, **changes)
        if (_is_active_admin(user["role"], user["disabled"]) and not _is_active_admin(after["role"], after["disabled"])
                and store.active_admins(except_id=user_id) == 0):
            raise errors.Conflict("%s is the last enabled admin: make another admin first" % user["username"])
        store.update_user(user_id, changes)
        _audit_user_changes(store, ident, user, changes, addr)
    return user_view(store.user_summary(user_id))


def _audit_user_changes(store, ident, user, changes, addr):
    edits = {k: [user[k], v] for k, v in changes.items() if k != "disabled"}
    department = changes.get("department", user["department"])
    if edits:
        store.audit(ident.actor, "user.update", "user", user["id"], department,
                    dict(edits, username=user["username"]), addr)
    if "disabled" in changes:
        store.audit(ident.actor, "user.disable" if changes["disabled"] else "user.enable", "user", user["id"],
                    department, {"username": user["username"]}, addr)


def reset_password(store, ident, user_id, password, addr):
    """Set a user's password (generated when None); their other sessions end. Returns
    (user, generated password or None)."""
    generated = None
    if not password:
        password = generated = generate_password()
    _check_password(password)
    pw_hash = crypto.hash_password(password)
    with store.transaction():
        user = visible_user(store, user_id)
        store.set_password(user_id, pw_hash)
        store.audit(ident.actor, "user.password_reset", "user", user_id, user["department"],
                    {"username": user["username"], "generated": generated is not None}, addr)
    return user_view(user), generated


def change_own_password(store, ident, current, new, addr):
    """A signed-in user changes their password, giving the current one; returns the new user row
    (its session stamp changes: the caller's other sessions end)."""
    if ident.kind != "user":
        raise errors.Forbidden("only a signed-in user has a password")
    # The sign-in throttle's limits: a borrowed session must not become a password oracle.
    throttle, key, now = _password_throttle(), ident.id, time.time()
    limit, window = current_app.config["LOGIN_ATTEMPTS"], current_app.config["LOGIN_WINDOW"]
    if throttle.blocked(key, limit, window, now):
        raise errors.ApiError("too many wrong passwords; try again later", 429)
    user = store.user(ident.id)
    if not isinstance(current, str) or not crypto.check_password(user["password_hash"], current):
        throttle.fail(key, now)
        raise _invalid("current_password", "is wrong")
    throttle.clear(key)
    _check_password(new, "new_password")
    if new == current:
        raise _invalid("new_password", "must differ from the current one")
    with store.transaction():
        store.set_password(user["id"], crypto.hash_password(new))
        store.audit(ident.actor, "user.password_change", "user", user["id"], user["department"],
                    {"username": user["username"]}, addr)
    return store.user(user["id"])


def _password_throttle():
    return current_app.extensions.setdefault("cityfleet.password_throttle", auth._Throttle())


# ---- tokens (admins: all; operators: their department's) ----

def token_scope(ident):
    """The department whose tokens the caller sees: None (all) for admins."""
    return None if ident.role == ADMIN else ident.department


def visible_token(store, ident, token_id):
    """The token if the caller may see it, else NotFound (never Forbidden: no leak of existence)."""
    row = store.token(token_id)
    scope = token_scope(ident)
    if row is None or (scope is not None and row["department"] != scope) or (ident.role not in TOKEN_MANAGERS):
        raise errors.NotFound("no token %d" % token_id)
    return row


def list_tokens(store, ident, before, limit, department=None, live_only=False):
    """A page of the tokens the caller sees, newest first; department filters (admins only)."""
    scope = token_scope(ident)
    if scope is not None:
        department = scope
    rows = store.tokens_page(before, limit, department, live_only)
    return [token_view(r) for r in rows]


def create_token(store, ident, data, addr):
    """Create a token from {name, role, department}; returns (token, secret). The secret exists
    only in this return value: the store keeps its hash."""
    name = _text(data, "name")
    if not 1 <= len(name) <= MAX_NAME:
        raise _invalid("name", "a label of 1 to %d characters is needed" % MAX_NAME)
    role = _text(data, "role")
    if ident.role == ADMIN:
        department = _department(store, data)
        _role_fits(role, department, auth.ROLES)
    else:
        department = _text(data, "department") or ident.department
        if department != ident.department:
            raise errors.Forbidden("an operator creates tokens for their own department only")
        if role not in OPERATOR_TOKEN_ROLES:
            raise errors.Forbidden("an operator may create %s tokens only" % " or ".join(OPERATOR_TOKEN_ROLES))
    token_id, secret = auth.create_token(store, name, role, department, ident.actor, addr)
    return token_view(store.token(token_id)), secret


def revoke_token(store, ident, token_id, addr):
    """Revoke a token the caller may see; refused from then on. Returns the token."""
    with store.transaction():
        row = visible_token(store, ident, token_id)
        if ident.role != ADMIN and row["role"] not in OPERATOR_TOKEN_ROLES:
            raise errors.Forbidden("an operator may revoke %s tokens only" % " or ".join(OPERATOR_TOKEN_ROLES))
        if not store.revoke_token(token_id):
            raise errors.Conflict("token %d is already revoked" % token_id)
        store.audit(ident.actor, "token.revoke", "token", token_id, row["department"],
                    {"name": row["name"], "role": row["role"]}, addr)
    _forget_cached_token(token_id)
    return token_view(store.token(token_id))


def _forget_cached_token(token_id):
    # If auth keeps a token-lookup cache, a revoked token must leave it now, not at expiry.
    forget = getattr(auth, "forget_token", None)
    if forget is not None:
        forget(token_id)


class _UseClock:
    """When each token's use was last written, per process: one write a minute per token at most,
    so the ingest path, where integration tokens are used, stays free of extra writes."""

    def __init__(self):
        self._lock = threading.Lock()
        self._written = {}

    def due(self, key, now):
        """Whether a use at now should be written (and note it as written)."""
        with self._lock:
            if now - self._written.get(key, 0) < TOUCH_EVERY:
                return False
            self._written[key] = now
            return True


_USES = _UseClock()


def note_token_use(store, database, token_id, now):
    """Record a token's use (at most once a minute per token, database and process)."""
    if _USES.due((database, token_id), now):
        store.touch_token(token_id, now)
