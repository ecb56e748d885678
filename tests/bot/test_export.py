"""/export and `heatpump export`: CSV per hour or day on a small store with exact values."""

from __future__ import annotations

import argparse
import io
from datetime import UTC, datetime

import pytest

from bot import export_cmd
from bot.commands import Context, answer
from heatpump import i18n
from heatpump.settings import Settings
from heatpump.store.sqlite import SQLiteStore
from tests.bot.small_store import write_hours

# 29.11.2026 10:00-13:00 Berlin = 09:00-12:00 UTC
T0 = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 29, 12, 20, tzinfo=UTC)


@pytest.fixture
def small(tmp_path):
    s = Settings.from_mapping({"HEATPUMP_TZ": "Europe/Berlin",
                               "HEATPUMP_DATA_DIR": str(tmp_path)})
    store = SQLiteStore(tmp_path / "heatpump.sqlite3", s.tz)
    # 10:00 both sides; 11:00 the meter is missing; 12:00 both sides, compressor ran 30 min
    write_hours(store, T0, [(1000.0, 3500.0, 2.0, 35.0, 3600.0, 1),
                            (None, 3000.0, 3.0, 34.0),
                            (500.0, 2000.0, 4.0, 33.0, 1800.0, 2)])
    yield store, s
    store.close()


HOURLY = """\
start_local,start_utc,end_utc,electricity_kwh,heat_kwh,heat_method,counted_h,cop,outdoor_temp_c,flow_temp_c,compressor_running_h,compressor_starts
2026-11-29T10:00:00+01:00,2026-11-29T09:00:00Z,2026-11-29T10:00:00Z,1.000,3.500,counter,1,3.50,2.0,35.0,1.00,1
2026-11-29T11:00:00+01:00,2026-11-29T10:00:00Z,2026-11-29T11:00:00Z,,3.000,counter,0,,3.0,34.0,,
2026-11-29T12:00:00+01:00,2026-11-29T11:00:00Z,2026-11-29T12:00:00Z,0.500,2.000,counter,1,4.00,4.0,33.0,0.50,2
"""


def test_export_hourly_leaves_gaps_empty(small, tmp_path):
    store, s = small
    reply = answer("/export today hour", Context(store, s, lambda: NOW))
    assert reply.document is not None
    name, content = reply.document
    assert name == "heatpump-2026-11-29-2026-11-29-hour.csv"
    # today from local midnight: 10 empty hours first (gaps, not zeros), then the data
    lines = content.decode().splitlines()
    assert lines[1] == ("2026-11-29T00:00:00+01:00,2026-11-28T23:00:00Z,"
                        "2026-11-29T00:00:00Z,,,,0,,,,,")
    assert "\n".join([lines[0], *lines[-3:]]) + "\n" == HOURLY
    assert len(lines) == 1 + 13
    assert reply.text == ("Export today: 13 hours as CSV (kWh, °C; local time and UTC); "
                          "11 without meter data, 10 without heat data (empty cells). "
                          "Columns: docs/bot.md, /export.")


def test_export_daily(small):
    store, s = small
    reply = answer("/export today day", Context(store, s, lambda: NOW))
    assert reply.document is not None
    assert reply.document[1].decode().splitlines()[1] == (
        "2026-11-29T00:00:00+01:00,2026-11-28T23:00:00Z,2026-11-29T12:00:00Z,1.500,8.500,"
        "counter,2,3.67,3.0,34.0,1.50,3")


def test_export_command_writes_the_same_csv(small, tmp_path, monkeypatch):
    store, s = small
    store.close()
    monkeypatch.setattr(export_cmd, "utcnow", lambda: NOW)
    out = io.StringIO()
    args = argparse.Namespace(date_from="2026-11-29", date_to="2026-11-29", step="hour",
                              out="-", demo=False)
    assert export_cmd.run(args, s, out=out) == 0
    assert out.getvalue().endswith(HOURLY.split("\n", 1)[1])
    target = tmp_path / "out" / "x.csv"
    args.out = str(target)
    assert export_cmd.run(args, s) == 0
    assert target.read_text() == out.getvalue()


@pytest.mark.parametrize(("date_from", "date_to", "problem"), [
    ("2026-11-30", "2026-11-30", "--from 2026-11-30 lies in the future (today is 2026-11-29)"),
    # a new user's trial: no --to was given, so the message must not name one
    ("2026-11-30", None, "^--from 2026-11-30 lies in the future (today is 2026-11-29)$"),
    ("2026-11-29", "2026-11-01", "--to 2026-11-01 lies before --from 2026-11-29"),
    ("29.11.2026", None, "--from '29.11.2026' is not a day; use YYYY-MM-DD"),
])
def test_export_range_errors(date_from, date_to, problem):
    s = Settings(tz_name="Europe/Berlin")
    pattern = problem.replace(".", r"\.").replace("(", r"\(").replace(")", r"\)")
    with pytest.raises(export_cmd.ExportArgsError, match=pattern):
        export_cmd.export_range(date_from, date_to, NOW, s)


def test_export_of_today_before_its_first_complete_hour():
    s = Settings(tz_name="Europe/Berlin")
    just_after_midnight = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)  # 00:30 on the 30th
    with pytest.raises(export_cmd.ExportArgsError, match="2026-11-30 has no complete hour"):
        export_cmd.export_range("2026-11-30", None, just_after_midnight, s)
    with i18n.using("de"), pytest.raises(export_cmd.ExportArgsError) as err:
        export_cmd.export_range("2026-12-01", None, just_after_midnight, s)
    assert str(err.value) == "--from 2026-12-01 liegt in der Zukunft (heute ist 2026-11-30)"


def test_export_bad_argument_gets_usage(small):
    store, s = small
    text = answer("/export 30d hour day", Context(store, s, lambda: NOW)).text
    assert text.startswith("Sorry: /export takes a period and hour or day")


def test_chat_saves_the_document(small, tmp_path):
    from bot.chat import show

    store, s = small
    reply = answer("/export today", Context(store, s, lambda: NOW))
    out = io.StringIO()
    path = show(reply, tmp_path / "files", out)
    assert path == tmp_path / "files" / "heatpump-2026-11-29-2026-11-29-hour.csv"
    assert path.read_bytes() == reply.document[1]
    assert out.getvalue().endswith(f"file saved: {path}\n")
