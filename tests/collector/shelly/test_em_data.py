"""The Gen1 3EM's em_data.csv (collector/shelly/em_data.py): a real file's format parsed
exactly, a malformed file refused with one clear error, the configured phases summed,
and the text answer path held to its size limit. (The backfill and the gap fill from the
simulated Gen1 3EM: tests/collector/test_meter_history.py, test_meter_records_restart.py.)"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from collector.shelly.client import ShellyClient
from collector.shelly.em_data import EmDataReader, parse_em_data, sum_phases
from collector.shelly.errors import ShellyBadResponse
from collector.shelly.records import RecordsReader
from collector.shelly.transport import MAX_CSV_BYTES, AnswerTransport
from tests.paths import FIXTURES

REAL = (FIXTURES / "shelly" / "records" / "gen1_3em_em_data_phaseA__excerpt.csv").read_text()
HEADER = "Date/time UTC,Active energy Wh (A),Returned energy Wh (A)"


def utc(*a: int) -> datetime:
    return datetime(*a, tzinfo=UTC)


def test_a_real_files_rows_are_10_minutes_then_minutes_as_the_device_wrote_them():
    rows = parse_em_data(REAL, "real")
    assert rows[utc(2025, 3, 11, 23, 30)] == (600, 29.5)
    assert rows[utc(2025, 3, 11, 23, 50)] == (600, 29.8)  # its next row is 2 months later
    assert rows[utc(2025, 5, 19, 0, 0)] == (60, 37.03)
    assert rows[utc(2025, 5, 19, 0, 8)] == (60, 35.9)  # the last row: a minute, by 00:07
    assert len(rows) == 12
    # a 10-minute row is spread over its minutes; minute rows stay as they are
    got = sum_phases([rows], utc(2025, 3, 11, 23, 45), utc(2025, 3, 11, 23, 52))
    assert got == pytest.approx({utc(2025, 3, 11, 23, 45 + k): 2.98 for k in range(5)}
                                | {utc(2025, 3, 11, 23, 50): 2.98, utc(2025, 3, 11, 23, 51): 2.98})
    assert sum_phases([rows], utc(2025, 5, 19, 0, 1), utc(2025, 5, 19, 0, 3)) == {
        utc(2025, 5, 19, 0, 1): 20.03, utc(2025, 5, 19, 0, 2): 37.52}
    # nothing between the chunks, nothing after the last row
    assert sum_phases([rows], utc(2025, 4, 1), utc(2025, 4, 1, 0, 30)) == {}
    assert sum_phases([rows], utc(2025, 5, 19, 0, 9), utc(2025, 5, 19, 0, 12)) == {}


def test_repeated_rows_with_the_same_energy_are_one_and_a_lone_row_is_not_used():
    text = "\n".join([HEADER, "2025-01-11 00:00,30.70,0.00", "2025-01-11 00:10,33.70,0.00",
                      "2025-01-11 00:00,30.70,0.00", "2025-02-01 07:13,5.00,0.00", ""])
    assert parse_em_data(text, "x") == {utc(2025, 1, 11, 0, 0): (600, 30.7),
                                        utc(2025, 1, 11, 0, 10): (600, 33.7)}


@pytest.mark.parametrize("text, says", [
    ("<html>busy</html>", "not an em_data.csv file"),
    ("", "not an em_data.csv file"),
    (HEADER + "\n2025-01-11 00:00,30.70", "line 2 has 2 columns, the header 3"),
    (HEADER + "\n2025-01-11 00:00,30.70,0.00\n2025-01-11 00:1", "line 3 has 1 columns"),
    (HEADER + "\n2025-01-11T00:00,30.70,0.00", "line 2 has no time '%Y-%m-%d %H:%M'"),
    (HEADER + "\n2025-01-11 00:00,-1.00,0.00", "line 2 has '-1.00' as its energy"),
    (HEADER + "\n2025-01-11 00:00,nan,0.00", "line 2 has 'nan' as its energy"),
    (HEADER + "\n2025-01-11 00:00,1.00,0.00\n2025-01-11 00:00,2.00,0.00",
     "line 3: 2025-01-11 00:00 appears twice with different energies (1.0 and 2.0 Wh)"),
])
def test_a_malformed_file_is_one_clear_error(text, says):
    with pytest.raises(ShellyBadResponse) as exc:
        parse_em_data(text, "http://127.0.0.1/emeter/0/em_data.csv")
    assert str(exc.value).startswith("http://127.0.0.1/emeter/0/em_data.csv: ")
    assert says in str(exc.value)


SHELLY = {"type": "SHEM-3", "mac": "AABBCCDDEE01", "auth": False, "fw": "20230913/v1.14.0",
          "num_outputs": 1, "num_meters": 0, "num_emeters": 3}
STATUS = {"emeters": [{"power": 100.0, "pf": 1.0, "current": 0.4, "voltage": 230.0,
                       "is_valid": True, "total": 1000.0, "total_returned": 0.0}] * 3,
          "relays": [], "unixtime": 1, "uptime": 100}


class Gen1Meter:
    """A Gen1 3EM's answers, with one em_data.csv per phase; records what is asked."""

    def __init__(self, files: dict[int, Any]):
        self.files, self.asked = files, []

    def answer(self, path: str) -> tuple[int, Any]:
        self.asked.append(path)
        if path == "/shelly":
            return 200, SHELLY
        if path == "/status":
            return 200, STATUS
        for i, body in self.files.items():
            if path == f"/emeter/{i}/em_data.csv":
                return 200, body
        return 404, "Not Found"

    def client(self, channel: str = "") -> ShellyClient:
        return ShellyClient("http://127.0.0.1", channel=channel,
                            transport=AnswerTransport(self.answer, "http://127.0.0.1"))


