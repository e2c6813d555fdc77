"""The exports page: stored monthly reviews, building one, downloads, the report view."""

from __future__ import annotations

import tempfile

from flask import Blueprint, current_app, flash, redirect, render_template, send_file, url_for

from crmphase import clock
from crmphase.auth.policy import Action, can, current_actor, permission_required
from crmphase.errors import NotFound, ValidationFailed
from crmphase.exports import loaders, services
from crmphase.exports.forms import ExportBuildForm
from crmphase.exports.html import render_report
from crmphase.extensions import db
from crmphase.forms import apply_errors
from crmphase.navigation import NavEntry, add_nav

bp = Blueprint("exports", __name__)

# The menu entry shows to exactly the roles the policy lets read exports.
add_nav(NavEntry("Exports", "exports.index", order=70, action=Action.EXPORT_READ))


def _page(form: ExportBuildForm, status: int = 200):
    page = db.paginate(loaders.export_query(), per_page=current_app.config["PER_PAGE"])
    users = loaders.builder_names(page.items)
    return render_template(
        "exports/index.html",
        page=page,
        form=form,
        users=users,
        may_build=can(current_actor(), Action.EXPORT_BUILD),
        latest=clock.last_complete_period(),
    ), status


@bp.route("/exports")
@permission_required(Action.EXPORT_READ)
def index():
    form = ExportBuildForm(formdata=None, period=str(clock.last_complete_period()))
    return _page(form)


@bp.route("/exports", methods=["POST"])
@permission_required(Action.EXPORT_BUILD)
def build():
    form = ExportBuildForm()
    if not form.validate_on_submit():
        return _page(form, 422)
    try:
        stored = services.store_monthly_review(
            form.period.data.strip(),
            formats=form.formats.data,
            source="manual",
            actor=current_actor(),
        )
    except ValidationFailed as exc:
        apply_errors(form, exc)
        return _page(form, 422)
    except services.ExportError as exc:
        form.form_errors.append(exc.detail)
        return _page(form, exc.status)
    names = ", ".join(row.filename for row in stored)
    flash(f"Built the review of {stored[0].period}: {names}.", "success")
    return redirect(url_for("exports.index"))


@bp.route("/exports/<int:export_id>/download")
@permission_required(Action.EXPORT_READ)
def download(export_id):
    row = loaders.get_export(export_id)
    path = loaders.stored_path(row)
    if path is None:
        raise NotFound(f"the file {row.filename} is no longer in the export folder; build it again")
    return send_file(
        path,
        mimetype=services.CONTENT_TYPES[row.format],
        as_attachment=True,
        download_name=row.filename,
    )


def _reviewable(period: str):
    return services.check_reviewable(services.parse_period(period))


@bp.route("/exports/review/<period>")
@permission_required(Action.EXPORT_READ)
def review(period):
    return render_report(loaders.monthly_review(_reviewable(period)), standalone=False)


@bp.route("/exports/review/<period>/<format>")
@permission_required(Action.EXPORT_READ)
def review_download(period, format):
    return send_built(_reviewable(period), services.check_format(format))


def send_built(period, fmt: str):
    """Build an export into a spooled temporary file and send it as an attachment."""
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - sent
    services.build_monthly_review(period, fmt, spool)
    spool.seek(0)
    return send_file(
        spool,
        mimetype=services.CONTENT_TYPES[fmt],
        as_attachment=True,
        download_name=services.export_filename(period, fmt),
    )
