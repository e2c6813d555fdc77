"""Names and figures a CRM portfolio is made of: KPIs, program themes, project topics."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KpiKind:
    """A KPI a CRM project commonly tracks, with a plausible baseline and improvement."""

    name: str
    unit: str
    direction: str  # up | down
    baseline: tuple[float, float]  # range of baselines
    change: tuple[float, float]  # relative improvement aimed at (0.1 = 10 %)
    ceiling: float | None = None  # percentages stay at or below 100


KPI_KINDS: tuple[KpiKind, ...] = (
    KpiKind("Campaign response rate", "%", "up", (1.5, 4.0), (0.15, 0.5), 100),
    KpiKind("Cost per lead", "EUR", "down", (30, 120), (0.1, 0.3)),
    KpiKind("Lead conversion rate", "%", "up", (5, 20), (0.1, 0.4), 100),
    KpiKind("Customer churn rate", "%", "down", (6, 18), (0.1, 0.3)),
    KpiKind("Net promoter score", "points", "up", (5, 35), (0.15, 0.6)),
    KpiKind("First-contact resolution", "%", "up", (55, 75), (0.05, 0.2), 100),
    KpiKind("Average handle time", "minutes", "down", (6, 14), (0.1, 0.25)),
    KpiKind("Cross-sell ratio", "products/customer", "up", (1.2, 2.2), (0.05, 0.2)),
    KpiKind("Sales cycle length", "days", "down", (40, 120), (0.1, 0.3)),
    KpiKind("Forecast accuracy", "%", "up", (60, 80), (0.05, 0.15), 100),
    KpiKind("Customer data completeness", "%", "up", (55, 80), (0.1, 0.25), 100),
    KpiKind("Duplicate customer records", "%", "down", (4, 12), (0.3, 0.7)),
    KpiKind("Web self-service share", "%", "up", (15, 40), (0.2, 0.6), 100),
    KpiKind("Email opt-out rate", "%", "down", (0.4, 1.5), (0.1, 0.4)),
    KpiKind("Order error rate", "%", "down", (1.5, 5), (0.2, 0.5)),
    KpiKind("Customer satisfaction (CSAT)", "%", "up", (70, 85), (0.03, 0.1), 100),
    KpiKind("Win rate", "%", "up", (15, 35), (0.1, 0.3), 100),
    KpiKind("Time to quote", "hours", "down", (24, 96), (0.2, 0.5)),
    KpiKind("Repeat purchase rate", "%", "up", (20, 45), (0.05, 0.2), 100),
    KpiKind("Service cost per contact", "EUR", "down", (4, 12), (0.1, 0.25)),
    KpiKind("Call abandonment rate", "%", "down", (5, 15), (0.2, 0.5)),
    KpiKind("Marketing-qualified leads", "leads/month", "up", (200, 1500), (0.1, 0.4)),
    KpiKind("Customer lifetime value", "EUR", "up", (800, 4000), (0.05, 0.15)),
    KpiKind("Complaint rate", "per 1,000 orders", "down", (3, 12), (0.15, 0.4)),
    KpiKind("Average order value", "EUR", "up", (60, 400), (0.03, 0.12)),
    KpiKind("Upsell revenue share", "%", "up", (5, 15), (0.1, 0.3), 100),
    KpiKind("Customer effort score", "points", "down", (3, 5), (0.1, 0.2)),
    KpiKind("Active customers", "customers", "up", (20000, 150000), (0.03, 0.1)),
    KpiKind("Opportunities per rep", "per month", "up", (8, 25), (0.1, 0.3)),
    KpiKind("Escalation rate", "%", "down", (3, 10), (0.2, 0.4)),
    KpiKind("App adoption", "% of customers", "up", (5, 30), (0.3, 0.8), 100),
    KpiKind("Consent coverage", "% of contacts", "up", (40, 70), (0.1, 0.3), 100),
)

PROGRAM_THEMES: tuple[tuple[str, str], ...] = (
    ("Customer 360", "One view of every customer across sales, service and marketing"),
    ("Service excellence", "Resolve more at first contact and cut the cost to serve"),
    ("Sales acceleration", "Shorter sales cycles and better forecasts"),
    ("Campaign management", "Targeted campaigns that customers answer"),
    ("Loyalty", "Keep the customers we have and sell them more"),
    ("Digital self-service", "Let customers help themselves on the web and in the app"),
    ("Data quality", "Clean, complete customer data owned by the business"),
    ("Partner channel", "Give resellers the customer view they need"),
)

PROJECT_TOPICS: dict[str, tuple[str, ...]] = {
    "marketing": ("Segmentation", "Campaign automation", "Lead scoring", "Event follow-up"),
    "sales": ("Opportunity pipeline", "Quote automation", "Territory planning", "Forecasting"),
    "service": ("Case routing", "Knowledge base", "Call-centre desktop", "Field service"),
    "e-marketing": ("Email preference centre", "Web personalisation", "Social listening"),
    "it": ("Customer data hub", "Duplicate clean-up", "Legacy CRM retirement", "Data import"),
    "other": ("Partner portal", "Complaint handling", "Loyalty scheme", "Customer survey"),
}
DEPARTMENT_SHARES: tuple[tuple[str, float], ...] = (
    ("marketing", 0.22),
    ("sales", 0.24),
    ("service", 0.22),
    ("e-marketing", 0.12),
    ("it", 0.12),
    ("other", 0.08),
)
PEOPLE = (
    "Ada",
    "Ben",
    "Chloé",
    "Dario",
    "Eva",
    "Farid",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Kai",
    "Lena",
    "Mina",
    "Noah",
    "Olga",
    "Pavel",
    "Rosa",
    "Sami",
    "Tess",
    "Umar",
    "Vera",
    "Wim",
    "Yara",
    "Zeno",
)
SURNAMES = (
    "Albers",
    "Brandt",
    "Costa",
    "Dumont",
    "Engel",
    "Fischer",
    "García",
    "Hansen",
    "Ivanova",
    "Jensen",
    "Keller",
    "Laurent",
    "Moreau",
    "Nowak",
    "Okafor",
    "Peters",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Visser",
)
SPONSOR_TITLES = ("Chief Marketing Officer", "Head of Sales", "Head of Service", "COO", "CDO")
COST_CATEGORIES_EXECUTE = ("software", "services", "people", "training")
COST_CATEGORIES_RUN = ("software", "people")
BENEFIT_CATEGORIES = ("revenue uplift", "cost saving", "retention")
EVIDENCE = (
    "Steering minutes, {day}",
    "Workshop with the business users on {day}",
    "Signed-off document in the project folder ({day})",
    "Pilot report reviewed on {day}",
    "Data owner's sign-off e-mail of {day}",
)
CUSTOM_CRITERIA = (
    ("evaluate", "privacy_review", "Privacy impact assessed with the data protection officer"),
    ("execute", "works_council_informed", "Works council informed of the new working methods"),
    ("strategize", "sponsor_briefed", "Executive sponsor briefed on the project's objective"),
)
