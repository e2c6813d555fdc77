"""Domain errors. Services raise them; pages and the API turn them into responses."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class DomainError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str = "", **extra):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra


class ValidationFailed(DomainError):
    """Input that breaks a rule. ``errors`` lists each field with its message."""

    status = 422
    title = "Validation failed"

    def __init__(self, errors: list[FieldError] | FieldError, detail: str = "", **extra):
        self.errors = [errors] if isinstance(errors, FieldError) else list(errors)
        super().__init__(detail or "; ".join(f"{e.field}: {e.message}" for e in self.errors))
        self.extra = extra

    @classmethod
    def one(cls, field_name: str, message: str) -> ValidationFailed:
        return cls([FieldError(field_name, message)])


class Conflict(DomainError):
    """A stale version, or a gate that is not ready: nothing was changed."""

    status = 409
    title = "Conflict"


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


@dataclass
class FieldErrors:
    """Collects field errors so that a form reports all of them at once."""

    errors: list[FieldError] = field(default_factory=list)

    def add(self, field_name: str, message: str) -> None:
        self.errors.append(FieldError(field_name, message))

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)
