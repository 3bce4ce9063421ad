"""The lab's store as data: every table of one service variant, read whole, to compare before and
after a scan (a safe scan must leave it identical, an active one too once it cleaned up).
DynamoDB tables by their prefix (``snapshot``), a relational store by its URL (``sql_snapshot``).

Items are read with the low-level client, so a number written back as text, or a set as a
list, shows as a difference: the comparison is of what DynamoDB holds, type for type.
"""

from __future__ import annotations

import json
from typing import Any

from lab.dynamo import client

Snapshot = dict[str, dict[str, Any]]
"""Table name -> item key (JSON of its key attributes) -> the item's raw AttributeValues."""

AUDIT_TABLES: frozenset[str] = frozenset({"blog_articleview"})
"""Tables a service may append to on any request (an audit log): the blog's view counter adds a
row each time an article is read, by design (a GET that records, not a change of state)."""


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


def sql_snapshot(database_url: str) -> Snapshot:
    """Every row of every table of a relational lab store (SQLite or PostgreSQL), by primary key."""
    from sqlalchemy import create_engine, inspect, text

    url = database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url)
    found: Snapshot = {}
    try:
        with engine.connect() as connection:
            inspector = inspect(connection)
            for table in sorted(inspector.get_table_names()):
                key = inspector.get_pk_constraint(table).get("constrained_columns") or []
                rows: dict[str, Any] = {}
                for row in connection.execute(text(f'SELECT * FROM "{table}"')).mappings():
                    item = {name: json.dumps(value, default=str) for name, value in row.items()}
                    rows[json.dumps([item.get(k) for k in key] or item, sort_keys=True)] = item
                found[table] = rows
    finally:
        engine.dispose()
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
