"""The app every variant shares: routes, the admin check, the HTML branch and set-up. Only ``respond`` differs.

A variant module calls ``build_app(__name__, respond)``; ``respond(body, status, headers)`` is its
idiom, and every JSON response (the 200s, the 201 and the decorator's 401) goes through ``reply``.

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

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

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
    if setup is not None:
        setup(app)
    return app


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
    return reply(contract.CREATED)


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
