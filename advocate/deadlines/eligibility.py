"""Does the No Surprises Act's federal IDR process apply to a claim?

Why a pure function: the answer decides whether the advocate files a federal
IDR dispute (on a clock, see :mod:`advocate.deadlines.nsa`) or follows a
state's process, so it must be explainable and testable without an app. The
firm's list of states with a specified state law is data it keeps (see
``advocate.deadlines.models.SpecifiedStateLaw``) and is passed in.

The rules (domain.md, "No Surprises Act (federal IDR)"):

* Service: emergency services, non-emergency services by an out-of-network
  provider at an in-network facility, and air ambulance services. Nothing else.
* Plan: group health plans and individual coverage. Medicare Advantage and
  Medicaid managed care are outside the NSA's federal IDR.
* A specified state law that sets the out-of-network rate takes precedence for
  the plans a state may regulate (fully insured ones). ERISA self-funded plans
  are out of the states' reach, so they stay in federal IDR even in those
  states. A state law covers only the services it names; the firm records
  which (state laws rarely reach air ambulance rates, which federal law
  governs).
* Remittance remark codes: N864 (emergency services), N865 (non-emergency
  services by a nonparticipating provider at a participating facility), N866
  (air ambulance) and N830 (processed under federal or state surprise-billing
  rules) signal the NSA. N867 and N868 (cost sharing set by a specified state
  law, or by an all-payer model) point to a state process. A code that
  contradicts what was entered makes the answer "unknown" rather than
  silently overruling either side.

Three answers: eligible, not eligible (with the reason), or unknown (with what
is missing or must be confirmed). A definite "not eligible" wins over missing
data: a Medicare Advantage claim is out whatever the service was.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

__all__ = [
    "ELIGIBLE",
    "NOT_ELIGIBLE",
    "NSA_REMARK_CODES",
    "PLAN_TYPE_LABELS",
    "SERVICE_TYPE_LABELS",
    "STATE_PROCESS_REMARK_CODES",
    "UNKNOWN",
    "Eligibility",
    "Missing",
    "PlanType",
    "ServiceType",
    "check_nsa_eligibility",
]

ELIGIBLE = "eligible"
NOT_ELIGIBLE = "not_eligible"
UNKNOWN = "unknown"
Status = Literal["eligible", "not_eligible", "unknown"]
Process = Literal["federal_idr", "state_process"]


class ServiceType(StrEnum):
    EMERGENCY = "emergency"
    NONEMERGENCY_AT_IN_NETWORK_FACILITY = "nonemergency_in_network_facility"
    AIR_AMBULANCE = "air_ambulance"
    OTHER = "other"


class PlanType(StrEnum):
    ERISA_SELF_FUNDED = "erisa_self_funded"
    FULLY_INSURED = "fully_insured"
    MEDICARE_ADVANTAGE = "medicare_advantage"
    MEDICAID_MANAGED_CARE = "medicaid_managed_care"
    OTHER = "other"


SERVICE_TYPE_LABELS: Mapping[ServiceType, str] = {
    ServiceType.EMERGENCY: "Emergency services",
    ServiceType.NONEMERGENCY_AT_IN_NETWORK_FACILITY: (
        "Non-emergency services by an out-of-network provider at an in-network facility"
    ),
    ServiceType.AIR_AMBULANCE: "Air ambulance services",
    ServiceType.OTHER: "Other services",
}

PLAN_TYPE_LABELS: Mapping[PlanType, str] = {
    PlanType.ERISA_SELF_FUNDED: "ERISA self-funded group health plan",
    PlanType.FULLY_INSURED: "Fully insured (group or individual) coverage",
    PlanType.MEDICARE_ADVANTAGE: "Medicare Advantage",
    PlanType.MEDICAID_MANAGED_CARE: "Medicaid managed care",
    PlanType.OTHER: "Other coverage",
}

# Remark code -> the service type it names (N830 names none).
_SERVICE_CODES: Mapping[str, ServiceType] = {
    "N864": ServiceType.EMERGENCY,
    "N865": ServiceType.NONEMERGENCY_AT_IN_NETWORK_FACILITY,
    "N866": ServiceType.AIR_AMBULANCE,
}
NSA_REMARK_CODES: frozenset[str] = frozenset({*_SERVICE_CODES, "N830"})
"""Remark codes that signal a claim processed under the NSA."""

STATE_PROCESS_REMARK_CODES: Mapping[str, str] = {
    "N867": "cost sharing was calculated under a specified state law",
    "N868": "cost sharing was calculated under an All-Payer Model Agreement",
}
"""Remark codes saying a state law or all-payer model, not the federal process, set the amount."""

COVERED_SERVICES: frozenset[ServiceType] = frozenset(
    {
        ServiceType.EMERGENCY,
        ServiceType.NONEMERGENCY_AT_IN_NETWORK_FACILITY,
        ServiceType.AIR_AMBULANCE,
    }
)
"""The service types the NSA's federal IDR covers."""


