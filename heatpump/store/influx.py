"""InfluxDB backend over the v1-compatible HTTP API (InfluxDB 1.x, and 2.x/3.x's /write +
/query compatibility endpoints): line protocol in, InfluxQL out.

Rollups are ordinary measurements (`<m>_1h`, `<m>_1d`) written by this client after each
flush with the same algorithm as the embedded store (see heatpump/store/rollup.py), so
Grafana can chart them and long queries never scan raw points.

Credentials travel only in headers (token or HTTP basic auth), never in a URL, so no error
message, log line or exception can contain them.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import httpx

from heatpump.schema import MEASUREMENTS, rollup_name
from heatpump.store.base import FieldValue, Latest, Point, StoreError, StoreInfo
from heatpump.store.common import (
    BaseStore,
    Rows,
    field_type,
    locked,
    store_error,
    tags_sort_key,
)
from heatpump.store.influx_http import (
    DEADLINE_S,
    MAX_ANSWER_BYTES,
    Answer,
    AnswerTooLarge,
    DeadlinePassed,
    DeadlineTransport,
    bounded,
)
from heatpump.store.rollup import COUNT, DAY_MS, HOUR_MS, SUM, from_ms, to_ms

BATCH_LINES = 5000
# Sums over a rollup measurement read its rows and add them up here when no bucket holds more
# than ROWS_PER_BUCKET_MAX rollup rows of a series (months of `_1d`, days of `_1h`); each
# statement then covers at most STATEMENT_ROWS rows of a series, far below any max-row-limit.
ROWS_PER_BUCKET_MAX = 32
STATEMENT_ROWS = 1000
_ROLLUP_STEP_MS = {rollup_name(m.name, level): step for m in MEASUREMENTS.values() if m.rollup
                   for level, step in (("1h", HOUR_MS), ("1d", DAY_MS))}
RAW_RETENTION_MEASUREMENTS = ("meter", "heatpump")
# latest() without `since` looks back this far in turn (then to the start of the data): a
# day spans one or two of InfluxDB's default 7-day shard groups instead of all of them.
LATEST_WINDOWS_MS = (DAY_MS, 35 * DAY_MS, 400 * DAY_MS)
FIELD_KEYS_MAX_AGE_S = 60.0
_INFLUX_TYPES = {"float": "float", "integer": "int", "boolean": "bool", "string": "str"}


# --- line protocol ---------------------------------------------------------------------


def _esc(s: str, specials: str) -> str:
    # Backslashes are written as they are: InfluxDB 1.x does not unescape `\\` in names and
    # tags (normalize() refuses a backslash before a special character or at the end).
    for ch in specials:
        s = s.replace(ch, "\\" + ch)
    return s


def esc_measurement(s: str) -> str:
    return _esc(s, ", ")


def esc_key(s: str) -> str:
    """Tag keys, tag values and field keys."""
    return _esc(s, ",= ")


def fmt_value(v: FieldValue) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return f"{v}i"
    if isinstance(v, float):
        return repr(v)
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


def line(measurement: str, tags: Iterable[tuple[str, str]], fields: Mapping[str, FieldValue],
         t_ms: int) -> str:
    head = esc_measurement(measurement) + "".join(
        f",{esc_key(k)}={esc_key(v)}" for k, v in sorted(tags))
    body = ",".join(f"{esc_key(k)}={fmt_value(v)}" for k, v in fields.items())
    return f"{head} {body} {t_ms}"


# --- InfluxQL --------------------------------------------------------------------------


def ident(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def literal(s: str) -> str:
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def where(start_ms: int | None, end_ms: int | None, tags: Mapping[str, str] | None) -> str:
    conds = []
    if start_ms is not None:
        conds.append(f"time >= {start_ms}ms")
    if end_ms is not None:
        conds.append(f"time < {end_ms}ms")
    conds += [f"{ident(k)} = {literal(v)}" for k, v in sorted((tags or {}).items())]
    return (" WHERE " + " AND ".join(conds)) if conds else ""


def _decode(v: Any, typ: str | None) -> FieldValue:
    if typ == "float" and isinstance(v, int) and not isinstance(v, bool):
        return float(v)
    return v


def latest_windows(now_ms: int, since: datetime | None
                   ) -> list[tuple[int | None, int | None]]:
    """The [lo, hi) ranges (None: open) latest() looks in, newest first: the last day, then
    back to 35 and 400 days, then the rest; with `since`, only what lies at or after it, a
    last range shorter than the one before joined to it (a statement per field costs about
    the same for a day as for a month: the shards it opens)."""
    edges = [now_ms - w for w in LATEST_WINDOWS_MS]
    windows: list[tuple[int | None, int | None]] = [
        (edges[0], None), *zip(edges[1:], edges[:-1], strict=True), (None, edges[-1])]
    if since is None:
        return windows
    lo_ms = to_ms(since)
    clipped: list[tuple[int | None, int | None]] = []
    for lo, hi in windows:
        if hi is not None and hi <= lo_ms:
            break
        if lo is None or lo <= lo_ms:
            if len(clipped) > 1 and hi is not None and clipped[-1][1] is not None and (
                    hi - lo_ms < clipped[-1][1] - hi):
                hi = clipped.pop()[1]  # a sliver: one statement with the range before
            clipped.append((lo_ms, hi))
            break
        clipped.append((lo, hi))
    return clipped


class CredentialsRefused(StoreError):
    """The server answered 401/403: a settings problem, not an outage."""


def _series_ok(result: dict[str, Any]) -> bool:
    """Whether a query result's `series` (if any) is a list of objects with a `columns`
    list and a list of `values` rows, as InfluxDB's /query answers them."""
    series = result.get("series", [])
    return isinstance(series, list) and all(
        isinstance(sr, dict) and isinstance(sr.get("columns"), list)
        and isinstance(sr.get("values"), list)
        and all(isinstance(row, list) for row in sr["values"]) for sr in series)


