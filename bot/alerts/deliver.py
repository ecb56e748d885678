"""Further channels through Apprise (e-mail, ntfy, Pushover, ...): the same alert texts.

Apprise is an optional extra (`pip install 'heatpump-monitor[alerts]'`), imported only when
APPRISE_URLS is set. URLs carry passwords and tokens, so no URL ever appears in a log line
or an error: entries are named by their position.
"""

from __future__ import annotations

import logging
from typing import Any

from heatpump.i18n import _

log = logging.getLogger(__name__)


def title(kind: str, event: str) -> str:
    """The title of an alert in channels that have one (e-mail subject, push title), in
    the current language."""
    titles = {
        "fault": _("Heat pump fault"),
        "warning": _("Heat pump message"),
        "stale": _("Heat pump monitor: no data"),
        "cop_drop": _("Heat pump efficiency dropped"),
        "short_cycle": _("Heat pump short cycling"),
        "heating_rod": _("Heat pump heating rod"),
    }
    text = titles.get(kind, _("Heat pump alert"))
    return _("{title}: resolved").format(title=text) if event == "resolved" else text


class AlertChannelError(RuntimeError):
    """A channel cannot be set up (message without secrets)."""


def split_urls(value: str | None) -> list[str]:
    return [u.strip() for u in (value or "").replace("\n", ",").split(",") if u.strip()]


class AppriseChannel:
    """One Apprise object holding every configured URL."""

    def __init__(self, urls: list[str]):
        try:
            import apprise
        except ImportError:
            raise AlertChannelError(
                "APPRISE_URLS is set but the apprise package is missing; install it with "
                "pip install 'heatpump-monitor[alerts]' (or empty APPRISE_URLS)") from None
        self._apprise: Any = apprise.Apprise()
        for i, url in enumerate(urls, 1):
            if not self._apprise.add(url):
                raise AlertChannelError(
                    f"APPRISE_URLS entry #{i} of {len(urls)} is not a valid Apprise URL "
                    "(see the Apprise wiki for the format of your service)")
        self.count = len(urls)

    def send(self, kind: str, event: str, text: str) -> bool:
        """True when every URL accepted the message."""
        try:
            ok = bool(self._apprise.notify(body=text, title=title(kind, event)))
        except Exception as exc:  # a plugin failing must not stop the bot
            log.error("apprise delivery failed: %s", type(exc).__name__)
            return False
        if not ok:
            log.warning("apprise: at least one of %d channel(s) refused the alert", self.count)
        return ok


def apprise_channel(urls: str | None) -> AppriseChannel | None:
    found = split_urls(urls)
    return AppriseChannel(found) if found else None
