"""Reports kept on disk by the CLI, so ``middlebrick results <scan-id>`` can render them again.

Each scan's JSON report is written to ``$MIDDLEBRICK_HOME/reports/<scan-id>.json`` (by default
``~/.middlebrick/reports``). Reports hold redacted evidence only; the folder is private to the user.
"""

from __future__ import annotations

import os
from pathlib import Path

from middlebrick.errors import UsageError
from middlebrick.gate import load_report
from middlebrick.report import Report

__all__ = ["find_report", "reports_dir", "save_report"]


def reports_dir() -> Path:
    """Where reports are kept."""
    return Path(os.environ.get("MIDDLEBRICK_HOME") or "~/.middlebrick").expanduser() / "reports"


def save_report(report: Report) -> Path:
    """Keep ``report`` as JSON under its scan id; return the file."""
    folder = reports_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / f"{report.scan_id}.json"
    path.write_text(report.model_dump_json(indent=2), encoding="utf-8")
    return path


def find_report(ref: str) -> Report:
    """A report by file path, scan id, or unique prefix of a kept scan id."""
    path = Path(ref)
    if path.is_file():
        return load_report(path)
    folder = reports_dir()
    if ref and all(c in "0123456789abcdef" for c in ref):
        matches = sorted(folder.glob(f"{ref}*.json")) if folder.is_dir() else []
        if len(matches) == 1:
            return load_report(matches[0])
        if len(matches) > 1:
            raise UsageError(
                f"scan id prefix {ref!r} matches {len(matches)} reports; give more of it"
            )
    raise UsageError(
        f"no report {ref!r}: give a JSON report file or the id of a scan kept in {folder}"
    )
