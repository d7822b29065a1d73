#!/usr/bin/env python3
"""nexmark_ref.py -- independent reference for the Nexmark bundles (examples/nexmark/).

    nexmark_ref.py --events N [--rate R] [--seed S] [--base-time-ms T] --out DIR QUERY...

Generates the Nexmark event stream from the model's description (the same description
examples/nexmark/nexmark_gen.h implements in C: event n's kind from n mod 50, its time
base + floor(n * 1000 / rate), its fields drawn from a splitmix64 stream seeded by (seed,
n)), then computes each QUERY's result from the published SQL of the nexmark/nexmark
repository (queries/q*.sql) and writes DIR/QUERY.txt, one result line per row, in the
bundle's output format. Standard library only; nothing here is shared with the C code.

Queries: events (every event, q0 --all's format), q0, q1, q2, q3, q4, q5, q7, q8, q11,
q12 (processing time: only what does not depend on the clock, the number of bids per
bidder, `bidder,count`).

q4's SQL result is an updating table (the average winning price per category); the
bundle emits it in event-time order, one row per category and instant at which an
auction of the category closed with a winning bid: `category,instant,avg,count`, where
avg is Flink's AVG of BIGINT (integer division) over the winners closed by that instant.
The last row per category is the SQL's final table.
"""
import argparse
import collections
import decimal
import math
import os
import sys

M64 = (1 << 64) - 1

FIRST_NAMES = "Peter,Paul,Luke,John,Saul,Vicky,Kate,Julie,Sarah,Deiter,Walter".split(",")
LAST_NAMES = "Shultz,Abrams,Spencer,White,Bartels,Walton,Smith,Jones,Noris".split(",")
CITIES = ("Phoenix,Los Angeles,San Francisco,Boise,Portland,Bend,Redmond,Seattle,Kent,"
          "Cheyenne").split(",")
STATES = "AZ,CA,ID,OR,WA,WY".split(",")
HOT_CHANNELS = ["Google", "Facebook", "Baidu", "Apple"]
POOL_SIZE = 65536
CHANNELS = 10000
DOM_EVENT, DOM_CHANNEL, DOM_POOL, DOM_HOT_URL = 1, 2, 3, 4
TOTAL = 50          # person 1 : auction 3 : bid 46
IN_FLIGHT = 100
ACTIVE_PEOPLE = 1000
LEAD = 10
HOT = 100


def mix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


