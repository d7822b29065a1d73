/* clicks_ref.c -- the hand-written baseline of bench/windows.sh: what examples/clicks_window.c
 * computes in its tumbling mode (clicks per user and event-time window), in plain
 * single-threaded C with no Flint in it.
 *
 *   clicks_ref INPUT OUTPUT [SIZE_MS [OUT_OF_ORDERNESS_MS]]     (defaults 10000, 5000)
 *
 * Same semantics as the job with --mode tumbling --key user and no allowed lateness: lines
 * `user,url,timestamp_ms` in file order; the watermark after each line is the largest
 * timestamp so far - out-of-orderness - 1; a click goes to the window
 * [ts - ts mod size, + size) unless that window's end - 1 is at or below the watermark, in
 * which case it is late and its line is written to OUTPUT.late; a window is written as
 * `user,window_start,window_end,count` lines to OUTPUT once the watermark reaches its
 * end - 1 (all remaining ones at the end of the input).
 *
 * The input is mmapped; each open window (there are only a few: windows fire in order of
 * their start) has its own open-addressing hash table of users (FNV-1a, linear probing,
 * names in an arena), dropped when it fires. Output through 1 MiB stdio buffers. Prints
 * "events=N windows=M late=L" to stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct slot {
    uint64_t hash;
    uint32_t off, len; /* the user in the window's arena; len 0: empty */
    int64_t count;
} slot;

typedef struct window {
    int64_t start;
    slot *table;
    size_t mask, used;
    char *arena;
    size_t arena_len, arena_cap;
} window;

#define MAX_OPEN 64

static window open_w[MAX_OPEN]; /* sorted by start */
static int nopen;
static FILE *out, *late;
static int64_t size_ms = 10000, ooo_ms = 5000;
static uint64_t nwindows, nlate, nevents;

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (!p) {
        fprintf(stderr, "clicks_ref: out of memory\n");
        exit(1);
    }
    return p;
}

static void grow(window *w)
{
    size_t n = (w->mask + 1) * 2;
    slot *t = xcalloc(n, sizeof *t);
    for (size_t i = 0; i <= w->mask; i++) {
        if (!w->table[i].len)
            continue;
        size_t j = w->table[i].hash & (n - 1);
        while (t[j].len)
            j = (j + 1) & (n - 1);
        t[j] = w->table[i];
    }
    free(w->table);
    w->table = t;
    w->mask = n - 1;
}

static void count(window *w, const char *user, uint32_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (uint32_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)user[i]) * 0x100000001b3ULL;
    size_t i = h & w->mask;
    for (;;) {
        slot *s = &w->table[i];
        if (!s->len)
            break;
        if (s->hash == h && s->len == len && memcmp(w->arena + s->off, user, len) == 0) {
            s->count++;
            return;
        }
        i = (i + 1) & w->mask;
    }
    if (w->arena_len + len > w->arena_cap) {
        w->arena_cap = (w->arena_cap + len) * 2;
        w->arena = realloc(w->arena, w->arena_cap);
        if (!w->arena) {
            fprintf(stderr, "clicks_ref: out of memory\n");
            exit(1);
        }
    }
    memcpy(w->arena + w->arena_len, user, len);
    w->table[i] = (slot){h, (uint32_t)w->arena_len, len, 1};
    w->arena_len += len;
    if (++w->used * 2 > w->mask + 1)
        grow(w);
}

/* The open window starting at start, opened if needed. */
static window *window_at(int64_t start)
{
    int i = 0;
    while (i < nopen && open_w[i].start < start)
        i++;
    if (i < nopen && open_w[i].start == start)
        return &open_w[i];
    if (nopen == MAX_OPEN) {
        fprintf(stderr, "clicks_ref: more than %d windows open\n", MAX_OPEN);
        exit(1);
    }
    memmove(&open_w[i + 1], &open_w[i], (size_t)(nopen - i) * sizeof open_w[0]);
    nopen++;
    window *w = &open_w[i];
    memset(w, 0, sizeof *w);
    w->start = start;
    w->mask = 1023;
    w->table = xcalloc(w->mask + 1, sizeof *w->table);
    return w;
}

