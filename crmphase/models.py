"""Imports every model so that SQLAlchemy and Alembic see the whole schema."""

from crmphase.audit.models import Event
from crmphase.auth.models import ApiToken, User
from crmphase.exports.models import ExportFile
from crmphase.integrations.models import CalendarFeed, Delivery, DeliveryAttempt, Webhook
from crmphase.jobs.models import JobAttempt, JobRun, SchedulerLock
from crmphase.metrics.models import (
    Alert,
    BenefitEntry,
    CostEntry,
    Kpi,
    KpiRevision,
    Measurement,
    MeasurementRevision,
    RoiSnapshot,
)
from crmphase.notifications.models import Notification
from crmphase.phases.models import CriterionTemplate, GateCriterion, GateDecision, GateReview
from crmphase.programs.models import Program, Project

__all__ = [
    "Alert",
    "ApiToken",
    "BenefitEntry",
    "CalendarFeed",
    "CostEntry",
    "CriterionTemplate",
    "Delivery",
    "DeliveryAttempt",
    "Event",
    "ExportFile",
    "GateCriterion",
    "GateDecision",
    "GateReview",
    "JobAttempt",
    "JobRun",
    "Kpi",
    "KpiRevision",
    "Measurement",
    "MeasurementRevision",
    "Notification",
    "Program",
    "Project",
    "RoiSnapshot",
    "SchedulerLock",
    "User",
    "Webhook",
]
