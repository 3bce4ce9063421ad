"""Framework recognition: only text a framework writes itself names it (issue 21, class 10)."""

from __future__ import annotations

from middlebrick.fingerprint import detect_framework, detect_store
from middlebrick.knowledge import catalogue
from middlebrick.testing import response


def test_fingerprint_recognises_a_framework_by_its_own_server() -> None:
    answer = response(200, {}, {"Server": "Werkzeug/3.1.3 Python/3.11.7"})

    assert detect_framework([answer]) == "flask"


def test_fingerprint_recognises_django_by_its_cookies() -> None:
    answer = response(200, {}, {"Set-Cookie": "csrftoken=abc; Path=/; SameSite=Lax"})

    assert detect_framework([answer]) == "django"


def test_fingerprint_names_no_framework_from_the_standard_library_server() -> None:
    # wsgiref's banner: Django's runserver and Bottle (pypiserver) alike send it.
    answer = response(200, {}, {"Server": "WSGIServer/0.2 CPython/3.11.7"})

    assert detect_framework([answer]) is None


def test_fingerprint_recognises_dynamodb_by_its_own_texts() -> None:
    paged = response(200, {"Items": [], "LastEvaluatedKey": {"id": {"S": "a1"}}})
    failed = response(
        500, "An error occurred (ValidationException) when calling the Query operation"
    )

    assert detect_store([paged]) == "dynamodb" and detect_store([failed]) == "dynamodb"
    assert detect_framework([paged]) is None  # a store is not a framework


def test_fingerprint_names_no_store_from_an_ordinary_answer() -> None:
    assert (
        detect_store([response(200, {"items": [], "next": None, "detail": "Query failed"})]) is None
    )


def test_dynamodb_advice_follows_the_framework_only_when_the_store_is_proven() -> None:
    remediation = catalogue()["bola.cross-identity-access"].remediation

    assert "ConditionExpression" not in remediation.for_framework("fastapi")
    assert "ConditionExpression" not in remediation.for_framework(None)
    proven = remediation.for_framework("fastapi", "dynamodb")
    assert proven.startswith(remediation.fastapi or "") and "ConditionExpression" in proven
