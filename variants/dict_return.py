"""``return data, status``: Flask jsonifies a returned dict.

Idiom: return the dict itself and let Flask serialise it.
Flask rule: a dict returned from a view is passed to jsonify (first Flask version: 1.1; lists too
since 2.2).
Pitfall: only dicts and lists; returning any other object (a dataclass, a generator) raises TypeError.
"""
from variants.site import build_app


def respond(body, status, headers):
    return body, status, headers


def create_app():
    return build_app(__name__, respond)


app = create_app()
