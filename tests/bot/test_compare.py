"""/compare on a small store with exact values: degree days (VDI 3807 G 20/15), heat per
degree day and COP against the same days a year before."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot import compare
from bot.commands import Context, answer
from heatpump.settings import Settings
from heatpump.store.sqlite import SQLiteStore
from tests.bot.small_store import write_days

NOW = datetime(2026, 11, 4, 10, 0, tzinfo=UTC)


@pytest.fixture
def ctx(tmp_path):
    s = Settings.from_mapping({"HEATPUMP_TZ": "Europe/Berlin",
                               "HEATPUMP_DATA_DIR": str(tmp_path)})
    with SQLiteStore(tmp_path / "heatpump.sqlite3", s.tz) as store:
        # 1.-3.11.2026: 15 + 17 + 0 K·d (the 16 °C day is above the heating limit)
        write_days(store, datetime(2026, 10, 31, 23, tzinfo=UTC),
                   [(10, 40, 5.0), (12, 42, 3.0), (8, 30, 16.0)])
        # 1.-2.11.2025: 16 + 16 K·d; the 3rd has no data
        write_days(store, datetime(2025, 10, 31, 23, tzinfo=UTC), [(10, 36, 4.0), (10, 36, 4.0)])
        yield Context(store, s, lambda: NOW)


def test_compare_month(ctx):
    assert answer("/compare", ctx).text == "\n".join([
        "Weather-normalised: this month against the same days a year before",
        "2026 (01.11.2026–03.11.2026): heat (hot water included) 3.50 kWh per degree day "
        "(112 kWh / 32 K·d, mean outdoor 8.0 °C), COP 3.73; 3 of 3 days complete",
        "2025 (01.11.2025–03.11.2025): heat (hot water included) 2.25 kWh per degree day "
        "(72.0 kWh / 32 K·d, mean outdoor 4.0 °C), COP 3.60; 2 of 3 days complete",
        "heat per degree day +56 %, COP +4 % against a year before",
        "note: fewer than 7 complete days on a side: the weather of a few days dominates, "
        "read the figures with care",
        compare.method_text()])


def test_compare_a_year_without_data(ctx):
    text = answer("/compare year", ctx).text.splitlines()
    assert text[0] == "Weather-normalised: this year against the same days a year before"
    assert text[1].startswith("2026 (01.01.2026–03.11.2026): heat (hot water included) 3.50")
    assert text[2].startswith("2025 (01.01.2025–03.11.2025): heat (hot water included) 2.25")
    assert text[1].endswith("3 of 307 days complete")


def test_compare_spans_and_errors(ctx):
    tz = ctx.settings.tz
    label, this, before = compare.spans("season", NOW, tz)
    assert (label, this.first, this.last) == ("this heating season", date(2026, 9, 1),
                                              date(2026, 11, 3))
    assert (before.first, before.last) == (date(2025, 9, 1), date(2025, 11, 3))
    first_day = datetime(2026, 11, 1, 8, tzinfo=UTC)
    assert compare.spans("month", first_day, tz) is None
    assert answer("/compare", Context(ctx.store, ctx.settings, lambda: first_day)).text \
        .startswith("Nothing to compare yet")
    assert answer("/compare week", ctx).text.startswith(
        "Sorry: 'week' is not a span; use month, season or year")
    assert compare.degree_days(15.0) == 0.0 and compare.degree_days(14.9) == pytest.approx(5.1)


def test_space_heating_only_when_the_heat_pump_splits_it():
    from datetime import timedelta

    from bot.analytics import HourPair

    tz = Settings(tz_name="UTC").tz
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    pairs = [HourPair(t0 + timedelta(hours=h), t0 + timedelta(hours=h + 1), 1000.0, 1.0,
                      4000.0, 1.0, "counter", {"heating": 3000.0, "dhw": 1000.0})
             for h in range(24)]
    s = compare.side(compare.Span(date(2026, 11, 1), date(2026, 11, 1)), pairs,
                     {date(2026, 11, 1): 0.0}, tz)
    assert (s.days, s.degree_days, s.heat_wh, s.all_heat_wh, s.split) == (
        1, 20.0, 72000.0, 96000.0, True)
    assert s.heat_per_degree_day == pytest.approx(3.6) and s.cop == pytest.approx(4.0)
    # a day with a gap of more than 10 % of its hours is not complete
    assert compare.side(compare.Span(date(2026, 11, 1), date(2026, 11, 1)), pairs[:21],
                        {date(2026, 11, 1): 0.0}, tz).days == 0


def test_compare_in_german(ctx):
    """/compare in German: Heizgradtage, '3,50 kWh', the method line."""
    from heatpump import i18n

    with i18n.using("de"):
        text = answer("/compare", ctx).text
    assert text == "\n".join([
        "Witterungsbereinigt: dieser Monat gegen dieselben Tage ein Jahr davor",
        "2026 (01.11.2026–03.11.2026): Wärme (Warmwasser eingeschlossen) 3,50 kWh pro "
        "Heizgradtag (112 kWh / 32 K·d, Außentemperatur im Mittel 8,0 °C), COP 3,73; 3 von 3 "
        "Tagen vollständig",
        "2025 (01.11.2025–03.11.2025): Wärme (Warmwasser eingeschlossen) 2,25 kWh pro "
        "Heizgradtag (72,0 kWh / 32 K·d, Außentemperatur im Mittel 4,0 °C), COP 3,60; 2 von 3 "
        "Tagen vollständig",
        "Wärme pro Heizgradtag +56 %, COP +4 % gegenüber einem Jahr davor",
        "Hinweis: weniger als 7 vollständige Tage auf einer Seite: Das Wetter weniger Tage "
        "überwiegt, die Zahlen mit Vorsicht lesen",
        "Methode: Heizgradtage nach VDI 3807 (G 20/15) aus dem Außenfühler der Wärmepumpe: "
        "Jeder Tag mit einem Mittel unter 15 °C zählt 20 °C minus sein Mittel; nur Tage mit "
        "Zähler- und Wärmedaten für mindestens 90\u00a0% ihrer Stunden zählen, auf beiden "
        "Seiten."])
    with i18n.using("de"), pytest.raises(compare.CompareError,
                                         match=r"^'week' ist keine Spanne; nimm month, "):
        compare.spans("week", NOW, ctx.settings.tz)
