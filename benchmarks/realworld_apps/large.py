"""The larger real APIs: the MLflow tracking server, Prefect server, Label Studio."""

from __future__ import annotations

import shutil
from pathlib import Path

from benchmarks.realworld_apps.base import PASSWORD, App, Running, basic, two_users, venv_run

# --- MLflow (Apache-2.0): tracking server with basic auth, per-user experiments, one shared ---

_MLFLOW_ADMIN = f"admin-{PASSWORD}"


def _mlflow_prepare(running: Running) -> None:
    (running.data / "auth.ini").write_text(
        f"""[mlflow]
default_permission = NO_PERMISSIONS
database_uri = sqlite:///{running.data / "auth.db"}
admin_username = admin
admin_password = {_MLFLOW_ADMIN}
authorization_function = mlflow.server.auth:authenticate_request_basic_auth
auth_cache_ttl_seconds = 60
""",
        encoding="utf-8",
    )


def _mlflow_seed(running: Running) -> None:
    admin = basic("admin", _MLFLOW_ADMIN)
    api = "/api/2.0/mlflow"
    for user in ("alice", "bob"):
        body = {"username": user, "password": PASSWORD}
        running.ok("POST", f"{api}/users/create", body=body, headers=admin)
    experiments = {}
    for user in ("alice", "bob"):
        auth = basic(user)
        created = running.ok(
            "POST", f"{api}/experiments/create", body={"name": f"{user}-churn"}, headers=auth
        )
        experiments[user] = created["experiment_id"]
        for n in (1, 2):
            run = running.ok(
                "POST",
                f"{api}/runs/create",
                body={"experiment_id": experiments[user], "run_name": f"{user}-run-{n}"},
                headers=auth,
            )["run"]["info"]["run_id"]
            metric = {"run_id": run, "key": "auc", "value": 0.8 + n / 100, "timestamp": 0}
            running.ok("POST", f"{api}/runs/log-metric", body=metric, headers=auth)
            param = {"run_id": run, "key": "max_depth", "value": str(n + 3)}
            running.ok("POST", f"{api}/runs/log-parameter", body=param, headers=auth)
        running.ok(
            "POST", f"{api}/registered-models/create", body={"name": f"{user}-model"}, headers=auth
        )
    # Shared: bob may read alice's experiment (granted by the admin).
    grant = {
        "username": "bob",
        "resource_type": "experiment",
        "resource_id": experiments["alice"],
        "permission": "READ",
    }
    running.ok("POST", "/api/3.0/mlflow/users/permissions/grant", body=grant, headers=admin)
    two_users(running)


MLFLOW = App(
    name="mlflow",
    requirements=("mlflow[auth]==3.17.2",),
    license="Apache-2.0",
    command=lambda r: [
        "mlflow",
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(r.port),
        "--backend-store-uri",
        f"sqlite:///{r.data / 'mlflow.db'}",
        "--artifacts-destination",
        str(r.data / "artifacts"),
        "--app-name",
        "basic-auth",
        "--workers",
        "1",  # the machine has 2 cores; 4 workers only compete with the scanner
    ],
    env=lambda r: {
        "MLFLOW_AUTH_CONFIG_PATH": str(r.data / "auth.ini"),
        "MLFLOW_FLASK_SERVER_SECRET_KEY": "realworld-benchmark-not-a-secret",
    },
    prepare=_mlflow_prepare,
    seed=_mlflow_seed,
    ready="/health",
    start_timeout=180.0,
)


# --- Prefect server (Apache-2.0): FastAPI on SQLite, basic auth, a big OpenAPI document -----


