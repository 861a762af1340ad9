"""accounts: proven numbers, verification codes, routing versions, weighted reports, profile evidence

Revision ID: 0003_accounts
Revises: 0002
Create Date: 2026-12-02 06:20:00

Numbers hosted before this revision were routed already: they are marked proven (verified_at = created_at), so
an upgrade changes no routing. A number may now be claimed by several users while unproven; only one may hold it
proven (a partial unique index, on both PostgreSQL and SQLite).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_accounts"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PROVEN = sa.text("verified_at IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("pending_real_number", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("routing_version", sa.Integer(), nullable=False, server_default="0"))

    with op.batch_alter_table("hosted_numbers") as batch:
        batch.add_column(sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True))
        batch.drop_constraint("uq_hosted_numbers_number", type_="unique")
        batch.create_unique_constraint("uq_hosted_numbers_user_number", ["user_id", "number"])
        batch.create_index("ix_hosted_numbers_number", ["number"], unique=False)
    op.execute("UPDATE hosted_numbers SET verified_at = created_at")
    op.create_index(
        "uq_hosted_numbers_verified_number",
        "hosted_numbers",
        ["number"],
        unique=True,
        postgresql_where=PROVEN,
        sqlite_where=PROVEN,
    )

    op.create_table(
        "number_verifications",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_number_verifications_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_number_verifications")),
        sa.UniqueConstraint("user_id", "purpose", "number", name="uq_number_verifications_claim"),
    )
    with op.batch_alter_table("number_verifications") as batch:
        batch.create_index("ix_number_verifications_user_id", ["user_id"], unique=False)

    with op.batch_alter_table("caller_feedback") as batch:
        batch.add_column(sa.Column("weight", sa.Float(), nullable=False, server_default="0"))
    with op.batch_alter_table("spam_profiles") as batch:
        batch.add_column(sa.Column("evidence", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("spam_profiles") as batch:
        batch.drop_column("evidence")
    with op.batch_alter_table("caller_feedback") as batch:
        batch.drop_column("weight")
    with op.batch_alter_table("number_verifications") as batch:
        batch.drop_index("ix_number_verifications_user_id")
    op.drop_table("number_verifications")
    op.drop_index("uq_hosted_numbers_verified_number", table_name="hosted_numbers")
    # Unproven claims cannot survive the old one-owner-per-number constraint.
    op.execute("DELETE FROM hosted_numbers WHERE verified_at IS NULL")
    with op.batch_alter_table("hosted_numbers") as batch:
        batch.drop_index("ix_hosted_numbers_number")
        batch.drop_constraint("uq_hosted_numbers_user_number", type_="unique")
        batch.create_unique_constraint("uq_hosted_numbers_number", ["number"])
        batch.drop_column("verified_at")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("routing_version")
        batch.drop_column("pending_real_number")