@dataclass(frozen=True, slots=True)
class Missing:
    """An input that is missing or has to be confirmed before there is an answer."""

    field: str
    message: str


@dataclass(frozen=True, slots=True)
class Eligibility:
    """The answer, with its reasons.

    ``reasons`` explain the answer (for "not eligible" the first one is the
    decisive reason); ``missing`` lists what an "unknown" answer needs;
    ``process`` is where the dispute goes when that is known (federal IDR or
    the state's process); ``remark_codes`` are the NSA-related codes seen.
    """

    status: Status
    reasons: tuple[str, ...] = ()
    missing: tuple[Missing, ...] = ()
    process: Process | None = None
    remark_codes: tuple[str, ...] = ()

    @property
    def is_eligible(self) -> bool:
        return self.status == ELIGIBLE

    @property
    def reason(self) -> str:
        """The reasons as one paragraph."""
        return " ".join(self.reasons)


def _enum(value: object, kind: type[StrEnum], field: str) -> StrEnum | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return kind(value.strip() if isinstance(value, str) else value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise ValueError(f"{field}: unknown value {value!r}; expected one of {allowed}") from None


def _codes(remark_codes: Iterable[str] | None) -> tuple[str, ...]:
    if remark_codes is None:
        return ()
    if isinstance(remark_codes, str):
        # "N864, N830" typed in one box.
        remark_codes = remark_codes.replace(",", " ").split()
    return tuple(sorted({c.strip().upper() for c in remark_codes if c and c.strip()}))


def _state_law_services(
    state_laws: Mapping[str, Collection[ServiceType]] | Collection[str],
    state: str,
) -> frozenset[ServiceType] | None:
    """The services the state's specified law covers, or None when it has none listed."""
    if isinstance(state_laws, Mapping):
        if state not in state_laws:
            return None
        return frozenset(ServiceType(s) for s in state_laws[state])
    # A bare collection of states: their laws cover emergency and facility
    # services, the usual scope (air ambulance rates are federal).
    if state not in state_laws:
        return None
    return frozenset({ServiceType.EMERGENCY, ServiceType.NONEMERGENCY_AT_IN_NETWORK_FACILITY})


def check_nsa_eligibility(
    service_type: ServiceType | str | None,
    plan_type: PlanType | str | None,
    state: str | None = None,
    state_laws: Mapping[str, Collection[ServiceType]] | Collection[str] | None = None,
    remark_codes: Iterable[str] | None = None,
) -> Eligibility:
    """Whether federal IDR under the No Surprises Act applies.

    ``service_type`` and ``plan_type`` are :class:`ServiceType` /
    :class:`PlanType` values (or their string values); None means not known.
    ``state`` is the two-letter code of the state whose law would govern (where
    the service was furnished and the policy issued). ``state_laws`` is the
    firm's list of states with a specified state law: a mapping of state code
    to the service types the law covers (or just a collection of state codes,
    meaning emergency and facility services); None means the list is not
    available. ``remark_codes`` are the remittance's remark codes (None: not
    looked at). When ``service_type`` is not given, a service-specific remark
    code (N864/N865/N866) supplies it.

    Raises ValueError for an unknown service or plan type value (a programming
    error, not a missing input).
    """
    service = _enum(service_type, ServiceType, "service_type")
    plan = _enum(plan_type, PlanType, "plan_type")
    state = state.strip().upper() if isinstance(state, str) and state.strip() else None
    codes = _codes(remark_codes)
    nsa_codes = tuple(c for c in codes if c in NSA_REMARK_CODES)
    seen = tuple(c for c in codes if c in NSA_REMARK_CODES or c in STATE_PROCESS_REMARK_CODES)
    coded_services = {_SERVICE_CODES[c] for c in codes if c in _SERVICE_CODES}

    not_eligible: list[str] = []
    reasons: list[str] = []
    missing: list[Missing] = []
    process: Process | None = None

    # --- Service type ------------------------------------------------------
    if service is None and len(coded_services) == 1:
        service = next(iter(coded_services))
        code = next(c for c, s in _SERVICE_CODES.items() if s == service and c in codes)
        reasons.append(
            f"Service type taken from remark code {code}: {SERVICE_TYPE_LABELS[service].lower()}."
        )
    if service is None:
        if len(coded_services) > 1:
            named = ", ".join(c for c in codes if c in _SERVICE_CODES)
            missing.append(
                Missing(
                    "service_type",
                    f"the remark codes name different service types ({named}): enter the service type",
                )
            )
        else:
            missing.append(
                Missing(
                    "service_type",
                    "the service type: emergency, non-emergency by an out-of-network provider at "
                    "an in-network facility, air ambulance, or other",
                )
            )
    elif service == ServiceType.OTHER:
        if nsa_codes:
            missing.append(
                Missing(
                    "service_type",
                    f"confirm the service type: it was entered as other, but the remittance "
                    f"carries {', '.join(nsa_codes)}, which says the payer processed it under "
                    "the No Surprises Act",
                )
            )
        else:
            not_eligible.append(
                "The NSA's federal IDR covers only emergency services, non-emergency services "
                "by an out-of-network provider at an in-network facility, and air ambulance "
                "services."
            )
    elif coded_services and service not in coded_services:
        named = ", ".join(c for c in codes if c in _SERVICE_CODES)
        missing.append(
            Missing(
                "service_type",
                f"confirm the service type: it was entered as "
                f"{SERVICE_TYPE_LABELS[service].lower()}, but the remittance carries {named}",
            )
        )
    else:
        reasons.append(f"{SERVICE_TYPE_LABELS[service]} are covered by the NSA.")

    # --- Plan type and state law -------------------------------------------
    if plan is None:
        missing.append(
            Missing(
                "plan_type",
                "the plan type: ERISA self-funded, fully insured, Medicare Advantage, Medicaid "
                "managed care, or other",
            )
        )
    elif plan == PlanType.MEDICARE_ADVANTAGE:
        not_eligible.append(
            "Medicare Advantage plans are not subject to the NSA's federal IDR process; "
            "out-of-network payment follows Medicare's rules."
        )
    elif plan == PlanType.MEDICAID_MANAGED_CARE:
        not_eligible.append(
            "Medicaid managed care plans are not subject to the NSA's federal IDR process; "
            "out-of-network payment follows the state Medicaid program's rules."
        )
    elif plan == PlanType.OTHER:
        missing.append(
            Missing(
                "plan_type",
                "the plan type: federal IDR applies to group health plans (including FEHB and "
                "non-federal governmental plans) and individual coverage, not to Medicare, "
                "Medicaid, TRICARE or VA coverage; choose the plan's type",
            )
        )
    elif plan == PlanType.ERISA_SELF_FUNDED:
        reasons.append(
            "ERISA self-funded plans are under federal IDR even in states with a surprise-"
            "billing law (state law cannot set their rates)."
        )
        process = "federal_idr"
        if "N867" in codes:
            missing.append(
                Missing(
                    "state",
                    "confirm whether the plan opted in to a state law: the remittance carries "
                    "N867 (cost sharing under a specified state law), which a self-funded plan "
                    "uses only if it has opted in",
                )
            )
    else:  # fully insured
        if state is None:
            missing.append(
                Missing(
                    "state",
                    "the state whose law governs the plan and the service: a fully insured plan "
                    "follows a state's process where a specified state law sets the rate",
                )
            )
        elif state_laws is None:
            missing.append(
                Missing(
                    "state_laws",
                    "the firm's list of states with a specified state law",
                )
            )
        else:
            covered = _state_law_services(state_laws, state)
            if covered is None:
                reasons.append(
                    f"{state} is not on the firm's list of states with a specified state law, "
                    "so a fully insured plan there is under federal IDR."
                )
                process = "federal_idr"
                if "N867" in codes:
                    missing.append(
                        Missing(
                            "state_laws",
                            f"confirm the state law: the remittance carries N867 (cost sharing "
                            f"under a specified state law), but {state} is not on the firm's list",
                        )
                    )
            elif service is not None and service in covered:
                not_eligible.append(
                    f"{state} has a specified state law that sets the rate for "
                    f"{SERVICE_TYPE_LABELS[service].lower()} under fully insured plans: follow "
                    "the state's process, not federal IDR."
                )
                process = "state_process"
            elif service is not None and service in COVERED_SERVICES:
                reasons.append(
                    f"{state}'s specified state law does not cover "
                    f"{SERVICE_TYPE_LABELS[service].lower()}, so federal IDR applies."
                )
                process = "federal_idr"
            elif service is None and covered >= COVERED_SERVICES:
                not_eligible.append(
                    f"{state} has a specified state law that sets the rate for every NSA service "
                    "under fully insured plans: follow the state's process, not federal IDR."
                )
                process = "state_process"
            # Otherwise the service type decides, and it is already listed as missing.

    if "N868" in codes and not not_eligible:
        missing.append(
            Missing(
                "remark_codes",
                "confirm whether an all-payer model sets the rate: the remittance carries N868 "
                "(cost sharing under an All-Payer Model Agreement), and federal IDR does not "
                "apply where one does",
            )
        )

    if not_eligible:
        return Eligibility(
            NOT_ELIGIBLE,
            tuple(not_eligible),
            process="state_process" if process == "state_process" else None,
            remark_codes=seen,
        )
    if missing:
        return Eligibility(UNKNOWN, tuple(reasons), tuple(missing), remark_codes=seen)
    if remark_codes is not None and not nsa_codes:
        reasons.append(
            "No NSA remark code (N864, N865, N866, N830) is on the remittance: the payer may "
            "not have processed the claim under the NSA; the law applies all the same."
        )
    elif nsa_codes:
        reasons.append(f"The remittance carries {', '.join(nsa_codes)}.")
    return Eligibility(ELIGIBLE, tuple(reasons), process="federal_idr", remark_codes=seen)
