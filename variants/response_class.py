"""``return Response(json.dumps(data), status=status, mimetype='application/json')``.

Idiom: build werkzeug's Response by hand with the mimetype set.
Flask rule: a returned Response is sent unchanged (first Flask version: 0.1).
Pitfalls: bypasses ``app.json``, so app-wide JSON settings and custom providers are ignored; the bytes
are ``json.dumps``'s.
"""
import json

from flask import Response

from variants.site import build_app


def respond(body, status, headers):
    return Response(json.dumps(body), status=status, headers=headers, mimetype='application/json')


def create_app():
    return build_app(__name__, respond)


app = create_app()
