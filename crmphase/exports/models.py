"""Monthly review exports that were built and kept."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from crmphase import clock
from crmphase.database import UTCDateTime, enum_check
from crmphase.extensions import Model

EXPORT_FORMATS = ("xlsx", "csv", "html")


class ExportFile(Model):
    __tablename__ = "export_files"
    __table_args__ = (
        enum_check("format", EXPORT_FORMATS, "format"),
        sa.Index("ix_export_files_period", "period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(sa.String(7))
    format: Mapped[str] = mapped_column(sa.String(4))
    filename: Mapped[str] = mapped_column(sa.String(200))
    size_bytes: Mapped[int] = mapped_column(default=0)
    sha256: Mapped[str] = mapped_column(sa.String(64), default="")
    source: Mapped[str] = mapped_column(sa.String(16), default="manual")  # schedule | manual
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    def __repr__(self) -> str:
        return f"<ExportFile {self.period}.{self.format}>"
