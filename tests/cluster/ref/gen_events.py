#!/usr/bin/env python3
"""gen_events.py -- deterministic inputs with disorder for the event-time examples.

    gen_events.py KIND [--seed N] [--count N] [--disorder-ms N] [--late-pct P] OUT [OUT2]

KIND is clicks, userbehavior, temps, logins, orders, transactions or reconcile (which writes
the orders to OUT and the receipts to OUT2). The same arguments always give the same files.

Every kind builds its events in event-time order, then delivers them out of order: each
event arrives at ts + a delay drawn uniformly from [0, --disorder-ms], and --late-pct
percent of them (the "very late" ones) at ts + a delay several times larger (ranges per
kind below), so that some land within a window's allowed lateness and some beyond it. The
file lists the events in order of arrival. Standard library only.

    clicks        user,url,timestamp_ms           20 users, 40 urls, ~200 ms apart
    userbehavior  userId,itemId,categoryId,behavior,timestamp_s    Zipf-like item
                  popularity (ties in counts happen), 80 % pv
    temps         sensor,temperature,timestamp_ms 10 sensors, random walks with trends
    logins        user,ip,status,timestamp_ms     bursts of failures; each user's events
                  stay in event-time order (users interleave; some users' events all late)
    orders        order_id,create|pay,timestamp_ms   pay after 0..1.5x --timeout-ms or never,
                  some exactly at the timeout
    transactions  account,amount_cents,timestamp_ms  small (<100), large (>50000) and
                  ordinary amounts, gaps around 60 s (some exactly 60 s)
    reconcile     orders order_id,pay,timestamp_ms / receipts order_id,channel,timestamp_ms:
                  pairs at most --wait-ms/2 apart (always matched), lone pays and lone
                  receipts (always unmatched; the very late records are among these), so the
                  result does not depend on how the two inputs interleave
"""
import argparse
import random

BASE_MS = 1700000000123  # not aligned to any window size


def deliver(rng, events, disorder, late_pct, late_min, late_max):
    """events: [(ts, line)] -> the lines in order of arrival."""
    arrivals = []
    for i, (ts, line) in enumerate(events):
        if rng.random() * 100 < late_pct:
            delay = rng.randint(late_min, late_max)
        else:
            delay = rng.randint(0, disorder)
        arrivals.append((ts + delay, i, line))
    arrivals.sort()
    return [line for _, _, line in arrivals]


def gen_clicks(rng, a):
    users = ["Mary", "Bob", "Alice", "Cary"] + ["user%02d" % i for i in range(16)]
    urls = ["./home", "./cart", "./fav"] + ["./prod?id=%d" % i for i in range(37)]
    ts, events = BASE_MS, []
    for _ in range(a.count):
        ts += rng.randint(0, 400)
        u = rng.choice(users[:4]) if rng.random() < 0.3 else rng.choice(users)
        events.append((ts, "%s,%s,%d" % (u, rng.choice(urls), ts)))
    return [deliver(rng, events, a.disorder_ms, a.late_pct, a.disorder_ms + 1, 40000)]


def gen_userbehavior(rng, a):
    items = [rng.randint(1, 5000000) for _ in range(120)]
    weights = [1 / (r + 1) ** 0.8 for r in range(len(items))]
    cats = {it: rng.randint(1, 5000) for it in items}
    secs, events = 1511658000, []
    for _ in range(a.count):
        secs += rng.choice([0, 0, 1, 1, 2, 3])
        it = rng.choices(items, weights)[0]
        beh = rng.choices(["pv", "buy", "cart", "fav"], [80, 5, 10, 5])[0]
        line = "%d,%d,%d,%s,%d" % (rng.randint(1, 100000), it, cats[it], beh, secs)
        events.append((secs * 1000, line))
    return [deliver(rng, events, a.disorder_ms, a.late_pct, a.disorder_ms + 1000, 1800000)]


def gen_temps(rng, a):
    sensors = {"sensor_%d" % i: [rng.uniform(15, 35), 0.0] for i in range(1, 11)}
    names = sorted(sensors)
    ts, events = BASE_MS, []
    for _ in range(a.count):
        ts += rng.randint(0, 60)
        s = rng.choice(names)
        st = sensors[s]
        if rng.random() < 0.15:
            st[1] = rng.choice([-0.3, 0.0, 0.2, 0.4])  # a new trend
        st[0] += st[1] + rng.uniform(-0.25, 0.25)
        t = round(st[0], 1)
        if rng.random() < 0.05 and events:
            t = float(events[-1][1].split(",")[1])  # an equal reading now and then
        events.append((ts, "%s,%.1f,%d" % (s, t, ts)))
    return [deliver(rng, events, a.disorder_ms, a.late_pct, a.disorder_ms + 1, 8000)]


