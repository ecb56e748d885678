"""Run the Telegram bot (long polling): the commands of bot/commands.py and the alert check.

Needs TELEGRAM_BOT_TOKEN and TELEGRAM_ALLOWED_CHAT_IDS; other chats are told their id and
refused. TELEGRAM_API_BASE_URL points it at another Bot API server.
"""

from __future__ import annotations

import argparse
import sys

from heatpump.i18n import _
from heatpump.settings import Settings


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--demo", action="store_true",
                   help=_("read the demo store (<data dir>/demo/, written by `heatpump demo`)"))


def run(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.telegram_bot_token:
        print("heatpump bot: TELEGRAM_BOT_TOKEN is empty; create a bot with @BotFather and "
              "set TELEGRAM_BOT_TOKEN=123456:ABC-DEF...", file=sys.stderr)
        return 2
    from telegram.error import InvalidToken, TelegramError

    from bot.alerts.deliver import AlertChannelError
    from bot.demo_store import open_for
    from bot.telegram_app import run_bot

    store = open_for("bot", settings, args.demo)
    if store is None:
        return 1
    with store:
        try:
            run_bot(settings, store)
        except InvalidToken:
            print("heatpump bot: Telegram refused TELEGRAM_BOT_TOKEN (revoked or mistyped); "
                  "copy it again from @BotFather", file=sys.stderr)
            return 2
        except TelegramError as exc:
            # the message of a Telegram error holds no URL, so no token
            print(f"heatpump bot: cannot start: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
        except AlertChannelError as exc:
            print(f"heatpump bot: {exc}", file=sys.stderr)
            return 2
    return 0