def _prefect_seed(running: Running) -> None:
    auth = basic("admin")
    flow = running.ok("POST", "/api/flows/", body={"name": "nightly-etl"}, headers=auth)["id"]
    deployment = running.ok(
        "POST",
        "/api/deployments/",
        body={"name": "nightly", "flow_id": flow, "tags": ["etl"]},
        headers=auth,
    )["id"]
    for n in (1, 2):
        body = {"flow_id": flow, "deployment_id": deployment, "name": f"run-{n}"}
        running.ok("POST", "/api/flow_runs/", body=body, headers=auth)
    for name, value in (("region", "eu-west"), ("batch_size", 500)):
        running.ok("POST", "/api/variables/", body={"name": name, "value": value}, headers=auth)
    limit = {"tag": "database", "concurrency_limit": 2}
    running.ok("POST", "/api/concurrency_limits/", body=limit, headers=auth)
    artifact = {"key": "daily-report", "type": "markdown", "data": "# Daily report\nall green"}
    running.ok("POST", "/api/artifacts/", body=artifact, headers=auth)
    running.ok("POST", "/api/work_pools/", body={"name": "local", "type": "process"}, headers=auth)
    running.identities = {"admin": f"basic:admin:{PASSWORD}"}


PREFECT = App(
    name="prefect",
    requirements=("prefect==3.9.1",),
    license="Apache-2.0",
    command=lambda r: [
        "prefect",
        "server",
        "start",
        "--host",
        "127.0.0.1",
        "--port",
        str(r.port),
        "--no-services",
        "--no-ui",
        "--analytics-off",
    ],
    env=lambda r: {
        "PREFECT_HOME": str(r.data),
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{r.data / 'prefect.db'}",
        "PREFECT_SERVER_API_AUTH_STRING": f"admin:{PASSWORD}",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    },
    seed=_prefect_seed,
    ready="/api/health",
    spec="/api/openapi.json",
    start_timeout=180.0,
)


# --- Label Studio (Apache-2.0): Django REST framework, an admin and two ordinary annotators --

_LS_TOKENS = {"alice": "alice0realworld0token0aaaa", "bob": "bob0realworld0token0bbbbbb"}
_LS_USERS = """
import os, pathlib, sys
import label_studio
sys.path.insert(0, str(pathlib.Path(label_studio.__file__).parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "label_studio.core.settings.label_studio")
import django
django.setup()
from organizations.models import Organization
from rest_framework.authtoken.models import Token
from users.models import User
org = Organization.objects.first()
for name, key in ((sys.argv[2], sys.argv[3]), (sys.argv[4], sys.argv[5])):
    user = User.objects.create_user(email=f"{name}@example.com", password=sys.argv[1],
                                    username=name, first_name=name.title())
    org.add_user(user)
    user.active_organization = org
    user.save()
    Token.objects.filter(user=user).delete()
    Token.objects.create(user=user, key=key)
"""


def _label_studio_seed(running: Running) -> None:
    argv = ["python", "-c", _LS_USERS, PASSWORD]
    for name, key in _LS_TOKENS.items():
        argv += [name, key]
    venv_run(running, argv, _label_studio_env(running), cwd=running.data)
    for name, key in _LS_TOKENS.items():
        auth = {"Authorization": f"Token {key}"}
        project = running.ok(
            "POST",
            "/api/projects/",
            body={
                "title": f"{name.title()}'s sentiment project",
                "label_config": '<View><Text name="text" value="$text"/><Choices name="s" '
                'toName="text"><Choice value="positive"/><Choice value="negative"/>'
                "</Choices></View>",
            },
            headers=auth,
        )["id"]
        tasks = [{"text": f"{name} task {n}"} for n in (1, 2, 3)]
        running.ok("POST", f"/api/projects/{project}/import", body=tasks, headers=auth)
    running.identities = {
        name: f"header:Authorization:Token {key}" for name, key in _LS_TOKENS.items()
    }


def _label_studio_env(running: Running) -> dict[str, str]:
    return {
        "LABEL_STUDIO_BASE_DATA_DIR": str(running.data / "ls"),
        "LATEST_VERSION_CHECK": "false",
        "COLLECT_ANALYTICS": "false",
        "SENTRY_DSN": "",
        "FRONTEND_SENTRY_DSN": "",
    }


