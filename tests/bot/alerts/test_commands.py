"""/subscribe, /mute and /alerts replies, and the subscriber file."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.alert_data import MessagePoll, Snapshot, SourceSeen
from bot.alerts import commands
from bot.alerts.engine import evaluate
from bot.alerts.persist import SUBSCRIBERS_FILE, Subscribers
from heatpump.settings import Settings

TZ = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "expected"), [
    ("30m", timedelta(minutes=30)), ("2h", timedelta(hours=2)), ("1d", timedelta(days=1)),
    ("1w", timedelta(weeks=1)), ("1h30m", timedelta(minutes=90)), (" 2 H ", timedelta(hours=2)),
    ("90min", timedelta(minutes=90)), ("1.5h", timedelta(minutes=90)),
])
def test_parse_duration(text, expected):
    assert commands.parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "soon", "2", "h", "0h", "31d", "2h foo", "-1h"])
def test_parse_duration_refuses(text):
    with pytest.raises(ValueError):
        commands.parse_duration(text)


def test_only_allowed_chats_subscribe_and_it_persists(tmp_path):
    subs = Subscribers(tmp_path)
    allowed = frozenset({1, -100})
    assert "not allowed" in commands.subscribe(subs, 2, allowed)
    assert "TELEGRAM_ALLOWED_CHAT_IDS" in commands.subscribe(subs, 2, allowed)
    assert subs.chats() == []
    assert "Subscribed" in commands.subscribe(subs, 1, allowed)
    assert "Subscribed" in commands.subscribe(subs, -100, allowed)
    assert Subscribers(tmp_path).chats() == [-100, 1]  # from disk
    assert "Unsubscribed" in commands.unsubscribe(subs, -100)
    assert "not subscribed" in commands.unsubscribe(subs, -100)
    assert Subscribers(tmp_path).chats() == [1]
    assert (tmp_path / SUBSCRIBERS_FILE).exists()


def test_mute_expires(tmp_path):
    subs = Subscribers(tmp_path)
    subs.subscribe(1)
    reply = commands.mute(subs, 1, "2h", NOW, TZ)
    assert reply.startswith("Muted until 12:00 (2 h)")  # 11:00 UTC in Berlin
    assert subs.recipients(NOW + timedelta(hours=1)) == []
    assert Subscribers(tmp_path).recipients(NOW + timedelta(hours=1)) == []
    assert subs.recipients(NOW + timedelta(hours=2, seconds=1)) == [1]
    assert "Usage" in commands.mute(subs, 1, "", NOW, TZ)
    commands.mute(subs, 1, "1d", NOW, TZ)
    assert "on again" in commands.mute(subs, 1, "off", NOW, TZ)
    assert subs.recipients(NOW) == [1]


def test_alerts_overview_lists_active_alerts(tmp_path):
    subs = Subscribers(tmp_path)
    subs.subscribe(1)
    cfg = Settings(flush_minutes=0)  # a store committed every poll: 2 h of silence are real
    snap = Snapshot(NOW, polls=(MessagePoll("hp1", NOW, (), 2),),
                    sources=(SourceSeen("meter", "m1", NOW - timedelta(hours=2)),))
    state, _ = evaluate(snap, {}, cfg, TZ)
    text = commands.alerts_overview(state, subs, 1, cfg, NOW, TZ)
    assert "Active alerts (2):" in text
    assert "fault (2 errors without details) on hp1, since 10:00" in text
    assert "no data from the electricity meter (Shelly), since 10:00" in text
    assert "subscribed and not muted" in text
    assert "COP 20 % below normal on 3 days in a row" in text
    quiet = commands.alerts_overview({"alerts": {}}, subs, 2, cfg, NOW, TZ)
    assert "No active alerts." in quiet and "/subscribe" in quiet


def test_the_watching_line_names_the_heating_rod_limits() -> None:
    from bot.alerts.commands import watching_line

    line = watching_line(Settings())
    assert ("heating rod over 5 kWh a day or over 3 h a day or heating at 5 °C or milder"
            in line), line
    off = Settings(alert_rod_kwh_per_day=0, alert_rod_hours_per_day=0, alert_rod_mild_c=None)
    assert "heating rod" not in watching_line(off)
    assert "heating rod over 2 h a day." in watching_line(
        Settings(alert_rod_kwh_per_day=0, alert_rod_hours_per_day=2, alert_rod_mild_c=None))
