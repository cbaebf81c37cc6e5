"""Who is asking: Flask-Login with a Bearer-token ``request_loader``, and ``admin_required``.

``admin_required`` keeps the shape of the widely copied decorator this suite started from, with its
three bugs fixed:
- Flask-Login's anonymous ``current_user`` is truthy, so ``if current_user and ...`` tested nothing:
  ask ``is_authenticated``.
- ``'/api/' in request.url_rule.rule`` sent ``/api`` itself down the HTML branch, and raised (a 500)
  wherever ``url_rule`` is None (error handlers, ``before_request``): look at ``request.path``.
- The JSON 401 carried no ``WWW-Authenticate`` challenge, which RFC 9110 requires.
The JSON 401 itself is built by the variant's idiom; everything here is shared.
"""
from __future__ import annotations

import hmac
from functools import wraps

from flask import current_app, flash, redirect, request, url_for
from flask_login import LoginManager, UserMixin, current_user

from variants import contract

MAX_AUTHORIZATION = 1024  # longer headers are refused before any comparison


class User(UserMixin):
    def __init__(self, id: str, user_type: str):
        self.id = id
        self.user_type = user_type


# Demo users for a benchmark; the tokens are documented in variants/contract.py.
_USERS = ((contract.ADMIN_TOKEN.encode(), User("admin", "admin")), (contract.USER_TOKEN.encode(), User("user", "user")))


def user_for(authorization: str | None) -> User | None:
    """The user a ``Bearer`` Authorization header names, or None; tokens compared in constant time."""
    if not authorization or len(authorization) > MAX_AUTHORIZATION:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    given = token.encode("utf-8", "surrogatepass")
    found = None
    for known, user in _USERS:  # no early exit: every token is compared
        if hmac.compare_digest(given, known):
            found = user
    return found


def init_auth(app) -> None:
    """Attach Flask-Login, loading the user from the request's Bearer token."""
    manager = LoginManager(app)
    manager.request_loader(lambda req: user_for(req.headers.get("Authorization")))


def reply(r: contract.Reply):
    """Hand a reply to this app's JSON idiom (installed by ``variants.site.build_app``)."""
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
