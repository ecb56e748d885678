"""Every alert kind and its recovery in German, exactly as the engine renders them (the
scripted examples of bot.alerts.examples), and the alert commands' German answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.alerts import commands, deliver, examples, texts
from bot.alerts.engine import empty_state
from bot.alerts.persist import Subscribers
from heatpump import i18n
from heatpump.settings import Settings

TZ = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 1, 12, 7, 0, tzinfo=UTC)  # Monday 08:00 in Berlin
SPEECH = ("Jede kWh Heizstab-Wärme kostet etwa dreimal so viel, wie die Wärmepumpe dafür "
          "braucht. Prüfe, ob der Heizstab von Hand oder von einem Estrichtrocknungs- oder "
          "Hygieneprogramm eingeschaltet wurde, den Bivalenzpunkt und ob die Wärmepumpe selbst "
          "eine Störung meldet.")
CYCLING = ("75 Verdichterstarts in 10,0 h Laufzeit = 7,5 Starts pro Stunde (Grenze 6), "
           "Laufzeiten von im Mittel 8 min. Häufige Starts verschleißen den Verdichter und "
           "kosten Effizienz; frag deinen Installateur nach Hysterese, Mindestlaufzeit und "
           "Volumenstrom.")

GERMAN = {
    ("fault", "raised"):
        "⚠️ Wärmepumpe: Störung F.1100 (criticalError) an Gerät 7571381681420106, seit 07:28. "
        "Sieh auf das Display der Wärmepumpe; bleibt die Meldung, ruf deinen Installateur an.",
    ("fault", "resolved"):
        "✅ Behoben: Wärmepumpe: Störung F.1100 (criticalError) an Gerät 7571381681420106 ist "
        "weg (aktiv 07:28 bis 08:30, 1 h 2 min).",
    ("warning", "raised"):
        "🔔 Wärmepumpe: Wartungsmeldung P.8 (warning) an Gerät 7571381681420106, seit 07:00.",
    ("stale", "raised"):
        "⚠️ Keine Daten von der Wärmepumpe (Viessmann-Cloud), Gerät 7571381681420106, seit "
        "07:55 (1 h). Letzter Fehler des Collectors (08:02): Viessmann-API-Kontingent "
        "erschöpft, wartet bis Di. 01:00.",
    ("stale", "resolved"):
        "✅ Wärmepumpe: Daten kommen wieder an (Gerät 7571381681420106; Lücke von 07:55 bis "
        "10:00, 2 h 5 min).",
    ("stale_meter", "raised"):
        "⚠️ Keine Daten vom Stromzähler (Shelly), Gerät shellypro3em-0001, seit 07:50 (1 h "
        "10 min). Letzter Fehler des Collectors (07:51): im Netzwerk nicht erreichbar.",
    ("cop_drop", "raised"):
        "📉 COP-Einbruch: 3 Tage in Folge mehr als 20 % unter dem, was diese Wärmepumpe bei "
        "derselben Außentemperatur sonst erreicht.\n"
        "Mo. 5. Jan.: COP 2,05, normal 2,85 bei −1,5 °C (−28 %)\n"
        "Di. 6. Jan.: COP 1,98, normal 2,75 bei −2,5 °C (−28 %)\n"
        "Mi. 7. Jan.: COP 1,94, normal 2,70 bei −3,0 °C (−28 %)\n"
        "Normal: gelernt aus 35 Tagen zwischen 2,0 und 8,0 °C.\n"
        "Prüfe auf eine Störung, Vereisung oder einen zugesetzten Lufteinlass, verschmutzte "
        "Filter und ob die Heizkurve oder die Warmwasser-Einstellung erhöht wurde.",
    ("cop_drop", "resolved"):
        "✅ COP wieder normal. Do. 8. Jan.: COP 3,05, normal 3,05 bei 0,5 °C (0 %).",
    ("short_cycle", "raised"): "🔁 Takten am So. 11. Jan.: " + CYCLING,
    ("heating_rod", "raised"):
        "🔥 Heizstab am So. 11. Jan.: 14,2 kWh Strom; mehr als 5 kWh am Tag "
        "(ALERT_ROD_KWH_PER_DAY); 13,1 kWh davon heizten das Haus bei im Mittel 9,0 °C außen, "
        "wo die Wärmepumpe allein reichen sollte (ALERT_ROD_MILD_C 5 °C). " + SPEECH,
    ("heating_rod", "resolved"):
        "✅ Der Heizstab ist wieder in den Grenzen: Mo. 12. Jan. 1,2 kWh.",
}


def test_every_example_alert_in_german():
    """Each example of docs/alerts.md, rendered by the real engine in German. (The
    collector stores its detail in English: in German it is left out where the reason code
    has a German text, issue 19.)"""
    with i18n.using("de"):
        got = {(name, n.event): n.text for name, make in examples.ALL.items()
               for n in make()}
    assert got == GERMAN
    english = {(name, n.event): n.text for name, make in examples.ALL.items() for n in make()}
    assert english.keys() == GERMAN.keys()
    assert all(english[k] != GERMAN[k] for k in GERMAN)


def test_repeats_recoveries_and_summaries_in_german():
    cycling = {"day": "2026-01-11", "starts": 75, "runtime_h": 10.0, "rate": 7.5, "limit": 6}
    fired = {"fired_at": "2026-01-11T06:00:00+00:00"}
    with i18n.using("de"):
        resolved = texts.render("short_cycle", "resolved", cycling, {}, TZ, NOW)
        repeat = texts.render("short_cycle", "repeat", cycling, {}, TZ, NOW)
        summaries = [texts.summary_line(kind, facts, fired, TZ, NOW) for kind, facts in [
            ("fault", {"code": "F.1100", "device": "7571"}),
            ("warning", {"code": "", "count": 2, "device": "7571"}),
            ("stale", {"source": "meter"}), ("cop_drop", {}),
            ("heating_rod", {"day": "2026-01-11", "rod_wh": 14200.0}),
            ("short_cycle", {"rate": 5.8})]]
        older = texts.when(NOW - timedelta(days=9), TZ, NOW)
        long_gap = texts.duration(timedelta(days=3, hours=4))
        titles = [deliver.title("cop_drop", "raised"), deliver.title("stale", "resolved")]
    assert resolved == ("✅ Das Takten ist vorbei: So. 11. Jan. 75 Starts in 10,0 h Laufzeit "
                        "(7,5 pro Stunde).")
    assert repeat == "🔁 Taktet immer noch am So. 11. Jan.: " + CYCLING
    assert summaries == ["Störung F.1100 an 7571, seit So. 07:00",
                         "Warnung (2 Fehler ohne Einzelheiten) an 7571, seit So. 07:00",
                         "keine Daten vom Stromzähler (Shelly), seit So. 07:00",
                         "COP unter normal, seit So. 07:00",
                         "Heizstab 14,2 kWh am So. 11. Jan., seit So. 07:00",
                         "Takten (5,8 Starts/h), seit So. 07:00"]
    assert older == "Sa. 3. Jan. 08:00" and long_gap == "3 Tage 4 h"
    assert titles == ["Effizienz der Wärmepumpe gesunken", "Wärmepumpen-Monitor: keine Daten: "
                                                           "behoben"]
    assert texts.when(NOW - timedelta(days=9), TZ, NOW) == "Sat 03 Jan 08:00"  # English kept


def test_alert_commands_in_german(tmp_path):
    subs = Subscribers(tmp_path)
    cfg = Settings()
    with i18n.using("de"):
        refused = commands.subscribe(subs, 7, frozenset({42}))
        joined = commands.subscribe(subs, 42, frozenset({42}))
        usage = commands.mute(subs, 42, "", NOW, TZ)
        wrong = commands.mute(subs, 42, "soon", NOW, TZ)
        muted = commands.mute(subs, 42, "2h", NOW, TZ)
        overview = commands.alerts_overview(empty_state(), subs, 42, cfg, NOW, TZ)
        left = commands.unsubscribe(subs, 42)
        with pytest.raises(ValueError, match=r"^höchstens 30 Tage; /unsubscribe beendet"):
            commands.parse_duration("31d")
    assert refused == ("Dieser Chat (7) darf keine Alarme bekommen; trage ihn zuerst in "
                       "TELEGRAM_ALLOWED_CHAT_IDS ein.")
    assert joined.startswith("Abonniert: Dieser Chat bekommt jetzt einen Alarm, wenn die "
                             "Wärmepumpe eine Störung meldet")
    assert usage == "Aufruf: /mute 2h (oder 30m, 1d, 1w); /mute off beendet es."
    assert wrong == ("Leider: 'soon' ist keine Dauer; zum Beispiel /mute 2h oder /mute 1d.\n"
                     + usage)
    assert muted == ("Stumm bis 10:00 (2 h). Alarme in dieser Zeit werden hier nicht gesendet; "
                     "/alerts zeigt sie. /mute off beendet das.")
    assert overview.splitlines() == [
        "Keine aktiven Alarme.", "Dieser Chat ist stumm bis 10:00 (/mute off).",
        "Überwacht: keine Daten für 60 min (Stromzähler) / 60 min (Wärmepumpe); Fehler und "
        "Warnungen der Wärmepumpe; COP 20 % unter normal an 3 Tagen in Folge; mehr als 6 "
        "Starts pro Laufzeitstunde; Heizstab über 5 kWh am Tag oder über 3 h am Tag oder "
        "Heizen bei 5 °C oder milder."]
    assert left == "Abbestellt: keine Alarme mehr in diesem Chat. /subscribe, um wieder anzufangen."


def test_the_german_alert_in_the_docs_is_what_the_engine_sends(capsys):
    """docs/bot.md ("Deutsch") shows the COP drop and its recovery in German: exactly the
    engine's texts, as `python -m bot.alerts.examples de` prints them."""
    from pathlib import Path

    docs = (Path(__file__).resolve().parents[3] / "docs" / "bot.md").read_text(
        encoding="utf-8")
    german = docs[docs.index("## Deutsch"):]
    with i18n.using("de"):
        shown = [n.text for n in examples.cop_drop()]
    assert [n.event for n in examples.cop_drop()] == ["raised", "resolved"]
    assert all(f"```text\n{text}\n```" in german for text in shown)
    examples.main(["de"])
    printed = capsys.readouterr().out
    assert all(text in printed for text in shown) and "📉 COP drop" not in printed


def test_a_detail_without_a_known_reason_code_is_still_shown():
    """The stored English detail is the only explanation of a reason the texts do not know;
    English keeps every stored detail."""
    from bot.alerts.texts import health_because, stored_detail

    with i18n.using("de"):
        assert stored_detail("rate_limited", "day limit") == ""
        assert stored_detail("new_reason", "something new") == "something new"
        assert health_because("unreachable", "no answer within 4 s") == \
            "im Netzwerk nicht erreichbar"
        assert health_because("new_reason", "something new") == "new_reason: something new"
    assert health_because("unreachable", "no answer within 4 s") == \
        "unreachable: no answer within 4 s"
