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


def test_a_health_event_of_the_run_in_both_languages():
    """The collector stores the reason code and an English detail: English shows them as
    stored; German says the status and the reason in words and leaves the English detail
    out where the reason has a text (issue 19), keeping it where it is all there is."""
    from collector.summary import health_warning
    from heatpump.store.base import Point

    t = datetime(2026, 11, 1, 12, tzinfo=UTC)
    known = health_warning(Point("health", t, {
        "status": "degraded", "reason": "counter_reset",
        "detail": "the energy counter went back from 1000 Wh to 2 Wh"},
        {"source": "meter", "device": "m1"}), BERLIN)
    unknown = health_warning(Point("health", t, {"status": "down", "reason": "new_reason",
                                                 "detail": "something new"},
                                   {"source": "heatpump", "device": "hp1"}), BERLIN)
    assert known == ("2026-11-01 13:00 meter m1: degraded (counter_reset) the energy counter "
                     "went back from 1000 Wh to 2 Wh")
    run = RunSummary(RUN.start, RUN.end, 1.0, 3.0, 1.0, ("counter",), 24, 24, 24,
                     (known, unknown))
    with i18n.using("de"):
        assert format_run_summary(run, BERLIN).splitlines()[-3:] == [
            "  Warnungen (2):",
            "    2026-11-01 13:00 meter m1: eingeschränkt (der Energiezähler des Stromzählers "
            "wurde zurückgesetzt)",
            "    2026-11-01 13:00 heatpump hp1: ausgefallen (new_reason) something new"]
    assert format_run_summary(run, BERLIN).splitlines()[-1] == \
        "    2026-11-01 13:00 heatpump hp1: down (new_reason) something new"
