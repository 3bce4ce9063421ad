"""``serve``, ``worker``, ``keys`` and ``users``: the scanner as a service."""

from __future__ import annotations

import getpass
import os
import socket
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from middlebrick.cli._app import app
from middlebrick.errors import UsageError

if TYPE_CHECKING:
    from middlebrick.domains import DomainVerifier

keys_app = typer.Typer(help="API keys of the service: create, list, revoke.")
users_app = typer.Typer(help="Dashboard log-ins of the service.")
app.add_typer(keys_app, name="keys")
app.add_typer(users_app, name="users")

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="SQLAlchemy URL of the store (default: a SQLite file in your data directory).",
        envvar="MIDDLEBRICK_DATABASE_URL",
    ),
]
Broker = Annotated[
    str | None,
    typer.Option(
        "--broker",
        help="Celery broker URL (redis://…): hand scans to `middlebrick worker` processes.",
        envvar="MIDDLEBRICK_BROKER",
    ),
]
Org = Annotated[str, typer.Option("--org", help="Name of the organisation.", min=1)]
AllowPrivate = Annotated[
    bool,
    typer.Option(
        "--allow-private",
        help="Let organisations scan, verify and send webhooks to loopback and private "
        "addresses (refused by default: the service could be aimed at its own network).",
        envvar="MIDDLEBRICK_ALLOW_PRIVATE",
    ),
]


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8080,
    database_url: DatabaseUrl = None,
    broker: Broker = None,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=32, help="Scans run at once (in-process).")
    ] = 2,
    allow_private: AllowPrivate = False,
    dns_resolver: Annotated[
        str | None,
        typer.Option(
            "--dns-resolver",
            help="HOST[:PORT] of the DNS server that domain verification asks (default: the "
            "system's).",
            envvar="MIDDLEBRICK_DNS_RESOLVER",
        ),
    ] = None,
) -> None:
    """Run the REST API, the dashboard, the workers and the scheduler of monitors."""
    _check_can_listen(host, port)
    import uvicorn

    from middlebrick.server import ServiceSettings, create_app

    settings = ServiceSettings(
        database_url=database_url,
        broker=broker,
        workers=workers,
        allow_private=allow_private,
        verifier=_verifier(dns_resolver),
    )
    typer.echo(f"middlebrick serve on http://{host}:{port} (API under /api/v1)", err=True)
    uvicorn.run(
        create_app(settings), host=host, port=port, log_level="warning", timeout_graceful_shutdown=5
    )


@app.command()
def worker(
    broker: Broker = None,
    database_url: DatabaseUrl = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=64, help="Scans this worker runs at once.")
    ] = 2,
    beat: Annotated[
        bool,
        typer.Option(
            "--beat", help="Also run the scheduler of monitors (Celery beat): in one worker only."
        ),
    ] = False,
    allow_private: AllowPrivate = False,
) -> None:
    """Run a Celery worker that takes scans and webhook deliveries from the broker (needs
    MIDDLEBRICK_SECRET_KEY)."""
    from middlebrick.jobs.celery_app import start_worker
    from middlebrick.store.database import default_database_url, open_store

    if not broker:
        raise UsageError("worker needs --broker (or MIDDLEBRICK_BROKER), e.g. redis://127.0.0.1")
    url = database_url or default_database_url()
    open_store(url).close()  # migrated, and reachable, before taking any task
    start_worker(
        broker, database_url=url, concurrency=concurrency, beat=beat, allow_private=allow_private
    )


@keys_app.command("create")
def keys_create(
    org: Org,
    database_url: DatabaseUrl = None,
    name: Annotated[str, typer.Option("--name", help="What the key is for.")] = "default",
    rate_limit: Annotated[
        int, typer.Option("--rate-limit", min=1, help="Requests per minute.")
    ] = 600,
    daily_scans: Annotated[
        int, typer.Option("--daily-scans", min=1, help="Scans per 24 hours.")
    ] = 500,
) -> None:
    """Create an API key (and the organisation if needed); print the key alone on stdout."""
    from middlebrick.server.auth import digest, new_key
    from middlebrick.store import open_store

    repo = open_store(database_url)
    try:
        org_id = repo.organisation(_org_name(org), create=True)
        assert org_id is not None
        key = new_key()
        info = repo.add_key(
            org_id,
            name=name,
            prefix=key[:10],
            digest=digest(key),
            rate_limit=rate_limit,
            daily=daily_scans,
        )
    finally:
        repo.close()
    typer.echo(f"key {info.id} ({info.prefix}…) created for {info.org}", err=True)
    typer.echo(key)


