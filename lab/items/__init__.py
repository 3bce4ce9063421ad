"""The FastAPI "items" service: items owned by users, an LLM chat endpoint, and URL handling.

``create_app("vulnerable" | "secure", endpoint_url=…, prefix=…, secret=…)`` builds either twin;
``seed(resource, prefix)`` creates and fills its tables. Every deliberate flaw is marked
``# FLAW:`` in the code and its fix ``# FIX:``; ``lab/ground_truth.yaml`` lists them.
"""

from __future__ import annotations