/* Writes and drops the oldest open window. */
static void fire_oldest(void)
{
    window *w = &open_w[0];
    for (size_t i = 0; i <= w->mask; i++) {
        slot *s = &w->table[i];
        if (s->len)
            fprintf(out, "%.*s,%lld,%lld,%lld\n", (int)s->len, w->arena + s->off,
                    (long long)w->start, (long long)(w->start + size_ms), (long long)s->count);
    }
    free(w->table);
    free(w->arena);
    nwindows++;
    nopen--;
    memmove(&open_w[0], &open_w[1], (size_t)nopen * sizeof open_w[0]);
}

static int parse_ts(const char *p, const char *end, int64_t *ts)
{
    int neg = 0;
    int64_t v = 0;
    if (p < end && *p == '-') {
        neg = 1;
        p++;
    }
    if (p == end)
        return -1;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
    }
    *ts = neg ? -v : v;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 5) {
        fprintf(stderr, "Usage: clicks_ref INPUT OUTPUT [SIZE_MS [OUT_OF_ORDERNESS_MS]]\n");
        return 1;
    }
    if (argc > 3)
        size_ms = strtoll(argv[3], NULL, 10);
    if (argc > 4)
        ooo_ms = strtoll(argv[4], NULL, 10);
    int fd = open(argv[1], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || size_ms <= 0) {
        fprintf(stderr, "clicks_ref: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    const char *p = "", *end;
    if (st.st_size > 0) {
        p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            fprintf(stderr, "clicks_ref: mmap %s: %s\n", argv[1], strerror(errno));
            return 1;
        }
        madvise((void *)p, (size_t)st.st_size, MADV_SEQUENTIAL);
    }
    end = p + st.st_size;
    char late_path[4096];
    snprintf(late_path, sizeof late_path, "%s.late", argv[2]);
    out = fopen(argv[2], "w");
    late = fopen(late_path, "w");
    if (!out || !late) {
        fprintf(stderr, "clicks_ref: %s: %s\n", argv[2], strerror(errno));
        return 1;
    }
    setvbuf(out, NULL, _IOFBF, 1 << 20);
    setvbuf(late, NULL, _IOFBF, 1 << 20);

    int64_t max_ts = INT64_MIN, wm = INT64_MIN;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end, *next = nl ? nl + 1 : end;
        if (le > p && le[-1] == '\r')
            le--;
        if (le == p) {
            p = next;
            continue;
        }
        const char *c1 = memchr(p, ',', (size_t)(le - p));
        const char *c2 = c1 ? memchr(c1 + 1, ',', (size_t)(le - c1 - 1)) : NULL;
        int64_t ts;
        if (!c2 || parse_ts(c2 + 1, le, &ts) < 0) {
            fprintf(stderr, "clicks_ref: malformed line '%.*s'\n", (int)(le - p), p);
            return 1;
        }
        nevents++;
        int64_t r = (ts + size_ms) % size_ms; /* Java's %, offset 0 */
        int64_t start = ts - r;
        if (start + size_ms - 1 <= wm) {
            fwrite(p, 1, (size_t)(le - p), late);
            fputc('\n', late);
            nlate++;
        } else
            count(window_at(start), p, (uint32_t)(c1 - p));
        if (ts > max_ts) {
            max_ts = ts;
            wm = max_ts - ooo_ms - 1;
            while (nopen && open_w[0].start + size_ms - 1 <= wm)
                fire_oldest();
        }
        p = next;
    }
    while (nopen)
        fire_oldest();
    if (fclose(out) != 0 || fclose(late) != 0) {
        fprintf(stderr, "clicks_ref: %s: %s\n", argv[2], strerror(errno));
        return 1;
    }
    fprintf(stderr, "events=%llu windows=%llu late=%llu\n", (unsigned long long)nevents,
            (unsigned long long)nwindows, (unsigned long long)nlate);
    return 0;
}
