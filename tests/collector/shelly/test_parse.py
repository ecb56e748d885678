"""Every real Shelly response in tests/fixtures/shelly is mapped to hand-computed values.

Expected numbers are written out from the files themselves: Gen1 plug `total` is in
watt-minutes (/60), Gen1 3EM sums the three `emeters`, Pro 3EM uses `total_act_power` and
`total_act` (or one phase's `<p>_act_power` / `<p>_total_act_energy`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import replace

import pytest

from collector.shelly.errors import ShellyBadResponse, ShellyUnsupported
from collector.shelly.parse import (
    FAMILIES,
    Channel,
    channel_reader,
    identify,
    read_values,
    resolve_channel,
    responses_from_status,
)
from tests.paths import FIXTURES, ROOT

FIX = FIXTURES / "shelly"


def load(name: str):
    return json.loads((FIX / name).read_text())


# (file, family, SHELLY_CHANNEL, how to wrap the body, power W, energy Wh, uptime s)
# wrap: "status" = a full status (Gen1 /status or Shelly.GetStatus); "meter0"/"emeter0" = a
# Gen1 /meter/0 or /emeter/0 element; "switch"/"pm1" = that component's GetStatus result.
CASES = [
    ("gen1_plugs_status__aioshelly_fixture.json", "gen1_meter", "", "status",
     0.0, 2632 / 60, 2589909),
    ("gen1_plugs_meter0_element__aioshelly_fixture.json", "gen1_meter", "", "meter0",
     0.0, 2632 / 60, None),
    ("gen1_plugs_status_oldfw__evcc_issue10974.json", "gen1_meter", "", "status",
     0.0, 23389 / 60, 1045575),  # 389.82 Wh, not 23.389 kWh
    ("gen1_1pm_status__evcc_types_test.json", "gen1_meter", "0", "status",
     4711.12, 6472513 / 60, 17284290),
    ("gen1_em_status_negative_power__evcc_types_test.json", "gen1_em", "", "status",
     -620.34, 401472.9, 2226140),
    ("gen1_em_status_negative_power__evcc_types_test.json", "gen1_em", "1", "status",
     0.0, 173411.3, 2226140),
    ("gen1_em_emeter0__dbus-shelly-3em-smartmeter_issue24.json", "gen1_em", "0", "emeter0",
     2724.16, 12716863.2, None),
    ("gen1_3em_status_fw1.11.8_negative_phase__dbus-shelly-3em-smartmeter_docs.json",
     "gen1_3em", "", "status",
     -3924.78 + 30.63 + 122.22, 1554437.0 + 958484.5 + 1207147.7, 1000),
    ("gen1_3em_status_fw1.11.8_negative_phase__dbus-shelly-3em-smartmeter_docs.json",
     "gen1_3em", "a", "status", -3924.78, 1554437.0, 1000),
    ("gen1_3em_status_fw1.14.0__lumapu_ahoy_zeroExport_comment.json", "gen1_3em", "", "status",
     51.08 + 155.02 + 6.75, 1686297.2 + 878905.6 + 206151.1, 13728721),
    ("gen1_3em_status_fw1.14.0__lumapu_ahoy_zeroExport_comment.json", "gen1_3em", "1",
     "status", 155.02, 878905.6, 13728721),
    ("gen2_plus1pm_Shelly.GetStatus__aioshelly_fixture.json", "switch", "", "status",
     0.0, 110.046, 2622735),
    ("gen2_plusplugs_Switch.GetStatus_id0__aioshelly_fixture.json", "switch", "0", "switch",
     2.7, 7258.589, None),
    ("gen2_pro1pm_Shelly.GetStatus__evcc_types_test.json", "switch", "0", "status",
     47.11, 5.125, 45070),
    ("gen2_pro3em_fw1.6.1_Shelly.GetStatus__ha_core_fixture_pro_3em.json", "em", "", "status",
     2413.825, 5415414.19, 501683),
    ("gen2_pro3em_fw1.6.1_Shelly.GetStatus__ha_core_fixture_pro_3em.json", "em", "a", "status",
     2166.2, 3105576.42, 501683),
    ("gen2_pro3em_fw1.6.1_Shelly.GetStatus__ha_core_fixture_pro_3em.json", "em", "2", "status",
     244.0, 2114072.05, 501683),
    ("gen2_pro3em_monophase_Shelly.GetStatus__evcc_types_test.json", "em1", "", "status",
     598.9, 3458.24, 563),
    ("gen2_pro3em_monophase_Shelly.GetStatus__evcc_types_test.json", "em1", "1", "status",
     0.0, 2768.67, 563),
    ("gen2_pro3em_monophase_Shelly.GetStatus__evcc_types_test.json", "em1", "c", "status",
     0.0, 3.09, 563),
    ("gen2_proem50_Shelly.GetStatus_negative_power__evcc_types_test.json", "em1", "0", "status",
     -332.2, 1264.15, 3671372),
    ("gen2_proem50_Shelly.GetStatus_negative_power__evcc_types_test.json", "em1", "1", "status",
     -38.5, 48002.83, 3671372),
    ("gen3_pmminig3_Shelly.GetStatus__evcc_types_test.json", "pm1", "", "status",
     1780.1, 3551.682, 62328),
    ("gen3_2pmg3_fw1.6.1_Shelly.GetStatus_ret_aenergy__ha_core_fixture_2pm_gen3.json", "switch",
     "1", "status", 0.0, 0.0, 103),
]


def responses_for(wrap: str, body, family, channel):
    if wrap == "status":
        return responses_from_status(family, channel, body)
    if wrap == "meter0":
        return {"status": {"meters": [body]}}
    if wrap == "emeter0":
        return {"status": {"emeters": [body]}}
    return {wrap: body}


@pytest.mark.parametrize(("name", "family", "setting", "wrap", "power_w", "energy_wh", "uptime_s"),
                         CASES, ids=[f"{c[0]}[{c[2] or 'default'}]" for c in CASES])
def test_every_fixture_maps_to_hand_computed_values(name, family, setting, wrap, power_w,
                                                     energy_wh, uptime_s):
    fam = FAMILIES[family]
    channel = resolve_channel(fam, setting)
    values = read_values(fam, channel, responses_for(wrap, load(name), fam, channel))
    assert values.power_w == pytest.approx(power_w, abs=1e-9)
    assert values.energy_import_wh == pytest.approx(energy_wh, abs=1e-9)
    assert values.uptime_s == uptime_s


def test_pro3em_component_answers_em_plus_emdata():
    """EM.GetStatus + EMData.GetStatus answers, as two separate requests return them."""
    fam = FAMILIES["em"]
    em = load("gen2_pro3em_EM.GetStatus_id0__aioshelly_fixture.json")
    emdata = load("gen2_pro3em_EMData.GetStatus_id0__aioshelly_fixture.json")
    total = read_values(fam, resolve_channel(fam, ""), {"em": em, "emdata": emdata})
    assert (total.power_w, total.energy_import_wh) == (558.965, 2589773.39)
    c = read_values(fam, resolve_channel(fam, "c"), {"em": em, "emdata": emdata})
    assert (c.power_w, c.energy_import_wh) == (12.7, 369469.8)
    # Phase counters sum to the total counter (per-phase import sums, not a net value).
    assert sum(emdata[f"{p}_total_act_energy"] for p in "abc") == pytest.approx(2589773.39)


def test_pro3em_negative_phase_is_reported_signed():
    fam = FAMILIES["em"]
    em = load("gen2_pro3em_EM.GetStatus_negative_phase__crestron-shelly_issue36_log.json")
    emdata = load("gen2_pro3em_EMData.GetStatus_id0__aioshelly_fixture.json")  # energy only
    assert read_values(fam, resolve_channel(fam, ""), {"em": em, "emdata": emdata}).power_w \
        == 144.338
    assert read_values(fam, resolve_channel(fam, "a"), {"em": em, "emdata": emdata}).power_w \
        == -1.3


# /shelly answers: (file, device id, gen, auth required, profile)
SHELLY_ENDPOINTS = [
    ("gen1_plugs_shelly_endpoint__aioshelly_fixture.json", "shplg-s-aabbccddeeff", 1, False,
     None),
    ("gen2_pro3em_shelly_endpoint__aioshelly_fixture.json", "shellypro3em-aabbccddeeff", 2,
     False, "triphase"),
    ("gen2_pro3em_fw1.6.1_shelly_endpoint_auth_en__ha_core_fixture_pro_3em.json",
     "shellypro3em-aabbccddeeff", 2, True, "triphase"),
    ("gen2_pro3em_monophase_shelly_endpoint__evcc_types_test.json", "shellypro3em-fce8c0dba900",
     2, False, "monophase"),
    ("gen2_shelly_endpoint_plus2pm_auth_enabled__aioshelly.json", "shellyplus2pm-aabbccddeeff", 2,
     True, "switch"),
    ("gen3_2pmg3_fw1.6.1_shelly_endpoint__ha_core_fixture_2pm_gen3.json",
     "shelly2pmg3-aabbccddeeff", 3, False, "switch"),
    ("gen4_Shelly.GetDeviceInfo_mini1g4__aioshelly.json", "shelly1minig4-aabbccddeeff", 4, False,
     None),
]


@pytest.mark.parametrize(("name", "device_id", "gen", "auth", "profile"), SHELLY_ENDPOINTS)
def test_identify_every_shelly_endpoint_answer(name, device_id, gen, auth, profile):
    info = identify(load(name))
    assert (info.device_id, info.gen, info.auth_required, info.profile) == (
        device_id, gen, auth, profile)


# Whole devices served by the fake device in the HTTP tests: (file, family, power, energy)
DEVICES = [
    ("aioshelly_gen1_PlugS_SHPLG-S_v1.14.0.json", "gen1_meter", 0.0, 2632 / 60),
    ("aioshelly_gen2_Plus1PM_SNSW-001P16EU_1.1.0.json", "switch", 0.0, 110.046),
    ("aioshelly_gen2_PlusPlugS_SNPL-00112EU_1.1.0.json", "switch", 2.7, 7258.589),
    ("aioshelly_gen2_Pro3EM_SPEM-003CEBEU_1.1.0.json", "em", 558.965, 2589773.39),
    ("aioshelly_gen2_Pro4PM_SPSW-004PE16EU_1.0.3.json", "switch", 0.0, 0.0),
    ("gen1_3em.json", "gen1_3em", 51.08 + 155.02 + 6.75, 1686297.2 + 878905.6 + 206151.1),
    ("gen1_em.json", "gen1_em", -620.34, 401472.9),
    ("gen2_pro3em_fw161.json", "em", 2413.825, 5415414.19),
    ("gen2_pro3em_monophase.json", "em1", 598.9, 3458.24),
    ("gen3_2pm.json", "switch", 0.0, 0.0),
    ("gen3_pmmini.json", "pm1", 1780.1, 3551.682),
]


@pytest.mark.parametrize(("name", "family", "power_w", "energy_wh"), DEVICES)
def test_whole_devices_are_recognised_and_read(name, family, power_w, energy_wh):
    from collector.shelly.parse import gen1_family, gen2_family

    dev = load(f"devices/{name}")
    info = identify(dev["shelly"])
    fam = gen1_family(info, dev["status"]) if info.gen == 1 else gen2_family(dev["status"])
    assert fam.key == family
    channel = resolve_channel(fam, "")
    values = read_values(fam, channel, responses_from_status(fam, channel, dev["status"]))
    assert values.power_w == pytest.approx(power_w)
    assert values.energy_import_wh == pytest.approx(energy_wh)


def test_raw_fixture_dumps_equal_the_device_copies():
    raws = sorted((FIX / "raw_fixtures").glob("*.json"))
    assert len(raws) >= 3  # an emptied folder must not pass
    for raw in raws:
        assert json.loads(raw.read_text()) == load(f"devices/{raw.name}")


def test_proem_with_unmetered_switch_is_an_em1_meter():
    from collector.shelly.parse import gen2_family

    status = load("gen2_proem50_Shelly.GetStatus_negative_power__evcc_types_test.json")
    assert gen2_family(status).key == "em1"


def test_switch_without_metering_is_unsupported_with_a_clear_message():
    from collector.shelly.parse import gen2_family

    status = {"switch:0": {"id": 0, "output": True}, "sys": {"uptime": 5}}
    with pytest.raises(ShellyUnsupported, match="no power meter"):
        gen2_family(status)


def test_gen1_type_unknown_falls_back_to_status_shape():
    from collector.shelly.parse import gen1_family

    info = identify({"type": "SHXX-NEW", "mac": "AA", "auth": False})
    status = load("gen1_3em_status_fw1.14.0__lumapu_ahoy_zeroExport_comment.json")
    assert gen1_family(info, status).key == "gen1_3em"
    with pytest.raises(ShellyUnsupported):
        gen1_family(info, {"relays": []})


@pytest.mark.parametrize(("family", "setting", "index"), [
    ("gen1_3em", "", None), ("gen1_3em", "b", 1), ("gen1_3em", "2", 2), ("em", "", None),
    ("em", "C", 2), ("em1", "", 0), ("em1", "b", 1), ("switch", "", 0), ("switch", "3", 3),
    ("gen1_meter", " ", 0),
])
def test_channel_setting(family, setting, index):
    assert resolve_channel(FAMILIES[family], setting).index == index


@pytest.mark.parametrize(("family", "setting"), [
    ("switch", "a"), ("pm1", "b"), ("gen1_em", "c"), ("em", "3"), ("gen1_3em", "x1"),
])
def test_bad_channel_setting_is_explained(family, setting):
    with pytest.raises(ShellyUnsupported, match="SHELLY_CHANNEL"):
        resolve_channel(FAMILIES[family], setting)


def test_missing_channel_component_is_explained():
    fam = FAMILIES["switch"]
    status = load("gen2_plus1pm_Shelly.GetStatus__aioshelly_fixture.json")
    with pytest.raises(ShellyUnsupported, match="switch:1"):
        responses_from_status(fam, resolve_channel(fam, "1"), status)


@pytest.mark.parametrize("body", [
    {"switch": {"apower": 1.0}},  # no aenergy
    {"switch": {"apower": "12", "aenergy": {"total": 1.0}}},  # a string
    {"switch": {"apower": True, "aenergy": {"total": 1.0}}},  # a bool is no number
    {"switch": []},
])
def test_missing_or_wrong_fields_are_bad_responses(body):
    fam = FAMILIES["switch"]
    with pytest.raises(ShellyBadResponse):
        read_values(fam, resolve_channel(fam, ""), body)


def test_null_and_invalid_values_become_none_never_zero():
    fam = FAMILIES["switch"]
    v = read_values(fam, resolve_channel(fam, ""),
                    {"switch": {"apower": None, "aenergy": {"total": 12.5}}, "sys": {}})
    assert (v.power_w, v.energy_import_wh, v.uptime_s) == (None, 12.5, None)
    gen1 = FAMILIES["gen1_3em"]
    status = load("gen1_3em_status_fw1.14.0__lumapu_ahoy_zeroExport_comment.json")
    status["emeters"][1]["is_valid"] = False
    v = read_values(gen1, resolve_channel(gen1, ""), {"status": status})
    assert (v.power_w, v.energy_import_wh) == (None, None)
    # The other phase alone is still valid.
    v = read_values(gen1, resolve_channel(gen1, "a"), {"status": status})
    assert (v.power_w, v.energy_import_wh) == (51.08, 1686297.2)


@pytest.mark.parametrize("huge", [10**400, -(10**400)], ids=["huge", "minus-huge"])
def test_an_integer_beyond_any_float_is_no_value_not_a_crash(huge):
    """JSON allows integers of any size; one no float can hold is no measurement (as a
    non-finite value), never an OverflowError out of the parser."""
    fam = FAMILIES["em"]
    channel = resolve_channel(fam, "")
    status = pro3em_status()
    status["em:0"]["total_act_power"] = huge
    assert channel_reader(fam, channel).plain(status) is None
    v = read_values(fam, channel, responses_from_status(fam, channel, status))
    assert v.power_w is None and v.energy_import_wh is not None
    status = pro3em_status()
    status["emdata:0"]["total_act"] = huge
    v = read_values(fam, channel, responses_from_status(fam, channel, status))
    assert v.power_w is not None and v.energy_import_wh is None


def test_gen1_minus_one_after_boot_is_passed_on_for_the_accountant_to_reject():
    gen1 = FAMILIES["gen1_em"]
    status = load("gen1_em_status_negative_power__evcc_types_test.json")
    status["emeters"][0]["total"] = -1
    v = read_values(gen1, resolve_channel(gen1, "0"), {"status": status})
    assert v.energy_import_wh == -1


@pytest.mark.parametrize("body", [[], "x", {"gen": "2"}, {"gen": 2}, {"type": 5}, {"gen": True}])
def test_identify_rejects_garbage(body):
    with pytest.raises(ShellyBadResponse):
        identify(body)


def test_docs_list_every_family_with_its_requests():
    doc = (ROOT / "docs" / "shelly.md").read_text()
    for fam in FAMILIES.values():
        row = next((ln for ln in doc.splitlines() if ln.startswith(f"| {fam.title} |")), None)
        assert row is not None, fam.title
        for req in fam.requests:
            if fam.gen1:  # its one request
                assert f"`{req.path.format(n='N')}`" in row, (fam.title, req.path)
            else:  # one Shelly.GetStatus, then the components read from it
                assert "`/rpc/Shelly.GetStatus`" in row, fam.title
                assert f"`{(req.component or '').format(n='N')}`" in row, (fam.title,
                                                                          req.component)
        assert ("watt-minutes" in row) == (fam.energy_divisor == 60)
        assert ("Basic" in row) == fam.gen1


def test_every_response_file_is_covered_by_a_test_here():
    covered = {c[0] for c in CASES} | {c[0] for c in SHELLY_ENDPOINTS} | {
        "gen2_pro3em_EM.GetStatus_id0__aioshelly_fixture.json",
        "gen2_pro3em_EMData.GetStatus_id0__aioshelly_fixture.json",
        "gen2_pro3em_EM.GetStatus_negative_phase__crestron-shelly_issue36_log.json",
        # header format and auth frame: tests/collector/shelly/test_client.py
        "gen2_http_401_digest_challenge_pro3em__opendtu-onbattery_issue438.txt",
        "gen2_ws_rpc_401_auth_challenge_frame__aioshelly.json",
    }
    files = {p.name for p in FIX.iterdir() if p.is_file() and p.suffix in (".json", ".txt")}
    assert files == covered
    assert {p.name for p in (FIX / "devices").glob("*.json")} == {d[0] for d in DEVICES}


def test_errors_name_the_channels_own_path():
    """Read paths are resolved once per channel (ChannelReader); the errors still name the
    field with the channel's number filled in."""
    gen1 = FAMILIES["gen1_3em"]
    status = load("gen1_3em_status_fw1.14.0__lumapu_ahoy_zeroExport_comment.json")
    del status["emeters"][1]["total"]
    with pytest.raises(ShellyBadResponse, match=r"lacks status\.emeters\.1\.total"):
        read_values(gen1, resolve_channel(gen1, "b"), {"status": status})
    fam = FAMILIES["switch"]
    with pytest.raises(ShellyBadResponse, match=r"field switch\.apower is '12', not a number"):
        read_values(fam, resolve_channel(fam, "1"),
                    {"switch": {"apower": "12", "aenergy": {"total": 1.0}}, "sys": {}})


