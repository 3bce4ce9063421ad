"""The Django REST framework "blog" service on PostgreSQL: articles, comments, bookmarks.

``create_app("vulnerable" | "secure", database_url=…, secret=…)`` builds either twin (one per
process: Django keeps one set of settings); ``seed(database_url, secret=…, variant=…)`` creates
and fills its tables in a subprocess. Every deliberate flaw is marked ``# FLAW:`` in the code
and its fix ``# FIX:``; ``lab/ground_truth.yaml`` lists them.
"""

from __future__ import annotations

STORE = "postgres"
SPEC_PATH = "/api/schema/"
