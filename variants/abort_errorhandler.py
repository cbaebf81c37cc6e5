"""``abort(401)`` with a JSON ``@app.errorhandler(401)``.

Idiom: error responses are raised with abort and rendered once, by an error handler that returns
JSON and the challenge; success responses are ``jsonify(data), status``.
Flask rule: ``abort(code)`` raises werkzeug's HTTPException for the code and Flask calls the handler
registered for it (first Flask version: 0.9 for the handler's tuple return).
Pitfalls: the handler knows only the status and the description, and answers every 401 raised
anywhere in the app the same way; without the handler, abort sends werkzeug's HTML error page.
"""
from flask import abort, jsonify

from variants.contract import CHALLENGE
from variants.site import build_app


def respond(body, status, headers):
    if status >= 400:
        abort(status, description=body['error'])
    return jsonify(body), status, headers


def setup(app):
    @app.errorhandler(401)
    def unauthorized(error):
        return jsonify(error=error.description), 401, {'WWW-Authenticate': CHALLENGE}


def create_app():
    return build_app(__name__, respond, setup)


app = create_app()