def test_a_channel_reader_is_made_once_per_family_and_channel():
    fam = FAMILIES["em"]
    reader = channel_reader(fam, resolve_channel(fam, "b"))
    assert channel_reader(fam, resolve_channel(fam, "b")) is reader
    assert channel_reader(fam, resolve_channel(fam, "")) is not reader
    assert [p.text for p in reader.power] == ["em.b_act_power"]
    assert [p.text for p in reader.energy] == ["emdata.b_total_act_energy"]


# --- the one-pass read of a plain status (ChannelReader.plain, every poll) ----------------


def bits(values) -> tuple:
    """Values with each float as its bits (0.0 and -0.0 differ, so do nearby floats)."""
    return tuple(v.hex() if isinstance(v, float) else (type(v), v) for v in values)


STATUS_CASES = [(c[0], c[1], c[2]) for c in CASES if c[3] == "status"] + [
    (f"devices/{d[0]}", d[1], "") for d in DEVICES]


@pytest.mark.parametrize(("name", "family", "setting"), STATUS_CASES,
                         ids=[f"{c[0]}[{c[2] or 'default'}]" for c in STATUS_CASES])
def test_a_plain_status_is_read_in_one_pass_to_the_bit(name, family, setting):
    fam = FAMILIES[family]
    channel = resolve_channel(fam, setting)
    body = load(name)
    status = body["status"] if name.startswith("devices/") else body
    plain = channel_reader(fam, channel).plain(status)
    assert plain is not None  # every real answer here is plain
    assert bits(plain) == bits(read_values(fam, channel,
                                           responses_from_status(fam, channel, status)))


