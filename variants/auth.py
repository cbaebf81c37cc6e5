"""Who is asking: Flask-Login with a Bearer-token ``request_loader``.

The decorator that lets admins through (``admin_required``) and the hook that hands a reply to the
idiom (``reply``) are in ``variants/site.py``; everything here is shared by every variant.
"""
from __future__ import annotations

import hmac

from flask_login import LoginManager, UserMixin

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
