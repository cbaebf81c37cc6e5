"""The app every variant shares: routes, the admin check, the HTML branch and set-up. Only ``respond`` differs.

A variant module calls ``build_app(__name__, respond)``; ``respond(body, status, headers)`` is its
idiom, and every JSON response (the 200s, the 201 and the decorator's 401) goes through ``reply``.
So do the errors Flask raises under ``/api`` (404, 405, 400 from a body that is not JSON, 500 from an
exception in a view): ``api_error`` answers them with the contract's fixed replies through the idiom, a
405 with ``Allow``; elsewhere Flask's HTML pages stay. Flask logs the 500's exception before calling the
handler (``Flask.log_exception``), and the body says nothing of it. An idiom that raises to respond cannot
be used inside an error handler (Flask does not handle an exception raised there: the 500 handler runs,
raises again, and the exception leaves the app), so such a variant's ``setup`` registers its own handlers
for ``ERROR_CODES``, written in its idiom's terms.

``admin_required`` keeps the shape of the widely copied decorator this suite started from, with its
three bugs fixed:
- Flask-Login's anonymous ``current_user`` is truthy, so ``if current_user and ...`` tested nothing:
  ask ``is_authenticated``.
- ``'/api/' in request.url_rule.rule`` sent ``/api`` itself down the HTML branch, and raised (a 500)
  wherever ``url_rule`` is None (error handlers, ``before_request``): look at ``request.path``.
- The JSON 401 carried no ``WWW-Authenticate`` challenge, which RFC 9110 requires.
"""
from __future__ import annotations

from functools import wraps
from typing import Callable, Optional

from flask import Blueprint, Flask, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import HTTPException, InternalServerError

from variants import contract
from variants.auth import init_auth

# A demo key for a benchmark (it signs only the flash cookie), not a secret.
DEMO_SECRET_KEY = "flask-json-idioms-demo-key"

main = Blueprint("main", __name__)


def build_app(import_name: str, respond: Callable, setup: Optional[Callable] = None) -> Flask:
    """A new app whose JSON responses are built by ``respond``; ``setup(app)`` adds what the idiom needs."""
    app = Flask(import_name)
    app.config.update(SECRET_KEY=DEMO_SECRET_KEY, DEBUG=False)
    app.extensions["json_idiom"] = respond
    init_auth(app)
    app.register_blueprint(main)
    for code in ERROR_CODES:
        app.register_error_handler(code, api_error)
    if setup is not None:
        setup(app)
    return app


ERROR_CODES = tuple(contract.ERROR_REPLIES)  # 400, 404, 405, 500


def error_reply(error) -> contract.Reply:
    """The contract's reply to an HTTP error raised under /api (a 405 with the route's ``Allow``)."""
    body, status, headers = contract.ERROR_REPLIES[getattr(error, "code", None) or 500]
    if status == 405:
        headers = {**headers, "Allow": ", ".join(sorted(error.valid_methods))}  # sorted: a set's order moves with the hash seed
    return contract.Reply(body, status, headers)


def html_error(error):
    """Flask's own answer outside /api: the HTTPException's HTML page (a 500 gets InternalServerError's)."""
    return error if isinstance(error, HTTPException) else InternalServerError()  # Flask < 1.1 passes the exception


def api_error(error):
    """Under /api, an HTTP error answered by the idiom; elsewhere Flask's HTML page."""
    return reply(error_reply(error)) if wants_json() else html_error(error)


def reply(r: contract.Reply):
    """Hand a reply to this app's JSON idiom (installed by ``build_app``)."""
    return current_app.extensions["json_idiom"](*r)


def wants_json() -> bool:
    """True for requests to the JSON API: ``/api`` and everything below it."""
    return request.path == "/api" or request.path.startswith("/api/")


def admin_required(f):
    """Let admins through; answer anyone else with the idiom's JSON 401, or flash and redirect."""

    @wraps(f)
    def decorated(*args, **kwargs):
        if current_user.is_authenticated and current_user.user_type == "admin":
            return f(*args, **kwargs)
        if wants_json():
            return reply(contract.UNAUTHORIZED)
        flash(contract.FLASH_MESSAGE)
        return redirect(url_for("main.public_index"))

    return decorated


@main.route("/api/status")
def api_status():
    return reply(contract.STATUS)


@main.route("/api/things", methods=["POST"])
def create_thing():
    if not request.is_json:  # not JSON at all (Werkzeug 2.3+ would answer get_json() with a 415)
        abort(400)
    request.get_json()  # a malformed JSON body raises BadRequest; either way the 400 handler answers
    return reply(contract.CREATED)


@main.route("/api/boom")
def boom():
    raise RuntimeError(contract.BOOM)  # an exception in a view: logged, and answered by the 500 handler


@main.route("/api/admin")
@admin_required
def api_admin():
    return reply(contract.ADMIN)


@main.route("/admin")
@admin_required
def admin_page():
    return render_template("admin.html")


@main.route("/")
def public_index():
    return render_template("index.html")
