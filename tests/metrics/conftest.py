"""What the metrics tests share: the churn KPI of the hand-computed examples."""

from decimal import Decimal

# A down KPI from 20 to 10 (2026-01 to 2026-05): measured at 15 in 2026-03, it is 50 %
# attained and 50 % expected (on track).
CHURN_KPI = {
    "name": "Churn",
    "direction": "down",
    "baseline_value": Decimal(20),
    "target_value": Decimal(10),
    "target_period": "2026-05",
}
