"""``abort(make_response(jsonify(data), 401))``.

Idiom: abort with a ready-made response, so a helper deep in the call stack can end the request.
Success responses are ``jsonify(data), status``.
Flask rule: ``abort(response)`` raises an HTTPException that carries the response, and Flask sends
that response as it is (first Flask version: 0.9).
Pitfalls: raising an exception to return a value reads oddly in a view, and costs an exception. The
exception has no status code, so Flask sends its response without looking for a handler: an
``@app.errorhandler(401)`` never sees these 401s. An error handler cannot abort (Flask does not handle
what a handler raises: the exception leaves the app), so the errors Flask raises itself (404, 405, 400,
500) get handlers that return the response abort would have carried.
"""
from flask import abort, jsonify, make_response

from variants.site import ERROR_CODES, build_app, error_reply, html_error, wants_json


def respond(body, status, headers):
    if status >= 400:
        abort(make_response(jsonify(body), status, headers))
    return jsonify(body), status, headers


def setup(app):
    def api_error(error):
        if not wants_json():
            return html_error(error)
        body, status, headers = error_reply(error)
        return make_response(jsonify(body), status, headers)

    for code in ERROR_CODES:
        app.register_error_handler(code, api_error)


def create_app():
    return build_app(__name__, respond, setup)


app = create_app()
