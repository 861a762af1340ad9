"""users.fallback: where an AI call goes when the AI cannot take it (ring the real number, or voicemail)

Revision ID: 0004_call_fallback
Revises: 0003_console
Create Date: 2026-12-02 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_call_fallback"
down_revision: str | None = "0003_console"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("fallback", sa.String(length=16), nullable=False, server_default="ring"))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("fallback")
