"""Numbers, ages, times and periods as a person reads them, in English and German."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot import fmt
from bot.periods import PeriodError, parse_period
from heatpump import i18n

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 29, 22, 5, tzinfo=UTC)  # 23:05 in Berlin
NBSP = "\u00a0"  # Babel's German '87 %' has a no-break space


def test_numbers_in_english_stay_as_they_were():
    assert fmt.kwh(1_178_400) == "1,178 kWh" and fmt.kwh(27_040) == "27.0 kWh"
    assert fmt.kwh(None) == "–"
    assert fmt.ratio(3.456) == "3.46" and fmt.ratio(None) == "–"
    assert fmt.pct(0.873) == "87%" and fmt.pct(0.004) == "<1%" and fmt.pct(0.996) == ">99%"
    assert fmt.signed_pct(-0.053) == "-5%" and fmt.signed_pct(0.12) == "+12%"
    assert fmt.temp(-0.1) == "-0.1 °C" and fmt.watts(4321) == "4321 W"
    assert fmt.watts(12_345) == "12.35 kW"
    assert fmt.duration(42 * 60) == "42 min" and fmt.duration(5400) == "1.5 h"


def test_numbers_in_german():
    with i18n.using("de"):
        assert fmt.kwh(1_178_400) == "1.178 kWh" and fmt.kwh(27_040) == "27,0 kWh"
        assert fmt.ratio(3.456) == "3,46"
        assert fmt.pct(0.873) == f"87{NBSP}%"
        assert fmt.pct(0.004) == f"<1{NBSP}%" and fmt.pct(0.996) == f">99{NBSP}%"
        assert fmt.signed_pct(-0.053) == f"-5{NBSP}%"
        assert fmt.temp(-0.1) == "-0,1 °C" and fmt.temp(21.55) == "21,6 °C"
        assert fmt.watts(4321) == "4321 W" and fmt.watts(12_345) == "12,35 kW"
        assert fmt.duration(5400) == "1,5 h"


def test_ages_and_times_in_both_languages():
    ago = {timedelta(seconds=12): ("12 s ago", "vor 12 s"),
           timedelta(minutes=4): ("4 min ago", "vor 4 min"),
           timedelta(hours=2, minutes=5): ("2 h 5 min ago", "vor 2 h 5 min"),
           timedelta(days=3): ("3 days ago", "vor 3 Tagen"),
           timedelta(minutes=-2): ("in the future (clock skew?)",
                                   "in der Zukunft (Uhr falsch gestellt?)")}
    for delta, (en, de) in ago.items():
        assert fmt.age(NOW - delta, NOW) == en
        with i18n.using("de"):
            assert fmt.age(NOW - delta, NOW) == de
    for lang in ("en", "de"):  # day.month.year in both: German, and what English showed
        with i18n.using(lang):
            assert fmt.local(NOW, BERLIN) == "29.11.2026 23:05"
            assert fmt.local(NOW, BERLIN, with_date=False) == "23:05"
    assert fmt.month_year(date(2026, 3, 1)) == "March 2026"
    assert fmt.weekday_day(date(2026, 11, 29)) == "Sunday 29.11.2026"
    with i18n.using("de"):
        assert fmt.month_year(date(2026, 3, 1)) == "März 2026"
        assert fmt.weekday_day(date(2026, 11, 29)) == "Sonntag 29.11.2026"
        assert fmt.pattern(datetime(2026, 1, 5, 8, 15, tzinfo=BERLIN), "%a %d %b %H:%M",
                           "EEE d. MMM HH:mm") == "Mo. 5. Jan. 08:15"
    assert fmt.pattern(datetime(2026, 1, 5, 8, 15, tzinfo=BERLIN), "%a %d %b %H:%M",
                       "EEE d. MMM HH:mm") == "Mon 05 Jan 08:15"


@pytest.mark.parametrize(("text", "en", "de"), [
    ("today", "today", "heute"),
    ("yesterday", "yesterday (28.11.2026)", "gestern (28.11.2026)"),
    ("month", "this month (November 2026)", "dieser Monat (November 2026)"),
    ("30d", "last 30 days (since 31.10.2026)", "letzte 30 Tage (seit 31.10.2026)"),
    ("12m", "last 12 months (30.11.2025 – today)", "letzte 12 Monate (30.11.2025 – heute)"),
    ("1m", "last 1 month (30.10.2026 – today)", "letzter 1 Monat (30.10.2026 – heute)"),
    ("2025", "year 2025", "Jahr 2025"),
    ("2026-03", "March 2026", "März 2026"),
])
def test_period_labels(text, en, de):
    """The words typed are the same in both languages; the label follows the language."""
    assert parse_period(text, NOW, BERLIN).label == en
    with i18n.using("de"):
        period = parse_period(text, NOW, BERLIN)
    assert period.label == de
    english = parse_period(text, NOW, BERLIN)
    assert (period.key, period.start, period.end) == (english.key, english.start, english.end)


def test_period_errors_in_german():
    with i18n.using("de"):
        with pytest.raises(PeriodError, match=r"^'foo' ist kein Zeitraum; versuche today "
                                              r"\(heute\), yesterday \(gestern\), 7d"):
            parse_period("foo", NOW, BERLIN)
        with pytest.raises(PeriodError, match=r"^'9999d' liegt außerhalb des Bereichs; nimm "
                                              r"1-3660d oder 1-120m$"):
            parse_period("9999d", NOW, BERLIN)
        with pytest.raises(PeriodError, match=r"^Monat 13 gibt es nicht$"):
            parse_period("2026-13", NOW, BERLIN)
        with pytest.raises(PeriodError, match=r"^Dezember 2026 hat noch nicht begonnen$"):
            parse_period("2026-12", NOW, BERLIN)
