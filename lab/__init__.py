"""The middlebrick lab: small vulnerable services, each with a secure twin.

Three run on DynamoDB (items, tenants, profiles), two on relational stores: shop (FastAPI,
SQLAlchemy 2, SQLite) and blog (Django REST framework, PostgreSQL).

``lab.runner.start()`` brings the whole lab up on 127.0.0.1; ``lab/ground_truth.yaml`` says what a
scanner should find on each service. Nothing here is installed with the scanner; it runs from a
checkout with the ``lab`` extra (``pip install -e '.[lab]'``) and Node.js for dynalite.
"""

from __future__ import annotations

SERVICES: tuple[str, ...] = ("items", "tenants", "profiles", "shop", "blog")
VARIANTS: tuple[str, ...] = ("vulnerable", "secure")