LABEL_STUDIO = App(
    name="label-studio",
    requirements=("label-studio==1.23.2",),
    license="Apache-2.0",
    command=lambda r: [
        "label-studio",
        "start",
        "--data-dir",
        str(r.data / "ls"),
        "--internal-host",
        "127.0.0.1",
        "-p",
        str(r.port),
        "--no-browser",
        "--username",
        "admin@example.com",
        "--password",
        f"admin-{PASSWORD}",
        "--enable-legacy-api-token",
    ],
    env=_label_studio_env,
    seed=_label_studio_seed,
    ready="/health",
    spec="/docs/api/schema/",
    start_timeout=300.0,
)


# --- Apache Superset (Apache-2.0): Flask-AppBuilder, JWT, roles, owned dashboards ------------

_SUPERSET_SECRET = "realworld-benchmark-not-a-secret-0123456789abcdef"
_SUPERSET_DASHBOARDS = """
from superset.app import create_app
app = create_app()
with app.app_context():
    from superset import db, security_manager
    from superset.models.dashboard import Dashboard
    alice, bob = security_manager.find_user("alice"), security_manager.find_user("bob")
    for title, slug, owner, published in (
        ("Alice's draft metrics", "alice-draft", alice, False),
        ("Company KPIs", "company-kpis", alice, True),
        ("Bob's draft funnel", "bob-draft", bob, False),
    ):
        db.session.add(Dashboard(dashboard_title=title, slug=slug, owners=[owner],
                                 published=published, created_by=owner, changed_by=owner))
    db.session.commit()
"""


def _superset_config(running: Running, database: Path) -> Path:
    config = database.parent / "superset_config.py"
    config.write_text(
        f"SECRET_KEY = {_SUPERSET_SECRET!r}\nSQLALCHEMY_DATABASE_URI = 'sqlite:///{database}'\n",
        encoding="utf-8",
    )
    return config


def _superset_prepare(running: Running) -> None:
    """Copy a pristine database (migrated, admin, alice and bob as Alpha, their dashboards),
    built once per virtualenv: the CLI takes minutes, a copy milliseconds."""
    template = running.venv / "realworld-template" / "superset.db"
    if not template.exists():
        template.parent.mkdir(exist_ok=True)
        env = {"SUPERSET_CONFIG_PATH": str(_superset_config(running, template))}
        steps = [
            ["superset", "db", "upgrade"],
            [
                "superset",
                "fab",
                "create-admin",
                "--username",
                "admin",
                "--firstname",
                "Ada",
                "--lastname",
                "Admin",
                "--email",
                "admin@example.com",
                "--password",
                f"admin-{PASSWORD}",
            ],
            ["superset", "init"],
        ]
        for user in ("alice", "bob"):
            steps.append(
                [
                    "superset",
                    "fab",
                    "create-user",
                    "--role",
                    "Alpha",
                    "--username",
                    user,
                    "--firstname",
                    user.title(),
                    "--lastname",
                    "Example",
                    "--email",
                    f"{user}@example.com",
                    "--password",
                    PASSWORD,
                ]
            )
        steps.append(["python", "-c", _SUPERSET_DASHBOARDS])
        for argv in steps:
            venv_run(running, argv, env, cwd=template.parent)
    shutil.copyfile(template, running.data / "superset.db")
    _superset_config(running, running.data / "superset.db")


def _superset_seed(running: Running) -> None:
    tokens = {}
    for user in ("alice", "bob"):
        login = {"username": user, "password": PASSWORD, "provider": "db", "refresh": True}
        tokens[user] = running.ok("POST", "/api/v1/security/login", body=login)["access_token"]
    running.identities = {user: f"bearer:{token}" for user, token in tokens.items()}


SUPERSET = App(
    name="superset",
    requirements=("apache-superset==6.1.0", "rich==15.0.0", "flask-caching==2.3.1"),
    license="Apache-2.0",
    command=lambda r: ["superset", "run", "-h", "127.0.0.1", "-p", str(r.port), "--with-threads"],
    env=lambda r: {"SUPERSET_CONFIG_PATH": str(r.data / "superset_config.py")},
    prepare=_superset_prepare,
    seed=_superset_seed,
    ready="/health",
    spec="/api/v1/_openapi",
    start_timeout=180.0,
)
