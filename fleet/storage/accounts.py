"""Departments, users and API tokens."""
import sqlite3
import time

from fleet.storage.base import Conflict


class AccountsMixin:
    """Storage of departments, users and tokens (token and password hashes only)."""

    def add_department(self, code, name):
        """Create a department; Conflict if the code exists."""
        try:
            with self.transaction():
                self._run("INSERT INTO departments (code, name) VALUES (?, ?)", (code, name))
        except sqlite3.IntegrityError:
            raise Conflict("department %s exists" % code) from None

    def departments(self):
        """Every department as {code, name}, by code."""
        return self._all("SELECT code, name FROM departments ORDER BY code")

    def department(self, code):
        """One department or None."""
        return self._one("SELECT code, name FROM departments WHERE code = ?", (code,))

    def add_user(self, username, password_hash, role, department):
        """Create a user and return its id; Conflict if the name is taken."""
        try:
            with self.transaction():
                cur = self._run(
                    "INSERT INTO users (username, password_hash, role, department, created_at)"
                    " VALUES (?, ?, ?, ?, ?)", (username, password_hash, role, department, time.time()))
                return cur.lastrowid
        except sqlite3.IntegrityError:
            raise Conflict("user %s exists" % username) from None

    def user(self, user_id):
        """A user by id (with its password hash), or None."""
        return self._one("SELECT * FROM users WHERE id = ?", (user_id,))

    def user_by_name(self, username):
        """A user by name (with its password hash), or None."""
        return self._one("SELECT * FROM users WHERE username = ?", (username,))

    def set_password(self, user_id, password_hash):
        """Replace a user's password hash."""
        with self.transaction():
            self._run("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))

    def add_token(self, name, token_hash, prefix, role, department, created_by):
        """Store a new token by its hash and return its id."""
        with self.transaction():
            cur = self._run(
                "INSERT INTO tokens (name, token_hash, prefix, role, department, created_by, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (name, token_hash, prefix, role, department, created_by, time.time()))
            return cur.lastrowid

    def token_by_hash(self, token_hash):
        """The live (not revoked) token with this hash, or None."""
        return self._one("SELECT * FROM tokens WHERE token_hash = ? AND revoked_at IS NULL", (token_hash,))

    def tokens(self):
        """Every token (without hashes), newest first."""
        return self._all("SELECT id, name, prefix, role, department, created_by, created_at, revoked_at"
                         " FROM tokens ORDER BY id DESC")

    def revoke_token(self, token_id):
        """Revoke a token; returns False when there is no live token with that id."""
        with self.transaction():
            cur = self._run("UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                            (time.time(), token_id))
            return cur.rowcount == 1

    # Columns of a user or token as the service shows them: never a password or token hash.
    _USER_COLUMNS = "id, username, role, department, disabled, created_at"
    _TOKEN_COLUMNS = "id, name, prefix, role, department, created_by, created_at, revoked_at, last_used_at"
    _USER_FIELDS = ("role", "department", "disabled")
    _FAR = 1 << 62              # an id beyond every row: keyset pages always search the primary key

    def users_page(self, after=0, limit=50, department=None):
        """A page of users by id (above after), optionally of one department; no hashes."""
        where, params = ["id > ?"], [after or 0]
        if department is not None:
            where.append("department = ?")
            params.append(department)
        params.append(limit)
        return self._all("SELECT %s FROM users WHERE %s ORDER BY id LIMIT ?"
                         % (self._USER_COLUMNS, " AND ".join(where)), params)

    def user_summary(self, user_id):
        """A user by id without its password hash, or None."""
        return self._one("SELECT %s FROM users WHERE id = ?" % self._USER_COLUMNS, (user_id,))

    def update_user(self, user_id, fields):
        """Set any of role, department, disabled of one user; returns whether the user exists."""
        unknown = set(fields) - set(self._USER_FIELDS)
        if unknown:
            raise ValueError("cannot set %s" % ", ".join(sorted(unknown)))
        if not fields:
            return self.user_summary(user_id) is not None
        keys = sorted(fields)
        with self.transaction():
            cur = self._run("UPDATE users SET %s WHERE id = ?" % ", ".join("%s = ?" % k for k in keys),
                            [fields[k] for k in keys] + [user_id])
            return cur.rowcount == 1

    def active_admins(self, except_id=None):
        """How many enabled admin users there are (not counting except_id)."""
        return self._scalar("SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0 AND id != ?",
                            (-1 if except_id is None else except_id,))

    def touch_token(self, token_id, at):
        """Record that a token was used at the given time; best effort (False when the database
        stays locked): the request that used the token must not fail for its bookkeeping."""
        try:
            with self.transaction():
                self._run("UPDATE tokens SET last_used_at = ? WHERE id = ?", (at, token_id))
        except sqlite3.OperationalError:
            return False
        return True

    def tokens_page(self, before=None, limit=50, department=None, live_only=False):
        """A page of tokens, newest first (ids below before), optionally of one department; no hashes."""
        where, params = ["id < ?"], [before or self._FAR]
        if department is not None:
            where.append("department = ?")
            params.append(department)
        if live_only:
            where.append("revoked_at IS NULL")
        params.append(limit)
        return self._all("SELECT %s FROM tokens WHERE %s ORDER BY id DESC LIMIT ?"
                         % (self._TOKEN_COLUMNS, " AND ".join(where)), params)

    def token(self, token_id):
        """One token by id without its hash (revoked or not), or None."""
        return self._one("SELECT %s FROM tokens WHERE id = ?" % self._TOKEN_COLUMNS, (token_id,))
