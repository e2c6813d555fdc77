"""The four roles of SPEC §1."""

import enum


class Role(enum.StrEnum):
    CRMO = "crmo"
    STEERING = "steering"
    MANAGER = "manager"
    VIEWER = "viewer"


ROLE_LABELS = {
    Role.CRMO: "CRM officer",
    Role.STEERING: "Steering committee",
    Role.MANAGER: "Project manager",
    Role.VIEWER: "Viewer",
}
