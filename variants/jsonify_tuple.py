"""``return jsonify(data), status``.

Idiom: the accepted answer; jsonify builds an application/json response and the tuple sets the status.
Flask rule: a view may return ``(response, status)`` or ``(response, status, headers)``; Flask applies
them to the response jsonify built (first Flask version: 0.9).
Pitfalls: few. jsonify's bytes are compact, key-sorted and newline-terminated in production (indented
in debug mode), which differs from ``json.dumps``.
"""
from flask import jsonify

from variants.site import build_app


def respond(body, status, headers):
    return jsonify(body), status, headers


def create_app():
    return build_app(__name__, respond)


app = create_app()
