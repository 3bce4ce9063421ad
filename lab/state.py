"""The lab's store as data: every table of one service variant, read whole, to compare before and
after a scan (a safe scan must leave it identical, an active one too once it cleaned up).

Items are read with the low-level client, so a number written back as text, or a set as a
list, shows as a difference: the comparison is of what DynamoDB holds, type for type.
"""

from __future__ import annotations

import json
from typing import Any

from lab.dynamo import client

Snapshot = dict[str, dict[str, Any]]
"""Table name -> item key (JSON of its key attributes) -> the item's raw AttributeValues."""

AUDIT_TABLES: frozenset[str] = frozenset()
"""Tables a service may append to on any request (an audit log); none of the lab's does."""


def snapshot(endpoint_url: str, prefix: str) -> Snapshot:
    """Every item of every table whose name starts with ``prefix``."""
    dynamodb = client(endpoint_url)
    names: list[str] = []
    for page in dynamodb.get_paginator("list_tables").paginate():
        names += [name for name in page["TableNames"] if name.startswith(prefix)]
    found: Snapshot = {}
    for name in sorted(names):
        key_names = [
            k["AttributeName"]
            for k in dynamodb.describe_table(TableName=name)["Table"]["KeySchema"]
        ]
        rows: dict[str, Any] = {}
        for page in dynamodb.get_paginator("scan").paginate(TableName=name, ConsistentRead=True):
            for item in page["Items"]:
                rows[json.dumps([item.get(k) for k in key_names], sort_keys=True)] = item
        found[name.removeprefix(prefix)] = rows
    return found


def differences(before: Snapshot, after: Snapshot) -> list[str]:
    """What changed between two snapshots, one sentence per table (audit tables left out)."""
    changes: list[str] = []
    for table in sorted(set(before) | set(after)):
        if table in AUDIT_TABLES:
            continue
        old, new = before.get(table, {}), after.get(table, {})
        added = sorted(set(new) - set(old))
        removed = sorted(set(old) - set(new))
        changed = sorted(k for k in set(old) & set(new) if old[k] != new[k])
        parts = []
        if added:
            parts.append(f"{len(added)} added (first {added[0]})")
        if removed:
            parts.append(f"{len(removed)} removed (first {removed[0]})")
        if changed:
            first = changed[0]
            fields = sorted(
                name
                for name in set(old[first]) | set(new[first])
                if old[first].get(name) != new[first].get(name)
            )
            shown = ", ".join(
                f"{name}: {old[first].get(name)} -> {new[first].get(name)}" for name in fields[:3]
            )
            parts.append(f"{len(changed)} changed (first {first}: {shown})")
        if parts:
            changes.append(f"table {table}: " + "; ".join(parts))
    return changes
