"""The collector's health records (the `health` measurement) in words for a person.

Shared by the bot (/status, stale alerts) and the collector's own summaries (`heatpump
replay`), in the language of the moment (heatpump.i18n). The collector stores a reason code
and an English detail sentence: the code is rendered here; the detail is data (old readers
read it), shown as it is in English and, in another language, only where no code text
exists (`stored_detail`).
"""

from __future__ import annotations

from heatpump import i18n
from heatpump.i18n import _


def reason_text(reason: str) -> str | None:
    """What a collector health reason (health.reason) means for the owner, in the current
    language; None for a reason this table does not know."""
    return {
        "quota_exhausted": _("Viessmann API quota exhausted"),
        "rate_limited": _("rate-limited by the Viessmann API"),
        "login_failed": _("login to Viessmann failed (check VICARE_USERNAME, VICARE_PASSWORD, "
                          "VICARE_CLIENT_ID)"),
        "auth_failed": _("the meter refused the login (check SHELLY_USERNAME, "
                         "SHELLY_PASSWORD)"),
        "device_offline": _("the heat pump is offline in the Viessmann cloud"),
        "gateway_offline": _("the heat pump's internet gateway is offline"),
        "server_error": _("the Viessmann server answered with an error"),
        "unreachable": _("not reachable on the network"),
        "bad_response": _("answered with something unreadable"),
        "counter_reset": _("the meter's energy counter was reset"),
        "reversed_clamp": _("the meter's current clamp looks reversed (negative power)"),
        "login_spacing": _("Viessmann logins are spaced out after failed ones"),
        "no_device": _("no heat pump found in the Viessmann account (check VICARE_DEVICE)"),
        "replay_finished": _("every dump of VICARE_DUMP was replayed"),
        "error": _("an unexpected error in the collector (see its log)"),
    }.get(reason)


def stored_detail(reason: str, detail: str) -> str:
    """The detail the collector stored with a health reason, if it may be shown now: the
    collector stores it in English (it is data, read by old readers too), so in another
    language it is left out where `reason_text` renders the reason code, and kept (as the
    only explanation there is) where it cannot."""
    detail = detail.strip()
    if i18n.language() != "en" and reason_text(reason) is not None:
        return ""
    return detail


def status_text(status: str) -> str:
    """A health status ('up', 'degraded', 'down') in the current language; another as it is."""
    return {"up": _("up"), "degraded": _("degraded"), "down": _("down")}.get(status, status)
