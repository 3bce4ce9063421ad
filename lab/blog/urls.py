"""The blog's URL configuration (``ROOT_URLCONF``) and its error handlers."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from lab.blog import views, views_auth

urlpatterns = [
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/v2/articles/", views.ArticleList.as_view()),
    path("api/v2/articles/search/", views.ArticleSearch.as_view()),
    path("api/v2/articles/<slug:slug>/", views.ArticleDetail.as_view()),
    path("api/v2/comments/", views.CommentList.as_view()),
    path("api/v2/bookmarks/", views.BookmarkList.as_view()),
    path("api/v2/editor/drafts/", views.EditorDrafts.as_view()),
    path("api/v2/auth/register/", views_auth.Register.as_view()),
    path("api/v2/auth/login/", views_auth.Login.as_view()),
    path("api/v2/auth/otp/verify/", views_auth.VerifyCode.as_view()),
    path("api/v2/auth/password-reset/", views_auth.PasswordReset.as_view()),
    path("api/v2/auth/me/", views_auth.Me.as_view()),
    path("api/v2/auth/logout/", views_auth.Logout.as_view()),
    path("api/v2/auth/users/<str:username>/password/", views_auth.AccountPassword.as_view()),
    path("api/v2/auth/users/<str:username>/email/", views_auth.AccountEmail.as_view()),
    path("api/v2/newsletter/unsubscribe/", views_auth.Unsubscribe.as_view()),
    path("api/v1/articles/", views.ArticlesV1.as_view()),
]


def _error(status: int, word: str) -> JsonResponse:
    return JsonResponse({"detail": word}, status=status)


def _bad_request(request: HttpRequest, exception: Exception) -> JsonResponse:
    return _error(400, "bad request")


def _forbidden(request: HttpRequest, exception: Exception) -> JsonResponse:
    return _error(403, "forbidden")


def _not_found(request: HttpRequest, exception: Exception) -> JsonResponse:
    return _error(404, "not found")


def _server_error(request: HttpRequest, *args: Any) -> JsonResponse:
    return _error(500, "internal error")


# Generic JSON for every error when DEBUG is off (the secure twin); with DEBUG on (the
# vulnerable one) Django answers 404 and 500 with its technical pages instead.
handler400 = _bad_request
handler403 = _forbidden
handler404 = _not_found
handler500 = _server_error
