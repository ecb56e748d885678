"""/cost and the cost line of /jaz on a small store with exact values; the tariff settings."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot import costs
from bot.commands import Context, answer
from heatpump.settings import Settings, SettingsError
from heatpump.store.sqlite import SQLiteStore
from tests.bot.small_store import write_hours

TARIFF = {"COST_CURRENCY": "EUR", "COST_PRICE_PER_KWH": "0.30",
          "COST_TIME_OF_USE": "22:00-06:00=0.20", "COST_BASE_FEE_PER_MONTH": "9.00",
          "COST_BOILER_FUEL": "gas", "COST_BOILER_PRICE_PER_KWH": "0.10",
          "COST_BOILER_EFFICIENCY": "90%"}
# 29.11.2026 05:00, 06:00, 07:00 Berlin (04:00-07:00 UTC); asked at 09:10 local
T0 = datetime(2026, 11, 29, 4, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 29, 8, 10, tzinfo=UTC)


def settings(tmp, **extra: str) -> Settings:
    return Settings.from_mapping({"HEATPUMP_TZ": "Europe/Berlin",
                                  "HEATPUMP_DATA_DIR": str(tmp), **extra})


@pytest.fixture
def store(tmp_path):
    st = SQLiteStore(tmp_path / "heatpump.sqlite3", settings(tmp_path).tz)
    # 05:00 low tariff, 06:00 and 07:00 high; 07:00 has no heat data (not counted)
    write_hours(st, T0, [(1000.0, 4000.0), (2000.0, 6000.0), (500.0, None)])
    yield st
    st.close()


def test_cost_with_time_of_use_base_fee_and_boiler(store, tmp_path):
    s = settings(tmp_path, **TARIFF)
    text = answer("/cost today", Context(store, s, lambda: NOW)).text
    assert text == "\n".join([
        "Cost today",
        "electricity 3.5 kWh: 0.95 EUR (meter data in 3 of 9 h)",
        "  22:00–06:00 at 0.200 EUR/kWh: 1.0 kWh, 0.20 EUR",
        "  other hours at 0.300 EUR/kWh: 2.5 kWh, 0.75 EUR",
        # over the span with meter data, 3 of November's 720 hours: 9.00 × 3 / 720
        "base fee 9.00 EUR per month: 0.04 EUR for the span with meter data",
        "total 0.99 EUR",
        # the counted hours 05:00 and 06:00: 0.20 + 0.60 EUR for 10 kWh of heat
        "heat 10.0 kWh in the 2 hours with both meter and heat data cost 0.080 EUR/kWh of "
        "heat (COP 3.33; base fee left out)",
        # 10 kWh / 0.9 × 0.10 = 1.11; minus 0.80
        "a gas boiler (90% efficient, 0.100 EUR/kWh of gas) would have cost 1.11 EUR for the "
        "same heat: the heat pump saved 0.31 EUR (base fees left out)"])
    jaz = answer("/jaz today", Context(store, s, lambda: NOW)).text
    assert jaz.splitlines()[-1] == ("cost 0.99 EUR (0.95 EUR electricity + 0.04 EUR base fee);"
                                    " heat at 0.080 EUR/kWh; 0.31 EUR less than gas")


def test_flat_price_only(store, tmp_path):
    s = settings(tmp_path, COST_CURRENCY="€", COST_PRICE_PER_KWH="0.30")
    text = answer("/cost today", Context(store, s, lambda: NOW)).text
    assert text.splitlines()[1:] == [
        "electricity 3.5 kWh at 0.300 €/kWh: 1.05 € (meter data in 3 of 9 h)",
        "heat 10.0 kWh in the 2 hours with both meter and heat data cost 0.090 €/kWh of heat "
        "(COP 3.33; base fee left out)"]
    jaz = answer("/jaz today", Context(store, s, lambda: NOW)).text
    assert jaz.splitlines()[-1] == "cost 1.05 €; heat at 0.090 €/kWh"


def test_no_tariff_no_cost_lines(store, tmp_path):
    s = settings(tmp_path)
    assert answer("/cost", Context(store, s, lambda: NOW)).text == costs.no_tariff_text()
    # a wrong period is said first, tariff or not
    assert "'foo' is not a period" in answer("/cost foo", Context(store, s, lambda: NOW)).text
    assert "cost" not in answer("/jaz today", Context(store, s, lambda: NOW)).text.lower()


def test_no_meter_data_is_no_cost(tmp_path):
    s = settings(tmp_path, **TARIFF)
    with SQLiteStore(tmp_path / "e.sqlite3", s.tz) as st:
        text = answer("/cost today", Context(st, s, lambda: NOW)).text
    assert text == "Cost today\nno meter data in this period: its cost is not known"


def test_the_base_fee_covers_the_span_with_meter_data_only(store, tmp_path):
    """/cost 12m over three hours of meter data: the fee is those hours' share (9.00 x 3 /
    720), never a year's fee set against three hours of electricity."""
    s = settings(tmp_path, **TARIFF)
    text = answer("/cost 12m", Context(store, s, lambda: NOW)).text
    assert "base fee 9.00 EUR per month: 0.04 EUR for the span with meter data" in text
    assert "total 0.99 EUR" in text


