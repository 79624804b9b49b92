"""Formats the forms rely on are checked by the engine itself, not only when an optional package is installed."""
from __future__ import annotations

import pytest

from engine import forms
from engine.errors import ValidationError

MOMENT = {"type": "object", "properties": {"melding_datum": {"type": "string", "format": "date-time"}}}


@pytest.mark.parametrize("value", ["vastgelegd", "2026-12-01", "31-12-2026 09:30", "2026-13-01T10:00"])
def test_a_date_time_that_is_not_an_iso_moment_is_refused(value):
    with pytest.raises(ValidationError) as info:
        forms.validate(MOMENT, {"melding_datum": value})
    assert "melding_datum" in info.value.errors


@pytest.mark.parametrize("value", ["2026-12-01T10:30", "2026-12-01T10:30:00+01:00", "2026-12-01T09:30:00Z"])
def test_iso_moments_as_the_web_the_api_and_scenarios_send_them_are_taken(value):
    assert forms.validate(MOMENT, {"melding_datum": value}) == {"melding_datum": value}
