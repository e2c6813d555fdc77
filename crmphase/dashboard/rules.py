"""What the dashboard decides without a database: its filters, review cut-off, KPI tallies.

Pure: plain values in, plain values out (no Flask, no database, no clock).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from crmphase.errors import FieldError
from crmphase.periods import Period, PeriodError
from crmphase.phases.rules import Phase, ProjectState, review_overdue

DEPARTMENTS = ("marketing", "sales", "service", "e-marketing", "it", "other")
TREND_MONTHS = 12  # measurement coverage trend
ROI_TREND_MONTHS = 24  # ROI % per program
ROI_TREND_PROGRAMS = 10  # programs with a line of their own; the others are summed


@dataclass(frozen=True)
class DashboardFilters:
    """The period and the (optional) program and department the dashboard shows."""

    period: Period
    program_id: int | None = None
    department: str | None = None

    def query_args(self) -> dict[str, str | int]:
        """The filters as URL query arguments (what makes the page bookmarkable)."""
        args: dict[str, str | int] = {"period": str(self.period)}
        if self.program_id:
            args["program_id"] = self.program_id
        if self.department:
            args["department"] = self.department
        return args

    def project_list_args(self, **extra: str | int | None) -> dict[str, str | int]:
        """Arguments of the ``/projects`` list with the same program and department."""
        args: dict[str, str | int] = {}
        if self.program_id:
            args["program_id"] = self.program_id
        if self.department:
            args["department"] = self.department
        args.update({k: v for k, v in extra.items() if v is not None})
        return args


@dataclass
class ParsedFilters:
    filters: DashboardFilters
    errors: list[FieldError] = field(default_factory=list)


def parse_filters(
    args: Mapping[str, str], *, default_period: Period, program_ids: Iterable[int] | None = None
) -> ParsedFilters:
    """Read ``period``, ``program_id`` and ``department`` from query arguments.

    A bad value is reported as a field error and replaced by its default, so the page
    can still show something next to the message.
    """
    errors: list[FieldError] = []
    period = default_period
    text = (args.get("period") or "").strip()
    if text:
        try:
            period = Period.parse(text)
        except PeriodError as exc:
            errors.append(FieldError("period", str(exc)))
    program_id = None
    text = (args.get("program_id") or "").strip()
    if text:
        if not text.isdigit():
            errors.append(FieldError("program_id", f"'{text}' is not a program id"))
        elif program_ids is not None and int(text) not in set(program_ids):
            errors.append(FieldError("program_id", f"there is no program {text}"))
        else:
            program_id = int(text)
    department = (args.get("department") or "").strip() or None
    if department is not None and department not in DEPARTMENTS:
        errors.append(
            FieldError("department", f"'{department}' is not one of {', '.join(DEPARTMENTS)}")
        )
        department = None
    return ParsedFilters(DashboardFilters(period, program_id, department), errors)


def review_overdue_cutoff(today: date) -> date:
    """The latest "last review (or entered manage)" day whose periodic review is overdue
    on ``today``: a manage project is overdue exactly when its day is on or before this.

    ``review_overdue`` is monotone in the day, so the cut-off lets SQL select and page the
    overdue projects with one comparison while the rule itself stays in ``phases.rules``.
    """
    probe = today - timedelta(days=80)  # three months back is at least 89 days
    while review_overdue(Phase.MANAGE, ProjectState.ACTIVE, probe + timedelta(days=1), today):
        probe += timedelta(days=1)
    if not review_overdue(Phase.MANAGE, ProjectState.ACTIVE, probe, today):
        probe -= timedelta(days=1)
        while not review_overdue(Phase.MANAGE, ProjectState.ACTIVE, probe, today):
            probe -= timedelta(days=1)
    return probe


def age_in_days(since: datetime | date, today: date) -> int:
    """Whole days from ``since`` to ``today`` (0 on the same day, never negative)."""
    day = since.date() if isinstance(since, datetime) else since
    return max((today - day).days, 0)