def pro3em_status():
    return load("gen2_pro3em_fw1.6.1_Shelly.GetStatus__ha_core_fixture_pro_3em.json")


def gen1_3em_status():
    return load("gen1_3em_status_fw1.14.0__lumapu_ahoy_zeroExport_comment.json")


def _set(node, path, value):
    *head, leaf = path
    for key in head:
        node = node[key]
    if value is KeyError:
        del node[leaf]
    else:
        node[leaf] = value


class Frozen(Mapping):
    """A JSON object that is no dict (a caller's Mapping): read by the general rules."""

    def __init__(self, d):
        self._d = d

    def __getitem__(self, key):
        return self._d[key]

    def __iter__(self):
        return iter(self._d)

    def __len__(self):
        return len(self._d)


# (family, setting, status maker, path to change, new value: KeyError deletes it)
NOT_PLAIN = [
    ("em", "", pro3em_status, ("em:0", "total_act_power"), None),
    ("em", "", pro3em_status, ("em:0", "total_act_power"), "12"),
    ("em", "", pro3em_status, ("em:0", "total_act_power"), True),
    ("em", "", pro3em_status, ("em:0", "total_act_power"), math.inf),
    ("em", "", pro3em_status, ("em:0", "total_act_power"), math.nan),
    ("em", "", pro3em_status, ("em:0", "total_act_power"), KeyError),
    ("em", "", pro3em_status, ("emdata:0", "total_act"), None),
    ("em", "", pro3em_status, ("emdata:0",), {"id": 0}),  # no counters (old firmware)
    ("em", "b", pro3em_status, ("emdata:0", "b_total_act_energy"), -math.inf),
    ("em", "", pro3em_status, ("em:0",), KeyError),  # the component gone
    ("em", "", pro3em_status, ("em:0",), []),
    ("em", "", pro3em_status, ("sys", "uptime"), -1),
    ("em", "", pro3em_status, ("sys", "uptime"), 12.0),
    ("em", "", pro3em_status, ("sys", "uptime"), None),
    ("em", "", pro3em_status, ("sys", "uptime"), False),
    ("em", "", pro3em_status, ("sys", "uptime"), KeyError),
    ("em", "", pro3em_status, ("sys",), Frozen({"uptime": 5})),
    ("gen1_3em", "", gen1_3em_status, ("emeters", 1, "is_valid"), False),
    ("gen1_3em", "", gen1_3em_status, ("emeters", 1, "is_valid"), KeyError),
    ("gen1_3em", "", gen1_3em_status, ("emeters", 2, "power"), None),
    ("gen1_3em", "c", gen1_3em_status, ("emeters", 2, "total"), "x"),
    ("gen1_3em", "", gen1_3em_status, ("emeters",), [{}, {}]),
    ("gen1_3em", "", gen1_3em_status, ("emeters",), {"0": {}, "1": {}, "2": {}}),
    ("gen1_3em", "", gen1_3em_status, ("emeters", 0), Frozen({"power": 1.0, "total": 2.0,
                                                               "is_valid": True})),
]


