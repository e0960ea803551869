"""Validators for a practice's identifiers and the codes on its claims.

Pure functions, no Flask: forms, importers (835, spreadsheets) and the API
share them so a value accepted in one place is accepted everywhere.  The
``*_error`` functions return a message a billing person can act on, or
``None`` when the value is fine; they check the value exactly as given, so a
form strips surrounding whitespace before calling them.  Only ASCII digits
count as digits (``str.isdigit`` would accept Arabic-Indic or superscript
digits that no payer system does).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

__all__ = [
    "PLACES_OF_SERVICE",
    "SPECIALTIES",
    "US_STATES",
    "cpt_hcpcs_error",
    "mask_tin",
    "modifier_error",
    "normalize_specialty",
    "normalize_tin",
    "normalize_zip",
    "npi_error",
    "npi_is_valid",
    "pos_error",
    "specialty_error",
    "state_error",
    "tin_error",
    "zip_error",
]

_NPI_RE: Final = re.compile(r"[0-9]{10}")
_DIGITS_RE: Final = re.compile(r"[0-9]+")
_TIN_RE: Final = re.compile(r"([0-9]{2})-?([0-9]{7})")
_ZIP_RE: Final = re.compile(r"([0-9]{5})(?:-[0-9]{4})?")
_CPT_HCPCS_RE: Final = re.compile(r"[0-9]{5}|[0-9]{4}[FTU]|[A-V][0-9]{4}")
_MODIFIER_RE: Final = re.compile(r"[A-Z0-9]{2}")

# The NPI check digit is the ISO/IEC 7812 Luhn digit of the card-issuer prefix
# "80840" (health applications, USA) followed by the NPI's first nine digits.
_NPI_PREFIX: Final = "80840"


def _luhn_check_digit(payload: str) -> int:
    """Luhn check digit for ``payload`` (ASCII digits): the digit to append to it.

    Walking from the right, every other digit starting with the rightmost is
    doubled (its digits summed, i.e. minus 9 when over 9), and the check digit
    brings the total to a multiple of 10.
    """
    total = 0
    for position, char in enumerate(reversed(payload)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def npi_is_valid(npi: str) -> bool:
    """True if ``npi`` is exactly 10 ASCII digits with a correct check digit.

    The check digit catches every single mistyped digit and most swapped
    neighbours before a payer rejects the claim or appeal for it.
    """
    if not isinstance(npi, str) or not _NPI_RE.fullmatch(npi):
        return False
    return _luhn_check_digit(_NPI_PREFIX + npi[:9]) == int(npi[9])


def npi_error(value: object) -> str | None:
    """Why ``value`` is not a valid NPI, or None if it is."""
    if value is None or value == "":
        return "Enter the 10-digit NPI."
    if not isinstance(value, str):
        return "The NPI must be written as text of 10 digits."
    if not _DIGITS_RE.fullmatch(value):
        return "An NPI has digits only (no spaces, dashes or letters)."
    if len(value) != 10:
        return f"An NPI has exactly 10 digits; this one has {len(value)}."
    if not npi_is_valid(value):
        return "This is not a valid NPI: its check digit does not match. Look for a mistyped digit."
    return None


def normalize_tin(value: str) -> str:
    """The 9 digits of a TIN (EIN) written ``12-3456789`` or ``123456789``.

    Raises ``ValueError`` with a message for anything else, including all
    zeros, which the IRS never issues.  Stored as 9 digits so the same TIN
    typed two ways is one practice, not two.
    """
    match = _TIN_RE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError("A TIN has 9 digits, written 12-3456789 or 123456789.")
    digits = match.group(1) + match.group(2)
    if digits == "000000000":
        raise ValueError("A TIN cannot be all zeros.")
    return digits


def tin_error(value: object) -> str | None:
    """Why ``value`` is not a TIN (EIN), or None if it is (see ``normalize_tin``)."""
    if value is None or value == "":
        return "Enter the practice's 9-digit TIN (EIN)."
    try:
        normalize_tin(value)  # type: ignore[arg-type]
    except ValueError as exc:
        return str(exc)
    return None


def mask_tin(tin: str) -> str:
    """``XX-XXX6789``: enough to recognise a TIN on screen without exposing it.

    Accepts either written form; raises ``ValueError`` (never echoes the
    input) if ``tin`` is not a TIN.
    """
    return "XX-XXX" + normalize_tin(tin)[-4:]


def zip_error(value: object) -> str | None:
    """Why ``value`` is not a US ZIP code (``12345`` or ZIP+4 ``12345-6789``), or None."""
    if value is None or value == "":
        return "Enter the ZIP code."
    if not isinstance(value, str) or not _ZIP_RE.fullmatch(value):
        return "A ZIP code is 5 digits (12345) or ZIP+4 (12345-6789)."
    return None


def normalize_zip(value: str) -> str:
    """The 5-digit ZIP of a ZIP or ZIP+4.

    Five digits is what the CMS ZIP-to-locality file keys on, so benchmarks
    look up the same locality whichever form was typed.  Raises ``ValueError``
    with the ``zip_error`` message otherwise.
    """
    error = zip_error(value)
    if error is not None:
        raise ValueError(error)
    return value[:5]


US_STATES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "AL": "Alabama",
        "AK": "Alaska",
        "AZ": "Arizona",
        "AR": "Arkansas",
        "CA": "California",
        "CO": "Colorado",
        "CT": "Connecticut",
        "DE": "Delaware",
        "DC": "District of Columbia",
        "FL": "Florida",
        "GA": "Georgia",
        "HI": "Hawaii",
        "ID": "Idaho",
        "IL": "Illinois",
        "IN": "Indiana",
        "IA": "Iowa",
        "KS": "Kansas",
        "KY": "Kentucky",
        "LA": "Louisiana",
        "ME": "Maine",
        "MD": "Maryland",
        "MA": "Massachusetts",
        "MI": "Michigan",
        "MN": "Minnesota",
        "MS": "Mississippi",
        "MO": "Missouri",
        "MT": "Montana",
        "NE": "Nebraska",
        "NV": "Nevada",
        "NH": "New Hampshire",
        "NJ": "New Jersey",
        "NM": "New Mexico",
        "NY": "New York",
        "NC": "North Carolina",
        "ND": "North Dakota",
        "OH": "Ohio",
        "OK": "Oklahoma",
        "OR": "Oregon",
        "PA": "Pennsylvania",
        "RI": "Rhode Island",
        "SC": "South Carolina",
        "SD": "South Dakota",
        "TN": "Tennessee",
        "TX": "Texas",
        "UT": "Utah",
        "VT": "Vermont",
        "VA": "Virginia",
        "WA": "Washington",
        "WV": "West Virginia",
        "WI": "Wisconsin",
        "WY": "Wyoming",
        "AS": "American Samoa",
        "GU": "Guam",
        "MP": "Northern Mariana Islands",
        "PR": "Puerto Rico",
        "VI": "U.S. Virgin Islands",
    }
)
"""USPS codes of the 50 states, DC and the five inhabited territories, to names.

