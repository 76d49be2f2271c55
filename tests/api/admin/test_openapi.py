"""The OpenAPI 3.1 document of Bastion's own admin API is kept true: every route under
`/_bastion/admin/v1` is described in it with its methods, and every described operation is served
(issue #12: "documented by an OpenAPI 3.1 file served at /_bastion/admin/v1/openapi.json, kept true
by a test that checks every route against it")."""

from __future__ import annotations

from openapi_spec_validator import validate
from starlette.routing import Route

from bastion.api.admin.own.openapi import PREFIX, document
from bastion.api.routes import build_routes
from tests.conftest import Homeserver

_HTTP_METHODS = {"get", "put", "post", "delete", "patch"}


def _served() -> set[tuple[str, str]]:
    return {
        (route.path, method.lower())
        for route in build_routes()
        if isinstance(route, Route) and route.path.startswith(PREFIX + "/")
        for method in route.methods or ()
        if method.lower() in _HTTP_METHODS
    }


def _described() -> set[tuple[str, str]]:
    return {
        (path, method)
        for path, item in document()["paths"].items()
        for method in item
        if method in _HTTP_METHODS
    }


def test_every_route_is_described_and_every_description_served() -> None:
    served, described = _served(), _described()
    assert served - described == set(), "routes missing from the OpenAPI document"
    assert described - served == set(), "documented operations that no route serves"


def test_the_document_is_valid_openapi_3_1() -> None:
    validate(document())  # raises, naming the problem, when it is not


def test_every_operation_documents_its_responses_and_path_parameters() -> None:
    for path, item in document()["paths"].items():
        names = {p.strip("{}") for p in path.split("/") if p.startswith("{")}
        for method, operation in item.items():
            assert operation.get("summary"), f"{method} {path} has no summary"
            assert "200" in operation["responses"] or "201" in operation["responses"], path
            declared = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "path"}
            assert declared == names, f"{method} {path} path parameters {declared} != {names}"
            if operation.get("security") != []:
                assert "403" in operation["responses"], f"{method} {path} omits its 403"


async def test_the_document_is_served_without_a_token(hs: Homeserver) -> None:
    resp = await hs.http.get("/_bastion/admin/v1/openapi.json")
    assert resp.status_code == 200
    body = resp.json()
    assert body["openapi"] == "3.1.0"
    assert PREFIX + "/audit" in body["paths"]
