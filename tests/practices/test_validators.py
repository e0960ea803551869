"""Practice identifiers and claim codes: NPI, TIN, ZIP, state, CPT/HCPCS, modifiers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advocate.practices.validators import (
    US_STATES,
    cpt_hcpcs_error,
    mask_tin,
    modifier_error,
    normalize_tin,
    normalize_zip,
    npi_error,
    npi_is_valid,
    state_error,
    zip_error,
)

# No example database: the suite must not write files into the shared tree.
PROPERTY = settings(database=None, deadline=None, max_examples=300)

# Valid NPIs.  The check digit is the Luhn digit of "80840" + the first nine
# digits.  Walking that 14-digit payload from the right, positions 0, 2, 4, ...
# are doubled (minus 9 when over 9); check = (10 - total % 10) % 10.
# The first nine digits take positions 0..8; the prefix "80840" takes 9..13:
# 0 (pos 9) + 4*2 (pos 10) + 8 (pos 11) + 0*2 (pos 12) + 8 (pos 13) = 24.
#
# 123456789 -> digits from the right 9 8 7 6 5 4 3 2 1
#   doubled (pos 0,2,4,6,8): 9->18->9, 7->14->5, 5->10->1, 3->6, 1->2 = 23
#   kept    (pos 1,3,5,7):   8 + 6 + 4 + 2 = 20
#   total 24 + 23 + 20 = 67 -> check 3 -> 1234567893 (the CMS example)
# 987654321 -> digits from the right 1 2 3 4 5 6 7 8 9
#   doubled: 1->2, 3->6, 5->10->1, 7->14->5, 9->18->9 = 23
#   kept:    2 + 4 + 6 + 8 = 20
#   total 24 + 23 + 20 = 67 -> check 3 -> 9876543213
# 192837465 -> digits from the right 5 6 4 7 3 8 2 9 1
#   doubled: 5->10->1, 4->8, 3->6, 2->4, 1->2 = 21
#   kept:    6 + 7 + 8 + 9 = 30
#   total 24 + 21 + 30 = 75 -> check 5 -> 1928374655
VALID_NPIS = ["1234567893", "9876543213", "1928374655"]


def luhn_ok(digits: str) -> bool:
    """Reference Luhn validation of a whole number (check digit included)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value // 10 + value % 10
    return total % 10 == 0


# --------------------------------------------------------------------------- NPI


class TestNpi:
    @pytest.mark.parametrize("npi", VALID_NPIS)
    def test_valid(self, npi):
        assert npi_is_valid(npi)
        assert npi_error(npi) is None

    @pytest.mark.parametrize("npi", VALID_NPIS)
    def test_every_other_check_digit_is_invalid(self, npi):
        for digit in "0123456789":
            candidate = npi[:9] + digit
            assert npi_is_valid(candidate) is (candidate == npi)
            if candidate != npi:
                assert "check digit" in npi_error(candidate)

    @pytest.mark.parametrize("npi", ["123456789", "12345678931", "1", "12345678930000"])
    def test_wrong_length(self, npi):
        assert not npi_is_valid(npi)
        assert npi_error(npi) == f"An NPI has exactly 10 digits; this one has {len(npi)}."

    @pytest.mark.parametrize(
        "npi",
        [
            "12345678a3",
            " 1234567893",
            "1234567893 ",
            "1234567893\n",
            "123-456-7893",
            "١٢٣٤٥٦٧٨٩٣",  # Arabic-Indic digits: str.isdigit() is True, but not an NPI
            "+234567893",
        ],
    )
    def test_non_digits(self, npi):
        assert not npi_is_valid(npi)
        assert npi_error(npi) == "An NPI has digits only (no spaces, dashes or letters)."

    @pytest.mark.parametrize("value", [None, ""])
    def test_missing(self, value):
        assert not npi_is_valid(value)
        assert npi_error(value) == "Enter the 10-digit NPI."

    def test_not_a_string(self):
        assert not npi_is_valid(1234567893)  # type: ignore[arg-type]
        assert npi_error(1234567893) == "The NPI must be written as text of 10 digits."

    @PROPERTY
    @given(st.text("0123456789", min_size=9, max_size=9))
    def test_exactly_one_check_digit_per_base_and_it_matches_reference_luhn(self, base):
        valid = [d for d in "0123456789" if npi_is_valid(base + d)]
        assert len(valid) == 1
        assert luhn_ok("80840" + base + valid[0])

    @PROPERTY
    @given(st.text("0123456789", min_size=9, max_size=9), st.integers(0, 9), st.integers(1, 9))
    def test_any_single_mistyped_digit_is_caught(self, base, position, shift):
        npi = next(base + d for d in "0123456789" if npi_is_valid(base + d))
        typo = npi[:position] + str((int(npi[position]) + shift) % 10) + npi[position + 1 :]
        assert not npi_is_valid(typo)

    @PROPERTY
    @given(st.text("0123456789", min_size=9, max_size=9), st.integers(0, 8))
    def test_swapped_neighbours_are_caught_except_09(self, base, position):
        npi = next(base + d for d in "0123456789" if npi_is_valid(base + d))
        a, b = npi[position], npi[position + 1]
        swapped = npi[:position] + b + a + npi[position + 2 :]
        if a == b or {a, b} == {"0", "9"}:
            return  # identical digits, or the one swap Luhn cannot see
        assert not npi_is_valid(swapped)


# --------------------------------------------------------------------------- TIN


