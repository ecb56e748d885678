"""How far the computed heat methods are off, and which rated output the estimates use.

Shared by the collector (which computes heat and tells `heatpump doctor` why) and the bot
(which shows the figures): both must state the same band and the same source.

The bands are MEASURED, not promised: `python benchmarks/truth_bench.py` runs the simulated
house through the real collector in every season and compares each method's heat with the
simulator's truth (docs/truth-bench.md has the tables). A band is the lowest and highest
30-day error seen over four seasons and two weather seeds (1 and 2), rounded outwards to
5 % and widened by another 5 % for weather those runs did not see. The benchmark fails a
row whose error leaves its band, so a change that makes a method worse must change this
table and its documentation.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from babel.numbers import format_decimal

from heatpump import i18n
from heatpump.i18n import _

# method -> (lowest, highest) relative error of its heat against the truth over 30 days
# (-0.10 = 10 % too low). `counter` is the device's own meter: exact to it, no band.
# Measured (seeds 1 and 2, winter/spring/summer/autumn): flow -0.0 % to +1.7 % (the
# simulator's sensors are ideal: real ones add their tolerance), modulation -18.1 % (summer:
# hot water at high capacity) to +15.9 % (winter: less capacity in the cold, defrosts),
# runtime -6.0 % (summer) to +176.5 % (spring: an inverter mostly runs at part load).
ERROR_BANDS: dict[str, tuple[float, float]] = {
    "flow": (-0.10, 0.10),
    "modulation": (-0.25, 0.25),
    "runtime": (-0.15, 1.85),
}



def use_text(method: str) -> str:
    """What a computed method is good for (docs/vicare.md says the same at length), in the
    current language (heatpump.i18n); KeyError for a method without a band."""
    return {"flow": _("good for a JAZ; real sensors add their own tolerance"),
            "modulation": _("a rough JAZ; it reads high in winter and low in summer"),
            "runtime": _("an inverter mostly runs below its rating, so this shows when and how "
                         "long the compressor runs, not a JAZ")}[method]


class _UseTexts(Mapping[str, str]):
    """`USE[method]`: `use_text(method)` looked up when read, so it is in the language of
    the reader, not of the import."""

    def __getitem__(self, method: str) -> str:
        return use_text(method)

    def __iter__(self) -> Iterator[str]:
        return iter(ERROR_BANDS)

    def __len__(self) -> int:
        return len(ERROR_BANDS)


USE: Mapping[str, str] = _UseTexts()

RATED_SETTING = "HEATPUMP_RATED_HEAT_KW"
RATED_DEVICE_FEATURE = "heating.compressors.0.power"


def band_text(method: str) -> str:
    """'-10 % to +175 %' for a method with a measured band, '' otherwise."""
    band = ERROR_BANDS.get(method)
    if band is None:
        return ""
    lo, hi = band
    return _("{low} % to {high} %").format(low=f"{lo * 100:+.0f}",
                                           high=f"{hi * 100:+.0f}").replace("-", "\u2212")


@dataclass(frozen=True, slots=True)
class RatedOutput:
    """The rated heat output the estimates use (kW) and where it comes from."""

    kw: float
    source: str  # RATED_SETTING, or RATED_DEVICE_FEATURE (the device's own figure)

    def describe(self) -> str:
        where = (RATED_SETTING if self.source == RATED_SETTING
                 else _("the heat pump's own figure, {feature}").format(
                     feature=RATED_DEVICE_FEATURE))
        kw = format_decimal(self.kw, format="0.###", locale=i18n.locale())  # '7.5' / '7,5'
        return _("rated output {kw} kW ({where})").format(kw=kw, where=where)


def rated_output(setting_kw: float | None, device_kw: float | None) -> RatedOutput | None:
    """HEATPUMP_RATED_HEAT_KW when set (the owner knows the model; some devices report an
    electrical or a nominal figure), else the device's own figure, else None."""
    if setting_kw is not None and setting_kw > 0:
        return RatedOutput(float(setting_kw), RATED_SETTING)
    if device_kw is not None and device_kw > 0:
        return RatedOutput(float(device_kw), RATED_DEVICE_FEATURE)
    return None
