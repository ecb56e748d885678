"""What to do about each `health` reason of the Viessmann source (`heatpump doctor`)."""

from __future__ import annotations

from collections.abc import Callable

from heatpump.i18n import _

# reason -> next step (the reasons are those of the `health` measurement); functions, so the
# step is said in the language of the moment it is shown (heatpump.i18n)
FIXES: dict[str, Callable[[], str]] = {
    "login_failed": lambda: _("check VICARE_USERNAME, VICARE_PASSWORD and VICARE_CLIENT_ID; "
                              "the developer-portal client must have redirect URI "
                              "vicare://oauth-callback/everest (README: Set up your system)"),
    "rate_limited": lambda: _("the account hit its daily API limit; wait until the time "
                              "shown, and keep VICARE_POLL_SECONDS at 300 or more"),
    "quota_exhausted": lambda: _("this installation used its VICARE_DAILY_BUDGET; wait until "
                                 "the time shown or raise the budget (the free tier allows "
                                 "1450 per 24 h)"),
    "login_spacing": lambda: _("logins are spaced out after failures; wait until the time "
                               "shown"),
    "device_offline": lambda: _("the heat pump is not connected to the Viessmann cloud: check "
                                "its internet connection in the ViCare app"),
    "gateway_offline": lambda: _("the Vitoconnect/gateway is offline: check its power and "
                                 "Wi-Fi"),
    "server_error": lambda: _("the Viessmann cloud has a problem; try again later"),
    "unreachable": lambda: _("this machine cannot reach api.viessmann.com: check internet "
                             "and DNS"),
    "auth_failed": lambda: _("your API client may not read this device "
                             "(PACKAGE_NOT_PAID_FOR)"),
    "no_device": lambda: _("set VICARE_DEVICE to one of the devices listed, or unset it"),
    "bad_response": lambda: _("unexpected answer; run `heatpump doctor --save-dump dump.json` "
                              "and attach the file to a bug report"),
}


def fix_for(reason: str) -> str:
    """The next step for a health reason (an unknown one gets the bug-report step)."""
    return FIXES.get(reason, FIXES["bad_response"])()
