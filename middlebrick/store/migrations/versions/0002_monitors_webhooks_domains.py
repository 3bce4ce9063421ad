"""Monitors and their runs, webhook endpoints and deliveries, verified domains.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _org() -> sa.Column[int]:
    return sa.Column(
        "org_id",
        sa.Integer,
        sa.ForeignKey("organisations.id", ondelete="CASCADE"),
        nullable=False,
    )


def upgrade() -> None:
    """Add the organisation's domain token and the tables of monitoring."""
    with op.batch_alter_table("organisations") as batch:
        batch.add_column(sa.Column("domain_token", sa.String(64), nullable=True))
    op.create_table(
        "domains",
        sa.Column("id", sa.Integer, primary_key=True),
        _org(),
        sa.Column("name", sa.String(253), nullable=False),
        sa.Column("method", sa.String(8), nullable=True),
        sa.Column("verified_at", sa.DateTime, nullable=True),
        sa.Column("checked_at", sa.DateTime, nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("org_id", "name"),
    )
    op.create_table(
        "monitors",
        sa.Column("id", sa.Integer, primary_key=True),
        _org(),
        sa.Column(
            "target_id",
            sa.Integer,
            sa.ForeignKey("targets.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("schedule", sa.String(100), nullable=False),
        sa.Column("options", sa.Text, nullable=False),
        sa.Column("spec_document", sa.Text, nullable=True),
        sa.Column("sealed_credentials", sa.LargeBinary, nullable=True),
        sa.Column("rules", sa.Text, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("next_run_at", sa.DateTime, nullable=False),
        sa.Column("last_run_at", sa.DateTime, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_monitors_due", "monitors", ["enabled", "next_run_at"])
    op.create_table(
        "monitor_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "monitor_id",
            sa.Integer,
            sa.ForeignKey("monitors.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "scan_id", sa.String(32), sa.ForeignKey("scans.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column(
            "previous_scan_id",
            sa.String(32),
            sa.ForeignKey("scans.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("diff", sa.Text, nullable=True),
        sa.Column("events", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime, nullable=True),
    )
    op.create_index("ix_monitor_runs_monitor_id", "monitor_runs", ["monitor_id"])
    op.create_index("ix_monitor_runs_scan_id", "monitor_runs", ["scan_id"])
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.Integer, primary_key=True),
        _org(),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("origin", sa.String(300), nullable=False),
        sa.Column("sealed", sa.LargeBinary, nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("events", sa.Text, nullable=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("disabled_reason", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "endpoint_id",
            sa.Integer,
            sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("event_id", sa.String(40), nullable=False),
        sa.Column("event_type", sa.String(40), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Text, nullable=False),
        sa.Column("resent_from", sa.String(40), nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index(
        "ix_webhook_deliveries_endpoint", "webhook_deliveries", ["endpoint_id", "created_at"]
    )


def downgrade() -> None:
    """Drop the tables of monitoring and the domain token."""
    for table in ("webhook_deliveries", "webhook_endpoints", "monitor_runs", "monitors", "domains"):
        op.drop_table(table)
    with op.batch_alter_table("organisations") as batch:
        batch.drop_column("domain_token")
