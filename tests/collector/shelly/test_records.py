"""The meter's own per-minute records (collector/shelly/records.py): parsed from a real
record, read over real HTTP (Digest auth, pages) from the fake Shelly on 127.0.0.1, and
refused with one clear error when an answer is not what the docs describe."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from collector.shelly.client import ShellyClient
from collector.shelly.errors import ShellyBadResponse
from collector.shelly.records import (
    RecordsApi,
    RecordsReader,
    parse_data,
    parse_first_record,
    records_api,
    records_for_gap,
)
from tests.fakes.shelly import FakeShelly, load_device
from tests.paths import FIXTURES

RECORDS = FIXTURES / "shelly" / "records"
REAL = json.loads((RECORDS / "pro3em_EMData.GetData__one_real_record.json").read_text())
ALL = RecordsApi("EMData", 0, ("a_total_act_energy", "b_total_act_energy",
                               "c_total_act_energy"))
SECRET = "records-secret-1"
T0 = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)


def test_the_real_record_is_the_sum_of_its_phases_imported_energy():
    minutes, nxt = parse_data(REAL, ALL, "here")
    # a 0.0069 + b 0.0052 + c 0.0063 Wh in the minute 2022-04-14 03:20 UTC
    assert minutes == {datetime(2022, 4, 14, 3, 20, tzinfo=UTC): pytest.approx(0.0184)}
    assert nxt is None
    one = RecordsApi("EMData", 0, ("b_total_act_energy",))
    assert list(parse_data(REAL, one, "here")[0].values()) == [pytest.approx(0.0052)]


def test_the_csv_export_and_the_getdata_fixture_hold_the_same_record():
    header, row = (RECORDS / "pro3em_emdata.csv").read_text().splitlines()
    assert header.split(",")[1:] == REAL["keys"]
    assert [float(v) for v in row.split(",")[1:]] == REAL["data"][0]["values"][0]
    assert int(row.split(",")[0]) == REAL["data"][0]["ts"]


def _damaged(change) -> dict[str, Any]:
    body = copy.deepcopy(REAL)
    change(body)
    return body


@pytest.mark.parametrize("body, message", [
    ([], "not a EMData.GetData answer"),
    ({"data": []}, "has no 'keys'"),
    (_damaged(lambda b: b["keys"].__setitem__(0, "a_energy")), "hold no a_total_act_energy"),
    (_damaged(lambda b: b["data"][0].__setitem__("period", 300)), "records of 300 s"),
    (_damaged(lambda b: b["data"][0].__setitem__("ts", 1649906430)), "not on a minute"),
    (_damaged(lambda b: b["data"][0]["values"][0].pop()), "one value per key"),
    (_damaged(lambda b: b["data"][0]["values"][0].__setitem__(0, "0.0069")),
     "a_total_act_energy = '0.0069', not an energy"),
    (_damaged(lambda b: b["data"][0]["values"][0].__setitem__(16, -1.0)),
     "b_total_act_energy = -1.0"),
    (_damaged(lambda b: b.__setitem__("next_record_ts", "soon")), "next_record_ts"),
])
def test_an_answer_not_in_the_documented_shape_is_one_clear_error(body, message):
    with pytest.raises(ShellyBadResponse, match=message) as err:
        parse_data(body, ALL, "http://127.0.0.1/rpc/EMData.GetData")
    assert str(err.value).startswith("http://127.0.0.1/rpc/EMData.GetData: ")


def test_get_records_says_where_the_memory_starts():
    body = {"data_blocks": [{"ts": 1649906400, "period": 60, "records": 27},
                            {"ts": 1649910000, "period": 60, "records": 1846}]}
    assert parse_first_record(body, ALL, "x") == datetime(2022, 4, 14, 3, 20, tzinfo=UTC)
    assert parse_first_record({"data_blocks": []}, ALL, "x") is None
    with pytest.raises(ShellyBadResponse, match="data_blocks"):
        parse_first_record({}, ALL, "x")


def _pages(fake: FakeShelly, minutes: dict[int, list[float]], per_page: int = 50) -> None:
    """Serve EMData.GetData of `minutes` (epoch -> row) in pages, as a Pro 3EM does."""
    def get_data(query: dict[str, list[str]]) -> tuple[int, Any]:
        ts, end_ts = int(query["ts"][0]), int(query["end_ts"][0])
        wanted = [m for m in sorted(minutes) if ts <= m <= end_ts]
        page = wanted[:per_page]
        body: dict[str, Any] = {"keys": REAL["keys"], "data": []}
        block: list[int] = []
        for m in page:  # one block per run of consecutive minutes
            if block and m != block[-1] + 60:
                body["data"].append({"ts": block[0], "period": 60,
                                     "values": [minutes[x] for x in block]})
                block = []
            block.append(m)
        if block:
            body["data"].append({"ts": block[0], "period": 60,
                                 "values": [minutes[x] for x in block]})
        if len(wanted) > per_page:
            body["next_record_ts"] = wanted[per_page]
        return 200, body
    fake.rpc["EMData.GetData"] = get_data


def _row(wh: float) -> list[float]:
    row = list(REAL["data"][0]["values"][0])
    row[0], row[16], row[32] = wh * 0.5, wh * 0.25, wh * 0.25
    return row


def test_read_follows_the_pages_over_http_with_digest_auth():
    start = int(T0.timestamp())
    minutes = {start + 60 * i: _row(10.0 + i) for i in range(180)}
    with FakeShelly(load_device("gen2_pro3em_fw161.json"), password=SECRET) as fake, \
            ShellyClient(fake.url, password=SECRET, channel="", timeout_s=3) as client:
        _pages(fake, minutes)
        client.identify()
        reader = RecordsReader.of(client)
        assert reader is not None
        seen: list[datetime] = []
        got = reader.read(T0 + timedelta(seconds=25), T0 + timedelta(hours=3), seen.append)
    asked = [p for p in fake.requests if "GetData" in p]
    assert len(asked) == 4 and seen == [T0 + timedelta(minutes=50 * i) for i in (1, 2, 3)]
    assert asked[0] == (f"/rpc/EMData.GetData?id=0&ts={start}&end_ts={start + 179 * 60}")
    assert got.energy_wh == {datetime.fromtimestamp(m, UTC): pytest.approx(10.0 + i)
                             for i, m in enumerate(sorted(minutes))}
    assert got.covers(T0 + timedelta(seconds=25), T0 + timedelta(hours=3))
    assert fake.digest_ok >= 4


def test_a_minute_without_a_record_is_not_invented():
    start = int(T0.timestamp())
    minutes = {start + 60 * i: _row(10.0) for i in range(10) if i != 4}
    with FakeShelly(load_device("gen2_pro3em_fw161.json")) as fake, \
            ShellyClient(fake.url, channel="", timeout_s=3) as client:
        _pages(fake, minutes)
        client.identify()
        got = RecordsReader.of(client).read(T0, T0 + timedelta(minutes=10))  # type: ignore
    assert T0 + timedelta(minutes=4) not in got.energy_wh and len(got.energy_wh) == 9
    assert not got.covers(T0, T0 + timedelta(minutes=10))
    assert got.covers(T0 + timedelta(minutes=5), T0 + timedelta(minutes=10))


def test_a_damaged_answer_loses_nothing_the_gap_is_booked_without_records():
    """One clear error from the reader; the collector's hook then gives no records (the gap
    is booked as without them, test_gapfill.py) instead of failing the poll."""
    with FakeShelly(load_device("gen2_pro3em_fw161.json")) as fake, \
            ShellyClient(fake.url, channel="", timeout_s=3) as client:
        client.identify()
        reader = RecordsReader.of(client)
        assert reader is not None
        fake.rpc["EMData.GetData"] = lambda q: (200, {"keys": ["x"], "data": []})
        with pytest.raises(ShellyBadResponse, match="hold no a_total_act_energy"):
            reader.read(T0, T0 + timedelta(hours=1))
        assert records_for_gap(client, T0, T0 + timedelta(hours=1)) is None
        fake.rpc["EMData.GetData"] = lambda q: (200, {"keys": REAL["keys"], "data": [],
                                                      "next_record_ts": int(q["ts"][0])})
        with pytest.raises(ShellyBadResponse, match="does not move on"):
            reader.read(T0, T0 + timedelta(hours=1))
        assert records_for_gap(client, T0, T0 + timedelta(hours=1)) is None
        fake.rpc["EMData.GetData"] = lambda q: (500, {"code": -1, "message": "busy"})
        with pytest.raises(ShellyBadResponse, match="HTTP 500: busy"):
            reader.read(T0, T0 + timedelta(hours=1))
        assert records_for_gap(client, T0, T0 + timedelta(hours=1)) is None


@pytest.mark.parametrize("name, channel, expected", [
    ("gen2_pro3em_fw161.json", "", RecordsApi("EMData", 0, (
        "a_total_act_energy", "b_total_act_energy", "c_total_act_energy"))),
    ("gen2_pro3em_fw161.json", "b", RecordsApi("EMData", 0, ("b_total_act_energy",))),
    ("gen2_pro3em_monophase.json", "1", RecordsApi("EM1Data", 1, ("total_act_energy",))),
    ("gen3_pmmini.json", "", None),
    ("aioshelly_gen2_Plus1PM_SNSW-001P16EU_1.1.0.json", "", None),
    ("aioshelly_gen1_PlugS_SHPLG-S_v1.14.0.json", "", None),
    ("gen1_3em.json", "", None),  # its records are a CSV file: the test below
])
def test_which_meters_keep_records(name, channel, expected):
    with FakeShelly(load_device(name)) as fake, \
            ShellyClient(fake.url, channel=channel, timeout_s=3) as client:
        device = client.identify()
        assert records_api(device) == expected
        if expected is None:  # a meter without records is never asked for them
            fake.requests.clear()
            assert records_for_gap(client, T0, T0 + timedelta(hours=1)) is None
            expect = (["/emeter/0/em_data.csv"] if device.family.key == "gen1_3em" else [])
            assert fake.requests == expect  # the 3EM's first file answers 404 here

