"""/changes on a small store with exact values: COP before and after a settings change in
the same outdoor temperature bins, and the note when there are too few days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.commands import Context, answer
from heatpump.settings import Settings
from heatpump.store.base import Point
from heatpump.store.sqlite import SQLiteStore
from tests.bot.small_store import PUMP, write_days

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def midnight(day: int) -> datetime:
    """Local midnight (Berlin, CET) of a November 2026 day, in UTC."""
    return datetime(2026, 11, day, tzinfo=UTC) - timedelta(hours=1)


def change(t: datetime, setting: str, old: str, new: str, prev: datetime) -> Point:
    return Point("setting_change", t, {"old": old, "new": new,
                                       "previous_poll": prev.isoformat().replace("+00:00", "Z")},
                 {"device": PUMP, "setting": setting})


@pytest.fixture
def ctx(tmp_path):
    s = Settings.from_mapping({"HEATPUMP_TZ": "Europe/Berlin",
                               "HEATPUMP_DATA_DIR": str(tmp_path)})
    with SQLiteStore(tmp_path / "heatpump.sqlite3", s.tz) as store:
        # before the curve change (15.11.): 4 days at 1 °C with COP 3.0, 3 at 4 °C with 3.5
        write_days(store, midnight(8), [(10, 30, 1.0)] * 4 + [(10, 35, 4.0)] * 3)
        # after: 2 days at 1 °C (3.3), 3 at 4 °C (3.8), 2 at -4 °C (no day before to match)
        write_days(store, midnight(16), [(10, 33, 1.0)] * 2 + [(10, 38, 4.0)] * 3
                   + [(10, 25, -4.0)] * 2)
        t1 = datetime(2026, 11, 15, 10, 0, tzinfo=UTC)
        t2 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
        store.write([change(t1, "heating_curve_slope", "0.6", "0.5", t1 - timedelta(minutes=5)),
                     change(t2, "dhw_target_temp_c", "50", "48", t2 - timedelta(hours=11))])
        store.flush()
        yield Context(store, s, lambda: NOW)


def test_changes_compare_cop_in_the_same_outdoor_bins(ctx):
    assert answer("/changes", ctx).text == "\n".join([
        "Settings changes (newest first; COP of complete days in 3 K outdoor temperature bins "
        "before and after)",
        "between 26.11.2026 22:00 and 27.11.2026 09:00: hot-water target 50 °C → 48 °C",
        # the before side starts after the previous change's day
        "  before: 7 days complete of 16.11.–26.11.2026; after: 0 days complete of "
        "28.11.–28.11.2026",
        "  no outdoor temperature range with complete days on both sides yet: too early to "
        "tell",
        "15.11.2026 11:00: heating curve slope 0.6 → 0.5",
        "  before: 7 days complete of 01.11.–14.11.2026; after: 7 days complete of "
        "16.11.–26.11.2026",
        "  0 to 3 °C: COP 3.00 before (4 days), 3.30 after (2 days)",
        "  3 to 6 °C: COP 3.50 before (3 days), 3.80 after (3 days)",
        # weighted by the after side's days: (3.0×2 + 3.5×3)/5 and (3.3×2 + 3.8×3)/5
        "  at the same outdoor temperatures: COP 3.30 → 3.60 (+9 %)"])


def test_too_few_days_are_said(ctx):
    early = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)  # 2 complete days after the change
    text = answer("/changes", Context(ctx.store, ctx.settings, lambda: early)).text
    assert text.splitlines()[1:] == [
        "15.11.2026 11:00: heating curve slope 0.6 → 0.5",
        "  before: 7 days complete of 01.11.–14.11.2026; after: 2 days complete of "
        "16.11.–17.11.2026",
        "  0 to 3 °C: COP 3.00 before (4 days), 3.30 after (2 days)",
        "  at the same outdoor temperatures: COP 3.00 → 3.30 (+10 %)",
        "  too few days to tell: 4 before and 2 after at shared temperatures; at least 5 a "
        "side are needed"]


def test_no_changes(tmp_path):
    s = Settings.from_mapping({"HEATPUMP_TZ": "Europe/Berlin",
                               "HEATPUMP_DATA_DIR": str(tmp_path)})
    with SQLiteStore(tmp_path / "e.sqlite3", s.tz) as store:
        text = answer("/changes", Context(store, s, lambda: NOW)).text
    assert text.startswith("No settings changes found in the last 400 days.")


def test_charts_mark_the_changes(ctx):
    from bot.charts import chart_png
    from bot.commands import chart_of
    from tests.fakes.telegram import png_size

    chart = chart_of(ctx, "cop", "30d")
    assert chart.marks == [(datetime(2026, 11, 15, 11, 0), "heating curve slope 0.6 → 0.5"),
                           (datetime(2026, 11, 27, 9, 0), "hot-water target 50 °C → 48 °C")]
    png, caption = chart_png(chart)
    assert png_size(png) == (1000, 700)
    assert caption.endswith("— dashed: 15.11. 11:00 heating curve slope 0.6 → 0.5; "
                            "27.11. 09:00 hot-water target 50 °C → 48 °C")
    assert chart_of(ctx, "power", "24h").marks == []  # none in the last 24 hours


def test_changes_in_german(ctx):
    """/changes in German: the settings' German names, '0,6 → 0,5', 'vorher'/'nachher'."""
    from heatpump import i18n

    with i18n.using("de"):
        text = answer("/changes", ctx).text
    assert text.splitlines() == [
        "Geänderte Einstellungen (neueste zuerst; COP vollständiger Tage in "
        "Außentemperatur-Klassen von 3 K vorher und nachher)",
        "zwischen 26.11.2026 22:00 und 27.11.2026 09:00: Warmwasser-Solltemperatur 50 °C → "
        "48 °C",
        "  vorher: 7 Tage vollständig von 16.11.–26.11.2026; nachher: 0 Tage vollständig von "
        "28.11.–28.11.2026",
        "  noch kein Außentemperaturbereich mit vollständigen Tagen auf beiden Seiten: zu früh "
        "für eine Aussage",
        "15.11.2026 11:00: Neigung der Heizkurve 0,6 → 0,5",
        "  vorher: 7 Tage vollständig von 01.11.–14.11.2026; nachher: 7 Tage vollständig von "
        "16.11.–26.11.2026",
        "  0 bis 3 °C: COP 3,00 vorher (4 Tage), 3,30 nachher (2 Tage)",
        "  3 bis 6 °C: COP 3,50 vorher (3 Tage), 3,80 nachher (3 Tage)",
        "  bei denselben Außentemperaturen: COP 3,30 → 3,60 (+9 %)"]


