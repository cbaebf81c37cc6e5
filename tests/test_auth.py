"""Authentication: only the admin token is admitted; everyone else gets the JSON 401 or the redirect."""
import pytest
from flask import Flask, request
from flask_login import AnonymousUserMixin

from variants import REGISTRY
from variants.auth import MAX_AUTHORIZATION, user_for
from variants.site import admin_required
from variants.contract import CASES_BY_NAME, CHALLENGE, FLASH_MESSAGE, deviations

REFUSED = {
    "missing": None,
    "empty": "",
    "scheme_only": "Bearer",
    "scheme_and_space": "Bearer ",
    "no_scheme": "admin-token",
    "wrong_scheme": "Basic YWRtaW46YWRtaW4=",
    "token_scheme": "Token admin-token",
    "two_spaces": "Bearer  admin-token",
    "wrong_token": "Bearer not-the-token",
    "prefix_of_token": "Bearer admin-toke",
    "token_with_suffix": "Bearer admin-tokenX",
    "user": "Bearer user-token",
    "oversized": "Bearer admin-token" + "x" * 10_000,
    "oversized_valid_prefix": "Bearer " + "admin-token" * 200,
    "non_ascii": "Bearer admin-tökén",
    "null_byte": "Bearer admin-token\x00",
}


def _headers(value):
    return {} if value is None else {"Authorization": value}


@pytest.mark.parametrize("credentials", list(REFUSED.values()), ids=list(REFUSED))
def test_bad_credentials_get_the_json_401(client, credentials):
    response = client.get("/api/admin", headers=_headers(credentials))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == CHALLENGE


@pytest.mark.parametrize("credentials", list(REFUSED.values()), ids=list(REFUSED))
def test_bad_credentials_get_the_html_redirect(client, credentials):
    response = client.get("/admin", headers=_headers(credentials))
    assert response.status_code == 302


def test_the_html_branch_flashes_and_redirects(client):
    response = client.get("/admin")
    assert deviations(CASES_BY_NAME["html_admin_anonymous"], response.status_code, response.headers,
                      response.get_data()) == []
    page = client.get(response.headers["Location"])
    assert page.status_code == 200 and FLASH_MESSAGE in page.get_data(as_text=True)
    assert FLASH_MESSAGE not in client.get("/").get_data(as_text=True)  # flashed once


@pytest.mark.parametrize("authorization", ["Bearer admin-token", "bearer admin-token", "BEARER admin-token"])
def test_the_admin_token_is_admitted_scheme_case_insensitively(client, authorization):
    assert client.get("/api/admin", headers={"Authorization": authorization}).status_code == 200
    assert client.get("/admin", headers={"Authorization": authorization}).status_code == 200


def test_user_for():
    assert user_for("Bearer admin-token").user_type == "admin"
    assert user_for("Bearer user-token").user_type == "user"
    assert user_for("Bearer " + "a" * MAX_AUTHORIZATION) is None
    assert all(user_for(value) is None for value in REFUSED.values() if value != "Bearer user-token")


def test_anonymous_user_is_truthy_which_is_why_the_seed_check_did_nothing():
    assert bool(AnonymousUserMixin()) is True
    assert AnonymousUserMixin().is_authenticated is False


class TestDecoratorWithoutUrlRule:
    """Where ``request.url_rule`` is None the seed raised; the fixed decorator answers by path."""

    @pytest.fixture
    def app(self):
        return REGISTRY["jsonify_tuple"].create_app()

    @pytest.mark.parametrize("path", ["/api", "/api/", "/api/no-such-route"])
    def test_api_paths_get_the_json_401(self, app, path):
        with app.test_request_context(path):
            assert request.url_rule is None
            response = app.make_response(admin_required(lambda: "secret")())
        assert response.status_code == 401 and response.is_json

    def test_other_paths_redirect(self, app):
        with app.test_request_context("/no-such-page"):
            response = app.make_response(admin_required(lambda: "secret")())
        assert response.status_code == 302

    def test_in_a_before_request_hook(self):
        app = Flask(__name__)
        app.config["SECRET_KEY"] = "test"
        from variants.auth import init_auth
        from variants.jsonify_tuple import respond

        app.extensions["json_idiom"] = respond
        init_auth(app)
        app.before_request(admin_required(lambda: None))
        response = app.test_client().get("/api/anything")
        assert response.status_code == 401 and response.is_json


def test_nothing_secret_is_logged(caplog, variant):
    """No token, valid or not, reaches any logger at any level."""
    import logging

    caplog.set_level(logging.DEBUG)
    client = variant.create_app().test_client()
    for value in ("Bearer admin-token", "Bearer user-token", "Bearer guess-token-123"):
        client.get("/api/admin", headers={"Authorization": value})
        client.get("/admin", headers={"Authorization": value})
    for secret in ("admin-token", "user-token", "guess-token-123"):
        assert secret not in caplog.text
