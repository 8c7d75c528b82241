"""One error shape for the API: {"ok": false, "error": ..., "status": ...}, rendered by one handler."""
from flask import jsonify, render_template, request
from werkzeug.exceptions import HTTPException


class ApiError(Exception):
    """An error answered to the client with its status and message."""

    status = 400

    def __init__(self, message, status=None, errors=None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.errors = errors


class BadRequest(ApiError):
    """The request is malformed."""
    status = 400


class Unauthorized(ApiError):
    """No valid credentials."""
    status = 401


class Forbidden(ApiError):
    """The credentials do not allow this."""
    status = 403


class NotFound(ApiError):
    """No such thing (or not visible to this user)."""
    status = 404


class Conflict(ApiError):
    """The thing exists already or is in the wrong state."""
    status = 409


class Invalid(ApiError):
    """The request is well-formed but its values are not acceptable."""
    status = 422


def wants_json():
    """Whether this request is answered in JSON (API, ingest, or a client asking for it)."""
    if request.path.startswith(("/api/", "/ingest/", "/provisioning/")):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def error_body(message, status, errors=None):
    """The JSON body of an error."""
    body = {"ok": False, "error": message, "status": status}
    if errors is not None:
        body["errors"] = errors
    return body


def _render(message, status, errors=None):
    if wants_json():
        return jsonify(error_body(message, status, errors)), status
    return render_template("error.html", message=message, status=status), status


def init_app(app):
    """Register the one handler for ApiError and every HTTP error."""
    @app.errorhandler(ApiError)
    def api_error(e):
        return _render(e.message, e.status, e.errors)

    @app.errorhandler(HTTPException)
    def http_error(e):
        response = _render(e.description or e.name, e.code)
        if e.code == 405 and hasattr(e, "valid_methods") and e.valid_methods:
            body, status = response
            return body, status, {"Allow": ", ".join(e.valid_methods)}
        return response

    @app.errorhandler(Exception)
    def internal_error(e):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return _render("internal server error", 500)
