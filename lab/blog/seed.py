"""Create and fill the blog's PostgreSQL database, in a subprocess (Django's settings are global).

``seed(database_url, secret=…, variant=…)`` runs ``python -m lab.blog.seed`` once: tables are
created (``migrate``, then ``migrate --run-syncdb`` for the blog's own), emptied, and filled
with the lab's users (alice, bob and carol are readers, dave is the editor), their Django
REST framework tokens (derived from the lab secret, see ``lab.identities.drf_token``), twelve
articles, comments, bookmarks and subscriptions. Every password is ``lab-password-<name>``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

_REPO = Path(__file__).resolve().parents[2]


def seed(database_url: str, *, secret: str, variant: str) -> None:
    """Seed the database at ``database_url`` for ``variant`` (a subprocess; raises on failure)."""
    env = dict(os.environ, LAB_SECRET=secret, PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_REPO), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-m", "lab.blog.seed", database_url, variant],
        env=env,
        cwd=_REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"seeding the blog failed:\n{done.stderr[-2000:]}")


def _fill(variant: str, secret: str) -> None:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from lab.blog.models import Article, Bookmark, Comment, Profile, Subscription
    from lab.identities import USERS, drf_token

    call_command("migrate", verbosity=0)  # Django's own apps first: the blog's tables refer
    call_command("migrate", run_syncdb=True, verbosity=0)  # to auth_user
    model = get_user_model()
    for table in (Bookmark, Comment, Subscription, Article, Profile, Token):
        table.objects.all().delete()
    model.objects.all().delete()
    users = {}
    for user in USERS.values():
        users[user.name] = model.objects.create_user(
            id=user.number,
            username=user.name,
            email=f"{user.name}@blog.example",
            password=f"lab-password-{user.name}",
        )
        Profile.objects.create(
            user=users[user.name], role="editor" if user.role == "admin" else "reader"
        )
        Subscription.objects.create(user=users[user.name])
        key = drf_token(user.name, secret=secret, scope=f"blog/{variant}")
        Token.objects.create(user=users[user.name], key=key)
    epoch = datetime(2024, 1, 1, tzinfo=UTC)
    authors = ["dave", "alice", "dave", "bob"]
    for number in range(1, 13):
        article = Article.objects.create(
            id=number,
            slug=f"post-{number}",
            title=f"Notes on topic {number}",
            body=f"Body of post {number}.",
            author=users[authors[number % 4]],
            status="draft" if number % 6 == 0 else "published",
            published_at=epoch + timedelta(days=7 * number),
        )
        Comment.objects.create(article=article, author=users["carol"], body=f"On {number}.")
    for name, article_id in (("alice", 1), ("bob", 2), ("carol", 3), ("dave", 4)):
        Bookmark.objects.create(user=users[name], article_id=article_id)
    with _connection() as cursor:
        for table in ("auth_user", "blog_article"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT MAX(id) FROM {table}))"
            )


def _connection():  # type: ignore[no-untyped-def]
    from django.db import connection

    return connection.cursor()


def main(argv: list[str]) -> int:
    """``python -m lab.blog.seed DATABASE_URL VARIANT`` (the secret from ``$LAB_SECRET``)."""
    database_url, variant = argv
    secret = os.environ["LAB_SECRET"]
    from lab.blog.app import configure

    configure(
        "secure" if variant == "secure" else "vulnerable", database_url=database_url, secret=secret
    )
    _fill(variant, secret)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
