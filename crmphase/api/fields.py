"""Marshmallow fields for the product's values: money, measured values, periods."""

from __future__ import annotations

import copy

import marshmallow as ma

from crmphase.money import AmountError, parse_decimal, parse_money
from crmphase.periods import Period, PeriodError


def money_text(value) -> str | None:
    """What :class:`Money` (and every percentage built on it) dumps: 2 places."""
    return None if value is None else f"{value:.2f}"


def measured_text(value) -> str | None:
    """What :class:`MeasuredValue` dumps: the value without trailing zeros."""
    return None if value is None else format(value.normalize(), "f")


def text_or_none(value) -> str | None:
    """What :class:`PeriodField` (and ``ma.fields.String``) dump."""
    return None if value is None else str(value)


class Money(ma.fields.Field):
    """Money as a decimal string ("1234.50"); numbers accepted. At most 2 places, not negative."""

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {}).update(
            {"type": "string", "format": "decimal", "example": "1234.50"}
        )
        super().__init__(**kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return money_text(value)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return parse_money(value)
        except AmountError as exc:
            raise ma.ValidationError(str(exc)) from None


class MeasuredValue(ma.fields.Field):
    """A measured value as a decimal string; numbers accepted; finite; up to 6 places."""

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {}).update(
            {"type": "string", "format": "decimal", "example": "42.5"}
        )
        super().__init__(**kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return measured_text(value)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            number = parse_decimal(value, max_places=6)
        except AmountError as exc:
            raise ma.ValidationError(str(exc)) from None
        if abs(number) >= 10**14:
            raise ma.ValidationError("the value is too large")
        return number


class PeriodField(ma.fields.Field):
    """A calendar month written YYYY-MM."""

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {}).update(
            {"type": "string", "pattern": r"^\d{4}-\d{2}$", "example": "2026-03"}
        )
        super().__init__(**kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return text_or_none(value)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return Period.parse(value)
        except PeriodError as exc:
            raise ma.ValidationError(str(exc)) from None


class PageQuery(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=100000))
    per_page = ma.fields.Integer(load_default=25, validate=ma.validate.Range(min=1, max=100))


def update_schema(base: type[ma.Schema], name: str) -> type[ma.Schema]:
    """A PATCH schema from a create schema: every writable field optional, no defaults
    (a field left out stays as it is), and ``version`` required for optimistic locking."""
    fields = {}
    for field_name, field in base._declared_fields.items():
        if field.dump_only:
            continue
        clone = copy.copy(field)
        clone.required = False
        clone.load_default = ma.missing
        fields[field_name] = clone
    fields["version"] = ma.fields.Integer(required=True)
    return ma.Schema.from_dict(fields, name=name)


def page_body(pagination) -> dict:
    """A Flask-SQLAlchemy pagination as ``{items, page, per_page, total, pages}``; the
    endpoint's page schema (see :func:`page_schema`) serialises the items."""
    return {
        "items": pagination.items,
        "page": pagination.page,
        "per_page": pagination.per_page,
        "total": pagination.total,
        "pages": pagination.pages,
    }


def page_schema(item_schema_cls, name: str) -> type[ma.Schema]:
    """A schema for the paged list envelope, so the OpenAPI document describes it."""
    return ma.Schema.from_dict(
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema_cls)),
            "page": ma.fields.Integer(),
            "per_page": ma.fields.Integer(),
            "total": ma.fields.Integer(),
            "pages": ma.fields.Integer(),
        },
        name=name,
    )