def test_a_mode_change_made_today_in_german(tmp_path):
    """Issue 19: a mode is the device's English word, said in German; a change made today
    has no day after it yet (it said 'nachher: 0 Tage vollständig von keine')."""
    from heatpump import i18n

    s = Settings.from_mapping({"HEATPUMP_TZ": "Europe/Berlin",
                               "HEATPUMP_DATA_DIR": str(tmp_path)})
    t = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    with SQLiteStore(tmp_path / "heatpump.sqlite3", s.tz) as store:
        write_days(store, midnight(20), [(10, 30, 1.0)] * 3)
        store.write([change(t, "heating_mode", "dhwAndHeating", "dhw",
                            t - timedelta(minutes=5)),
                     change(t, "dhw_mode", "eco", "someNewMode", t - timedelta(minutes=5))])
        store.flush()
        ctx = Context(store, s, lambda: NOW)
        english = answer("/changes", ctx).text.splitlines()
        with i18n.using("de"):
            german = answer("/changes", ctx).text.splitlines()
    assert english[1] == ("29.11.2026 09:00: heating mode hot water and heating → hot water "
                          "only; hot-water mode eco → someNewMode")
    assert english[2].endswith("after: no day yet")
    assert german[1] == ("29.11.2026 09:00: Betriebsart Heizung Warmwasser und Heizung → nur "
                         "Warmwasser; Betriebsart Warmwasser Eco → someNewMode")
    assert german[2].startswith("  vorher: 3 Tage vollständig von ")
    assert german[2].endswith("; nachher: noch kein Tag")