@keys_app.command("list")
def keys_list(org: Org, database_url: DatabaseUrl = None) -> None:
    """List the organisation's keys (never the keys themselves)."""
    repo, org_id = _open_org(org, database_url)
    for key in repo.keys(org_id):
        state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "live"
        typer.echo(
            f"{key.id:>4}  {key.prefix}…  {key.name:<20} {state:<18} "
            f"{key.rate_limit}/min {key.daily_scans}/day"
        )
    repo.close()


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[int, typer.Argument(help="The key's id (see `keys list`).")],
    org: Org,
    database_url: DatabaseUrl = None,
) -> None:
    """Revoke a key: it stops working at once."""
    repo, org_id = _open_org(org, database_url)
    done = repo.revoke_key(org_id, key_id)
    repo.close()
    if not done:
        raise UsageError(f"{org} has no live key {key_id}; see `middlebrick keys list --org {org}`")
    typer.echo(f"key {key_id} revoked")


@keys_app.command("secret")
def keys_secret() -> None:
    """Print a new MIDDLEBRICK_SECRET_KEY (seals scan credentials; share it with workers)."""
    from middlebrick.store.sealing import new_secret

    typer.echo(new_secret())


@users_app.command("create")
def users_create(
    org: Org,
    email: Annotated[str, typer.Option("--email", help="The log-in's e-mail address.")],
    database_url: DatabaseUrl = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create a dashboard log-in (and the organisation if needed)."""
    from middlebrick.server.auth import hash_password
    from middlebrick.store import open_store

    address = email.strip().lower()
    if "@" not in address or len(address) > 254:
        raise UsageError(
            f"--email {email!r} is not an e-mail address; give one like ada@example.org"
        )
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            raise UsageError("the two passwords differ; run the command again")
    if len(password) < 12:
        raise UsageError("the password is shorter than 12 characters; choose a longer one")
    repo = open_store(database_url)
    try:
        org_id = repo.organisation(_org_name(org), create=True)
        assert org_id is not None
        created = repo.add_user(org_id, address, hash_password(password))
    finally:
        repo.close()
    if not created:
        raise UsageError(f"a log-in {address} exists already; choose another e-mail address")
    typer.echo(f"log-in {address} created for {org}")


def _check_can_listen(host: str, port: int) -> None:
    """A ``UsageError`` (exit 2) when ``host:port`` cannot be listened on: in use, or no such
    address (uvicorn would exit 3, the code of an unreachable target)."""
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        errno = exc.errno if isinstance(exc.errno, int) and exc.errno > 0 else None
        why = (os.strerror(errno) if errno else exc.strerror or type(exc).__name__).lower()
        raise UsageError(
            f"cannot listen on {host}:{port}: {why}; choose another --host or --port"
        ) from None


def _verifier(resolver: str | None) -> DomainVerifier:
    """The domain verifier asking ``HOST[:PORT]`` (``[V6]:PORT``), or the system's resolver."""
    from middlebrick.domains import DomainVerifier

    text = (resolver or "").strip()
    if not text:
        return DomainVerifier()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") or "53"
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, "53"
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(
            f"--dns-resolver {resolver!r} is not HOST[:PORT]; give one like 127.0.0.1:5353"
        )
    return DomainVerifier(nameserver=host, port=int(port))


def _org_name(org: str) -> str:
    name = org.strip()
    if not name or len(name) > 100:
        raise UsageError("--org must name the organisation in 1 to 100 characters")
    return name


def _open_org(org: str, database_url: str | None):  # type: ignore[no-untyped-def]
    from middlebrick.store import open_store

    repo = open_store(database_url)
    org_id = repo.organisation(_org_name(org))
    if org_id is None:
        repo.close()
        raise UsageError(f"there is no organisation {org!r}; create it with `keys create --org`")
    return repo, org_id
