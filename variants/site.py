"""The app every variant shares: routes, users, the HTML branch and set-up. Only ``respond`` differs.

A variant module calls ``build_app(__name__, respond)``; ``respond(body, status, headers)`` is its
idiom, and every JSON response (the 200s, the 201 and the decorator's 401) goes through it.
"""
from __future__ import annotations

from typing import Callable, Optional

from flask import Blueprint, Flask, render_template

from variants import contract
from variants.auth import admin_required, init_auth, reply

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
