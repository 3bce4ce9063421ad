"""Rules: what the scan's own writes caused is not the API's flaw (issue 21, class 9).

An active scan writes (and a reset changes state); a 5xx answer to a read made after that may
be the scan's own doing. The engine sends such a read again, fresh, once every write has been
undone (``ScanFacts.reconfirmed`` / ``contradicted``); ``caused-by-the-scan`` keeps the finding
when it failed again and drops it when it could not be re-confirmed. A contradicted one is
dropped by the ``contradicted`` rule before this one runs.

A finding that rests on the size of a list (records of other owners, a page larger than asked,
an answer too large, a collection without pagination), raised after the scan's writes, whose
list holds objects the scan itself created (the journal's URLs end in their ids), is dropped by
``grown-by-the-scan`` when, without them, the list holds no more records than the same
operation's baseline answer before any write: the growth is the scan's own.

(The engine runs every read-only check before the first write, so the findings these rules can
meet are the writing checks' and the reads sent after them.)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from middlebrick.filtering.facts import ScanFacts, objects, text
from middlebrick.filtering.rules import Verdict, evidence_rule
from middlebrick.findings import Evidence, Finding

__all__ = ["after_writes", "server_error_read"]

_READS = frozenset({"GET", "HEAD", "OPTIONS"})


def server_error_read(finding: Finding) -> Evidence | None:
    """The evidence of a finding that rests on a 5xx answer to a read, if it does."""
    for item in finding.evidence:
        if item.status is not None and item.status >= 500 and item.request.method in _READS:
            return item
    return None


def after_writes(finding: Finding, facts: ScanFacts) -> bool:
    """True when the finding was raised after the scan first changed state on the target."""
    first = facts.first_write()
    at = facts.raised.get(finding.fingerprint)
    return first is not None and at is not None and at >= first


@evidence_rule(applies_to=("*",))
def caused_by_the_scan(finding: Finding, facts: ScanFacts) -> Verdict | None:
    """A 5xx answer to a read, raised after the scan's own state-changing requests: kept when
    the read, sent again fresh after the writes were undone, failed again; else dropped."""
    evidence = server_error_read(finding)
    if evidence is None or not after_writes(finding, facts):
        return None
    if finding.fingerprint in facts.reconfirmed:
        return Verdict.keep(
            f"seen after the scan's own writes; sent again fresh once they were undone, "
            f"{evidence.request.method} {evidence.request.url} failed the same way"
        )
    return Verdict.drop(
        "a server error seen after the scan's own writes that could not be re-confirmed once "
        "they were undone"
    )


_LISTS = (
    "bola.foreign-records-in-list",
    "rate_limiting.unbounded-page-size",
    "rate_limiting.dynamodb-unbounded-limit",
    "rate_limiting.oversized-response",
    "inventory.missing-pagination",
)
_ID_FIELDS = ("id", "uuid", "pk", "key")


@evidence_rule(applies_to=_LISTS)
def grown_by_the_scan(finding: Finding, facts: ScanFacts) -> Verdict | None:
    """A list finding raised after the scan's writes, whose list grew only by the objects the
    scan created: dropped."""
    if not facts.created or not after_writes(finding, facts):
        return None
    created = {unquote(urlsplit(url).path.rstrip("/").rpartition("/")[2]) for url in facts.created}
    baseline = facts.authenticated.get(finding.operation)
    if baseline is None or not baseline.ok:
        return None
    before = len(_records(baseline.json))
    for item in finding.evidence:
        records = _records(_parsed(item.excerpt))
        theirs = [r for r in records if _id_of(r) in created]
        if theirs and len(records) - len(theirs) <= before:
            return Verdict.drop(
                f"the list it rests on ({len(records)} records) holds {len(theirs)} object(s) "
                f"the scan itself created; without them it holds no more than the {before} of "
                "its answer before any write"
            )
    return None


def _parsed(excerpt: str) -> Any:
    try:
        return json.loads(excerpt)
    except ValueError:
        return None


def _records(body: Any) -> list[Mapping[str, Any]]:
    """The records of the longest list of objects in a JSON answer."""
    lists = [body] if isinstance(body, list) else []
    lists += [v for o in objects(body) for v in o.values() if isinstance(v, list)]
    rows = [[r for r in rows if isinstance(r, Mapping)] for rows in lists]
    return max(rows, key=len, default=[])


def _id_of(record: Mapping[str, Any]) -> str | None:
    return next((t for key in _ID_FIELDS if (t := text(record.get(key))) is not None), None)