@pytest.mark.parametrize(("family", "setting", "make", "path", "value"), NOT_PLAIN,
                         ids=[f"{c[0]}[{c[1]}]{'.'.join(map(str, c[3]))}={c[4]!r}"
                              for c in NOT_PLAIN])
def test_an_answer_that_is_not_plain_goes_to_the_rules(family, setting, make, path, value):
    """Anything but a plain answer is not read in one pass (None): `read_values` then gives
    its error or its None, as it did before there was a one-pass read."""
    fam = FAMILIES[family]
    channel = resolve_channel(fam, setting)
    status = make()
    reader = channel_reader(fam, channel)
    assert reader.plain(status) is not None  # the unchanged answer is plain
    _set(status, path, value)
    assert reader.plain(status) is None


@pytest.mark.parametrize("status", [[], "x", None, 5, Frozen(pro3em_status())])
def test_a_status_that_is_no_dict_is_not_plain(status):
    fam = FAMILIES["em"]
    assert channel_reader(fam, resolve_channel(fam, "")).plain(status) is None


def test_a_phase_sum_of_a_one_channel_family_is_never_plain():
    fam = FAMILIES["gen1_meter"]
    reader = channel_reader(fam, Channel(None))
    assert reader.plain(load("gen1_plugs_status__aioshelly_fixture.json")) is None
    with pytest.raises(ShellyUnsupported, match="no phase sum"):
        reader.read({"status": load("gen1_plugs_status__aioshelly_fixture.json")})


