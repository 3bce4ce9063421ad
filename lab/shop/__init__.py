"""The FastAPI "shop" service on SQLAlchemy 2 and SQLite: products, carts, addresses, orders.

``create_app("vulnerable" | "secure", database_url=…, secret=…)`` builds either twin;
``seed(database_url)`` creates and fills its tables (again, on reseed). Every deliberate flaw is
marked ``# FLAW:`` in the code and its fix ``# FIX:``; ``lab/ground_truth.yaml`` lists them.
"""

from __future__ import annotations

STORE = "sqlite"
SPEC_PATH = "/openapi.json"