Military (AA, AE, AP) and freely associated states (FM, MH, PW) are left out:
they are not where a client practice is located.
"""


def state_error(value: object) -> str | None:
    """Why ``value`` is not a US state or territory code (e.g. ``NY``), or None."""
    if value is None or value == "":
        return "Choose a state."
    if not isinstance(value, str) or value not in US_STATES:
        return "Use the two-letter code of a US state or territory, e.g. NY, DC or PR."
    return None


def cpt_hcpcs_error(code: object) -> str | None:
    """Why ``code`` is not a CPT or HCPCS Level II code, or None.

    Five characters: five digits (CPT Category I), four digits and F, T or U
    (Category II, Category III, proprietary laboratory analyses), or a letter
    A to V and four digits (HCPCS Level II).  Format only: whether the code
    exists in a given year is the fee schedule's business.
    """
    if code is None or code == "":
        return "Enter the CPT or HCPCS code."
    if not isinstance(code, str) or not _CPT_HCPCS_RE.fullmatch(code):
        return (
            "A CPT/HCPCS code is 5 characters: 5 digits (99213), 4 digits and F, T or U"
            " (0001U), or a capital letter A-V and 4 digits (J1100)."
        )
    return None


def modifier_error(mod: object) -> str | None:
    """Why ``mod`` is not a CPT/HCPCS modifier (2 capital letters or digits), or None."""
    if mod is None or mod == "":
        return "Enter the modifier."
    if not isinstance(mod, str) or not _MODIFIER_RE.fullmatch(mod):
        return "A modifier is 2 capital letters or digits, e.g. 25, 59 or XU."
    return None


PLACES_OF_SERVICE: Final[Mapping[str, str]] = MappingProxyType(
    {
        "01": "Pharmacy",
        "02": "Telehealth (not in the patient's home)",
        "03": "School",
        "04": "Homeless shelter",
        "05": "Indian Health Service free-standing facility",
        "06": "Indian Health Service provider-based facility",
        "07": "Tribal 638 free-standing facility",
        "08": "Tribal 638 provider-based facility",
        "09": "Prison / correctional facility",
        "10": "Telehealth in the patient's home",
        "11": "Office",
        "12": "Home",
        "13": "Assisted living facility",
        "14": "Group home",
        "15": "Mobile unit",
        "16": "Temporary lodging",
        "17": "Walk-in retail health clinic",
        "18": "Place of employment / worksite",
        "19": "Off-campus outpatient hospital",
        "20": "Urgent care facility",
        "21": "Inpatient hospital",
        "22": "On-campus outpatient hospital",
        "23": "Emergency room (hospital)",
        "24": "Ambulatory surgical center",
        "25": "Birthing center",
        "26": "Military treatment facility",
        "27": "Outreach site / street",
        "31": "Skilled nursing facility",
        "32": "Nursing facility",
        "33": "Custodial care facility",
        "34": "Hospice",
        "41": "Ambulance (land)",
        "42": "Ambulance (air or water)",
        "49": "Independent clinic",
        "50": "Federally qualified health center",
        "51": "Inpatient psychiatric facility",
        "52": "Psychiatric facility (partial hospitalization)",
        "53": "Community mental health center",
        "54": "Intermediate care facility (intellectual disabilities)",
        "55": "Residential substance abuse treatment facility",
        "56": "Psychiatric residential treatment center",
        "57": "Non-residential substance abuse treatment facility",
        "58": "Non-residential opioid treatment facility",
        "60": "Mass immunization center",
        "61": "Comprehensive inpatient rehabilitation facility",
        "62": "Comprehensive outpatient rehabilitation facility",
        "65": "End-stage renal disease treatment facility",
        "66": "PACE center",
        "71": "Public health clinic",
        "72": "Rural health clinic",
        "81": "Independent laboratory",
        "99": "Other place of service",
    }
)
"""CMS place-of-service codes (two digits) to short names.

