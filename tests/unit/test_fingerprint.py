"""Framework recognition: only text a framework writes itself names it (issue 21, class 10)."""

from __future__ import annotations

from middlebrick.fingerprint import detect_framework
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