class Rng:
    """splitmix64: seeded by (seed, domain, index)."""

    def __init__(self, seed, domain, index):
        self.s = mix64((seed * 0x9E3779B97F4A7C15 + domain * 0xD6E8FEB86659FD93 + index) & M64)

    def u64(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & M64
        return mix64(self.s)

    def below(self, bound):
        return ((self.u64() >> 32) * bound) >> 32

    def unit(self):
        return (self.u64() >> 11) / 9007199254740992.0


def rand_string(r, max_len, special):
    n = 3 + r.below(max_len - 3)
    out = []
    for _ in range(n):
        out.append(special if r.below(13) == 0 else chr(ord("a") + r.below(26)))
    return "".join(out).strip(" ")


def base_url(r):
    parts = [rand_string(r, 5, "_") for _ in range(3)]
    return "https://www.nexmark.com/" + "/".join(parts) + "/item.htm?query=1"


def price(r):
    return int(math.floor(math.pow(10.0, r.unit() * 6.0) * 100.0 + 0.5))


def reverse32(v):
    return int(format(v, "032b")[::-1], 2)


def last_person(n):
    return n // TOTAL          # one person per 50 events


def last_auction(n):
    epoch, off = divmod(n, TOTAL)
    if off < 1:
        epoch, off = epoch - 1, 2
    elif off >= 4:
        off = 2
    else:
        off -= 1
    return epoch * 3 + off


def some_person(r, n):
    people = last_person(n) + 1
    active = min(people, ACTIVE_PEOPLE)
    return people - active + r.below(active + LEAD)


def some_auction(r, n):
    hi = last_auction(n)
    lo = max(hi - IN_FLIGHT, 0)
    return lo + r.below(hi - lo + 1 + LEAD)


class Generator:
    def __init__(self, seed, rate, base):
        self.seed, self.rate, self.base = seed, rate, base
        r = Rng(seed, DOM_POOL, 0)
        self.pool = "".join(chr(97 + r.below(26)) for _ in range(POOL_SIZE))
        self.hot_urls = [base_url(Rng(seed, DOM_HOT_URL, i)) for i in range(4)]
        self.urls = {}

    def url(self, i):
        u = self.urls.get(i)
        if u is None:
            r = Rng(self.seed, DOM_CHANNEL, i)
            u = base_url(r)
            if r.below(10) > 0:
                u += "&channel_id=%d" % reverse32(i)
            self.urls[i] = u
        return u

    def ts(self, n):
        return self.base + n * 1000 // self.rate

    def extra(self, r, size, avg):
        if size > avg:
            return ""
        want = avg - size
        delta = (2 * want + 5) // 10
        n = want - delta + (r.below(2 * delta) if delta else 0)
        off = r.below(POOL_SIZE - n)
        return self.pool[off:off + n]

    def event(self, n):
        r = Rng(self.seed, DOM_EVENT, n)
        ts = self.ts(n)
        off = n % TOTAL
        if off < 1:
            name = FIRST_NAMES[r.below(11)] + " " + LAST_NAMES[r.below(9)]
            email = rand_string(r, 7, " ") + "@" + rand_string(r, 5, " ") + ".com"
            card = " ".join("%04d" % r.below(10000) for _ in range(4))
            city = CITIES[r.below(10)]
            state = STATES[r.below(6)]
            size = 8 + len(name) + len(email) + len(card) + len(city) + len(state)
            extra = self.extra(r, size, 200)
            return ("P", last_person(n) + 1000, name, email, card, city, state, ts, extra)
        if off < 4:
            aid = last_auction(n) + 1000
            if r.below(4) > 0:
                seller = last_person(n) // HOT * HOT
            else:
                seller = some_person(r, n)
            seller += 1000
            category = 10 + r.below(5)
            initial = price(r)
            horizon = self.ts(n + IN_FLIGHT * TOTAL // 3) - ts
            expires = ts + 1 + r.below(max(horizon * 2, 1))
            item = rand_string(r, 20, " ")
            desc = rand_string(r, 100, " ")
            reserve = initial + price(r)
            extra = self.extra(r, 8 + len(item) + len(desc) + 40, 500)
            return ("A", aid, item, desc, initial, reserve, ts, expires, seller, category, extra)
        if r.below(2) > 0:
            auction = last_auction(n) // HOT * HOT
        else:
            auction = some_auction(r, n)
        auction += 1000
        if r.below(4) > 0:
            bidder = last_person(n) // HOT * HOT + 1
        else:
            bidder = some_person(r, n)
        bidder += 1000
        p = price(r)
        if r.below(2) > 0:
            i = r.below(4)
            channel, url = HOT_CHANNELS[i], self.hot_urls[i]
        else:
            i = r.below(CHANNELS)
            channel, url = "channel-%d" % i, self.url(i)
        extra = self.extra(r, 32, 100)
        return ("B", auction, bidder, p, channel, url, ts, extra)


# ---- the queries, from nexmark/nexmark's SQL ------------------------------------------

Person = collections.namedtuple("Person", "id name email card city state dt extra")
Auction = collections.namedtuple(
    "Auction", "id item desc initial reserve dt expires seller category extra")
Bid = collections.namedtuple("Bid", "auction bidder price channel url dt extra")


def csv(*fields):
    return ",".join(str(f) for f in fields)


def q_events(ev, P, A, B):
    return [csv(*e) for e in ev]


def q0(ev, P, A, B):
    # SELECT auction, bidder, price, dateTime, extra FROM bid
    return [csv(b.auction, b.bidder, b.price, b.dt, b.extra) for b in B]


def q1(ev, P, A, B):
    # SELECT auction, bidder, 0.908 * price, dateTime, extra FROM bid  (DECIMAL(23, 3))
    rate = decimal.Decimal("0.908")
    return [csv(b.auction, b.bidder, "%.3f" % (rate * b.price), b.dt, b.extra) for b in B]


def q2(ev, P, A, B):
    # SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0
    return [csv(b.auction, b.price) for b in B if b.auction % 123 == 0]


def q3(ev, P, A, B):
    # SELECT P.name, P.city, P.state, A.id FROM auction A JOIN person P ON A.seller = P.id
    # WHERE A.category = 10 AND P.state IN ('OR', 'ID', 'CA')
    people = collections.defaultdict(list)
    for p in P:
        if p.state in ("OR", "ID", "CA"):
            people[p.id].append(p)
    return [csv(p.name, p.city, p.state, a.id)
            for a in A if a.category == 10 for p in people.get(a.seller, ())]


def q4(ev, P, A, B):
    # Q = SELECT MAX(B.price) AS final, A.category FROM auction A, bid B
    #     WHERE A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND A.expires
    #     GROUP BY A.id, A.category
    # SELECT category, AVG(final) FROM Q GROUP BY category   (as of each instant)
    auctions = {a.id: a for a in A}
    final = {}
    for b in B:
        a = auctions.get(b.auction)
        if a is not None and a.dt <= b.dt <= a.expires:
            final[a.id] = max(final.get(a.id, b.price), b.price)
    by_cat = collections.defaultdict(lambda: collections.defaultdict(list))
    for aid, f in final.items():
        a = auctions[aid]
        by_cat[a.category][a.expires].append(f)
    out = []
    for cat, at in by_cat.items():
        total = count = 0
        for t in sorted(at):
            total += sum(at[t])
            count += len(at[t])
            out.append(csv(cat, t, total // count, count))
    return out


def hop_windows(ts, size, slide):
    last = ts - ts % slide
    return range(last, ts - size, -slide)


def q5(ev, P, A, B):
    # per HOP(2 s, 10 s) window: the auctions whose bid count is the window's maximum
    counts = collections.defaultdict(collections.Counter)
    for b in B:
        for s in hop_windows(b.dt, 10000, 2000):
            counts[s][b.auction] += 1
    out = []
    for s, c in counts.items():
        maxn = max(c.values())
        out += [csv(s, s + 10000, a, n) for a, n in c.items() if n >= maxn]
    return out


def q7(ev, P, A, B):
    # B JOIN (SELECT MAX(price) AS maxprice, window_end AS dateTime FROM TUMBLE(10 s)) B1
    # ON B.price = B1.maxprice WHERE B.dateTime BETWEEN B1.dateTime - 10 s AND B1.dateTime
    maxp = {}
    for b in B:
        s = b.dt - b.dt % 10000
        maxp[s] = max(maxp.get(s, b.price), b.price)
    by_price = collections.defaultdict(list)
    for b in B:
        by_price[b.price].append(b)
    out = []
    for s, m in maxp.items():
        end = s + 10000
        out += [csv(end, b.auction, b.price, b.bidder, b.dt, b.extra)
                for b in by_price[m] if end - 10000 <= b.dt <= end]
    return out


def q8(ev, P, A, B):
    # persons and the sellers of auctions, each per TUMBLE(10 s) window, joined on
    # id = seller and the same window: P.id, P.name, P.starttime
    sellers = {(a.seller, a.dt - a.dt % 10000) for a in A}
    people = {(p.id, p.name, p.dt - p.dt % 10000) for p in P}
    return [csv(i, name, s) for i, name, s in people if (i, s) in sellers]


def q11(ev, P, A, B):
    # bids per bidder and SESSION(dateTime, 10 s): bidder, count, start, end (last + gap);
    # sessions that touch merge, as Flink's
    times = collections.defaultdict(list)
    for b in B:
        times[b.bidder].append(b.dt)
    out = []
    for bidder, ts in times.items():
        ts.sort()
        start, last, n = ts[0], ts[0], 0
        for t in ts:
            if t > last + 10000:
                out.append(csv(bidder, n, start, last + 10000))
                start, n = t, 0
            last = t
            n += 1
        out.append(csv(bidder, n, start, last + 10000))
    return out


def q12(ev, P, A, B):
    # TUMBLE(PROCTIME(), 10 s) per bidder: only the total per bidder is clock-independent
    c = collections.Counter(b.bidder for b in B)
    return [csv(bidder, n) for bidder, n in c.items()]


QUERIES = {"events": q_events, "q0": q0, "q1": q1, "q2": q2, "q3": q3, "q4": q4, "q5": q5,
           "q7": q7, "q8": q8, "q11": q11, "q12": q12}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, required=True)
    ap.add_argument("--rate", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--base-time-ms", type=int, default=1436918400000)
    ap.add_argument("--out", required=True)
    ap.add_argument("queries", nargs="+", choices=sorted(QUERIES))
    a = ap.parse_args()

    g = Generator(a.seed & M64, a.rate, a.base_time_ms)
    ev = [g.event(n) for n in range(a.events)]
    P = [Person(*e[1:]) for e in ev if e[0] == "P"]
    A = [Auction(*e[1:]) for e in ev if e[0] == "A"]
    B = [Bid(*e[1:]) for e in ev if e[0] == "B"]
    os.makedirs(a.out, exist_ok=True)
    for q in a.queries:
        with open(os.path.join(a.out, q + ".txt"), "w") as f:
            for line in QUERIES[q](ev, P, A, B):
                f.write(line + "\n")


if __name__ == "__main__":
    sys.exit(main())
