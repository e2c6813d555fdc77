from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, widgets
from wtforms.validators import DataRequired, Length

from crmphase.forms import choices
from crmphase.integrations.rules import EVENT_TYPES


class WebhookForm(FlaskForm):
    url = StringField(
        "URL",
        validators=[DataRequired(), Length(max=500)],
        description="https:// only; private and loopback addresses are refused.",
    )
    events = SelectMultipleField(
        "Events",
        choices=choices((e, e) for e in EVENT_TYPES),
        validators=[DataRequired("choose at least one event")],
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
    )
    description = StringField("Description", validators=[Length(max=200)])
