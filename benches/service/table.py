"""Prints the service bench's table and goal check from run.sh's results (JSON lines)."""
import json
import sys

rows, scale = [], None
with open(sys.argv[1]) as f:
    for line in f:
        if not line.strip():
            continue
        r = json.loads(line)
        if "scale" in r:
            scale = r["scale"]
        else:
            rows.append(r)


def ms(us):
    return f"{us / 1000:.2f}"


def find(target_prefix, route_prefix="", store=None):
    for r in rows:
        if r["target"].startswith(target_prefix) and r["route"].startswith(route_prefix) and (
            store is None or r["store"] == store
        ) and "r50" in r:
            return r
    return None


ceiling = find("bare hyper")
ceil_rps = ceiling["peak"]["rps"] if ceiling else 0
wx_msg = find("wxopen serve", "message → success", "sqlite")

head = ["target", "route", "store", "req/s", "× ceiling", "CPU µs/req", "p99 @peak",
        "@50 %: p50 / p99 / p99.9", "@90 %: p50 / p99 / p99.9", "errors", "others"]
print("| " + " | ".join(head) + " |")
print("|" + "|".join("---" for _ in head) + "|")
for r in rows:
    p = r["peak"]
    ratio = f"{p['rps'] / ceil_rps:.2f}" if ceil_rps else "-"
    lat = []
    errors = p["errors"]
    for k in ("r50", "r90"):
        if k in r:
            x = r[k]
            errors += x["errors"]
            mark = " †" if x.get("send_late_p99_us", 0) > 100 else ""
            lat.append(f"{ms(x['p50_us'])} / {ms(x['p99_us'])} / {ms(x['p999_us'])}{mark}")
        else:
            lat.append("-")
    cpu = p.get("server_cpu_us", 0)
    cpu = f"{cpu:.1f}" if cpu else "-"
    print(f"| {r['target']} | {r['route']} | {r['store']} | {p['rps']:,} | {ratio} | {cpu} | "
          f"{ms(p['p99_us'])} | {lat[0]} | {lat[1]} | {errors} | {r.get('others_pct', '-')} % |")
print("latencies in ms; × ceiling = req/s ÷ the bare hyper server's req/s in this run; CPU µs/req = "
      "CPU time of the server process (with Redis on Redis rows) per request at the peak; † = the "
      "generator itself sent late (p99 over 0.1 ms: its core was taken), so that run's tail is "
      "partly the generator's; others = CPU "
      "used by processes outside the bench during the row, in % of one CPU (rows over 5 % are tried "
      "again, up to 3 times, and the least disturbed try is kept)")

if scale:
    st = scale["stats"]
    secs = max(1, st["last_second"] - st["first_second"] + 1)
    print()
    print(f"scale: {scale['n']:,} authorizers in SQLite, refresher on (max {scale['cap']}/s): "
          f"start-to-ready {scale['ready_ms']} ms (/healthz {scale['healthy_ms']} ms); "
          f"RSS {scale['rss_start_kib'] / 1024:.1f} MiB after start, "
          f"{scale['rss_after_kib'] / 1024:.1f} MiB after the refresh cycle "
          f"(peak {scale['hwm_kib'] / 1024:.1f} MiB); "
          f"{st['authorizer_token_calls']:,} api_authorizer_token calls in {scale['refresh_s']} s "
          f"({st['authorizer_token_calls'] / secs:.0f}/s average, {st['max_per_full_second']}/s "
          f"in the busiest full second); {scale['refreshed_ok']} of {scale['n']:,} stored tokens "
          f"are the refreshed ones")

print()
print("goals:")


def goal(name, ok, detail):
    print(f"- [{'met' if ok else 'MISSED'}] {name}: {detail}")


if ceiling and wx_msg:
    r = find("wxopen serve", "message → success", "sqlite")
    if r:
        x = r["peak"]["rps"] / ceil_rps
        goal("message → success (sqlite) ≥ 0.6 × ceiling", x >= 0.6, f"{x:.2f}")
    floor = find("hyper + verify")
    if floor:
        x = wx_msg["peak"]["rps"] / floor["peak"]["rps"]
        goal("message route without a sink ≥ 0.85 × hyper + verify/decrypt/parse", x >= 0.85,
             f"{x:.2f}")
    # The event plane (issue 23): async delivery against the same run's no-webhook row.
    for store in ("sqlite", "redis"):
        a = find("wxopen serve", "message → event log → success", store)
        if a:
            x = a["peak"]["rps"] / wx_msg["peak"]["rps"]
            goal(f"async event log ({store}) ≥ 0.5 × message → success (no webhook)", x >= 0.5,
                 f"{x:.2f} ({a['peak']['rps']:,} req/s)")
            p99 = a["r50"]["p99_us"] / 1000
            goal(f"async event log ({store}) p99 ≤ 10 ms at 50 % of its peak", p99 <= 10,
                 f"{p99:.2f} ms")
    node = find("node:http")
    if node:
        x = wx_msg["peak"]["rps"] / node["peak"]["rps"]
        goal("≥ 5 × node", x >= 5, f"{x:.1f}×")
    py = find("wechatpy 1")
    if py:
        x = wx_msg["peak"]["rps"] / py["peak"]["rps"]
        goal("≥ 8 × the fastest Python", x >= 8, f"{x:.1f}× ({py['target']})")
    p99 = wx_msg["peak"]["p99_us"] / 1000
    goal("message route p99 ≤ 3 ms at 64 connections (peak)", p99 <= 3, f"{p99:.2f} ms")
tok = find("wxopen serve", "token API", "sqlite")
if tok:
    goal("token API (SQLite) ≥ 40,000 req/s", tok["peak"]["rps"] >= 40000, f"{tok['peak']['rps']:,}")
    p99 = tok["peak"]["p99_us"] / 1000
    goal("token API (SQLite) p99 ≤ 3 ms", p99 <= 3, f"{p99:.2f} ms")
if scale:
    goal("RSS ≤ 64 MiB with the authorizers", scale["hwm_kib"] <= 64 * 1024,
         f"peak {scale['hwm_kib'] / 1024:.1f} MiB")
    try:
        ready = float(scale["ready_ms"])
        goal("start-to-ready ≤ 200 ms", ready <= 200, f"{ready:.0f} ms")
    except ValueError:
        goal("start-to-ready ≤ 200 ms", False, "never ready")
    st = scale["stats"]
    goal(f"refresher under its {scale['cap']}/s", st["max_per_full_second"] <= scale["cap"],
         f"busiest full second {st['max_per_full_second']}/s")
