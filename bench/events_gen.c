/* events_gen.c -- the inputs of bench/windows.sh, generated fast and deterministically (the
 * test inputs come from tests/cluster/ref/gen_events.py, which is too slow for 10^7 lines).
 *
 *   events_gen clicks N SEED OUT        user,url,timestamp_ms
 *   events_gen userbehavior N SEED OUT  userId,itemId,categoryId,behavior,timestamp_s
 *
 * The same arguments always write the same file. Events are made in event-time order and
 * delivered out of order through a 64-slot buffer (each step writes a random slot and
 * refills it), so most records are displaced by a few positions and none is late for a
 * bounded-out-of-orderness watermark of a second or more in practice.
 *
 *   clicks        N events, 10 per millisecond on average, 2000 users (user0..user1999,
 *                 skewed: a few are far busier), 500 urls (./page/0 ..)
 *   userbehavior  N events, ~120 per second (the UserBehavior data set's rate), 50000
 *                 items with skewed popularity, 85 % pv, the rest buy/cart/fav
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHUFFLE 64
#define LINE_MAX_LEN 96

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

/* Uniform in [0, n). */
static uint64_t below(uint64_t n)
{
    return (rnd() >> 11) % n;
}

/* Skewed in [0, n): small values are much more likely (a cubed uniform). */
static uint64_t skewed(uint64_t n)
{
    double u = (double)(rnd() >> 11) / 9007199254740992.0;
    return (uint64_t)(u * u * u * (double)n);
}

typedef int (*make_fn)(char *line, uint64_t i);

static int64_t clock_ms = 1700000000000LL;
static int64_t clock_s = 1511658000LL;

static int make_click(char *line, uint64_t i)
{
    if (below(10) == 0) /* ~10 events per millisecond */
        clock_ms += 1;
    return snprintf(line, LINE_MAX_LEN, "user%u,./page/%u,%lld", (unsigned)skewed(2000),
                    (unsigned)below(500), (long long)clock_ms);
}

static int make_behavior(char *line, uint64_t i)
{
    static const char *const what[] = {"buy", "cart", "fav"};
    if (below(120) == 0) /* ~120 events per second */
        clock_s += 1;
    uint64_t item = skewed(50000) * 97 + 13; /* spread item ids, keep them distinct */
    uint64_t r = below(100);
    return snprintf(line, LINE_MAX_LEN, "%u,%llu,%llu,%s,%lld", (unsigned)below(1000000),
                    (unsigned long long)item, (unsigned long long)(item % 4000),
                    r < 85 ? "pv" : what[r % 3], (long long)clock_s);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "Usage: events_gen clicks|userbehavior N SEED OUT\n");
        return 1;
    }
    make_fn make = strcmp(argv[1], "clicks") == 0         ? make_click
                   : strcmp(argv[1], "userbehavior") == 0 ? make_behavior
                                                          : NULL;
    uint64_t n = strtoull(argv[2], NULL, 10);
    rng_state = strtoull(argv[3], NULL, 10) * 0x9E3779B97F4A7C15ULL + 1;
    if (!make || n == 0) {
        fprintf(stderr, "events_gen: unknown kind '%s' or bad count '%s'\n", argv[1], argv[2]);
        return 1;
    }
    FILE *out = fopen(argv[4], "w");
    if (!out) {
        fprintf(stderr, "events_gen: %s: %s\n", argv[4], strerror(errno));
        return 1;
    }
    setvbuf(out, NULL, _IOFBF, 1 << 20);

    static char buf[SHUFFLE][LINE_MAX_LEN];
    static int len[SHUFFLE];
    uint64_t made = 0;
    for (int k = 0; k < SHUFFLE && made < n; k++, made++)
        len[k] = make(buf[k], made);
    uint64_t filled = made;
    for (uint64_t written = 0; written < n; written++) {
        uint64_t k = below(filled < SHUFFLE ? filled : SHUFFLE);
        fwrite(buf[k], 1, (size_t)len[k], out);
        fputc('\n', out);
        if (made < n) {
            len[k] = make(buf[k], made);
            made++;
        } else { /* the input is used up: close the gap */
            filled--;
            memmove(buf[k], buf[filled], (size_t)len[filled]);
            len[k] = len[filled];
        }
    }
    if (fclose(out) != 0) {
        fprintf(stderr, "events_gen: %s: %s\n", argv[4], strerror(errno));
        return 1;
    }
    return 0;
}
