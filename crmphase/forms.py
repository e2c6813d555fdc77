"""Form helpers shared by every domain."""

from __future__ import annotations

from collections.abc import Iterable

from flask_wtf import FlaskForm
from wtforms import StringField

# WTForms 3.3 added SelectChoice; its stubs (types-WTForms 3.2) do not know it yet. Every
# form imports it from here, so the one ignore goes when the stubs catch up.
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import ValidationError

from crmphase.errors import ValidationFailed
from crmphase.money import AmountError, parse_money


def choices(pairs: Iterable[tuple[object, str]]) -> list[SelectChoice]:
    """``(value, label)`` pairs as WTForms select choices."""
    return [SelectChoice(value, label) for value, label in pairs]


def apply_errors(form: FlaskForm, exc: ValidationFailed) -> None:
    """Show a service's field errors next to the fields (or at the top when unknown)."""
    for error in exc.errors:
        field = getattr(form, error.field, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*list(field.errors), error.message]
        else:
            form.form_errors.append(f"{error.field}: {error.message}")


class ConfirmForm(FlaskForm):
    """An empty form: the CSRF token of a confirmation step (a confirmed POST)."""


class MoneyField(StringField):
    """A text input that holds an exact amount of money (at most 2 places)."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        self.money = None

    def pre_validate(self, form):
        text = "" if self.data is None else str(self.data).strip().replace(",", "")
        if not text:
            self.money = None
            return
        try:
            self.money = parse_money(text)
        except AmountError as exc:
            raise ValidationError(str(exc)) from None

    def _value(self):
        if self.data is None:
            return ""
        return str(self.data)


def money_value(field: MoneyField):
    return getattr(field, "money", None)
