"""VINs (check digit) and phone numbers (E.164 via phonenumbers)."""
from __future__ import annotations

import pytest

from bayline.claims.vin import vin_error, with_check_digit
from bayline.phones import to_e164


def test_known_good_vin():
    assert vin_error("1HGCM82633A004352") is None
    assert vin_error("11111111111111111") is None


@pytest.mark.parametrize("vin, reason", [
    ("1HGCM82633A00435", "17 characters"),
    ("1HGCM82633A00435O", "never used"),
    ("1HGCM82643A004352", "check digit"),
])
def test_bad_vins(vin, reason):
    assert reason in vin_error(vin)


def test_with_check_digit_repairs():
    assert with_check_digit("1HGCM82603A004352") == "1HGCM82633A004352"


def test_phone_numbers():
    assert to_e164("(617) 555-0142") == "+16175550142"
    assert to_e164("+44 20 7946 0958") == "+442079460958"
    with pytest.raises(ValueError):
        to_e164("555-0142")
    with pytest.raises(ValueError):
        to_e164("call me")
