"""The tenants service's URL configuration (``ROOT_URLCONF``) and error handlers."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import path

from lab.tenants import views
from lab.tenants.service import LOG, generic_error

urlpatterns = [
    path("openapi.json", views.openapi),
    path("api/members", views.members),
    path("api/members/<str:member_id>", views.member),
    path("api/tickets", views.tickets),
    path("api/tickets/<str:ticket_id>", views.ticket),
    path("assets/<path:name>", views.asset),
]


def _bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    return generic_error(400)


def _forbidden(request: HttpRequest, exception: Exception) -> HttpResponse:
    return generic_error(403)


def _not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return generic_error(404)


def _server_error(request: HttpRequest, *args: Any) -> HttpResponse:
    LOG.error("unhandled error on %s %s", request.method, request.path)
    response = generic_error(500)
    response.content = b'{"error": "internal error"}'
    return response


# FIX (secure, DEBUG off): generic JSON for every error. With DEBUG on (vulnerable) Django
# answers 404 and 500 with its technical pages instead.
handler400 = _bad_request
handler403 = _forbidden
handler404 = _not_found
handler500 = _server_error
