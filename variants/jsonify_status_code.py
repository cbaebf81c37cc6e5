"""``resp = jsonify(data); resp.status_code = status; return resp``.

Idiom: build the response, then set its status (and headers) as attributes.
Flask rule: a returned Response is sent as it is; ``status_code`` is a plain attribute of werkzeug's
Response (first Flask version: 0.2, when jsonify appeared).
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