def test_plain_groups_keep_each_sums_order():
    """`plain` reads the fields object by object; a family whose counters are listed in
    another order than their objects (here the phases backwards) is read path by path, so
    each sum adds in its paths' order: these three counters sum to 0.0 one way, 1.0 the
    other."""
    phases = tuple(f"status.emeters.{i}" for i in range(3))
    fam = replace(FAMILIES["gen1_3em"], key="test_backwards", phases=False, letters=False,
                  power={"one": tuple(f"{p}.power" for p in phases)},
                  energy={"one": tuple(f"{p}.total" for p in reversed(phases))},
                  valid=None)
    status = {"uptime": 5, "emeters": [{"power": 1.0, "total": -1e16},
                                       {"power": 2.0, "total": 1e16},
                                       {"power": 3.0, "total": 1.0}]}
    reader = channel_reader(fam, Channel(0))
    assert all(len(leaves) == 1 for _, _, leaves in reader.plain_groups)
    plain = reader.plain(status)
    assert plain is not None and plain.energy_import_wh == 0.0
    assert bits(plain) == bits(read_values(fam, Channel(0), {"status": status}))
    # the real 3EM's phase sum reads three objects of three fields each
    gen1 = channel_reader(FAMILIES["gen1_3em"], Channel(None))
    assert [len(leaves) for _, _, leaves in gen1.plain_groups] == [3, 3, 3, 1]


@pytest.mark.parametrize("value", [2413, 0, -7, 0.0, -0.0, 5e-324, 1.7e308])
def test_whole_and_extreme_numbers_are_plain_to_the_bit(value):
    fam = FAMILIES["em"]
    channel = resolve_channel(fam, "")
    status = pro3em_status()
    status["em:0"]["total_act_power"] = value
    status["emdata:0"]["total_act"] = value
    plain = channel_reader(fam, channel).plain(status)
    assert plain is not None
    assert bits(plain) == bits(read_values(fam, channel,
                                           responses_from_status(fam, channel, status)))
