"""The comparison table: each figure for Synapse, for Bastion, and Bastion / Synapse.

.venv/bin/python bench/report.py bench/out/<run>/result.json   # re-render a saved run
"""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

Getter = Callable[[dict[str, Any]], float | int | None]


def dig(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def kib_to_mib(v: Any) -> float | None:
    return round(v / 1024, 1) if isinstance(v, int | float) else None


class Row:
    """One figure: where it is in a server's loadgen output, and which way is better."""

    def __init__(
        self,
        label: str,
        get: Getter,
        *,
        better: str = "",
        target: float | None = None,
        target_text: str = "",
    ) -> None:
        self.label = label
        self.get = get
        self.better = better  # "higher", "lower" or "" (no direction)
        self.target = target  # on the ratio Bastion / Synapse
        self.target_text = target_text


def s(*path: str) -> Getter:
    return lambda lg: dig(lg, "scenarios", *path)


def mib(*path: str) -> Getter:
    return lambda lg: kib_to_mib(dig(lg, "scenarios", *path))


def cpu_over_wall(*path: str) -> Getter:
    def get(lg: dict[str, Any]) -> float | None:
        res = dig(lg, "scenarios", *path)
        if not isinstance(res, dict) or not res.get("wall_s"):
            return None
        return round(res["loadgen_cpu_s"] / res["wall_s"], 2)

    return get


def peak_rss(lg: dict[str, Any]) -> float | None:
    """The largest per-phase peak RSS of the run (MiB)."""
    peaks: list[int] = []

    def walk(x: Any) -> None:
        if isinstance(x, dict):
            v = x.get("server_peak_rss_kib")
            if isinstance(v, int):
                peaks.append(v)
            for y in x.values():
                walk(y)

    walk(lg.get("scenarios"))
    return kib_to_mib(max(peaks)) if peaks else None


def total_cpu(lg: dict[str, Any]) -> float | None:
    cpus: list[float] = []

    def walk(x: Any) -> None:
        if isinstance(x, dict):
            if isinstance(x.get("server_cpu_s"), int | float):
                cpus.append(x["server_cpu_s"])
            for y in x.values():
                walk(y)

    walk(lg.get("scenarios"))
    return round(sum(cpus), 1) if cpus else None


def all_cpu_ms(scenario: str, *path: str, per: str) -> Getter:
    """Server + PostgreSQL + Redis CPU of a phase, in ms per `per` (a count in the phase)."""

    def get(lg: dict[str, Any]) -> float | None:
        phase = dig(lg, "scenarios", scenario, *path)
        res = dig(phase, "resources")
        count = dig(phase, per)
        if not isinstance(res, dict) or not isinstance(count, int | float) or not count:
            return None
        cpu = sum(res.get(k) or 0.0 for k in ("server_cpu_s", "db_cpu_s", "redis_cpu_s"))
        return round(cpu * 1000 / count, 3)

    return get


def rows_for(result: dict[str, Any]) -> list[tuple[str, list[Row]]]:
    lg = next(
        (dig(v, "loadgen") for v in result.get("servers", {}).values() if dig(v, "loadgen")), {}
    )
    params = dig(lg, "params") or {}
    on_pg = result.get("database") == "postgres"
    sections: list[tuple[str, list[Row]]] = []
    send = [
        Row("msgs/s", s("send", "msgs_per_s"), better="higher", target=10, target_text=">= 10x"),
        Row("latency p50 (ms)", s("send", "latency", "p50_ms"), better="lower"),
        Row("latency p95 (ms)", s("send", "latency", "p95_ms"), better="lower"),
        Row(
            "latency p99 (ms)",
            s("send", "latency", "p99_ms"),
            better="lower",
            target=0.2,
            target_text="<= 1/5",
        ),
        Row("errors", s("send", "error_count"), better="lower"),
        Row("server CPU ms / message", s("send", "server_cpu_ms_per_event"), better="lower"),
        Row(
            "all CPU ms / message (server + PostgreSQL + Redis)",
            all_cpu_ms("send", per="sent_ok"),
            better="lower",
        ),
        Row("server CPU s", s("send", "resources", "server_cpu_s"), better="lower"),
        Row("PostgreSQL CPU s", s("send", "resources", "db_cpu_s"), better="lower"),
        Row("Redis CPU s", s("send", "resources", "redis_cpu_s"), better="lower"),
        Row(
            "server peak RSS (MiB)", mib("send", "resources", "server_peak_rss_kib"), better="lower"
        ),
        Row("loadgen CPU / wall", cpu_over_wall("send", "resources")),
    ]
    sections.append(
        (
            f"send: {params.get('send_senders')} senders, {params.get('send_messages')} "
            "messages in all, one room",
            send,
        )
    )
    history = [
        Row("fill msgs/s", s("history", "fill", "msgs_per_s"), better="higher"),
        Row("fill latency p99 (ms)", s("history", "fill", "latency", "p99_ms"), better="lower"),
        Row("back-pagination total (s)", s("history", "resources", "wall_s"), better="lower"),
        Row("events returned", s("history", "events_returned")),
        Row("events/s", s("history", "events_per_s"), better="higher"),
        Row("page p50 (ms)", s("history", "page_latency", "p50_ms"), better="lower"),
        Row("page p99 (ms)", s("history", "page_latency", "p99_ms"), better="lower"),
        Row("server CPU ms / event", s("history", "server_cpu_ms_per_event"), better="lower"),
        Row(
            "server peak RSS (MiB)",
            mib("history", "resources", "server_peak_rss_kib"),
            better="lower",
        ),
        Row("errors", lambda lg: _sum_errors(lg, "history"), better="lower"),
    ]
    sections.append(
        (
            f"history: {params.get('history_events')} messages by "
            f"{params.get('history_senders')} senders, back-paginated "
            f"{params.get('history_page')} per page",
            history,
        )
    )
    for r in params.get("initial_sync_rooms") or []:
        key = str(r)
        target = 0.2 if r == max(params["initial_sync_rooms"]) and r >= 1000 else None
        rows = [
            Row(
                "first initial sync (s)",
                s("initial-sync", key, "first_s"),
                better="lower",
                target=target,
                target_text="<= 1/5" if target else "",
            ),
            Row("median of repeats (s)", lambda lg, key=key: _median(lg, key), better="lower"),
            Row(
                "response size (KiB)",
                lambda lg, key=key: kib(dig(lg, "scenarios", "initial-sync", key, "bytes")),
                better="lower",
            ),
            Row("rooms in response", s("initial-sync", key, "rooms_in_response")),
            Row(
                "server CPU s (all repeats)",
                s("initial-sync", key, "resources", "server_cpu_s"),
                better="lower",
            ),
            Row(
                "server peak RSS (MiB)",
                mib("initial-sync", key, "resources", "server_peak_rss_kib"),
                better="lower",
            ),
        ]
        sections.append((f"initial-sync: a user in R={r} rooms, no filter", rows))
    for m in params.get("fanout_members") or []:
        key = str(m)
        hot = m == 200
        fan_target = 8 if on_pg else 10
        rows = [
            Row(
                "deliveries/s",
                s("fanout", key, "deliveries_per_s"),
                better="higher",
                target=fan_target if hot else None,
                target_text=f">= {fan_target}x" if hot else "",
            ),
            Row(
                "delivery p50 (ms)", s("fanout", key, "delivery_latency", "p50_ms"), better="lower"
            ),
            Row(
                "delivery p95 (ms)", s("fanout", key, "delivery_latency", "p95_ms"), better="lower"
            ),
            Row(
                "delivery p99 (ms)",
                s("fanout", key, "delivery_latency", "p99_ms"),
                better="lower",
                target=0.1 if hot else None,
                target_text="<= 1/10" if hot else "",
            ),
            Row("deliveries", s("fanout", key, "deliveries")),
            Row("deliveries missed", s("fanout", key, "deliveries_missed"), better="lower"),
            Row(
                "errors",
                s("fanout", key, "error_count"),
                better="lower",
                target_text="0 (M=1,000)" if m >= 1000 else "",
            ),
            Row(
                "server CPU ms / delivery",
                s("fanout", key, "server_cpu_ms_per_delivery"),
                better="lower",
            ),
            Row(
                "CPU ms / woken sync (server + PostgreSQL + Redis)",
                all_cpu_ms("fanout", key, per="deliveries"),
                better="lower",
                target=0.2 if on_pg and hot else None,
                target_text="<= 1/5" if on_pg and hot else "",
            ),
            Row("server CPU s", s("fanout", key, "resources", "server_cpu_s"), better="lower"),
            Row("PostgreSQL CPU s", s("fanout", key, "resources", "db_cpu_s"), better="lower"),
            Row("Redis CPU s", s("fanout", key, "resources", "redis_cpu_s"), better="lower"),
            Row(
                "server peak RSS (MiB)",
                mib("fanout", key, "resources", "server_peak_rss_kib"),
                better="lower",
            ),
            Row("loadgen CPU / wall", cpu_over_wall("fanout", key, "resources")),
        ]
        ks = params.get("fanout_messages") or []
        ms = params.get("fanout_members") or []
        k = ks[min(ms.index(m), len(ks) - 1)] if isinstance(ks, list) and ks else ks
        sections.append((f"fanout: M={m} members long-polling, K={k} messages one at a time", rows))
    overall = [
        Row(
            "peak RSS of any phase (MiB)",
            peak_rss,
            better="lower",
            target=0.25,
            target_text="<= 1/4",
        ),
        Row(
            "RSS after start (MiB)",
            lambda _lg: None,
            better="lower",
        ),
        Row("server CPU s, all measured phases", total_cpu, better="lower"),
        Row(
            "register accounts (s)",
            lambda lg: _setup_sum(lg, "_accounts"),
            better="lower",
        ),
        Row(
            "createRoom x R (s)",
            s("initial-sync", "setup", "create_rooms", "s"),
            better="lower",
        ),
        Row("loadgen run (s)", lambda lg: lg.get("total_s"), better="lower"),
        Row("loadgen CPU s", lambda lg: dig(lg, "loadgen", "cpu_s")),
    ]
    sections.append(("whole run", overall))
    return sections


def _median(lg: dict[str, Any], key: str) -> float | None:
    runs = dig(lg, "scenarios", "initial-sync", key, "runs") or []
    times = [r["s"] for r in runs if r.get("status") == 200]
    return round(statistics.median(times), 4) if times else None


def kib(v: Any) -> float | None:
    return round(v / 1024, 1) if isinstance(v, int | float) else None


def _sum_errors(lg: dict[str, Any], name: str) -> int | None:
    sc = dig(lg, "scenarios", name)
    if not isinstance(sc, dict):
        return None
    return int(sc.get("error_count", 0)) + int(dig(sc, "fill", "error_count") or 0)


def _setup_sum(lg: dict[str, Any], suffix: str) -> float | None:
    total = 0.0
    found = False

    def walk(x: Any) -> None:
        nonlocal total, found
        if isinstance(x, dict):
            for k, v in x.items():
                if k.endswith(suffix) and isinstance(v, dict) and "s" in v:
                    total += v["s"]
                    found = True
                else:
                    walk(v)

    walk(lg.get("scenarios"))
    return round(total, 1) if found else None


def fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        if abs(v) >= 100:
            return f"{v:,.0f}"
        if abs(v) >= 10:
            return f"{v:.1f}"
        return f"{v:.3g}" if abs(v) < 1 else f"{v:.2f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def verdict(row: Row, ratio: float | None) -> str:
    if row.target is None or ratio is None:
        return row.target_text
    ok = ratio >= row.target if row.better == "higher" else ratio <= row.target
    return f"{row.target_text}: {'met' if ok else 'MISSED'}"


def server_notes(srv: dict[str, Any]) -> list[str]:
    """Start/stop, log tracebacks, errors and skipped scenarios of one server's run."""
    notes = [
        f"start {srv.get('start_s')} s",
        f"stop {dig(srv, 'stop', 'stop_s')} s (exit {dig(srv, 'stop', 'exit_code')}, "
        f"killed {dig(srv, 'stop', 'killed')})",
        f"log tracebacks {dig(srv, 'log', 'tracebacks')}",
    ]
    if srv.get("load_average_before"):
        notes.append(
            f"load average (1/5/15 min) {srv['load_average_before']} before the load, "
            f"{srv.get('load_average_after')} after"
        )
    if srv.get("workers", 1) > 1:
        notes.append(f"{srv['workers']} workers + supervisor: CPU and RSS are their sum")
    if srv.get("background_updates_wait_s"):
        notes.append(f"waited {srv['background_updates_wait_s']} s for background updates")
    if srv.get("error"):
        notes.append(f"ERROR {srv['error'][:300]}")
    for sc_name, sc in (dig(srv, "loadgen", "scenarios") or {}).items():
        if isinstance(sc, dict) and (sc.get("error") or sc.get("skipped")):
            notes.append(f"{sc_name}: {sc.get('error') or sc.get('skipped')}")
    return notes


def ratio_text(a: Any, b: Any, row: Row) -> tuple[str, str]:
    """The ratio b / a as text, and the target's verdict on it."""
    ratio = None
    comparable = not row.label.startswith("loadgen CPU")
    if comparable and isinstance(a, int | float) and isinstance(b, int | float) and a:
        ratio = b / a
    text = "-" if ratio is None else (f"{ratio:.2f}" if ratio < 10 else f"{ratio:.1f}")
    return text, verdict(row, ratio)


def render_markdown(result: dict[str, Any]) -> str:
    """One column per server (Synapse, then each Bastion variant: "bastion", "bastion x2"),
    and for each Bastion variant its ratio to Synapse and the verdict on the target."""
    servers = result.get("servers", {})
    names = [n for n in servers if n != "synapse"]
    syn = dig(servers, "synapse", "loadgen") or {}
    on_pg = result.get("database") == "postgres"
    has_redis = any(dig(servers, n, "workers") not in (None, 1) for n in names)
    header = ["figure", "Synapse", *(n.capitalize() for n in names)]
    header += [f"{n.capitalize()} / Synapse" for n in names]
    header += [f"target ({n})" for n in names] if len(names) > 1 else ["target"]
    lines = [
        f"Database: {result.get('database')}. Ratio = Bastion / Synapse "
        "(for times, latencies, CPU and memory lower is better; for rates higher is better).",
        "",
        "| " + " | ".join(header) + " |",
        "| --- | "
        + " | ".join("---:" for _ in range(1 + 2 * len(names)))
        + " |"
        + " --- |" * (len(header) - 2 - 2 * len(names)),
    ]
    blank = " |" * (len(header) - 1)
    loadgens = [dig(servers, n, "loadgen") or {} for n in servers]
    for title, rows in rows_for(result):
        if all(row.get(lg) is None for row in rows for lg in loadgens):
            continue  # a scenario this run left out (--scenarios)
        lines.append(f"| **{title}** |{blank}")
        for row in rows:
            if row.label.startswith("PostgreSQL") and not on_pg:
                continue
            if row.label.startswith("Redis") and not has_redis:
                continue
            if row.label.startswith("RSS after start"):
                values = [kib_to_mib(dig(servers, n, "rss_after_start_kib")) for n in servers]
                a, bs = (values[0], values[1:]) if "synapse" in servers else (None, values)
            else:
                a = row.get(syn)
                bs = [row.get(dig(servers, n, "loadgen") or {}) for n in names]
            judged = [ratio_text(a, b, row) for b in bs]
            cells = [fmt(a), *(fmt(b) for b in bs), *(r for r, _ in judged)]
            cells += [v for _, v in judged] if judged else [""]
            lines.append(f"| {row.label} | " + " | ".join(cells) + " |")
    lines.append("")
    for name in servers:
        lines.append(f"- {name}: " + "; ".join(server_notes(servers[name])))
    lines.append("")
    return "\n".join(lines)


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    print(render_markdown(json.loads(Path(sys.argv[1]).read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
