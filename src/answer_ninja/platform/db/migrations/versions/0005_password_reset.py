"""users.password_changed_at: tokens issued before a password reset stop working (sign out everywhere)

Revision ID: 0005_password_reset
Revises: 0004_call_fallback
Create Date: 2026-12-02 12:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_password_reset"
down_revision: str | None = "0004_call_fallback"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("password_changed_at")
