"""The form that builds a monthly review export for a past period."""

from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField
from wtforms.validators import DataRequired, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from crmphase.errors import ValidationFailed
from crmphase.exports.services import check_reviewable, parse_period
from crmphase.forms import choices

FORMAT_CHOICES = choices(
    [
        ("xlsx", "Excel workbook (.xlsx) with charts"),
        ("csv", "CSV files in a zip"),
        ("html", "Printable HTML report"),
    ]
)


class ExportBuildForm(FlaskForm):
    period = StringField(
        "Period",
        validators=[
            DataRequired("enter a period, e.g. 2026-03"),
            Regexp(r"^\s*\d{4}-\d{2}\s*$", message="write the period as YYYY-MM, e.g. 2026-03"),
        ],
    )
    formats = SelectMultipleField(
        "Formats",
        choices=FORMAT_CHOICES,
        default=["xlsx", "html"],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validators=[DataRequired("choose at least one format")],
    )

    def validate_period(self, field) -> None:
        """A month that is over, checked with the same rule as the service."""
        try:
            check_reviewable(parse_period(field.data.strip()))
        except ValidationFailed as exc:
            raise ValidationError(exc.errors[0].message) from None
