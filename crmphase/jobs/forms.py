from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, Length


class RunJobForm(FlaskForm):
    name = SelectField("Job", validators=[DataRequired()])
    period = StringField(
        "Period",
        validators=[Length(max=10)],
        description="YYYY-MM for monthly jobs (empty: the month just ended); "
        "YYYY-MM-DD for the daily check (empty: today).",
    )
    confirm = BooleanField(
        "I understand: a period that already ran is recomputed and its snapshots replaced",
        validators=[DataRequired("tick the box to confirm the run")],
    )
