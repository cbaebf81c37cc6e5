"""``abort(401)`` with a JSON ``@app.errorhandler(401)``.

Idiom: error responses are raised with abort and rendered once, by an error handler that returns
JSON and the challenge; success responses are ``jsonify(data), status``.
Flask rule: ``abort(code)`` raises werkzeug's HTTPException for the code and Flask calls the handler
registered for it (first Flask version: 0.9 for the handler's tuple return).
Pitfalls: the handler knows only the status and the description, and answers every 401 raised
anywhere in the app the same way; without the handler, abort sends werkzeug's HTML error page. An error
handler cannot abort (Flask does not handle what a handler raises: the exception leaves the app), so
the errors Flask raises itself (404, 405, 400, 500) need handlers of their own that return the JSON.
"""
from flask import abort, jsonify

from variants.contract import CHALLENGE
from variants.site import ERROR_CODES, build_app, error_reply, html_error, wants_json


def respond(body, status, headers):
    if status >= 400:
        abort(status, description=body['error'])
    return jsonify(body), status, headers


def setup(app):
    @app.errorhandler(401)
    def unauthorized(error):
        return jsonify(error=error.description), 401, {'WWW-Authenticate': CHALLENGE}

    def api_error(error):
        if not wants_json():
            return html_error(error)
        body, status, headers = error_reply(error)
        return jsonify(body), status, headers

    for code in ERROR_CODES:
        app.register_error_handler(code, api_error)


def create_app():
    return build_app(__name__, respond, setup)


app = create_app()
