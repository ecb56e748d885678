"""`heatpump replay`'s summary (collector/summary.py) in English and German: exact lines."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from collector.summary import RunSummary, format_run_summary
from heatpump import i18n

BERLIN = ZoneInfo("Europe/Berlin")
RUN = RunSummary(datetime(2026, 11, 1, 11, tzinfo=UTC), datetime(2026, 11, 2, 11, tzinfo=UTC),
                 electricity_kwh=12.3456, heat_kwh=1234.5, device_electricity_kwh=11.0,
                 heat_methods=("counter",), hours=24, meter_hours=24, heat_hours=23,
                 warnings=("2026-11-01 13:00 meter m1: degraded (counter_stuck)",),
                 rod_electricity_kwh=2.4, rod_estimated_kwh=2.4)


def test_the_replay_summary_in_both_languages():
    assert format_run_summary(RUN, BERLIN).splitlines() == [
        "2026-11-01 12:00 to 2026-11-02 12:00 (24 h)",
        "  electricity in (meter):       12.346 kWh in 24 h",
        "  heat out:                  1,234.500 kWh in 23 h (method: counter)",
        "  heat pump's own figure:       11.000 kWh electricity",
        "  heating rod (its own):         2.400 kWh electricity (estimated from its running "
        "time)",
        "  JAZ over the span:            100.00",
        "  warnings (1):",
        "    2026-11-01 13:00 meter m1: degraded (counter_stuck)",
    ]
    with i18n.using("de"):
        assert format_run_summary(RUN, BERLIN).splitlines() == [
            "2026-11-01 12:00 bis 2026-11-02 12:00 (24 h)",
            "  Strom hinein (Stromzähler):      12,346 kWh in 24 h",
            "  Wärme heraus:                 1.234,500 kWh in 23 h (Methode: counter)",
            "  eigener Wert der Wärmepumpe:     11,000 kWh Strom",
            "  Heizstab (eigener Wert):          2,400 kWh Strom (geschätzt aus seiner Laufzeit)",
            "  JAZ über den Zeitraum:           100,00",
            "  Warnungen (1):",
            "    2026-11-01 13:00 meter m1: degraded (counter_stuck)",
        ]