def phase_file(letter: str, wh: float) -> str:
    return "\n".join([HEADER.replace("(A)", f"({letter})")] + [
        f"2025-05-19 00:0{k},{wh + k:.2f},0.00" for k in range(5)])


def test_the_configured_phases_are_summed_per_minute():
    meter = Gen1Meter({0: phase_file("A", 1.0), 1: phase_file("B", 10.0),
                       2: phase_file("C", 100.0)})
    client = meter.client()
    client.identify()
    reader = RecordsReader.of(client)
    assert isinstance(reader, EmDataReader) and reader.phases == (0, 1, 2)
    assert reader.first_record() == utc(2025, 5, 19)
    got = reader.read(utc(2025, 5, 19, 0, 1), utc(2025, 5, 19, 0, 3)).energy_wh
    assert got == pytest.approx({utc(2025, 5, 19, 0, 1): 114.0, utc(2025, 5, 19, 0, 2): 117.0})
    # read again within what was fetched: no new download
    n = len(meter.asked)
    reader.read(utc(2025, 5, 19, 0, 0), utc(2025, 5, 19, 0, 4))
    assert len(meter.asked) == n
    one = Gen1Meter({1: phase_file("B", 10.0)}).client("1")
    one.identify()
    got = RecordsReader.of(one).read(utc(2025, 5, 19, 0, 1), utc(2025, 5, 19, 0, 2))
    assert got.energy_wh == {utc(2025, 5, 19, 0, 1): 11.0}


def test_a_minute_missing_in_one_phase_is_missing():
    short = "\n".join(phase_file("C", 100.0).splitlines()[:3])  # 00:00, 00:01 only
    client = Gen1Meter({0: phase_file("A", 1.0), 1: phase_file("B", 10.0),
                        2: short}).client()
    client.identify()
    got = RecordsReader.of(client).read(utc(2025, 5, 19), utc(2025, 5, 19, 0, 4)).energy_wh
    assert sorted(got) == [utc(2025, 5, 19, 0, 0), utc(2025, 5, 19, 0, 1)]


@pytest.mark.parametrize("body, says", [
    ({"isok": False}, "answered JSON, not a CSV file"),
    (HEADER + "\n" + "2025-01-11 00:00,30.70,0.00\n" * (MAX_CSV_BYTES // 27),
     "larger than 4096 KB; refused"),
])
def test_an_answer_that_is_not_a_bounded_csv_file_is_refused(body, says):
    client = Gen1Meter({0: body}).client("0")
    client.identify()
    with pytest.raises(ShellyBadResponse, match=says):
        RecordsReader.of(client).read(utc(2025, 1, 11), utc(2025, 1, 12))


def test_the_gap_fill_ignores_a_gen1_3em_whose_file_is_damaged(caplog):
    from collector.shelly.records import records_for_gap
    client = Gen1Meter({0: "garbage", 1: phase_file("B", 1), 2: phase_file("C", 1)}).client()
    client.identify()
    assert records_for_gap(client, utc(2025, 5, 19), utc(2025, 5, 19, 0, 3)) is None
