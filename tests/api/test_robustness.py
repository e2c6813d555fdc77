"""Inputs the fuzzer found or could find: out-of-range numbers, wrong methods, odd bodies.
Never a 500."""

from __future__ import annotations

import pytest

HUGE = 2**63


def test_an_id_beyond_the_database_range_is_a_404(api):
    client = api("crmo")
    for path in (f"/api/v1/projects/{HUGE}", f"/api/v1/programs/{2**31}"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.mimetype == "application/problem+json"


def test_a_huge_number_in_a_body_is_a_422_not_a_500(api, make_program, make_user):
    program = make_program()
    body = {
        "program_id": program.id,
        "name": "Overflow",
        "department": "it",
        "manager_id": make_user("manager").id,
        "team_member_ids": [HUGE],
    }
    response = api("crmo").post("/api/v1/projects", json=body)
    assert response.status_code == 422
    assert response.json["errors"]


def test_a_huge_number_in_a_query_is_a_422_not_a_500(api):
    response = api("crmo").get(f"/api/v1/projects?manager_id={HUGE}")
    assert response.status_code in (200, 422)


def test_a_too_long_text_is_refused_with_its_field(api):
    response = api("crmo").post("/api/v1/programs", json={"name": "x" * 5000})
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "name"


def test_a_wrong_method_gets_405_with_allow(api):
    response = api("crmo").open("PUT", "/api/v1/programs", json={})
    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"
    assert "GET" in response.headers["Allow"] and "POST" in response.headers["Allow"]


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", b'"text"', b"null", b"{" * 1000, b'{"name": "\\ud800"}'],
    ids=["garbage", "array", "string", "null", "deep", "lone surrogate"],
)
def test_a_broken_json_body_is_a_4xx_problem(api, body):
    response = api("crmo").post(
        "/api/v1/programs", data=body, headers={"Content-Type": "application/json"}
    )
    assert 400 <= response.status_code < 500, response.data
    assert response.mimetype == "application/problem+json"


def test_an_oversized_body_is_refused(api):
    response = api("crmo").post(
        "/api/v1/programs",
        data=b'{"name": "' + b"x" * (3 * 1024 * 1024) + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413


def test_the_openapi_document_gives_errors_as_problem_json(api):
    """Errors are sent as application/problem+json, so the document says so too."""
    document = api(None).get("/api/v1/openapi.json").json
    responses = document["components"]["responses"]
    assert responses, "the document names no reusable error responses"
    for name, response in responses.items():
        assert list(response["content"]) == ["application/problem+json"], name
        assert response["content"]["application/problem+json"]["schema"] == {
            "$ref": "#/components/schemas/Problem"
        }
