"""The small real APIs: Kinto, Datasette, httpbin, pypiserver, Jupyter Server."""

from __future__ import annotations

import io
import json
import sqlite3
import tarfile
from pathlib import Path

from benchmarks.realworld_apps.base import PASSWORD, App, Running, basic, two_users, venv_run

# --- Kinto (Apache-2.0): accounts plugin, per-user buckets, a public and a shared collection --


def _kinto_prepare(running: Running) -> None:
    (running.data / "kinto.ini").write_text(
        f"""[app:main]
use = egg:kinto
kinto.storage_backend = kinto.core.storage.memory
kinto.storage_url =
kinto.cache_backend = kinto.core.cache.memory
kinto.permission_backend = kinto.core.permission.memory
kinto.permission_url =
kinto.includes = kinto.plugins.accounts
multiauth.policies = account
multiauth.policy.account.use = kinto.plugins.accounts.AccountsPolicy
kinto.account_create_principals = system.Everyone
kinto.account_write_principals = account:admin
kinto.bucket_create_principals = system.Authenticated
kinto.userid_hmac_secret = realworld-benchmark-not-a-secret

[server:main]
use = egg:waitress#main
host = 127.0.0.1
port = {running.port}
""",
        encoding="utf-8",
    )


def _kinto_seed(running: Running) -> None:
    for user in ("alice", "bob"):
        running.ok("PUT", f"/v1/accounts/{user}", body={"data": {"password": PASSWORD}})
    alice, bob = basic("alice"), basic("bob")
    for user, auth in (("alice", alice), ("bob", bob)):
        running.ok("PUT", f"/v1/buckets/{user}-notes", body={"data": {}}, headers=auth)
        running.ok("PUT", f"/v1/buckets/{user}-notes/collections/notes", body={}, headers=auth)
        for i in (1, 2):
            running.ok(
                "POST",
                f"/v1/buckets/{user}-notes/collections/notes/records",
                body={"data": {"title": f"{user}'s note {i}", "body": f"private to {user}"}},
                headers=auth,
            )
    # Public: a bucket anyone may read. Shared: alice's "team" collection that bob may read.
    public = {"data": {}, "permissions": {"read": ["system.Everyone"]}}
    running.ok("PUT", "/v1/buckets/public", body=public, headers=alice)
    running.ok("PUT", "/v1/buckets/public/collections/news", body={}, headers=alice)
    running.ok(
        "POST",
        "/v1/buckets/public/collections/news/records",
        body={"data": {"title": "Release notes", "body": "public by design"}},
        headers=alice,
    )
    shared = {"data": {}, "permissions": {"read": ["account:bob"]}}
    running.ok("PUT", "/v1/buckets/alice-notes/collections/team", body=shared, headers=alice)
    running.ok(
        "POST",
        "/v1/buckets/alice-notes/collections/team/records",
        body={"data": {"title": "shared with bob"}},
        headers=alice,
    )
    two_users(running)


KINTO = App(
    name="kinto",
    requirements=("kinto==26.5.0",),
    license="Apache-2.0",
    command=lambda r: ["kinto", "start", "--ini", str(r.data / "kinto.ini")],
    prepare=_kinto_prepare,
    seed=_kinto_seed,
    ready="/v1/",
    spec="/v1/__api__",
)


# --- Datasette (Apache-2.0): a small SQLite database, read-only and public by design ---------


def _datasette_prepare(running: Running) -> None:
    db = sqlite3.connect(running.data / "shop.db")
    db.executescript(
        """
        CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, city TEXT);
        CREATE TABLE products (id INTEGER PRIMARY KEY, title TEXT, price REAL);
        CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id),
                             product_id INTEGER REFERENCES products(id), quantity INTEGER);
        INSERT INTO customers VALUES (1, 'Ada', 'London'), (2, 'Grace', 'Arlington');
        INSERT INTO products VALUES (1, 'Notebook', 3.5), (2, 'Pencil', 0.8), (3, 'Ruler', 1.2);
        INSERT INTO orders VALUES (1, 1, 1, 2), (2, 2, 3, 1), (3, 1, 2, 10);
        """
    )
    db.commit()
    db.close()


def _no_users(running: Running) -> None:
    running.identities = {}


