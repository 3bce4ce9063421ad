"""The blog's models: profiles with a role, articles, comments, bookmarks, views, subscriptions."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Profile(models.Model):
    """A user's role: readers comment and bookmark; editors administer the blog."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    role = models.CharField(max_length=20, default="reader")  # reader | editor


class Article(models.Model):
    """A post, published or a draft."""

    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200)
    body = models.TextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    status = models.CharField(max_length=20, default="published")  # published | draft
    published_at = models.DateTimeField(null=True)


class Comment(models.Model):
    """A reader's comment on an article."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    body = models.TextField()


class Bookmark(models.Model):
    """An article a user saved for later."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    article = models.ForeignKey(Article, on_delete=models.CASCADE)


class ArticleView(models.Model):
    """One read of an article, with where the reader came from."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE)
    referrer = models.CharField(max_length=500, blank=True)
    created = models.DateTimeField(auto_now_add=True)


class Subscription(models.Model):
    """A user's newsletter subscription."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    active = models.BooleanField(default=True)
