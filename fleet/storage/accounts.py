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
