"""``resp = jsonify(data); resp.status_code = status; return resp``.

Idiom: build the response, then set its status (and headers) as attributes.
Flask rule: a returned Response is sent as it is; ``status_code`` is a plain attribute of werkzeug's
Response (jsonify appeared in Flask 0.2, but ``resp.headers.update`` needs Werkzeug 1.0: ``make matrix``
finds it fails on Flask 0.12 with Werkzeug 0.16, so as written the first Flask version: 1.0).
Pitfall: three statements for one response, and forgetting the status line silently sends a 200.
"""
from flask import jsonify

from variants.site import build_app


def respond(body, status, headers):
    resp = jsonify(body)
    resp.status_code = status
    resp.headers.update(headers)
    return resp


def create_app():
    return build_app(__name__, respond)


app = create_app()
