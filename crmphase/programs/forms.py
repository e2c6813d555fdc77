from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DecimalField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from crmphase.forms import MoneyField, choices
from crmphase.programs.models import DEPARTMENT_LABELS


def _int_or_none(value):
    return int(value) if value not in (None, "", "None") else None


class ProgramForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    objective = TextAreaField("Objective", validators=[Length(max=5000)])
    executive_sponsor = StringField("Executive sponsor", validators=[Length(max=120)])
    crmo_id = SelectField("CRM officer", coerce=_int_or_none, validate_choice=False)
    steering_member_ids = SelectMultipleField("Steering members", coerce=int, validate_choice=False)
    discount_rate = DecimalField(
        "Annual discount rate",
        places=4,
        default=Decimal("0.08"),
        validators=[DataRequired(), NumberRange(min=0, max=0.9999)],
    )
    bite_size_max_months = IntegerField(
        "Bite-size: at most months",
        default=6,
        validators=[DataRequired(), NumberRange(min=1, max=120)],
    )
    bite_size_max_budget = MoneyField("Bite-size: at most budget (optional)")
    measurement_grace_days = IntegerField(
        "Measurement grace days", default=10, validators=[NumberRange(min=0, max=90)]
    )
    chat_url = StringField("Chat incoming-webhook URL (optional)", validators=[Length(max=500)])
    chat_flavour = SelectField(
        "Chat flavour",
        choices=choices([("slack", "Slack-compatible"), ("teams", "Microsoft Teams workflow")]),
        default="slack",
    )
    version = HiddenField()


class ProjectForm(FlaskForm):
    program_id = SelectField(
        "Program",
        coerce=_int_or_none,
        validate_choice=False,
        validators=[DataRequired("choose a program")],
    )
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    objective = TextAreaField(
        "Objective — what's the point of the project?", validators=[Length(max=5000)]
    )
    customer_need = TextAreaField("Customer need", validators=[Length(max=5000)])
    department = SelectField(
        "Business department",
        choices=choices((d.value, label) for d, label in DEPARTMENT_LABELS.items()),
    )
    business_lead = StringField("Business lead", validators=[Length(max=120)])
    it_lead = StringField("IT lead", validators=[Length(max=120)])
    manager_id = SelectField(
        "Project manager",
        coerce=_int_or_none,
        validate_choice=False,
        validators=[DataRequired("choose a manager")],
    )
    team_member_ids = SelectMultipleField("Team members", coerce=int, validate_choice=False)
    budget = MoneyField("Budget")
    planned_start = DateField("Planned start", validators=[Optional()])
    planned_end = DateField("Planned end", validators=[Optional()])
    version = HiddenField()


class ProjectFilterForm(FlaskForm):
    class Meta:
        csrf = False

    program_id = SelectField("Program", coerce=_int_or_none, validate_choice=False)
    department = SelectField("Department", validate_choice=False)
    phase = SelectField("Phase", validate_choice=False)
    state = SelectField("State", validate_choice=False)
    q = StringField("Search", validators=[Length(max=120)])
