"""The command table's texts in both languages (issue 19): /help with JAZ and COP explained,
one usage line for a wrong argument, a one-line hint for free text, the per-use COPs of /jaz
explained. Exact German renderings; the English ones are in test_commands/test_telegram."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.analytics import Performance
from bot.commands import COMMANDS, Context, answer, menu
from bot.replies import split_lines, split_note
from heatpump import i18n
from heatpump.settings import Settings
from heatpump.store.sqlite import SQLiteStore

NOW = datetime(2026, 1, 15, 11, 2, tzinfo=UTC)

HELP_DE = [
    "/status – aktuelle Leistung, Verdichter, Temperaturen, COP von heute, Störungen, Quellen",
    "/jaz – JAZ/COP eines Zeitraums: /jaz [today|yesterday|7d|month|12m|2025|2025-11]",
    "/cost – was die Wärmepumpe gekostet hat, je kWh Wärme und im Vergleich zu einem Kessel: "
    "/cost [month|yesterday|30d|12m|2025-11]",
    "/compare – dieser Monat, diese Heizperiode oder dieses Jahr gegen ein Jahr davor, je "
    "Heizgradtag: /compare [month|season|year]",
    "/chart – Diagramm: /chart [power|temps|cop|energy|starts|heat|cop-outdoor|flow] "
    "[24h|7d|30d|12m]",
    "/changes – geänderte Einstellungen (Heizkurve, Sollwerte, Betriebsarten) und der COP "
    "davor und danach",
    "/export – Energie, COP und Temperaturen als CSV-Datei: /export [30d|month|2025-11|12m] "
    "[hour|day]",
    "/live – Leistung und Zustand live, alle 15 s aktualisiert, 10 Minuten lang",
    "/report – eine tägliche, wöchentliche oder monatliche Übersicht hier, mit Diagramm: "
    "/report daily, /report weekly, /report monthly, /report off",
    "/subscribe – Warnungen in diesem Chat erhalten: Störungen, fehlende Daten, COP-Einbruch, "
    "Takten",
    "/unsubscribe – Warnungen in diesem Chat beenden",
    "/alerts – aktive Warnungen und ob dieser Chat abonniert oder stummgeschaltet ist",
    "/mute – Warnungen hier eine Weile stummschalten: /mute 2h, /mute 1d, /mute off",
    "/help – diese Hilfe",
]
TERMS_EN = [
    "COP (coefficient of performance): the heat delivered divided by the electricity used, "
    "over any period, e.g. one day.",
    "JAZ (Jahresarbeitszahl, seasonal performance factor SPF): the same ratio over a whole "
    "year, the figure that says how efficiently the heat pump really works.",
]
TERMS_DE = [
    "COP (Leistungszahl): die abgegebene Wärmemenge geteilt durch den verbrauchten Strom, über "
    "einen beliebigen Zeitraum, z. B. einen Tag.",
    "JAZ (Jahresarbeitszahl): dasselbe Verhältnis über ein ganzes Jahr, die Zahl, die sagt, "
    "wie effizient die Wärmepumpe wirklich arbeitet.",
]


@pytest.fixture
def console(tmp_path):
    s = Settings.from_mapping({"HEATPUMP_TZ": "Europe/Berlin",
                               "HEATPUMP_DATA_DIR": str(tmp_path)})
    with SQLiteStore(tmp_path / "heatpump.sqlite3", s.tz) as store:
        yield Context(store, s, lambda: NOW)


def test_help_explains_jaz_and_cop_in_both_languages(console):
    for command in ("/help", "/start"):
        assert answer(command, console).text.splitlines()[-2:] == TERMS_EN
        with i18n.using("de"):
            lines = answer(command, console).text.splitlines()
            assert lines[-2:] == TERMS_DE
    with i18n.using("de"):
        # the head and the periods line are bot/replies.py's help_text (its own tests)
        lines = answer("/help", console).text.splitlines()
        assert lines[1:1 + len(HELP_DE)] == HELP_DE
        assert [f"/{n} – {d}" for n, d in menu()] == HELP_DE  # the Telegram menu too


def test_the_menu_is_translated_when_shown_not_when_imported():
    """The table is built at import, before HEATPUMP_LANG is read: its help is a function."""
    jaz = next(c for c in COMMANDS if c.name == "jaz")
    assert jaz.help() == "JAZ/COP of a period"
    with i18n.using("de"):
        assert jaz.help() == "JAZ/COP eines Zeitraums"
    i18n.set_language("de")
    try:
        assert dict(menu())["help"] == "diese Hilfe"
    finally:
        i18n.set_language("en")


@pytest.mark.parametrize(("text", "en", "de"), [
    ("/status now",
     ["Sorry: /status takes no arguments", "Usage: /status"],
     ["Entschuldigung: /status nimmt keine Argumente", "Aufruf: /status"]),
    ("/jaz 7d 8d",
     ["Sorry: /jaz takes one period, e.g. /jaz 12m or /jaz 2025-11",
      "Usage: /jaz [today|yesterday|7d|month|12m|2025|2025-11]"],
     ["Entschuldigung: /jaz nimmt einen Zeitraum, z. B. /jaz 12m oder /jaz 2025-11",
      "Aufruf: /jaz [today|yesterday|7d|month|12m|2025|2025-11]"]),
    ("/export 30d hour day",
     ["Sorry: /export takes a period and hour or day, e.g. /export 30d day",
      "Usage: /export [30d|month|2025-11|12m] [hour|day]"],
     ["Entschuldigung: /export nimmt einen Zeitraum und hour oder day, z. B. /export 30d day",
      "Aufruf: /export [30d|month|2025-11|12m] [hour|day]"]),
    ("hello",
     ["I did not understand that: I answer commands, e.g. /status or /jaz 30d. /help lists "
      "them all."],
     ["Das habe ich nicht verstanden: Ich antworte auf Befehle, z. B. /status oder /jaz 30d. "
      "/help listet alle auf."]),
    ("/hello",
     ["Sorry: unknown command /hello",
      "Commands: /status /jaz /cost /compare /chart /changes /export /live /report "
      "/subscribe /unsubscribe /alerts /mute /help (/help explains each)"],
     ["Entschuldigung: unbekannter Befehl /hello",
      "Befehle: /status /jaz /cost /compare /chart /changes /export /live /report "
      "/subscribe /unsubscribe /alerts /mute /help (/help erklärt jeden)"]),
    ("/mute 2h",
     ["/mute works in Telegram only: alerts go to subscribed Telegram chats, so send /mute to "
      "the bot there. Here, /alerts shows what is active."],
     ["/mute geht nur in Telegram: Warnungen gehen an abonnierte Telegram-Chats, also /mute "
      "dort an den Bot senden. Hier zeigt /alerts, was aktiv ist."]),
])
def test_wrong_input_gets_one_or_two_lines(console, text, en, de):
    assert answer(text, console).text.splitlines() == en
    with i18n.using("de"):
        assert answer(text, console).text.splitlines() == de


def _perf(device_elec_by_circuit: dict[str, float]) -> Performance:
    return Performance(
        start=NOW, end=NOW, hours_elapsed=24, hours_counted=24, heat_wh=40_000,
        elec_wh=10_000, heat_by_circuit={"heating": 36_000, "dhw": 4_000},
        heat_by_method={"counter": 40_000}, device_elec_wh=9_000, meter_wh_same_hours=10_000,
        device_elec_by_circuit=device_elec_by_circuit, elec_wh_all=10_000,
        heat_wh_all=40_000, running_heat_wh=40_000, running_elec_wh=9_500, running_hours=20)


def test_the_cops_per_use_are_explained_under_the_split():
    """Heating 4.50 and hot water 2.67 next to a metered COP of 4.00 read as a contradiction
    (issue 19): one line says what they divide by."""
    perf = _perf({"heating": 8_000, "dhw": 1_500})
    assert "COP 4.50 by the device's electricity" in split_lines(perf)[0]
    assert split_note(perf) == [
        "(the COPs per use divide by the heat pump's own electricity for that use, without "
        "the standby and pumps the meter also counts, so they do not average to the metered "
        "figure above)"]
    with i18n.using("de"):
        assert split_note(perf) == [
            "(die COP je Nutzung teilen durch den eigenen Stromwert der Wärmepumpe für diese "
            "Nutzung, ohne Standby und Pumpen, die der Stromzähler mitzählt; gemittelt ergeben "
            "sie daher nicht den gemessenen Wert oben)"]
    # a split without COPs per use (no device electricity per circuit) needs no note
    assert split_note(_perf({})) == []