class InfluxStore(BaseStore):
    backend = "influxdb"
    keeps_order = True  # a batch's later line wins a field of the same series and time

    def __init__(self, url: str, database: str, tz: ZoneInfo, *, token: str | None = None,
                 username: str | None = None, password: str | None = None,
                 timeout_s: float = DEADLINE_S, max_answer_bytes: int = MAX_ANSWER_BYTES):
        """`timeout_s` bounds each HTTP request as a whole (connect, send, wait, receive);
        `max_answer_bytes` caps what one answer may hold (see heatpump/store/influx_http.py).
        A server that is down or hangs is no error here: the next call tries again."""
        super().__init__(tz)
        parts = urlsplit(url.rstrip("/"))
        if parts.username and not username and not token:  # http://user:pass@host:8086
            username, password = unquote(parts.username), unquote(parts.password or "")
        # Shown in messages and info(): never with the credentials a URL may carry.
        self.url = urlunsplit(parts._replace(netloc=parts.hostname + (
            f":{parts.port}" if parts.port else "") if parts.hostname else parts.netloc))
        self.db = database
        self._secrets = [s for s in (token, password) if s]
        self.timeout_s = timeout_s
        self.max_answer_bytes = max_answer_bytes
        # Uncompressed answers: InfluxDB's gzip costs ~1 ms of server time per response (more
        # than sending a year of day rows, ~12 kB, uncompressed); answers stay small.
        headers = {"Accept-Encoding": "identity"}
        if token:
            headers["Authorization"] = f"Token {token}"
        auth = (username, password or "") if username and not token else None
        self._transport = DeadlineTransport()
        self._http = httpx.Client(base_url=self.url, headers=headers, auth=auth,
                                  timeout=timeout_s, transport=self._transport)
        self._token = bool(token)
        self._ready = False
        self._version = "unknown"
        self._ftypes: dict[str, dict[str, str]] = {}
        self._ftypes_at: dict[str, float] = {}  # monotonic time of each SHOW FIELD KEYS
        try:
            self._ensure_ready()
        except CredentialsRefused:
            self._http.close()
            raise
        except StoreError:
            pass  # server down: keep going, the next flush or query tries again

    # --- HTTP ----------------------------------------------------------------------------

    def _error(self, what: str, detail: str) -> StoreError:
        return store_error(f"InfluxDB at {self.url} {what}: {detail}", self._secrets)

    def _request(self, method: str, path: str, **kw: Any) -> Answer:
        try:
            r = bounded(self._http, self._transport, method, path, self.timeout_s,
                        self.max_answer_bytes, **kw)
        except DeadlinePassed:
            raise self._error("gave no complete answer",
                              f"nothing or too little within {self.timeout_s:g} s (the server "
                              "hangs or is overloaded)") from None
        except AnswerTooLarge as exc:
            raise self._error("answered too much", f"{exc}, more than the "
                              f"{self.max_answer_bytes:,} bytes one answer may hold (ask for "
                              "a shorter range)") from None
        except httpx.HTTPError as exc:
            raise self._error("unreachable", f"{type(exc).__name__}: {exc}") from None
        if r.status_code in (401, 403):
            raise CredentialsRefused(self._error("refused the credentials",
                              f"HTTP {r.status_code} {self._server_message(r)} (check "
                              "INFLUX_TOKEN, or INFLUX_USERNAME/INFLUX_PASSWORD)").args[0])
        return r

    @staticmethod
    def _server_message(r: Answer) -> str:
        try:
            body = json.loads(r.content)
            return str(body.get("error") or body.get("message") or "")[:500]
        except (ValueError, AttributeError):
            return r.content[:500].decode("utf-8", "replace")

    def _ensure_ready(self) -> None:
        if self._ready:
            return
        ping = self._request("GET", "/ping")
        self._version = ping.headers.get("X-Influxdb-Version", "unknown")
        # 2.x/3.x (and 1.x users without admin rights) refuse CREATE DATABASE: buckets are
        # made in their UI/CLI. That is fine as long as the bucket can then be queried.
        with contextlib.suppress(CredentialsRefused):
            created = self._request("POST", "/query",
                                    params={"q": f"CREATE DATABASE {ident(self.db)}"})
            if created.status_code >= 500:
                raise self._error("failed", f"HTTP {created.status_code} "
                                  f"{self._server_message(created)}")
        self._query(["SHOW MEASUREMENTS LIMIT 1"], ready_check=False)
        self._ready = True

    def _query(self, statements: Sequence[str], post: bool = False,
               ready_check: bool = True) -> list[dict[str, Any]]:
        """Run InfluxQL statements in one request; the list of their result objects."""
        if ready_check:
            self._ensure_ready()
        params = {"db": self.db, "q": ";".join(statements), "epoch": "ms"}
        r = self._request("POST" if post else "GET", "/query", params=params)
        try:
            body = json.loads(r.content)
        except ValueError:
            raise self._error("answered a query with no JSON", f"HTTP {r.status_code} "
                              f"{r.content[:200].decode('utf-8', 'replace')}") from None
        if not isinstance(body, dict):
            raise self._error("answered a query with no JSON object",
                              f"HTTP {r.status_code} {str(body)[:200]}")
        if r.status_code >= 400 or body.get("error"):
            raise self._error("refused a query", f"HTTP {r.status_code} "
                              f"{body.get('error', '')} ({statements[0][:200]})")
        results = body.get("results", [])
        # One result per statement, each series with its columns and rows: the callers
        # pair them up and index into them, so another shape is one clear error here.
        if (not isinstance(results, list) or len(results) != len(statements)
                or not all(isinstance(res, dict) and _series_ok(res) for res in results)):
            raise self._error("answered a query in another shape",
                              f"{len(statements)} statement(s), answer "
                              f"{r.content[:200].decode('utf-8', 'replace')}")
        for res in results:
            if res.get("error"):
                raise self._error("refused a query", f"{res['error']} ({statements[0][:200]})")
            # InfluxDB 1.x with a max-row-limit cuts the answer and marks the cut series
            # (`"partial": true` on the series, tests/fixtures/influxdb/); later versions may
            # mark the result. Either way the data is incomplete: never return it.
            if res.get("partial") or any(s.get("partial") for s in res.get("series", ())):
                raise self._error("cut an answer short", "it holds more rows than the "
                                  "server's max-row-limit ([http] max-row-limit in "
                                  "influxdb.conf; 0 means no limit)")
        return results

    def _post_lines(self, lines: list[str]) -> list[str]:
        """Write lines in batches; the server's messages about lines it refused."""
        self._ensure_ready()
        refused: list[str] = []
        for i in range(0, len(lines), BATCH_LINES):
            body = "\n".join(lines[i:i + BATCH_LINES]).encode()
            for attempt in (1, 2):
                r = self._request("POST", "/write",
                                  params={"db": self.db, "precision": "ms"}, content=body)
                if r.status_code == 404 and attempt == 1:  # database dropped meanwhile
                    self._ready = False
                    self._ensure_ready()
                    continue
                break
            if r.status_code == 400:
                refused.append(self._server_message(r))
            elif r.status_code >= 300:
                raise self._error("refused a write", f"HTTP {r.status_code} "
                                  f"{self._server_message(r)}")
        return [store_error(m, self._secrets).args[0] for m in refused]

    def _post_rollup(self, lines: list[str]) -> None:
        refused = self._post_lines(lines) if lines else []
        if refused:
            raise StoreError(f"InfluxDB at {self.url} refused rollup points: {refused[0]}")

    def _field_types(self, measurement: str, refresh: bool = False,
                     max_age_s: float | None = None) -> dict[str, str]:
        """Field keys and types of a measurement (SHOW FIELD KEYS, which asks every shard:
        ~50 us each). Cached; `refresh` asks again, `max_age_s` when the cache is older or
        knows no field."""
        stale = max_age_s is not None and (
            not self._ftypes.get(measurement)
            or time.monotonic() - self._ftypes_at.get(measurement, 0.0) > max_age_s)
        if refresh or stale or measurement not in self._ftypes:
            self._ftypes_at[measurement] = time.monotonic()
            res = self._query([f"SHOW FIELD KEYS FROM {ident(measurement)}"])
            types: dict[str, str] = {}
            for s in res[0].get("series", []):
                for name, t in s["values"]:
                    types[name] = _INFLUX_TYPES.get(t, t)
            self._ftypes[measurement] = types
        return self._ftypes[measurement]

    def expire_field_keys(self) -> None:
        """Let the cached field keys expire now, as they do FIELD_KEYS_MAX_AGE_S after they
        were read: a bot whose reads come minutes apart meets them expired, and
        benchmarks/bot_growth_bench.py times its reads that way (the next read that needs
        them asks the server again)."""
        with self._lock:
            self._ftypes_at.clear()

    def _type_of(self, measurement: str, field: str) -> str | None:
        t = field_type(measurement, field)
        if t is None:
            t = self._field_types(measurement).get(field)
            if t is None:
                t = self._field_types(measurement, refresh=True).get(field)
        return t

    # --- primitives ----------------------------------------------------------------------

    def _write_rows(self, groups: Rows) -> list[str]:
        lines = []
        known: dict[str, dict[str, str]] = {}
        for shape, (t, *vals) in self.in_order(groups):  # a later line wins a field
            m, tags, names = shape.measurement, shape.tags, shape.names
            fields = dict(zip(names, vals, strict=True))
            if field_type(m, names[0]) is None:  # not in the schema
                types = known.get(m)
                if types is None:
                    types = known[m] = self._field_types(m, refresh=True)
                fields = {k: (float(v) if types.get(k) == "float" and isinstance(v, int)
                              and not isinstance(v, bool) else v) for k, v in fields.items()}
            lines.append(line(m, tags, fields, t))
        return self._post_lines(lines)

    def _rollup_hours(self, measurement: str, fields: Sequence[str],
                      ranges: list[tuple[int, int]]) -> None:
        hourly = rollup_name(measurement, "1h")
        sel = ", ".join(f"sum({ident(f)}) AS {ident(f + SUM)}, "
                        f"count({ident(f)}) AS {ident(f + COUNT)}" for f in fields)
        statements = [f"SELECT {sel} FROM {ident(measurement)}{where(a, b, None)} "
                      f"GROUP BY time({HOUR_MS}ms, {self.hour_shift_ms}ms), * fill(none)"
                      for a, b in ranges]
        lines = []
        for i in range(0, len(statements), 50):
            for res in self._query(statements[i:i + 50]):
                for s in res.get("series", []):
                    tags = s.get("tags") or {}
                    cols = s["columns"]
                    for row in s["values"]:
                        vals = dict(zip(cols, row, strict=True))
                        out: dict[str, FieldValue] = {}
                        for f in fields:
                            if vals.get(f + COUNT):
                                out[f + SUM] = float(vals[f + SUM])
                                out[f + COUNT] = int(vals[f + COUNT])
                        if out:
                            lines.append(line(hourly, tags.items(), out, row[0]))
        self._post_rollup(lines)

    def _rollup_days(self, measurement: str, fields: Sequence[str],
                     days: list[tuple[int, int]]) -> None:
        if not days:
            return
        hourly, daily = rollup_name(measurement, "1h"), rollup_name(measurement, "1d")
        cols = [f + SUM for f in fields] + [f + COUNT for f in fields]
        sel = ", ".join(f"sum({ident(c)}) AS {ident(c)}" for c in cols)
        # One aggregate per local day, summed by the server: no row limit can bite.
        statements = [f"SELECT {sel} FROM {ident(hourly)}{where(a, b, None)} GROUP BY *"
                      for a, b in days]
        lines = []
        for i in range(0, len(statements), 50):
            chunk = days[i:i + 50]
            for (day, _end), res in zip(chunk, self._query(statements[i:i + 50]), strict=True):
                for s in res.get("series", []):
                    tags = tuple(sorted((s.get("tags") or {}).items()))
                    vals = dict(zip(s["columns"], s["values"][0], strict=True))
                    out: dict[str, FieldValue] = {
                        c: (int(vals[c]) if c.endswith(COUNT) else float(vals[c]))
                        for c in cols if vals.get(c) is not None}
                    if out:
                        lines.append(line(daily, (*tags, ("tz", self.tz.key)), out, day))
        self._post_rollup(lines)

    def _aggregate(self, measurement: str, field: str, start_ms: int, end_ms: int,
                   step_ms: int, offset_ms: int,
                   tags: Mapping[str, str] | None) -> dict[int, tuple[float, int]]:
        q = (f"SELECT sum({ident(field)}), count({ident(field)}) FROM {ident(measurement)}"
             f"{where(start_ms, end_ms, tags)} GROUP BY time({step_ms}ms, "
             f"{offset_ms % step_ms}ms) fill(none)")
        out = {}
        for s in self._query([q])[0].get("series", []):
            for t, total, count in s["values"]:
                if count:
                    out[t] = (float(total), int(count))
        return out

    def _rows(self, measurement: str, fields: Sequence[str], start_ms: int, end_ms: int,
              tags: Mapping[str, str] | None,
              group_by: Sequence[str]) -> Iterable[tuple[int, tuple[str, ...], str, float]]:
        group = (" GROUP BY " + ", ".join(ident(g) for g in group_by)) if group_by else ""
        q = (f"SELECT {', '.join(ident(f) for f in fields)} FROM {ident(measurement)}"
             f"{where(start_ms, end_ms, tags)}{group}")
        out = []
        for s in self._query([q])[0].get("series", []):
            stags = s.get("tags") or {}
            key = tuple(stags.get(g, "") for g in group_by)
            names = s["columns"]
            for row in s["values"]:
                for c, v in zip(names[1:], row[1:], strict=True):
                    if v is not None:
                        out.append((row[0], key, c, v))
        return out

    def _bucket_sums(self, measurement: str, fields: Sequence[str],
                     bounds: Sequence[tuple[int, int, int]], tags: Mapping[str, str] | None,
                     group_by: Sequence[str]) -> Iterable[tuple[int, tuple[str, ...], str, float]]:
        step = _ROLLUP_STEP_MS.get(measurement)
        if step is not None and bounds and all(b - a <= ROWS_PER_BUCKET_MAX * step
                                               for _i, a, b in bounds):
            return self._bucket_rows(measurement, fields, bounds, tags, group_by, step)
        sel = ", ".join(f"sum({ident(f)}) AS {ident(f)}" for f in fields)
        group = (" GROUP BY " + ", ".join(ident(g) for g in group_by)) if group_by else ""
        statements = [f"SELECT {sel} FROM {ident(measurement)}{where(a, b, tags)}{group}"
                      for _i, a, b in bounds]
        out = []
        for k in range(0, len(statements), 100):
            for (i, _a, _b), res in zip(bounds[k:k + 100], self._query(statements[k:k + 100]),
                                        strict=True):
                for s in res.get("series", []):
                    stags = s.get("tags") or {}
                    key = tuple(stags.get(g, "") for g in group_by)
                    for c, v in zip(s["columns"][1:], s["values"][0][1:], strict=True):
                        if v is not None:
                            out.append((i, key, c, v))
        return out

    def _bucket_rows(self, measurement: str, fields: Sequence[str],
                     bounds: Sequence[tuple[int, int, int]], tags: Mapping[str, str] | None,
                     group_by: Sequence[str],
                     step_ms: int) -> list[tuple[int, tuple[str, ...], str, float]]:
        """Rollup rows (a few per bucket) read with one statement per STATEMENT_ROWS rows of
        a series and summed here; a row lands in the bucket whose [start, end) holds its time,
        as with WHERE time. Measured on InfluxDB 1.6 (docs/schema.md, Benchmarks): every
        statement costs ~0.2 ms of planning and opens each shard it spans again, so one read
        of a year's 365 day rows beats 13 month aggregates (a row costs ~5 µs)."""
        names = ", ".join(ident(f) for f in fields)
        group = (" GROUP BY " + ", ".join(ident(g) for g in group_by)) if group_by else ""
        starts = [a for _i, a, _b in bounds]
        chunks: list[tuple[int, int]] = []  # [first bucket, last bucket] per statement
        first = 0
        for k, (_i, _a, b) in enumerate(bounds):
            if k > first and b - bounds[first][1] > STATEMENT_ROWS * step_ms:
                chunks.append((first, k - 1))
                first = k
        chunks.append((first, len(bounds) - 1))
        statements = [f"SELECT {names} FROM {ident(measurement)}"
                      f"{where(bounds[f][1], bounds[last][2], tags)}{group}"
                      for f, last in chunks]
        # Σ per (bucket, group, field) right here: the caller then handles ~a dozen sums,
        # not a tuple per row. Rows come in time order: the bucket is looked up again only
        # when a row leaves the current one.
        acc: dict[tuple[int, tuple[str, ...], str], float] = {}
        for k in range(0, len(statements), 100):
            for res in self._query(statements[k:k + 100]):
                for s in res.get("series", []):
                    stags = s.get("tags") or {}
                    key = tuple(stags.get(g, "") for g in group_by)
                    cols = s["columns"][1:]
                    i, a, b = bounds[0]
                    for t, *vals in s["values"]:
                        if not a <= t < b:
                            i, a, b = bounds[max(bisect.bisect_right(starts, t) - 1, 0)]
                            if not a <= t < b:
                                continue  # in a gap between two buckets
                        for c, v in zip(cols, vals, strict=True):
                            if v is not None:
                                acc[(i, key, c)] = acc.get((i, key, c), 0.0) + v
        return [(i, key, c, v) for (i, key, c), v in acc.items()]

    # --- the rest of the contract --------------------------------------------------------

    @locked
    def latest(self, measurement: str, fields: Sequence[str] | None = None,
               tags: Mapping[str, str] | None = None,
               since: datetime | None = None) -> dict[str, Latest]:
        """An unbounded `last()` opens every shard of the database (1.5 s for the meter at
        three years of data, docs/performance.md). So the fields asked for are looked for in
        the last day first (one or two shards), then further back in LATEST_WINDOWS
        (`latest_windows`), each statement covering only what the one before did not. Without
        `since` only the fields the measurement has (its field keys, cached for
        FIELD_KEYS_MAX_AGE_S) are looked for beyond the last day; with `since` every window
        ends there, so nothing asks every shard (SHOW FIELD KEYS does: its cost grows with
        the history kept). All fields (`fields=None`) are those field keys: a field new to
        the measurement shows up within that age; pass the fields to avoid asking."""
        if fields is not None:
            names = list(dict.fromkeys(fields))
        else:
            names = sorted(self._field_types(measurement, max_age_s=FIELD_KEYS_MAX_AGE_S))
        if not names:
            return {}
        out: dict[str, Latest] = {}
        for k, (lo, hi) in enumerate(latest_windows(to_ms(datetime.now(UTC)), since)):
            wanted = [f for f in names if f not in out]
            if k == 1 and wanted and since is None:
                # further back only for fields the measurement has; with `since` every window
                # is bounded, and SHOW FIELD KEYS (every shard) would cost more than they do
                known = self._field_types(measurement, max_age_s=FIELD_KEYS_MAX_AGE_S)
                wanted = [f for f in wanted if f in known]
            if not wanted:
                break
            statements = [f"SELECT last({ident(f)}) FROM {ident(measurement)}"
                          f"{where(lo, hi, tags)} GROUP BY *" for f in wanted]
            for f, res in zip(wanted, self._query(statements), strict=True):
                typ = self._type_of(measurement, f) if res.get("series") else None
                for s in sorted(res.get("series", []),
                                key=lambda s: tags_sort_key(s.get("tags"))):
                    t, v = s["values"][0][0], s["values"][0][1]
                    if v is None:
                        continue
                    when = from_ms(t)
                    if f not in out or when > out[f].time:
                        out[f] = Latest(when, _decode(v, typ), dict(s.get("tags") or {}))
        return out

    @locked
    def points(self, measurement: str, start: datetime, end: datetime,
               tags: Mapping[str, str] | None = None, limit: int | None = None) -> list[Point]:
        lim = "" if limit is None else f" LIMIT {int(limit)}"
        q = (f"SELECT * FROM {ident(measurement)}{where(to_ms(start), to_ms(end), tags)} "
             f"GROUP BY *{lim}")
        res = self._query([q])[0].get("series", [])
        rows = []
        for s in res:
            stags = dict(s.get("tags") or {})
            names = s["columns"]
            for row in s["values"]:
                fields = {c: v for c, v in zip(names[1:], row[1:], strict=True)
                          if v is not None}
                if fields:
                    rows.append((row[0], tags_sort_key(stags), stags, fields))
        rows.sort(key=lambda r: (r[0], r[1]))
        if limit is not None:
            rows = rows[:limit]
        out = []
        for t, _k, stags, fields in rows:
            decoded = {k: _decode(v, self._type_of(measurement, k)) for k, v in fields.items()}
            out.append(Point(measurement, from_ms(t), decoded, stags))
        return out

    @locked
    def tag_values(self, measurement: str, tag: str) -> list[str]:
        res = self._query([f"SHOW TAG VALUES FROM {ident(measurement)} WITH KEY = {ident(tag)}"])
        return sorted({v for s in res[0].get("series", []) for _k, v in s["values"]})

    @locked
    def apply_retention(self, keep: timedelta, now: datetime) -> None:
        """`DELETE FROM meter|heatpump WHERE time < cutoff` (InfluxDB 1.x). InfluxDB 2.x/3.x
        do not accept DELETE through InfluxQL: this raises StoreError saying so; use
        `influx delete --predicate '_measurement="meter"'` there, or keep
        HEATPUMP_RAW_RETENTION_DAYS=0."""
        cutoff = to_ms(now - keep)
        try:
            self._query([f"DELETE FROM {ident(m)} WHERE time < {cutoff}ms"
                         for m in RAW_RETENTION_MEASUREMENTS], post=True)
        except StoreError as exc:
            raise store_error(
                f"{exc} -- raw retention needs InfluxQL DELETE (InfluxDB 1.x); on 2.x/3.x use "
                "`influx delete` or set HEATPUMP_RAW_RETENTION_DAYS=0", self._secrets) from None

    @locked
    def info(self) -> StoreInfo:
        return StoreInfo("influxdb", self._version, f"{self.url} ({self.db})")

    @locked
    def check(self) -> None:
        """The server answers /ping and a query of the database within the deadline."""
        self._ready = False
        self._ensure_ready()

    def close(self) -> None:
        with self._lock:
            try:
                if self._buffer or self._pending_hours:
                    self.flush()
            finally:
                self._http.close()

