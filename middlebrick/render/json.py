"""The JSON report: the ``Report`` model serialised, the format the store and other tools read."""

from __future__ import annotations

from middlebrick.render import renderer
from middlebrick.report import Report


@renderer("json")
def render_json(report: Report, *, color: bool) -> str:
    """The report as indented JSON; ``Report.model_validate_json`` reads it back unchanged.

    JSON escapes control characters itself (ESC becomes ``\\u001b``), so no target-controlled
    byte reaches a terminal raw. ``color`` is ignored.
    """
    return report.model_dump_json(indent=2)
