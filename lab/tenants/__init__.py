"""The Django "tenants" service: members and tickets of two tenants, and tenant assets.

``create_app("vulnerable" | "secure", endpoint_url=…, prefix=…, secret=…)`` builds either twin
(one per process: Django keeps one set of settings); ``seed(resource, prefix)`` creates and
fills its table. Every deliberate flaw is marked ``# FLAW:`` in the code and its fix ``# FIX:``;
``lab/ground_truth.yaml`` lists them.
"""

from __future__ import annotations
