"""The real APIs of the real-world benchmark, by name, and how to install and start them."""

from __future__ import annotations

from benchmarks.realworld_apps.base import App, Running, default_cache, install, start
from benchmarks.realworld_apps.large import LABEL_STUDIO, MLFLOW, PREFECT, SUPERSET
from benchmarks.realworld_apps.small import DATASETTE, HTTPBIN, JUPYTER, KINTO, PYPISERVER

__all__ = ["APPS", "App", "Running", "default_cache", "install", "start"]

APPS: dict[str, App] = {
    app.name: app
    for app in (
        KINTO,
        DATASETTE,
        HTTPBIN,
        PYPISERVER,
        JUPYTER,
        MLFLOW,
        PREFECT,
        LABEL_STUDIO,
        SUPERSET,
    )
}
