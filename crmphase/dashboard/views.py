"""The portfolio dashboard at ``/``."""

import sqlalchemy as sa
from flask import Blueprint, render_template

from crmphase.auth.policy import Action, permission_required, public
from crmphase.extensions import db
from crmphase.programs.models import Program, Project

bp = Blueprint("dashboard", __name__)


@bp.route("/")
@permission_required(Action.READ)
def index():
    counts = dict(
        db.session.execute(sa.select(Project.phase, sa.func.count()).group_by(Project.phase)).all()
    )
    programs = db.session.scalar(sa.select(sa.func.count()).select_from(Program))
    return render_template("dashboard/index.html", counts=counts, programs=programs)


@bp.route("/healthz")
@public
def health():
    db.session.execute(sa.text("SELECT 1"))
    return {"status": "ok"}
