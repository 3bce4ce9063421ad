"""The Flask "profiles" service: whole user records, orders, and a table chosen by the URL.

``create_app("vulnerable" | "secure", endpoint_url=…, prefix=…, secret=…)`` builds either twin;
``seed(resource, prefix)`` creates and fills its tables. Every deliberate flaw is marked
``# FLAW:`` in the code and its fix ``# FIX:``; ``lab/ground_truth.yaml`` lists
them.
"""

from __future__ import annotations
