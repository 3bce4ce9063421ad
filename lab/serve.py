"""Run one lab service on 127.0.0.1 with a real server.

    python -m lab.serve <service> <variant> --port P (--endpoint URL | --database URL) [--secret S]

ASGI apps (FastAPI, Django's ASGI handler) run under uvicorn with its own ``Server`` header off
(services that disclose versions add the header themselves); Flask runs under Werkzeug's server,
with the real Werkzeug debugger for the vulnerable variant and without it (and without a
``Server`` header) for the secure one; any other WSGI app runs under Werkzeug without debugger.
The secret defaults to ``$LAB_SECRET`` so that it does not show in the process list.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import sys
from typing import Any

from lab import SERVICES, VARIANTS

HOST = "127.0.0.1"


def _is_asgi(app: Any) -> bool:
    return inspect.iscoroutinefunction(app) or inspect.iscoroutinefunction(type(app).__call__)


def _serve_asgi(app: Any, port: int) -> None:
    import uvicorn

    uvicorn.run(
        app,
        host=HOST,
        port=port,
        log_level="warning",
        lifespan="off",
        server_header=False,
        access_log=False,
    )


def _serve_wsgi(app: Any, port: int, *, debugger: bool) -> None:
    from werkzeug.serving import WSGIRequestHandler, run_simple

    class _NoServerHeader(WSGIRequestHandler):
        """Werkzeug's handler without the ``Server: Werkzeug/x Python/y`` header."""

        def send_response(self, code: int, message: str | None = None) -> None:
            self.log_request(code)
            self.send_response_only(code, message)
            self.send_header("Date", self.date_time_string())

    run_simple(
        HOST,
        port,
        app,
        use_debugger=debugger,
        use_evalex=debugger,
        use_reloader=False,
        threaded=True,
        request_handler=WSGIRequestHandler if debugger else _NoServerHeader,
    )


def build_app(
    service: str,
    variant: str,
    *,
    secret: str,
    endpoint_url: str | None = None,
    database_url: str | None = None,
) -> Any:
    """Build ``lab.<service>.app``'s variant: on the DynamoDB tables named
    ``<service>_<variant>_…`` at ``endpoint_url``, or on the database at ``database_url``."""
    module = importlib.import_module(f"lab.{service}.app")
    if database_url is not None:
        return module.create_app(variant, database_url=database_url, secret=secret)
    return module.create_app(
        variant, endpoint_url=endpoint_url, prefix=f"{service}_{variant}_", secret=secret
    )


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m lab.serve", description=__doc__.split("\n")[0])
    parser.add_argument("service", choices=SERVICES)
    parser.add_argument("variant", choices=VARIANTS)
    parser.add_argument("--port", type=int, required=True)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--endpoint", help="DynamoDB endpoint URL")
    where.add_argument("--database", help="the relational database's URL (SQLAlchemy form)")
    parser.add_argument("--secret", default=os.environ.get("LAB_SECRET"))
    args = parser.parse_args(argv)
    if not args.secret:
        parser.error("--secret or $LAB_SECRET is required")
    app = build_app(
        args.service,
        args.variant,
        secret=args.secret,
        endpoint_url=args.endpoint,
        database_url=args.database,
    )
    vulnerable = args.variant == "vulnerable"
    if _is_asgi(app):
        _serve_asgi(app, args.port)
    else:
        is_flask = type(app).__module__.startswith("flask")
        _serve_wsgi(app, args.port, debugger=vulnerable and is_flask)
    return 0


if __name__ == "__main__":
    sys.exit(main())
