"""`heatpump demo --scenario` specs (simhouse.scenarios): the house's problems and the
devices' quirks, each with its defaults, and one clear error for every mistake."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from simhouse.house import CopDrop, Fault, MeterReboot, Outage
from simhouse.scenarios import KINDS, Setup, Spec, build_setup, parse
from simhouse.shelly import MODELS, ShellyQuirks
from simhouse.vitocal import VitocalQuirks

NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)


def ago(**kwargs: float) -> datetime:
    return NOW - timedelta(**kwargs)


# --- the house ------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("fault", Fault(ago(days=1), ago(hours=18))),
    ("fault@-3d/12h,code=F.454,stops=no,priority=warning",
     Fault(ago(days=3), ago(days=2, hours=12), code="F.454", priority="warning",
           stops_compressor=False)),
    ("fault@+1h/30m", Fault(NOW + timedelta(hours=1), NOW + timedelta(hours=1, minutes=30))),
    ("meter-outage", Outage("meter", ago(hours=6), ago(hours=4))),
    ("meter-outage@-2h/30m", Outage("meter", ago(hours=2), ago(hours=1, minutes=30))),
    ("heatpump-outage@2026-01-10T06:00+01:00/3h",
     Outage("heatpump", datetime(2026, 1, 10, 5, tzinfo=UTC),
            datetime(2026, 1, 10, 8, tzinfo=UTC))),
    ("heatpump-outage@now/90s", Outage("heatpump", NOW, NOW + timedelta(seconds=90))),
    ("cop-drop@-10d,factor=0.7", CopDrop(ago(days=10), 0.7)),
    ("cop-drop", CopDrop(ago(days=7), 0.75)),
    ("cop-drop@-10d/2d", CopDrop(ago(days=10), 0.75, ago(days=8))),
    ("meter-reboot", MeterReboot(ago(days=1), 30.0, False)),  # a Pro 3EM keeps its counter
    ("meter-reboot@-3h/1m,counter=reset", MeterReboot(ago(hours=3), 60.0, True)),
])
def test_house_scenarios(text, expected):
    assert build_setup([text], NOW) == Setup(scenarios=(expected,))


@pytest.mark.parametrize("model", sorted(MODELS))
def test_meter_reboot_keeps_or_resets_the_counter_as_the_model_does(model):
    (reboot,) = build_setup(["meter-reboot"], NOW, meter_model=model).scenarios
    assert isinstance(reboot, MeterReboot)
    assert reboot.resets_counter == MODELS[model].counter_resets_on_reboot
    (kept,) = build_setup(["meter-reboot,counter=keep"], NOW, meter_model=model).scenarios
    assert isinstance(kept, MeterReboot) and kept.resets_counter is False


def test_specs_add_up():
    setup = build_setup(["fault", "meter-outage@-2h/30m", "counter-dip", "counter-dip@-2d",
                         "meter-dip", "late-reset"], NOW)
    assert [type(s) for s in setup.scenarios] == [Fault, Outage]
    assert len(setup.vitocal.counter_dips) == 2
    assert setup.vitocal.reset_lag == timedelta(hours=2)
    assert len(setup.shelly.dips) == 1
    assert build_setup([], NOW) == Setup()


# --- the devices' quirks ----------------------------------------------------------------------


@pytest.mark.parametrize(("text", "vitocal"), [
    ("late-reset", VitocalQuirks(reset_lag=timedelta(hours=2))),
    ("late-reset,lag=90m", VitocalQuirks(reset_lag=timedelta(minutes=90))),
    ("early-reset", VitocalQuirks(reset_lag=-timedelta(minutes=5))),
    ("early-reset,lag=1h", VitocalQuirks(reset_lag=-timedelta(hours=1))),
    ("other-zone", VitocalQuirks(counter_tz="UTC")),
    ("other-zone,tz=America/New_York", VitocalQuirks(counter_tz="America/New_York")),
    ("stale-arrays", VitocalQuirks(stale_arrays_from=ago(days=10))),
    ("stale-arrays@-3d", VitocalQuirks(stale_arrays_from=ago(days=3))),
    ("zero-counters", VitocalQuirks(zero_answers=((ago(days=1), ago(days=1) + timedelta(
        minutes=10)),))),
    ("counter-dip", VitocalQuirks(counter_dips=((ago(days=1), ago(days=1) + timedelta(
        minutes=30), 1.0),))),
    ("counter-dip@-2h/1h,kwh=2.5", VitocalQuirks(counter_dips=((ago(hours=2), ago(hours=1),
                                                                 2.5),))),
    ("stuck-counters", VitocalQuirks(stuck=((ago(days=1), ago(hours=18)),))),
    ("decimal-hours", VitocalQuirks(hours_resolution_h=0.1)),
    ("no-heat-counters", VitocalQuirks(heat_counters=False)),
    ("no-flow-sensor", VitocalQuirks(flow_sensor=False)),
    ("modulation-sensor", VitocalQuirks(modulation_sensor=True)),
    ("rated-output", VitocalQuirks(rated_output_kw=7.0)),
    ("rated-output,kw=9.5", VitocalQuirks(rated_output_kw=9.5)),
    ("no-power-summary", VitocalQuirks(power_summary=False)),
])
def test_vitocal_quirks(text, vitocal):
    assert build_setup([text], NOW) == Setup(vitocal=vitocal)


@pytest.mark.parametrize(("text", "shelly"), [
    ("meter-dip", ShellyQuirks(dips=((ago(days=1), ago(days=1) + timedelta(seconds=30),
                                      100.0),))),
    ("meter-dip@-1h/1m,wh=20", ShellyQuirks(dips=((ago(hours=1), ago(minutes=59), 20.0),))),
    ("meter-spike", ShellyQuirks(spikes=((ago(days=1), 50.0),))),
    ("meter-spike@-2h,wh=500", ShellyQuirks(spikes=((ago(hours=2), 500.0),))),
    ("meter-zero-counters", ShellyQuirks(zero_counters=((ago(days=1), ago(hours=23)),))),
    ("meter-no-counters", ShellyQuirks(no_counters=True)),
])
def test_shelly_quirks(text, shelly):
    assert build_setup([text], NOW) == Setup(shelly=shelly)


def test_every_kind_is_built_with_its_defaults():
    for kind in KINDS:
        assert build_setup([kind], NOW) != Setup(), kind


def test_parse_gives_the_spec():
    assert parse("fault@-3d/12h,code=F.454", NOW) == Spec(
        "fault", ago(days=3), ago(days=2, hours=12), {"code": "F.454"})
    assert parse("  late-reset,lag=3h ", NOW) == Spec("late-reset", None, None, {"lag": "3h"})
    assert parse("meter-spike", NOW) == Spec("meter-spike", ago(days=1), None, {})
    with pytest.raises(ValueError, match="zone"):
        parse("fault", datetime(2026, 1, 15, 12))


# --- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "reason"), [
    ("flood", "unknown scenario"),
    ("", "unknown scenario"),
    ("fault@yesterday", "bad start"),
    ("fault@2026-01-10T06:00", "must carry a zone"),
    ("fault@-1d/6x", "bad duration"),
    ("fault@-1d/-6h", "bad duration"),
    ("fault@-1d/0s", "bad duration"),
    ("fault,colour=red", "unknown option"),
    ("fault,code", "unknown option"),
    ("meter-outage,factor=2", "unknown option"),
    ("cop-drop,factor=much", "factor must be a number"),
    ("cop-drop,factor=0", "factor"),
    ("cop-drop,factor=nan", "factor"),
    ("fault,stops=maybe", "stops"),
    ("meter-reboot,counter=maybe", "reset or keep"),
    ("late-reset,lag=soon", "bad duration"),
    ("late-reset@/2h", "whole run"),
    ("decimal-hours@/1h", "whole run"),
    ("other-zone,tz=Mars/Base", "unknown time zone"),
    ("counter-dip,kwh=lots", "kwh must be a number"),
    ("meter-dip,wh=lots", "wh must be a number"),
    ("rated-output,kw=0", "kw must be a number above 0"),
    ("no-flow-sensor@-1d", "whole run"),
])
def test_mistakes_are_refused_with_a_reason(text, reason):
    with pytest.raises(ValueError, match=reason):
        build_setup([text], NOW)


def test_the_first_bad_spec_is_named():
    with pytest.raises(ValueError, match="flood"):
        build_setup(["fault", "flood", "cop-drop,factor=much"], NOW)


@pytest.mark.parametrize("text", [
    "late-reset@-1d",  # a start for a whole-run quirk is ignored
    "decimal-hours@-1d",
    "meter-no-counters@now",
    "meter-spike@-1d/1h",  # a duration for a one-reading spike is ignored
    "stale-arrays@-10d/1d",  # ... and for arrays that stay stale to the end
    "counter-dip,kwh=nan",  # accepted; the Vitocal's answers then raise (math.floor(nan))
    "meter-dip,wh=nan",  # accepted; the meter's answers then raise (math.floor(nan))
    "counter-dip,kwh=-1",  # a negative dip reads higher, not lower
])
def test_specs_that_would_be_ignored_or_invalid_are_refused(text):
    with pytest.raises(ValueError):
        build_setup([text], NOW)


@pytest.mark.parametrize("text", ["fault,code=", "cop-drop,factor="])
def test_an_option_without_a_value_is_refused(text):
    with pytest.raises(ValueError, match="needs a value"):
        build_setup([text], NOW)


def test_an_unknown_meter_model_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown meter model 'nope'"):
        build_setup(["meter-reboot"], NOW, "nope")
