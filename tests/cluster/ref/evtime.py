"""evtime.py -- event time as Flink defines it, for the reference scripts of the window and
process-function tests (tests/cluster/ref/*_ref.py). Standard library only; no Flint code.

The model (DESIGN.md section 5, issue 5 point 1), with pipeline.auto-watermark-interval 0
and a source, parser and watermark assigner at parallelism 1:

  * records reach the keyed operator in input order; after each record the assigner emits
    the watermark max(timestamps so far) - out_of_orderness - 1, so record i is processed
    under the watermark emitted after record i - 1 (none before the first: -infinity);
  * an operator acts on a watermark only when it advances (Flink's StatusWatermarkValve and
    TimestampsAndWatermarksOperator forward only increasing watermarks): then every
    event-time timer <= the new watermark fires, in timestamp order, before the next record;
    a timer registered at or below the current watermark therefore fires at the next advance;
  * timers are unique per (key, namespace, timestamp); deleting one that is not there is a
    no-op;
  * the end of the input is the watermark +infinity: every remaining timer fires.
"""
import heapq

NEG_INF = -(1 << 63)
POS_INF = (1 << 63) - 1


def java_rem(a, b):
    """a % b with Java's sign rule (the sign of a), as Flink computes window starts."""
    r = abs(a) % abs(b)
    return r if a >= 0 else -r


def window_start(ts, offset, size):
    """TimeWindow.getWindowStartWithOffset: ts - (ts - offset + size) % size."""
    return ts - java_rem(ts - offset + size, size)


class Watermarks:
    """BoundedOutOfOrdernessWatermarks: max timestamp seen - out_of_orderness - 1."""

    def __init__(self, out_of_orderness):
        self.ooo = out_of_orderness
        self.max_ts = None

    def on_event(self, ts):
        if self.max_ts is None or ts > self.max_ts:
            self.max_ts = ts

    def current(self):
        return NEG_INF if self.max_ts is None else self.max_ts - self.ooo - 1


class Timers:
    """An event-time timer service: unique (key, namespace, ts), fired in timestamp order."""

    def __init__(self):
        self.heap = []
        self.live = set()
        self.seq = 0

    def register(self, key, ts, ns=None):
        t = (key, ns, ts)
        if t in self.live:
            return
        self.live.add(t)
        heapq.heappush(self.heap, (ts, self.seq, key, ns))
        self.seq += 1

    def delete(self, key, ts, ns=None):
        self.live.discard((key, ns, ts))

    def fire(self, watermark, on_timer):
        """Calls on_timer(key, ns, ts) for every live timer <= watermark, in order."""
        while self.heap and self.heap[0][0] <= watermark:
            ts, _, key, ns = heapq.heappop(self.heap)
            t = (key, ns, ts)
            if t in self.live:
                self.live.remove(t)
                on_timer(key, ns, ts)


def run_keyed(records, out_of_orderness, on_element, on_timer, timers):
    """Drives one keyed operator over records [(ts, ...)...] in input order:
    on_element(record, watermark) for each, on_timer(key, ns, ts) for each firing."""
    wm_gen = Watermarks(out_of_orderness)
    wm = NEG_INF
    for rec in records:
        on_element(rec, wm)
        wm_gen.on_event(rec[0])
        new = wm_gen.current()
        if new > wm:
            wm = new
            timers.fire(wm, on_timer)
    timers.fire(POS_INF, on_timer)


def read_lines(path):
    """The input's lines without their newline (and without a trailing \\r), empty ones
    skipped, as the examples' parsers see them."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.endswith("\r"):
                line = line[:-1]
            if line:
                out.append(line)
    return out
