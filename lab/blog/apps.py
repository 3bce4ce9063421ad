"""The blog's Django application."""

from __future__ import annotations

from django.apps import AppConfig


class BlogConfig(AppConfig):
    """``lab.blog`` under the label ``blog``; its tables are created without migrations."""

    name = "lab.blog"
    label = "blog"
    default_auto_field = "django.db.models.BigAutoField"
