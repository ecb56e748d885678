"""The owner's language: translated texts and numbers, dates and times formatted per locale.

Every text a person reads (chat replies, alerts, help, chart labels, doctor lines) is written
in English in the code, wrapped in `_()` (or `ngettext()` for counts), and translated from a
gettext catalog: `heatpump/locale/<lang>/LC_MESSAGES/heatpump.po`. English is the source
language, so it needs no catalog. The catalogs are read with Babel (a well-kept library that
also does the locale formatting below) at first use; no compiled `.mo` file is needed.

Rules for texts, so extraction (`python scripts/i18n_catalog.py`) and the completeness test
(tests/heatpump/test_i18n.py) see them:
- the argument of `_()` / `ngettext()` is a string literal, never an f-string or a variable;
- values go in with named placeholders: `_("JAZ {jaz} over {days} days").format(jaz=..., days=...)`;
- numbers, dates and times inside texts are formatted with `number()`, `date()`, `local_time()`
  below, so a German reader sees "3,45" and "29.11.2026".

The language is the process's (`set_language()` at program start, from the setting
HEATPUMP_LANG; threads share it) unless a `using()` block overrides it for its context
(tests, a console answering in another language).
"""

from __future__ import annotations

import functools
import gettext
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date as _date
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

#: Languages the product speaks; the first is the source language of the code's texts.
LANGUAGES: tuple[str, ...] = ("en", "de")
#: Babel locale per language: number separators and date patterns follow it.
LOCALES: dict[str, str] = {"en": "en_GB", "de": "de_DE"}
#: Where the catalogs live (package data).
LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "heatpump"

# The process's language (set once at start) and a per-context override (`using`). A plain
# module value, not only a context variable, because threads start with an empty context:
# a chart rendered on a worker thread must speak the owner's language too.
_process_language = "en"
_override: ContextVar[str | None] = ContextVar("heatpump_language", default=None)


def check_language(lang: str) -> str:
    """`lang` normalised ('DE' -> 'de'); ValueError naming the languages for anything else."""
    v = lang.strip().lower()
    if v not in LANGUAGES:
        raise ValueError(f"must be one of {', '.join(LANGUAGES)}")
    return v


def set_language(lang: str) -> None:
    """Make `lang` ('en' or 'de') the language of the whole process (every thread)."""
    global _process_language
    _process_language = check_language(lang)


def language() -> str:
    """The current language code ('en' or 'de'): a `using()` block's, else the process's."""
    return _override.get() or _process_language


@contextmanager
def using(lang: str) -> Iterator[None]:
    """Speak `lang` inside the block, then go back to the language before it."""
    token = _override.set(check_language(lang))
    try:
        yield
    finally:
        _override.reset(token)


def catalog_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def _translations(lang: str) -> gettext.GNUTranslations:
    """The language's catalog as standard gettext translations (plural rules included):
    the .po file is read with Babel and compiled in memory, so no .mo file is shipped."""
    with catalog_path(lang).open("rb") as f:
        cat = read_po(f, locale=LOCALES[lang], domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, cat, use_fuzzy=False)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def _(msgid: str) -> str:
    """`msgid` (English) in the current language; English when no translation exists
    (the completeness test makes sure that never happens for a shipped text)."""
    lang = language()
    if lang == "en":
        return msgid
    return _translations(lang).gettext(msgid)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of a text for the count `n` in the current language ('1 start' / '2 starts')."""
    lang = language()
    if lang == "en":
        return singular if n == 1 else plural
    return _translations(lang).ngettext(singular, plural, n)


def period_count(period: str, n: int) -> str:
    """'1 year', '3 months', '12 days' in the current language; `period` "year", "month" or
    anything else for days (the device's energy summaries, collector and bot alike)."""
    if period == "year":
        return ngettext("{n} year", "{n} years", n).format(n=n)
    if period == "month":
        return ngettext("{n} month", "{n} months", n).format(n=n)
    return ngettext("{n} day", "{n} days", n).format(n=n)


class Worded(str):
    """A text made before anyone reads it (a warning found while parsing, an event summed
    up by a run): its value is the English text (for logs, which stay English, and for
    comparing), `shown()` the same text in the language of the moment it is shown. Built
    from a function that renders it with `_()`."""

    _render: Callable[[], str]

    def __new__(cls, render: Callable[[], str]) -> Worded:
        with using("en"):
            text = render()
        obj = super().__new__(cls, text)
        obj._render = render
        return obj

    def shown(self) -> str:
        """The text in the current language."""
        return self._render()


def shown(text: str) -> str:
    """A `Worded` text in the current language; any other str as it is."""
    return text.shown() if isinstance(text, Worded) else text


def locale() -> Locale:
    """The Babel locale of the current language."""
    return Locale.parse(LOCALES[language()])


def number(x: float, decimals: int = 1, *, grouping: bool = True) -> str:
    """`x` with `decimals` digits after the separator of the current locale
    ('1,234.5' in English, '1.234,5' in German)."""
    pattern = ("#,##0" if grouping else "0") + ("." + "0" * decimals if decimals > 0 else "")
    return format_decimal(x, format=pattern, locale=locale())


def percent(fraction: float, decimals: int = 0) -> str:
    """A fraction as a percentage in the current locale ('87%' / '87 %')."""
    loc = locale()
    pattern = loc.percent_formats[None].pattern  # the locale's own spacing: '87%' / '87 %'
    if decimals > 0:
        pattern = pattern.replace("0", "0." + "0" * decimals, 1)
    return format_percent(fraction, format=pattern, locale=loc)


def date(d: _date | datetime, fmt: str = "medium") -> str:
    """A calendar date as people of the locale write it ('29 Nov 2026' / '29.11.2026');
    `fmt` is one of Babel's 'short', 'medium', 'long' or a CLDR pattern."""
    return format_date(d, format=fmt, locale=locale())


def local_time(t: datetime, tz: ZoneInfo, *, with_date: bool = True) -> str:
    """An aware UTC time shown in the owner's zone: date and time, or the time only."""
    lt = t.astimezone(tz)
    if with_date:
        return format_datetime(lt, format="short", tzinfo=tz, locale=locale())
    return format_time(lt, format="short", tzinfo=tz, locale=locale())
