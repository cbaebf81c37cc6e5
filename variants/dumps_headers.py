"""``return json.dumps(data), status, {'Content-Type': 'application/json'}``.

Idiom: the same answer with the header spelt right.
Flask rule: headers in the returned tuple replace the defaults, Content-Type included (first Flask
version: 0.9).
Pitfalls: the header is written by hand on every return; the bytes are ``json.dumps``'s (spaces after
separators, insertion order, no trailing newline), not jsonify's, and app-wide JSON settings are ignored.
"""
import json

from variants.site import build_app


def respond(body, status, headers):
    return json.dumps(body), status, {'Content-Type': 'application/json', **headers}


def create_app():
    return build_app(__name__, respond)


app = create_app()
