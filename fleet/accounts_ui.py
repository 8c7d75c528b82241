"""Pages for users and tokens: admins manage users, admins and operators manage tokens,
every signed-in user changes their own password.

A generated password or a new token's secret is shown on the response page of the form that
made it (sent with Cache-Control: no-store), and nowhere after.
"""
from flask import Blueprint, flash, g, make_response, redirect, render_template, request, session, url_for

from fleet import accounts, errors
from fleet.auth import ADMIN, ROLES, USER_ROLES, remote_addr, require, session_stamp
from fleet.db import get_store
from fleet.paging import int_arg

bp = Blueprint("accounts_ui", __name__)
_PAGE = 50


def _once(html):
    response = make_response(html)
    response.headers["Cache-Control"] = "no-store"
    return response


def _form_choices():
    return {"departments": get_store().departments(), "user_roles": USER_ROLES,
            "token_roles": ROLES if g.identity.role == ADMIN else accounts.OPERATOR_TOKEN_ROLES}


@bp.route("/users")
@require(*accounts.USER_MANAGERS)
def users():
    """Every user, paged by ?after=<id>; ?department= filters."""
    department = request.args.get("department") or None
    rows = get_store().users_page(int_arg("after", 0, 0), _PAGE + 1, department)
    items = [accounts.user_view(r) for r in rows[:_PAGE]]
    next_url = url_for("accounts_ui.users", after=items[-1]["id"], department=department) if len(rows) > _PAGE else None
    return render_template("accounts/users.html", items=items, next_url=next_url, department=department,
                           **_form_choices())


@bp.route("/users/new", methods=("GET", "POST"))
@require(*accounts.USER_MANAGERS)
def new_user():
    """Add a user; a generated password is shown once on the answer."""
    if request.method == "GET":
        return render_template("accounts/user_new.html", form={}, **_form_choices())
    form = {k: request.form.get(k, "") for k in ("username", "role", "department", "password")}
    try:
        user, generated = accounts.add_user(get_store(), g.identity, form, remote_addr())
    except errors.ApiError as e:
        form["password"] = ""
        return render_template("accounts/user_new.html", form=form, error=e.message, **_form_choices()), e.status
    if generated:
        return _once(render_template("accounts/secret.html", what="password", user=user, secret=generated))
    flash("User %s added." % user["username"])
    return redirect(url_for("accounts_ui.user", user_id=user["id"]))


def _user_page(user_id, error=None, status=200):
    user = accounts.user_view(accounts.visible_user(get_store(), user_id))
    return render_template("accounts/user.html", user=user, error=error, **_form_choices()), status


@bp.route("/users/<int:user_id>")
@require(*accounts.USER_MANAGERS)
def user(user_id):
    """One user, with the forms that change them."""
    return _user_page(user_id)


def _update(user_id, data, message):
    try:
        user = accounts.update_user(get_store(), g.identity, user_id, data, remote_addr())
    except (errors.Invalid, errors.Conflict) as e:
        return _user_page(user_id, e.message, e.status)
    flash(message % user["username"])
    return redirect(url_for("accounts_ui.user", user_id=user_id))


@bp.route("/users/<int:user_id>", methods=("POST",))
@require(*accounts.USER_MANAGERS)
def update_user(user_id):
    """Change a user's role and department."""
    return _update(user_id, {"role": request.form.get("role", ""), "department": request.form.get("department", "")},
                   "Role and department of %s saved.")


@bp.route("/users/<int:user_id>/disable", methods=("POST",))
@require(*accounts.USER_MANAGERS)
def disable_user(user_id):
    """Disable a user: their sessions end at once (never the last enabled admin)."""
    return _update(user_id, {"disabled": True}, "%s disabled.")


@bp.route("/users/<int:user_id>/enable", methods=("POST",))
@require(*accounts.USER_MANAGERS)
def enable_user(user_id):
    """Enable a disabled user again."""
    return _update(user_id, {"disabled": False}, "%s enabled.")


@bp.route("/users/<int:user_id>/password", methods=("POST",))
@require(*accounts.USER_MANAGERS)
def reset_password(user_id):
    """Reset a user's password: the one typed, or a generated one shown once."""
    try:
        user, generated = accounts.reset_password(get_store(), g.identity, user_id,
                                                  request.form.get("password") or None, remote_addr())
    except errors.Invalid as e:
        return _user_page(user_id, e.message, e.status)
    if generated:
        return _once(render_template("accounts/secret.html", what="password", user=user, secret=generated))
    flash("Password of %s reset." % user["username"])
    return redirect(url_for("accounts_ui.user", user_id=user_id))


@bp.route("/account/password", methods=("GET", "POST"))
@require(*USER_ROLES)
def change_password():
    """Change one's own password (the current one is asked for)."""
    if g.identity.kind != "user":
        raise errors.Forbidden("only a signed-in user has a password")
    if request.method == "GET":
        return render_template("accounts/password.html")
    try:
        row = accounts.change_own_password(get_store(), g.identity, request.form.get("current_password", ""),
                                           request.form.get("new_password", ""), remote_addr())
    except errors.ApiError as e:
        return render_template("accounts/password.html", error=e.message), e.status
    session["stamp"] = session_stamp(row)      # this session stays signed in; the others end
    flash("Password changed.")
    return redirect(url_for("accounts_ui.change_password"))


@bp.route("/tokens")
@require(*accounts.TOKEN_MANAGERS)
def tokens():
    """The tokens the caller may see, newest first, paged by ?before=<id>."""
    before = int_arg("before", None, 1)
    rows = accounts.list_tokens(get_store(), g.identity, before, _PAGE + 1)
    next_url = url_for("accounts_ui.tokens", before=rows[_PAGE - 1]["id"]) if len(rows) > _PAGE else None
    return render_template("accounts/tokens.html", items=rows[:_PAGE], next_url=next_url,
                           can_revoke=_revocable_roles())


def _revocable_roles():
    return ROLES if g.identity.role == ADMIN else accounts.OPERATOR_TOKEN_ROLES


@bp.route("/tokens/new", methods=("GET", "POST"))
@require(*accounts.TOKEN_MANAGERS)
def new_token():
    """Create a token; its secret is shown on the answer, once."""
    if request.method == "GET":
        return render_template("accounts/token_new.html", form={}, **_form_choices())
    form = {k: request.form.get(k, "") for k in ("name", "role", "department")}
    try:
        token, secret = accounts.create_token(get_store(), g.identity, form, remote_addr())
    except (errors.Invalid, errors.Forbidden) as e:
        return render_template("accounts/token_new.html", form=form, error=e.message, **_form_choices()), e.status
    return _once(render_template("accounts/secret.html", what="token", token=token, secret=secret))


@bp.route("/tokens/<int:token_id>/revoke", methods=("POST",))
@require(*accounts.TOKEN_MANAGERS)
def revoke_token(token_id):
    """Revoke a token from the list."""
    token = accounts.revoke_token(get_store(), g.identity, token_id, remote_addr())
    flash("Token %d (%s) revoked." % (token["id"], token["name"]))
    return redirect(url_for("accounts_ui.tokens"))
