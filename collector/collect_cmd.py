"""Poll the meter and the heat pump and store what they say, until stopped.

Runs unattended: outages of the store, the meter or the Viessmann cloud are ridden out (data
is spooled, health is recorded), SIGTERM/SIGINT stop it within seconds with every buffer
flushed. See docs/collector.md.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path

from collector.bounded_store import BoundedStore
from collector.service import Clock, Collector, RealClock, Source
from collector.sink import DurableSink
from collector.spool import Spool
from collector.state import StateFile
from heatpump import live
from heatpump.i18n import _
from heatpump.live import Requests
from heatpump.settings import Settings
from heatpump.store.base import Store, StoreError

log = logging.getLogger("collector")

NO_SOURCES = (
    "Nothing to collect: neither SHELLY_URL nor VICARE_USERNAME (or VICARE_DUMP) is set.\n"
    "  - set them in .env (see README: Set up your system), then run `heatpump doctor`;\n"
    "  - or try everything with simulated data first: `heatpump demo`."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--once", action="store_true",
                   help=_("poll every source once, store the result and exit"))
    p.add_argument("--record", metavar="DIR",
                   help=_("also keep every raw device answer in DIR (identifiers redacted) "
                        "for `heatpump replay DIR` or a bug report (docs/recording.md)"))


def build_collector(settings: Settings, sources: Sequence[Source], store: Store,
                    clock: Clock | None = None, threaded: bool = True,
                    data_dir: Path | None = None, flush_every: int = 1,
                    state: StateFile | None = None,
                    asks: Callable[[], Requests] | None = None) -> Collector:
    """The service over any sources (real, replayed or simulated) and any store; `state` is
    the accounting state file the sources resume from (collector.wiring.build_sources);
    `asks` the bot's requests (default: heatpump.live.requests of the data dir).
    In real time (`threaded`) every store call is bounded (collector/bounded_store.py).

    Commits every HEATPUMP_FLUSH_MINUTES (Settings.flush_s), at once when the bot asks
    (heatpump.live: once for /status and the like, every poll while /live runs), and at once for
    what the bot must not wait for (docs/collector.md, "Commits"); a bulk load
    (`flush_every` > 1) every n polls."""
    clock = clock or RealClock()
    data_dir = Path(data_dir or settings.data_dir)
    if threaded and not isinstance(store, BoundedStore):
        store = BoundedStore(store)  # real time: a hung store never holds the loop
    spool = Spool(data_dir / "spool", int(settings.spool_max_mb * 1e6))
    sink = DurableSink(store, spool, clock.monotonic, flush_every=flush_every,
                       flush_s=settings.flush_s, live=asks or (lambda: live.requests(data_dir)),
                       answer=lambda: live.answer(data_dir))
    keep = (timedelta(days=settings.raw_retention_days) if settings.raw_retention_days > 0
            else None)
    return Collector(sources, sink, data_dir, clock=clock, threaded=threaded,
                     raw_retention=keep, state=state)


def install_signal_handlers(collector: Collector) -> None:
    def handler(signum: int, frame: object) -> None:
        log.info("%s received: stopping", signal.Signals(signum).name)
        collector.request_stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from collector.recording import Recorder
    from collector.wiring import build_sources
    from heatpump.store import open_store

    clock = RealClock()
    recorder = Recorder(Path(args.record), clock.now, settings) if args.record else None
    sources, state = build_sources(settings, clock, recorder=recorder)
    if not sources:
        print(NO_SOURCES, file=sys.stderr)
        return 2
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        # opened on the store's own thread: a hung InfluxDB does not hold the first poll
        store = BoundedStore.opening(lambda: open_store(settings))
    except StoreError as exc:  # refused credentials; a server that is down is no error
        print(f"heatpump collect: cannot use the store: {exc}\n  run `heatpump doctor` for "
              "the next step", file=sys.stderr)
        return 2
    collector = build_collector(settings, sources, store, clock=clock, state=state)
    install_signal_handlers(collector)
    store = collector.sink.store  # bounded: asking a hung store its version takes 2 s
    if recorder is not None:
        log.info("recording every device answer into %s", recorder.folder)
    log.info("collecting from %s into %s", ", ".join(
        f"{s.name} every {s.interval_s:g} s" for s in sources), _describe(store))
    if args.once:
        polls = len(sources)
        collector.run(until=lambda: collector.polls >= polls)
    else:
        collector.run()
    if recorder is not None:
        recorder.close()
    return 1 if args.once and collector.health.worst() else 0


def _describe(store: Store) -> str:
    try:
        info = store.info()
        return f"{info.backend} {info.version} at {info.location}"
    except StoreError as exc:  # an InfluxDB down at start: the spool takes over
        return f"a store that does not answer yet ({exc})"