def test_base_fee_pro_rata_across_months():
    tz = Settings(tz_name="Europe/Berlin").tz
    start = datetime(2026, 11, 29, 23, 0, tzinfo=UTC)  # 30.11. local midnight
    end = datetime(2026, 12, 1, 23, 0, tzinfo=UTC)  # 2.12. local midnight
    assert costs.base_fee(10.0, start, end, tz) == pytest.approx(10 / 30 + 10 * 1 / 31)


@pytest.mark.parametrize(("values", "problem"), [
    ({"COST_PRICE_PER_KWH": "0.3"}, "COST_PRICE_PER_KWH is set but COST_CURRENCY is empty"),
    ({"COST_CURRENCY": "EUR", "COST_TIME_OF_USE": "22:00-06:00=0.2"},
     "COST_TIME_OF_USE leaves 06:00 and 15 more hours without a price"),
    ({"COST_CURRENCY": "EUR", "COST_TIME_OF_USE": "22:30-06:00=0.2"}, "whole hours"),
    ({"COST_CURRENCY": "EUR", "COST_TIME_OF_USE": "22:00-06:00=0.2,05:00-07:00=0.3",
      "COST_PRICE_PER_KWH": "0.3"}, "windows overlap at 05:00"),
    ({"COST_CURRENCY": "EUR", "COST_PRICE_PER_KWH": "0.3", "COST_BOILER_FUEL": "gas"},
     "COST_BOILER_FUEL is set but COST_BOILER_PRICE_PER_KWH and COST_BOILER_EFFICIENCY are "
     "empty"),
    ({"COST_CURRENCY": "EUR", "COST_BASE_FEE_PER_MONTH": "9"},
     "COST_BASE_FEE_PER_MONTH is set but no energy price"),
    ({"COST_BOILER_FUEL": "wood"}, "COST_BOILER_FUEL='wood': must be gas or oil"),
    ({"COST_BOILER_EFFICIENCY": "3"}, "must be an efficiency between 0.1 and 1.5"),
])
def test_tariff_settings_refused(values, problem):
    with pytest.raises(SettingsError) as err:
        Settings.from_mapping({"HEATPUMP_TZ": "UTC", **values})
    assert problem in str(err.value)


def test_tariff_settings_parsed():
    s = Settings.from_mapping({"HEATPUMP_TZ": "UTC", **TARIFF,
                               "COST_TIME_OF_USE": "22:00-24:00=0.20, 0:00-06:00=0.2;"
                                                   "06:00-22:00=0.31"})
    assert s.cost_time_of_use == ((22, 0, 0.20), (0, 6, 0.20), (6, 22, 0.31))
    assert s.cost_boiler_efficiency == 0.9 and s.has_tariff and s.has_boiler
    assert not Settings().has_tariff


def test_cost_in_german(store, tmp_path):
    """/cost and the cost line of /jaz in German: '0,95 EUR', '90 % Wirkungsgrad'."""
    from heatpump import i18n

    s = settings(tmp_path, **TARIFF)
    with i18n.using("de"):
        text = answer("/cost today", Context(store, s, lambda: NOW)).text
        jaz = answer("/jaz today", Context(store, s, lambda: NOW)).text
        flat = answer("/jaz today", Context(store, settings(tmp_path, COST_CURRENCY="€",
                                                               COST_PRICE_PER_KWH="0.30"),
                                            lambda: NOW)).text
        no_tariff = answer("/cost", Context(store, settings(tmp_path), lambda: NOW)).text
    assert text == "\n".join([
        "Kosten heute",
        "Strom 3,5 kWh: 0,95 EUR (Zählerdaten in 3 von 9 h)",
        "  22:00–06:00 zu 0,200 EUR/kWh: 1,0 kWh, 0,20 EUR",
        "  übrige Stunden zu 0,300 EUR/kWh: 2,5 kWh, 0,75 EUR",
        "Grundgebühr 9,00 EUR pro Monat: 0,04 EUR für die Spanne mit Zählerdaten",
        "gesamt 0,99 EUR",
        "Wärme 10,0 kWh in den 2 Stunden mit Zähler- und Wärmedaten kostete 0,080 EUR/kWh "
        "Wärme (COP 3,33; ohne Grundgebühr)",
        "ein Gaskessel (90\u00a0% Wirkungsgrad, 0,100 EUR/kWh Gas) hätte für dieselbe Wärme "
        "1,11 EUR gekostet: Die Wärmepumpe sparte 0,31 EUR (ohne Grundgebühren)"])
    assert jaz.splitlines()[-1] == ("Kosten 0,99 EUR (0,95 EUR Strom + 0,04 EUR Grundgebühr); "
                                    "Wärme zu 0,080 EUR/kWh; 0,31 EUR weniger als Gas")
    assert flat.splitlines()[-1] == "Kosten 1,05 €; Wärme zu 0,090 €/kWh"
    assert no_tariff.startswith("Kein Tarif gesetzt, also keine Kosten: Setze "
                                "COST_PRICE_PER_KWH")
