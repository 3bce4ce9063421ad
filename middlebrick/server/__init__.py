"""``middlebrick serve``: the REST API, the dashboard and the workers around the engine.

``create_app(settings)`` builds the FastAPI application; ``ServiceSettings`` says where the store
is, which workers run the scans, and the service's limits.
"""

from __future__ import annotations

from middlebrick.server.app import create_app
from middlebrick.server.settings import ServiceSettings

__all__ = ["ServiceSettings", "create_app"]
