"""The JSON API for users and tokens: /api/users, /api/tokens, /api/me/password.

Answers that carry a password or token secret are sent once, with Cache-Control: no-store.
"""
import time

from flask import Blueprint, current_app, g, jsonify, request, session

from fleet import accounts, errors
from fleet.auth import USER_ROLES, remote_addr, require, session_stamp
from fleet.db import get_store
from fleet.paging import envelope, int_arg, limit_arg

bp = Blueprint("accounts", __name__, url_prefix="/api")


@bp.before_app_request
def note_token_use():
    """Record when a token was last used (runs after auth.load_identity has set g.identity)."""
    ident = g.get("identity")
    if ident is not None and ident.kind == "token":
        accounts.note_token_use(get_store(), current_app.config["DATABASE"], ident.id, time.time())


def _body():
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise errors.BadRequest("the body must be a JSON object")
    return data


def _once(payload, status=200):
    # A secret is in this answer: no cache may keep it.
    response = jsonify(payload)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _bool_arg(name):
    value = request.args.get(name, "")
    if value not in ("", "0", "1", "true", "false"):
        raise errors.BadRequest("%s must be 0 or 1" % name)
    return value in ("1", "true")


@bp.route("/users")
@require(*accounts.USER_MANAGERS)
def users():
    """Users (without password hashes), paged by ?after=<id>; ?department= filters."""
    limit = limit_arg()
    rows = get_store().users_page(int_arg("after", 0, 0), limit + 1, request.args.get("department") or None)
    return jsonify(envelope([accounts.user_view(r) for r in rows], limit, "after"))


@bp.route("/users", methods=("POST",))
@require(*accounts.USER_MANAGERS)
def add_user():
    """Add a user; without a password one is generated and returned once."""
    user, generated = accounts.add_user(get_store(), g.identity, _body(), remote_addr())
    out = {"ok": True, "user": user}
    if generated:
        out["password"] = generated
    return _once(out, 201)


@bp.route("/users/<int:user_id>")
@require(*accounts.USER_MANAGERS)
def user(user_id):
    """One user."""
    return jsonify({"ok": True, "user": accounts.user_view(accounts.visible_user(get_store(), user_id))})


@bp.route("/users/<int:user_id>", methods=("PATCH",))
@require(*accounts.USER_MANAGERS)
def update_user(user_id):
    """Change a user's role, department or disabled flag (never the last enabled admin's)."""
    user = accounts.update_user(get_store(), g.identity, user_id, _body(), remote_addr())
    return jsonify({"ok": True, "user": user})


@bp.route("/users/<int:user_id>/password", methods=("POST",))
@require(*accounts.USER_MANAGERS)
def reset_password(user_id):
    """Reset a user's password (generated and returned once unless given); their sessions end."""
    user, generated = accounts.reset_password(get_store(), g.identity, user_id, _body().get("password"),
                                              remote_addr())
    out = {"ok": True, "user": user}
    if generated:
        out["password"] = generated
    return _once(out)


@bp.route("/me/password", methods=("POST",))
@require(*USER_ROLES)
def change_password():
    """Change the signed-in user's own password, giving the current one; other sessions end."""
    data = _body()
    row = accounts.change_own_password(get_store(), g.identity, data.get("current_password"),
                                       data.get("new_password"), remote_addr())
    session["stamp"] = session_stamp(row)      # this session stays signed in
    return jsonify({"ok": True})


@bp.route("/tokens")
@require(*accounts.TOKEN_MANAGERS)
def tokens():
    """Tokens the caller may see (admins: all; operators: their department's), newest first,
    paged by ?before=<id>; ?live=1 leaves out revoked ones."""
    limit = limit_arg()
    department = request.args.get("department") or None
    items = accounts.list_tokens(get_store(), g.identity, int_arg("before", None, 1), limit + 1, department,
                                 _bool_arg("live"))
    return jsonify(envelope(items, limit, "before"))


@bp.route("/tokens", methods=("POST",))
@require(*accounts.TOKEN_MANAGERS)
def create_token():
    """Create a token; its secret is in this answer only."""
    token, secret = accounts.create_token(get_store(), g.identity, _body(), remote_addr())
    return _once({"ok": True, "token": token, "secret": secret}, 201)


@bp.route("/tokens/<int:token_id>")
@require(*accounts.TOKEN_MANAGERS)
def token(token_id):
    """One token (never its secret)."""
    return jsonify({"ok": True, "token": accounts.token_view(accounts.visible_token(get_store(), g.identity,
                                                                                     token_id))})


@bp.route("/tokens/<int:token_id>/revoke", methods=("POST",))
@require(*accounts.TOKEN_MANAGERS)
def revoke_token(token_id):
    """Revoke a token: every request with it is refused from now on."""
    return jsonify({"ok": True, "token": accounts.revoke_token(get_store(), g.identity, token_id, remote_addr())})
