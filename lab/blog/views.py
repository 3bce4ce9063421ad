"""The blog's API views (Django REST framework). Flaws are marked ``# FLAW:``, fixes ``# FIX:``."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, permissions, serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lab.blog.models import Article, Bookmark, Comment

SECURE: list[bool] = [True]
"""Which twin this process serves (set by ``lab.blog.app.create_app``)."""

_MAX_PATTERN = 100


class ArticleSerializer(serializers.ModelSerializer[Article]):
    """An article as readers see it."""

    author = serializers.CharField(source="author.username", read_only=True)

    class Meta:
        model = Article
        fields = ("id", "slug", "title", "author", "status", "published_at")


class CommentSerializer(serializers.ModelSerializer[Comment]):
    """A comment."""

    author = serializers.CharField(source="author.username", read_only=True)

    class Meta:
        model = Comment
        fields = ("id", "article", "author", "body")


class BookmarkSerializer(serializers.ModelSerializer[Bookmark]):
    """One of the caller's bookmarks."""

    class Meta:
        model = Bookmark
        fields = ("id", "article")


def secure() -> bool:
    """True in the secure twin."""
    return SECURE[0]


@extend_schema(
    parameters=[
        OpenApiParameter("author__username", str, description="the author's username"),
        OpenApiParameter("title__regex", str, description="a regular expression on the title"),
        OpenApiParameter("published_after", str, description="ISO 8601 date-time", examples=[]),
    ]
)
class ArticleList(generics.ListAPIView[Article]):
    """Published articles, newest first, with Django-style filters."""

    serializer_class = ArticleSerializer
    permission_classes = (permissions.AllowAny,)

    def get_queryset(self) -> QuerySet[Article]:
        """The filtered articles."""
        query = self.request.query_params
        found = Article.objects.filter(status="published").order_by("-published_at", "id")
        if query.get("author__username"):
            found = found.filter(author__username=query["author__username"])
        pattern = query.get("title__regex")
        if pattern:
            if secure():  # FIX: the pattern is checked before it reaches PostgreSQL
                _check_pattern(pattern)
            found = found.filter(title__regex=pattern)  # FLAW: an invalid pattern is a 500
        since = query.get("published_after")
        if since:
            found = found.filter(published_at__gt=_date(since))
        return found


def _check_pattern(pattern: str) -> None:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValidationError({"title__regex": ["Enter a valid regular expression."]}) from exc
    if len(pattern) > _MAX_PATTERN:
        raise ValidationError({"title__regex": ["At most 100 characters."]})


def _date(value: str) -> datetime:
    if not secure():
        parsed = parse_datetime(value)  # FLAW: an impossible offset raises, unhandled: a 500
        if parsed is None:
            raise ValidationError({"published_after": ["Enter a valid date-time."]})
        return parsed
    try:  # FIX: any malformed date-time is a 400
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValidationError({"published_after": ["Enter a valid date-time."]})
    return parsed


@extend_schema(parameters=[OpenApiParameter("q", str, description="words of the title")])
class ArticleSearch(generics.ListAPIView[Article]):
    """Articles whose title contains the words."""

    serializer_class = ArticleSerializer
    permission_classes = (permissions.AllowAny,)

    def get_queryset(self) -> Any:
        """The matching published articles."""
        q = self.request.query_params.get("q", "")
        if secure():  # FIX: the ORM binds the value
            found = Article.objects.filter(status="published", title__icontains=q)
            return found.order_by("id")
        # FLAW: the value formatted into raw SQL.
        sql = (
            "SELECT * FROM blog_article WHERE status = 'published' "
            f"AND title ILIKE '%%{q}%%' ORDER BY id"
        )
        return list(Article.objects.raw(sql))


class ArticleDetail(generics.RetrieveAPIView[Article]):
    """One published article by its slug; each read is counted with where it came from."""

    serializer_class = ArticleSerializer
    permission_classes = (permissions.AllowAny,)
    lookup_field = "slug"
    queryset = Article.objects.filter(status="published")

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The article, after its view is recorded."""
        article = self.get_object()
        referrer = request.headers.get("Referer", "")[:500]
        if secure():  # FIX: parameters
            sql = (
                "INSERT INTO blog_articleview (article_id, referrer, created) "
                "VALUES (%s, %s, now())"
            )
            with connection.cursor() as cursor:
                cursor.execute(sql, [article.pk, referrer])
        else:
            # FLAW: the Referer formatted into the statement; errors swallowed (blind).
            sql = (
                "INSERT INTO blog_articleview (article_id, referrer, created) "
                f"VALUES ({article.pk}, '{referrer}', now())"
            )
            try:
                with connection.cursor() as cursor:
                    cursor.execute(sql)
            except Exception:
                pass
        return Response(self.get_serializer(article).data)


@extend_schema(
    parameters=[OpenApiParameter("filter[article]", int, description="the article's id")]
)
class CommentList(generics.ListAPIView[Comment]):
    """Comments, optionally of one article (JSON:API-style ``filter[article]``)."""

    serializer_class = CommentSerializer
    permission_classes = (permissions.AllowAny,)

    def get_queryset(self) -> QuerySet[Comment]:
        """The comments."""
        value = self.request.query_params.get("filter[article]")
        found = Comment.objects.order_by("id")
        if value is None:
            return found
        if secure() and not value.isdigit():  # FIX: a malformed id is a 400
            raise ValidationError({"filter[article]": ["A valid integer is required."]})
        return found.filter(article_id=int(value))  # FLAW: int() of any text: a 500


class BookmarkList(generics.ListCreateAPIView[Bookmark]):
    """The caller's bookmarks."""

    serializer_class = BookmarkSerializer

    def get_queryset(self) -> QuerySet[Bookmark]:
        """Only the caller's."""
        return Bookmark.objects.filter(user=self.request.user).order_by("id")

    def perform_create(self, serializer: Any) -> None:
        """Saved for the caller."""
        serializer.save(user=self.request.user)


class EditorDrafts(generics.ListAPIView[Article]):
    """Drafts of every author: editors only."""

    serializer_class = ArticleSerializer

    def get_queryset(self) -> QuerySet[Article]:
        """The drafts, for an editor."""
        profile = getattr(self.request.user, "profile", None)
        if profile is None or profile.role != "editor":
            raise NotFound()
        return Article.objects.filter(status="draft").order_by("id")


class ArticlesV1(APIView):
    """The first version's list: retired in the secure twin, still live in the other."""

    permission_classes = (permissions.AllowAny,)

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        """Every article, drafts included, unpaginated."""
        if secure():
            return Response({"detail": "gone"}, status=status.HTTP_410_GONE)
        data = ArticleSerializer(Article.objects.order_by("id"), many=True).data
        return Response(data)
