"""``return make_response(jsonify(data), status)``.

Idiom: wrap jsonify in make_response, the way many tutorials do.
Flask rule: ``make_response(*args)`` turns view-style return values (here response, status, headers)
into a Response, as Flask does with a view's return value (first Flask version: 0.9).
Pitfall: the extra call changes nothing unless the response is modified before it is returned.
"""
from flask import jsonify, make_response

from variants.site import build_app


def respond(body, status, headers):
    return make_response(jsonify(body), status, headers)


def create_app():
    return build_app(__name__, respond)


app = create_app()