A practice's default POS prefills its claims' lines; whether a POS is a
facility setting for the fee schedule is the rates feature's business.
"""


def pos_error(value: object) -> str | None:
    """Why ``value`` is not a place-of-service code (two digits, e.g. ``11``), or None."""
    if value is None or value == "":
        return "Choose the default place of service."
    if not isinstance(value, str) or value not in PLACES_OF_SERVICE:
        return "A place of service is a 2-digit CMS code, e.g. 11 (office) or 22 (outpatient hospital)."
    return None


SPECIALTIES: Final[tuple[str, ...]] = (
    "Air ambulance",
    "Ambulatory surgery center",
    "Anesthesiology",
    "Behavioral health",
    "Cardiology",
    "Cardiothoracic surgery",
    "Chiropractic",
    "Dermatology",
    "Emergency medicine",
    "Gastroenterology",
    "General surgery",
    "Hospitalist medicine",
    "Internal medicine",
    "Interventional pain management",
    "Laboratory and pathology",
    "Neurology",
    "Neurosurgery",
    "Intraoperative neuromonitoring",
    "Obstetrics and gynecology",
    "Ophthalmology",
    "Orthopedic surgery",
    "Otolaryngology",
    "Pediatrics",
    "Physical medicine and rehabilitation",
    "Physical therapy",
    "Plastic and reconstructive surgery",
    "Podiatry",
    "Radiology",
    "Urology",
    "Vascular surgery",
    "Other",
)
"""The specialties a firm files practices and professional associations under.

One list, so a practice's page can find the associations of its specialty by
equality rather than by guessing at spellings.
"""

_SPECIALTY_BY_KEY: Final = {s.casefold(): s for s in SPECIALTIES}


def specialty_error(value: object) -> str | None:
    """Why ``value`` is not one of ``SPECIALTIES`` (any letter case), or None."""
    if value is None or value == "":
        return "Choose a specialty."
    if not isinstance(value, str) or value.strip().casefold() not in _SPECIALTY_BY_KEY:
        return "Choose a specialty from the list (use 'Other' if none fits)."
    return None


def normalize_specialty(value: str) -> str:
    """The canonical spelling of a specialty typed in any letter case.

    Raises ``ValueError`` with the ``specialty_error`` message otherwise.
    """
    error = specialty_error(value)
    if error is not None:
        raise ValueError(error)
    return _SPECIALTY_BY_KEY[value.strip().casefold()]
