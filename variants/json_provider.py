"""``return current_app.json.response(data), status``.

Idiom: call the app's JSON provider directly, the API jsonify itself wraps.
Flask rule: ``app.json`` is the app's JSON provider; its ``response()`` builds an application/json
Response (first Flask version: 2.2).
Pitfall: needs Flask 2.2; otherwise the same bytes and behaviour as jsonify.
"""
from flask import current_app

from variants.site import build_app


def respond(body, status, headers):
    return current_app.json.response(body), status, headers


def create_app():
    return build_app(__name__, respond)


app = create_app()
