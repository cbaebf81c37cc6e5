"""``abort(make_response(jsonify(data), 401))``.

Idiom: abort with a ready-made response, so a helper deep in the call stack can end the request.
Success responses are ``jsonify(data), status``.
Flask rule: ``abort(response)`` raises an HTTPException that carries the response, and Flask sends
that response as it is (first Flask version: 0.9).
Pitfall: raising an exception to return a value reads oddly in a view, and costs an exception.
"""
from flask import abort, jsonify, make_response

from variants.site import build_app


def respond(body, status, headers):
    if status >= 400:
        abort(make_response(jsonify(body), status, headers))
    return jsonify(body), status, headers


def create_app():
    return build_app(__name__, respond)


app = create_app()
