"""Plan types, pricing methods, and the defaults that prefill a new policy.

These are the only place the product's default deadlines live: a new policy
form starts from them, and what is saved is the firm's own data. Nothing reads
these defaults to compute a deadline; `services.policy_for` reads saved
policies. Change a default here and only new forms change.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

ERISA_SELF_FUNDED = "erisa_self_funded"
FULLY_INSURED = "fully_insured"
MEDICARE_ADVANTAGE = "medicare_advantage"
MEDICAID_MANAGED_CARE = "medicaid_managed_care"
OTHER = "other"

PLAN_TYPES = MappingProxyType(
    {
        ERISA_SELF_FUNDED: "ERISA self-funded",
        FULLY_INSURED: "Fully insured",
        MEDICARE_ADVANTAGE: "Medicare Advantage",
        MEDICAID_MANAGED_CARE: "Medicaid managed care",
        OTHER: "Other",
    }
)

# What people type in spreadsheets and API calls for each plan type.
PLAN_TYPE_ALIASES = MappingProxyType(
    {
        "erisa": ERISA_SELF_FUNDED,
        "self funded": ERISA_SELF_FUNDED,
        "self-funded": ERISA_SELF_FUNDED,
        "selffunded": ERISA_SELF_FUNDED,
        "aso": ERISA_SELF_FUNDED,
        "fully insured": FULLY_INSURED,
        "fully-insured": FULLY_INSURED,
        "insured": FULLY_INSURED,
        "commercial": FULLY_INSURED,
        "ma": MEDICARE_ADVANTAGE,
        "medicare advantage": MEDICARE_ADVANTAGE,
        "mapd": MEDICARE_ADVANTAGE,
        "medicaid": MEDICAID_MANAGED_CARE,
        "medicaid managed care": MEDICAID_MANAGED_CARE,
        "mmc": MEDICAID_MANAGED_CARE,
        "mco": MEDICAID_MANAGED_CARE,
    }
)

MEDICARE_PERCENT = "medicare_percent"
COMMERCIAL_PERCENTILE = "commercial_percentile"
BILLED_PERCENT = "billed_percent"
QPA = "qpa"
UNKNOWN = "unknown"

PRICING_METHODS = MappingProxyType(
    {
        MEDICARE_PERCENT: "Percent of Medicare",
        COMMERCIAL_PERCENTILE: "Percent of a commercial percentile",
        BILLED_PERCENT: "Percent of billed charges",
        QPA: "QPA (No Surprises Act claims)",
        UNKNOWN: "Unknown",
    }
)

# Which methods take a percent, and its bounds (inclusive). Percent of billed
# and of a benchmark cannot sensibly exceed 100; OON payers do pay above
# Medicare (e.g. 140% of Medicare), so that method allows up to 1000.
PERCENT_BOUNDS = MappingProxyType(
    {
        MEDICARE_PERCENT: (0, 1000),
        COMMERCIAL_PERCENTILE: (0, 100),
        BILLED_PERCENT: (0, 100),
    }
)
PERCENTILE_BOUNDS = (1, 99)

SCA_CHOICES = MappingProxyType({"unknown": "Unknown", "yes": "Yes", "no": "No"})

APPEAL_LEVEL_NAMES = ("Reconsideration", "Level 1 appeal", "Level 2 appeal", "External review")


@dataclass(frozen=True)
class AppealLevelDefault:
    name: str
    window_days: int


@dataclass(frozen=True)
class PolicyDefaults:
    timely_filing_days: int
    appeal_levels: tuple[AppealLevelDefault, ...]


# Timely filing: commercial plans usually allow 90 to 180 days, Medicare 12
# months. The default is the short end, so a prefilled value never makes a
# deadline look later than the usual rule. First-level appeals: 180 days
# (ERISA's minimum, 29 CFR 2560.503-1(h)(3)(i)). External review: 4 months
# after the final internal denial, written as 120 days, never more than
# 4 calendar months. All of it is the firm's to correct per payer.
POLICY_DEFAULTS = MappingProxyType(
    {
        ERISA_SELF_FUNDED: PolicyDefaults(
            timely_filing_days=90,
            appeal_levels=(
                AppealLevelDefault("Level 1 appeal", 180),
                AppealLevelDefault("External review", 120),
            ),
        ),
        FULLY_INSURED: PolicyDefaults(
            timely_filing_days=90,
            appeal_levels=(
                AppealLevelDefault("Level 1 appeal", 180),
                AppealLevelDefault("External review", 120),
            ),
        ),
        MEDICARE_ADVANTAGE: PolicyDefaults(
            timely_filing_days=365,
            appeal_levels=(AppealLevelDefault("Reconsideration", 180),),
        ),
        MEDICAID_MANAGED_CARE: PolicyDefaults(
            timely_filing_days=90,
            appeal_levels=(AppealLevelDefault("Level 1 appeal", 180),),
        ),
        OTHER: PolicyDefaults(
            timely_filing_days=90,
            appeal_levels=(AppealLevelDefault("Level 1 appeal", 180),),
        ),
    }
)


def defaults_for(plan_type: str) -> PolicyDefaults:
    return POLICY_DEFAULTS.get(plan_type, POLICY_DEFAULTS[OTHER])


def plan_type_label(plan_type: str | None) -> str:
    return PLAN_TYPES.get(plan_type or "", plan_type or "—")


def pricing_method_label(method: str | None) -> str:
    return PRICING_METHODS.get(method or "", method or "—")
