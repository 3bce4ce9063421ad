"""The tenants service's asset files, inside a fake filesystem root the lab creates.

The lab never reads real system files: ``FakeRoot`` is a temporary folder that stands in for
``/``. It holds the asset folder ``/srv/tenants/assets``, a sibling ``/srv/tenants/config``
with fake settings, and a fake ``/etc/passwd`` whose first line (``root:x:0:0:``) proves a
traversal. The vulnerable service maps the absolute path it builds onto this root; the secure
one resolves the asset path and checks it stays inside the asset folder.

The folder is named after the process that made it (``lab-tenants-<pid>-…``): a service stopped
by a signal cannot clean up after itself, so each new ``FakeRoot`` first removes the folders of
processes that are gone.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import posixpath
import shutil
import tempfile
from pathlib import Path

ASSET_DIR = "/srv/tenants/assets"
PASSWD_SIGNATURE = "root:x:0:0:"
FILES: dict[str, str] = {
    "srv/tenants/assets/logo.svg": (
        '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">'
        '<rect width="64" height="64" fill="#2b6cb0"/></svg>\n'
    ),
    "srv/tenants/assets/welcome.txt": "Welcome to the tenant portal.\n",
    "srv/tenants/assets/brand.css": "body { font-family: sans-serif; color: #1a202c; }\n",
    "srv/tenants/config/settings.env": (
        "DJANGO_SETTINGS_MODULE=tenants.settings.production\n"
        "TENANT_TABLE=tenants-prod-records\n"
        "ASSET_BUCKET=tenants-prod-assets\n"
    ),
    "etc/passwd": (
        f"{PASSWD_SIGNATURE}root:/root:/bin/bash\n"
        "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
        "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n"
        "tenants:x:1000:1000:tenants service:/srv/tenants:/bin/sh\n"
    ),
    "etc/hostname": "tenants-web-1\n",
}


_PREFIX = "lab-tenants-"


def _alive(pid: int) -> bool:
    proc = Path("/proc")
    if proc.is_dir():
        return (proc / str(pid)).exists()
    try:
        os.kill(pid, 0)  # signal 0: a liveness probe, nothing is sent
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sweep() -> None:
    """Remove this user's fake roots whose process has exited."""
    for folder in Path(tempfile.gettempdir()).glob(f"{_PREFIX}*-*"):
        pid = folder.name[len(_PREFIX) :].split("-", 1)[0]
        with contextlib.suppress(OSError):
            if pid.isdigit() and folder.stat().st_uid == os.getuid() and not _alive(int(pid)):
                shutil.rmtree(folder, ignore_errors=True)


class FakeRoot:
    """A temporary folder standing in for ``/``; removed at ``cleanup()`` or interpreter exit."""

    def __init__(self) -> None:
        _sweep()
        self.path = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-")).resolve()
        for relative, text in FILES.items():
            target = self.path / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        atexit.register(self.cleanup)

    @property
    def asset_dir(self) -> Path:
        """The real folder behind ``ASSET_DIR``."""
        return self.path / ASSET_DIR.lstrip("/")

    def cleanup(self) -> None:
        """Remove the folder (safe to call twice)."""
        shutil.rmtree(self.path, ignore_errors=True)

    def vulnerable_path(self, name: str) -> Path:
        """FLAW: ``os.path.join(ASSET_DIR, name)`` normalised, no check that it stays inside.

        The absolute path it builds is then looked up under the fake root (the lab's guard:
        anything that would leave the fake root is clamped to it, as ``..`` is at ``/``).
        """
        virtual = posixpath.normpath(posixpath.join(ASSET_DIR, name))
        real = (self.path / virtual.lstrip("/")).resolve()
        if not real.is_relative_to(self.path):  # the lab's guard; never the real filesystem
            return self.path / "nonexistent"
        return real

    def secure_path(self, name: str) -> Path | None:
        """FIX: the resolved path, or None unless it is a file inside the asset folder."""
        base = self.asset_dir.resolve()
        real = (base / name).resolve()
        if not real.is_relative_to(base) or not real.is_file():
            return None
        return real