DATASETTE = App(
    name="datasette",
    requirements=("datasette==0.65.5",),
    license="Apache-2.0",
    command=lambda r: [
        "datasette",
        "serve",
        str(r.data / "shop.db"),
        "-h",
        "127.0.0.1",
        "-p",
        str(r.port),
        "--setting",
        "sql_time_limit_ms",
        "1000",
    ],
    prepare=_datasette_prepare,
    seed=_no_users,
    ready="/-/versions.json",
)


# --- httpbin (MIT or ISC): the HTTP request & response service, no users --------------------------

HTTPBIN = App(
    name="httpbin",
    requirements=("httpbin==0.10.4", "flasgger==0.9.7.1", "gunicorn==23.0.0"),
    license="MIT OR ISC",
    command=lambda r: ["gunicorn", "-b", f"127.0.0.1:{r.port}", "-w", "2", "httpbin:app"],
    seed=_no_users,
    ready="/get",
    spec="/spec.json",
)


# --- pypiserver (zlib/libpng or BSD): a private package index, two uploaders ----------------


def _pypiserver_prepare(running: Running) -> None:
    packages = running.data / "packages"
    packages.mkdir()
    for project, version in (("alice-tools", "1.0"), ("alice-tools", "1.1"), ("bob-lib", "0.3")):
        _sdist(packages, project, version)
    script = (
        "import sys; from passlib.apache import HtpasswdFile as H; h = H(sys.argv[1], new=True)\n"
        "for user in ('alice', 'bob'): h.set_password(user, sys.argv[2])\nh.save()"
    )
    htpasswd = str(running.data / "htpasswd")
    venv_run(running, ["python", "-c", script, htpasswd, PASSWORD], {}, cwd=running.data)


def _sdist(folder: Path, project: str, version: str) -> None:
    name = f"{project.replace('-', '_')}-{version}"
    info = f"Metadata-Version: 2.1\nName: {project}\nVersion: {version}\n".encode()
    with tarfile.open(folder / f"{name}.tar.gz", "w:gz") as tar:
        member = tarfile.TarInfo(f"{name}/PKG-INFO")
        member.size = len(info)
        tar.addfile(member, io.BytesIO(info))


PYPISERVER = App(
    name="pypiserver",
    requirements=("pypiserver[passlib]==2.4.2",),
    license="zlib/libpng OR BSD",
    command=lambda r: [
        "pypi-server",
        "run",
        "-i",
        "127.0.0.1",
        "-p",
        str(r.port),
        "-P",
        str(r.data / "htpasswd"),
        "-a",
        "update,download,list",
        str(r.data / "packages"),
    ],
    prepare=_pypiserver_prepare,
    seed=two_users,
    ready="/health",
)


# --- Jupyter Server (BSD-3-Clause): one user with a token, some files and folders ----------

_JUPYTER_TOKEN = "realworld-jupyter-token-0123456789abcdef"


def _jupyter_prepare(running: Running) -> None:
    root = running.data / "notebooks"
    (root / "reports").mkdir(parents=True)
    (root / "reports" / "q3.md").write_text("# Q3 report\nrevenue up\n", encoding="utf-8")
    (root / "notes.txt").write_text("meeting notes\n", encoding="utf-8")
    notebook = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (root / "analysis.ipynb").write_text(json.dumps(notebook), encoding="utf-8")


def _jupyter_seed(running: Running) -> None:
    running.identities = {"alice": f"header:Authorization:token {_JUPYTER_TOKEN}"}


JUPYTER = App(
    name="jupyter-server",
    requirements=("jupyter-server==2.21.1",),
    license="BSD-3-Clause",
    command=lambda r: [
        "jupyter-server",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={r.port}",
        "--ServerApp.port_retries=0",
        "--allow-root",  # the benchmark may run as root (CI does)
        "--ServerApp.open_browser=False",
        f"--ServerApp.root_dir={r.data / 'notebooks'}",
        f"--IdentityProvider.token={_JUPYTER_TOKEN}",
    ],
    env=lambda r: {"JUPYTER_CONFIG_DIR": str(r.data / ".jupyter"), "JUPYTER_NO_CONFIG": "1"},
    prepare=_jupyter_prepare,
    seed=_jupyter_seed,
    ready="/api",
    spec="/api/spec.yaml",
)