def gen_logins(rng, a):
    users = ["user_%d" % i for i in range(40)]
    ts, events = BASE_MS, []
    state = {u: 0.5 for u in users}  # probability of a failure, changes in bursts
    for _ in range(a.count):
        ts += rng.randint(0, 300)
        u = rng.choice(users)
        if rng.random() < 0.2:
            state[u] = rng.choice([0.1, 0.5, 0.9, 1.0])
        status = "fail" if rng.random() < state[u] else "success"
        ip = "192.168.%d.%d" % (rng.randint(0, 3), rng.randint(1, 254))
        events.append((ts, u, "%s,%s,%s,%d" % (u, ip, status, ts)))
    # arrival slots as deliver() would draw them, then each user's slots given back to the
    # user's events in event-time order: the order per user is kept
    late_users = set(rng.sample(users, 3))
    slots = {}
    for i, (ts_, u, _) in enumerate(events):
        if u in late_users:
            delay = 20000
        elif rng.random() * 100 < a.late_pct:
            delay = rng.randint(a.disorder_ms + 1, 30000)
        else:
            delay = rng.randint(0, a.disorder_ms)
        slots.setdefault(u, []).append((ts_ + delay, i))
    arrivals = []
    per_user = {}
    for ts_, u, line in events:
        per_user.setdefault(u, []).append(line)
    for u, s in slots.items():
        s.sort()
        for slot, line in zip(s, per_user[u]):
            arrivals.append((slot, line))
    arrivals.sort()
    return [[line for _, line in arrivals]]


def gen_orders(rng, a):
    ts, events = BASE_MS, []
    for i in range(a.count // 2):
        ts += rng.randint(0, 2000)
        oid = "order_%d" % (i + 1)
        events.append((ts, "%s,create,%d" % (oid, ts)))
        r = rng.random()
        if r < 0.7:
            pay = ts + rng.randint(0, a.timeout_ms * 3 // 2)
        elif r < 0.75:
            pay = ts + a.timeout_ms  # exactly at the limit: paid
        elif r < 0.8:
            pay = ts + a.timeout_ms + 1
        else:
            continue
        events.append((pay, "%s,pay,%d" % (oid, pay)))
    events.sort(key=lambda e: e[0])
    return [deliver(rng, events, a.disorder_ms, a.late_pct, a.disorder_ms + 1,
                    a.timeout_ms * 2)]


def gen_transactions(rng, a):
    accounts = ["acct_%d" % i for i in range(50)]
    last = {}
    ts, events = BASE_MS, []
    for _ in range(a.count):
        ts += rng.randint(0, 1000)
        acc = rng.choice(accounts)
        t = ts
        if acc in last and rng.random() < 0.1:
            t = max(ts, last[acc] + 60000)  # exactly a minute after, or later
        last[acc] = t
        r = rng.random()
        if r < 0.3:
            cents = rng.randint(1, 99)
        elif r < 0.4:
            cents = 100
        elif r < 0.7:
            cents = rng.randint(50001, 1000000)
        elif r < 0.75:
            cents = 50000
        else:
            cents = rng.randint(101, 49999)
        events.append((t, "%s,%d,%d" % (acc, cents, t)))
    events.sort(key=lambda e: e[0])
    return [deliver(rng, events, a.disorder_ms, a.late_pct, a.disorder_ms + 1, 120000)]


def gen_reconcile(rng, a):
    channels = ["alipay", "wechat", "card", "applepay"]
    ts, orders, receipts = BASE_MS, [], []
    lone = []  # the single sides: only these may be very late
    for i in range(a.count // 2):
        ts += rng.randint(0, 1500)
        oid = "tx_%d" % (i + 1)
        r = rng.random()
        rts = ts + rng.randint(-a.wait_ms // 2, a.wait_ms // 2)
        oline = (ts, "%s,pay,%d" % (oid, ts))
        rline = (rts, "%s,%s,%d" % (oid, rng.choice(channels), rts))
        if r < 0.8:
            orders.append((oline, False))
            receipts.append((rline, False))
        elif r < 0.9:
            orders.append((oline, True))
        else:
            receipts.append((rline, True))
    outs = []
    for evs in (orders, receipts):
        evs.sort(key=lambda e: e[0][0])
        arrivals = []
        for i, ((t, line), single) in enumerate(evs):
            if single and rng.random() * 100 < a.late_pct * 5:
                delay = rng.randint(a.disorder_ms + 1, 60000)
            else:
                delay = rng.randint(0, a.disorder_ms)
            arrivals.append((t + delay, i, line))
        arrivals.sort()
        outs.append([line for _, _, line in arrivals])
    return outs


KINDS = {
    "clicks": gen_clicks,
    "userbehavior": gen_userbehavior,
    "temps": gen_temps,
    "logins": gen_logins,
    "orders": gen_orders,
    "transactions": gen_transactions,
    "reconcile": gen_reconcile,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=sorted(KINDS))
    ap.add_argument("out", nargs="+")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=3000)
    ap.add_argument("--disorder-ms", type=int, default=2000)
    ap.add_argument("--late-pct", type=float, default=3.0)
    ap.add_argument("--timeout-ms", type=int, default=60000, help="orders")
    ap.add_argument("--wait-ms", type=int, default=5000, help="reconcile")
    a = ap.parse_args()
    files = KINDS[a.kind](random.Random(a.seed), a)
    if len(a.out) != len(files):
        ap.error("%s writes %d file(s)" % (a.kind, len(files)))
    for path, lines in zip(a.out, files):
        with open(path, "w") as f:
            f.write("".join(line + "\n" for line in lines))


if __name__ == "__main__":
    main()
