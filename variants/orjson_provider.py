"""Flask's JSON provider replaced by one built on orjson; views keep ``jsonify(data), status``.

Idiom: ``app.json = OrjsonProvider(app)`` once, and every jsonify, dict return and ``request.json``
goes through orjson.
Flask rule: ``app.json`` is a ``JSONProvider`` that may be replaced (Flask 2.2), but Flask 2.2 and 2.3
also load the session cookie through ``app.json.loads(..., object_hook=...)``, which this provider
ignores, so flashed messages break there (``make matrix``; first Flask version: 3.0).
Pitfalls: the provider API speaks str while orjson returns bytes, so output is decoded and re-encoded;
orjson's bytes are compact and insertion-ordered, unlike Flask's sorted, newline-terminated default.
"""
import orjson
from flask import jsonify
from flask.json.provider import JSONProvider

from variants.site import build_app


class OrjsonProvider(JSONProvider):
    def dumps(self, obj, **kwargs):
        return orjson.dumps(obj).decode()

    def loads(self, s, **kwargs):
        return orjson.loads(s)


def respond(body, status, headers):
    return jsonify(body), status, headers


def setup(app):
    app.json = OrjsonProvider(app)


def create_app():
    return build_app(__name__, respond, setup)


app = create_app()
