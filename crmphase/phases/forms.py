"""Forms of the gate pages (all with CSRF)."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from crmphase.forms import SelectChoice
from crmphase.phases.rules import DecisionKind, Phase

DECISION_LABELS = {
    DecisionKind.GO: "Go — pass the gate",
    DecisionKind.HOLD: "Hold — pause the project",
    DecisionKind.KILL: "Kill — stop the project",
    DecisionKind.RECYCLE: "Recycle — back to an earlier phase",
    DecisionKind.RETIRE: "Retire — end of life (manage only)",
    DecisionKind.REOPEN: "Reopen — make it active again (CRMO)",
}
CONFIRM_FIRST = (DecisionKind.KILL.value, DecisionKind.RETIRE.value)


class CriterionForm(FlaskForm):
    met = HiddenField(validators=[DataRequired()])
    evidence = TextAreaField("Evidence", validators=[Length(max=5000)])


class ReviewRequestForm(FlaskForm):
    note = TextAreaField(
        "Note for the steering committee (optional)", validators=[Length(max=5000)]
    )


class DecisionForm(FlaskForm):
    decision = SelectField(
        "Decision", choices=[SelectChoice(d.value, label) for d, label in DECISION_LABELS.items()]
    )
    to_phase = SelectField(
        "Recycle to",
        choices=[SelectChoice("", "—"), *[SelectChoice(p.value, p.value.title()) for p in Phase]],
        validators=[Optional()],
        validate_choice=False,
    )
    rationale = TextAreaField(
        "Rationale", validators=[DataRequired("give the reason for the decision"), Length(max=5000)]
    )
    version = HiddenField()
    confirmed = HiddenField()
    next = HiddenField()


class TemplateCriterionForm(FlaskForm):
    phase = SelectField(
        "Gate",
        choices=[
            SelectChoice(Phase.STRATEGIZE.value, "Strategize → Evaluate"),
            SelectChoice(Phase.EVALUATE.value, "Evaluate → Execute"),
            SelectChoice(Phase.EXECUTE.value, "Execute → Manage"),
            SelectChoice(Phase.MANAGE.value, "Manage (periodic review)"),
        ],
    )
    label = StringField("Criterion", validators=[DataRequired(), Length(max=200)])
    help = TextAreaField("What counts as evidence (optional)", validators=[Length(max=5000)])
    required = SelectField(
        "Kind",
        choices=[
            SelectChoice("1", "Required — blocks go until met"),
            SelectChoice("0", "Advisory — shown, never blocks"),
        ],
    )