class TestTin:
    @pytest.mark.parametrize("value", ["12-3456789", "123456789"])
    def test_normalize_accepts_both_forms(self, value):
        assert normalize_tin(value) == "123456789"

    def test_normalize_keeps_leading_zeros(self):
        assert normalize_tin("01-0000001") == "010000001"

    @pytest.mark.parametrize(
        "value",
        [
            "12-345678",
            "1234567890",
            "12345678",
            "123-45-6789",  # SSN layout is not accepted
            "12 3456789",
            "12--3456789",
            "1-23456789",
            "AB-CDEFGHI",
            " 123456789",
            "",
            None,
            123456789,
        ],
    )
    def test_normalize_rejects_other_shapes(self, value):
        with pytest.raises(ValueError, match="9 digits, written 12-3456789 or 123456789"):
            normalize_tin(value)

    @pytest.mark.parametrize("value", ["000000000", "00-0000000"])
    def test_all_zeros_is_not_a_tin(self, value):
        with pytest.raises(ValueError, match="all zeros"):
            normalize_tin(value)

    @pytest.mark.parametrize("value", ["12-3456789", "123456789"])
    def test_mask_shows_only_the_last_four(self, value):
        assert mask_tin(value) == "XX-XXX6789"

    def test_mask_of_invalid_tin_raises_without_echoing_it(self):
        with pytest.raises(ValueError) as excinfo:
            mask_tin("98-76543")
        assert "76543" not in str(excinfo.value)


# --------------------------------------------------------------------------- ZIP


class TestZip:
    @pytest.mark.parametrize("value", ["12345", "12345-6789", "00501", "99950-0001"])
    def test_valid(self, value):
        assert zip_error(value) is None

    @pytest.mark.parametrize(
        "value",
        [
            "1234",
            "123456",
            "12345-678",
            "12345-67890",
            "123456789",  # ZIP+4 needs its dash
            "12345 6789",
            "12345-",
            "ABCDE",
            " 12345",
            "12345\n",
            12345,
        ],
    )
    def test_invalid(self, value):
        assert zip_error(value) == "A ZIP code is 5 digits (12345) or ZIP+4 (12345-6789)."
        with pytest.raises(ValueError, match="ZIP"):
            normalize_zip(value)

    @pytest.mark.parametrize("value", [None, ""])
    def test_missing(self, value):
        assert zip_error(value) == "Enter the ZIP code."

    @pytest.mark.parametrize(("value", "expected"), [("12345", "12345"), ("02134-1234", "02134")])
    def test_normalize_to_five_digits(self, value, expected):
        assert normalize_zip(value) == expected


# --------------------------------------------------------------------------- states


class TestStates:
    def test_fifty_states_dc_and_five_territories(self):
        assert len(US_STATES) == 56
        assert {"DC", "PR", "GU", "VI", "AS", "MP"} <= set(US_STATES)
        assert all(len(code) == 2 and code.isascii() and code.isupper() for code in US_STATES)
        assert US_STATES["NY"] == "New York"

    def test_is_read_only(self):
        with pytest.raises(TypeError):
            US_STATES["XX"] = "Nowhere"  # type: ignore[index]

    @pytest.mark.parametrize("code", ["NY", "CA", "DC", "PR", "GU", "VI", "AS", "MP", "WY"])
    def test_valid(self, code):
        assert state_error(code) is None

    @pytest.mark.parametrize("code", ["ny", "XX", "N", "NYC", "AA", "FM", " NY", 36])
    def test_invalid(self, code):
        assert state_error(code) == (
            "Use the two-letter code of a US state or territory, e.g. NY, DC or PR."
        )

    @pytest.mark.parametrize("code", [None, ""])
    def test_missing(self, code):
        assert state_error(code) == "Choose a state."


# --------------------------------------------------------------------------- codes


class TestCptHcpcs:
    @pytest.mark.parametrize(
        "code",
        ["99213", "00100", "0001F", "0042T", "0001U", "A0428", "J1100", "G0283", "V2020"],
    )
    def test_valid(self, code):
        assert cpt_hcpcs_error(code) is None

    @pytest.mark.parametrize(
        "code",
        [
            "9921",
            "992134",
            "0001X",  # only F, T and U follow four digits
            "0001f",
            "W1234",  # HCPCS Level II letters stop at V
            "Z9999",
            "j1100",
            "J110A",
            "JJ100",
            "99213 ",
            "99213-25",
            "٩٩٢١٣",  # Arabic-Indic digits
            99213,
        ],
    )
    def test_invalid(self, code):
        assert cpt_hcpcs_error(code).startswith("A CPT/HCPCS code is 5 characters")

    @pytest.mark.parametrize("code", [None, ""])
    def test_missing(self, code):
        assert cpt_hcpcs_error(code) == "Enter the CPT or HCPCS code."


class TestModifier:
    @pytest.mark.parametrize("mod", ["25", "59", "XU", "TC", "26", "GT", "F1", "LT"])
    def test_valid(self, mod):
        assert modifier_error(mod) is None

    @pytest.mark.parametrize("mod", ["5", "259", "xu", "X ", "-1", "2.", "ÄB", 25])
    def test_invalid(self, mod):
        assert (
            modifier_error(mod) == "A modifier is 2 capital letters or digits, e.g. 25, 59 or XU."
        )

    @pytest.mark.parametrize("mod", [None, ""])
    def test_missing(self, mod):
        assert modifier_error(mod) == "Enter the modifier."
