"""Forms of the metrics pages. They collect text; the services check it and their messages
are shown next to the fields (the same messages the API gives)."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import Length

from crmphase.forms import SelectChoice
from crmphase.metrics.models import COST_CATEGORIES


def _int_or_none(value):
    try:
        return int(value) if value not in (None, "", "None") else None
    except (TypeError, ValueError):
        return None


class KpiForm(FlaskForm):
    name = StringField("Name", validators=[Length(max=120)])
    unit = StringField("Unit", validators=[Length(max=40)])
    direction = SelectField(
        "Direction",
        choices=[
            SelectChoice("up", "Up — more is better"),
            SelectChoice("down", "Down — less is better"),
        ],
    )
    baseline_value = StringField("Baseline value")
    baseline_period = StringField("Baseline period", render_kw={"placeholder": "YYYY-MM"})
    target_value = StringField("Target value")
    target_period = StringField("Target period", render_kw={"placeholder": "YYYY-MM"})
    cadence = SelectField(
        "Cadence",
        choices=[
            SelectChoice("monthly", "Monthly"),
            SelectChoice("quarterly", "Quarterly (Mar, Jun, Sep, Dec)"),
        ],
    )
    owner_id = SelectField("Owner (reminded when a value is due)", coerce=_int_or_none)
    reason = TextAreaField("Reason for moving baseline or target", validators=[Length(max=2000)])
    version = HiddenField()

    def data_for_service(self) -> dict:
        return {
            "name": self.name.data,
            "unit": self.unit.data,
            "direction": self.direction.data,
            "baseline_value": self.baseline_value.data,
            "baseline_period": self.baseline_period.data,
            "target_value": self.target_value.data,
            "target_period": self.target_period.data,
            "cadence": self.cadence.data,
            "owner_id": self.owner_id.data,
        }


class MeasurementForm(FlaskForm):
    period = StringField("Period", render_kw={"placeholder": "YYYY-MM"})
    value = StringField("Value", render_kw={"inputmode": "decimal"})
    note = TextAreaField("Note (source, how it was measured)", validators=[Length(max=2000)])


class MoneyForm(FlaskForm):
    period = StringField("Period", render_kw={"placeholder": "YYYY-MM"})
    kind = SelectField(
        "Kind",
        choices=[
            SelectChoice("actual", "Actual — what happened"),
            SelectChoice("plan", "Plan — the approved business case"),
        ],
    )
    amount = StringField("Amount", render_kw={"inputmode": "decimal"})
    category: StringField | SelectField = StringField("Category")
    note = TextAreaField("Note", validators=[Length(max=2000)])

    def data_for_service(self) -> dict:
        return {
            "period": self.period.data,
            "kind": self.kind.data,
            "amount": (self.amount.data or "").replace(",", "").strip(),
            "category": self.category.data,
            "note": self.note.data,
        }


class CostForm(MoneyForm):
    category = SelectField(
        "Category", choices=[SelectChoice(c, c.title()) for c in COST_CATEGORIES]
    )


class ImportForm(FlaskForm):
    file = FileField("CSV file")


class ImportCommitForm(FlaskForm):
    token = HiddenField()
