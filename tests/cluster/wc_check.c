/* wc_check.c -- checks streaming WordCount output (lines "word,count") against reference
 * counts, fast enough for the tens of millions of lines of the checkpoint tests (the Python
 * checker, ref/check_wordcount.py, takes about 2 s per million lines). Compiled by
 * tests/cluster/checkpoint_lib.sh; independent of Flint: plain C, no Flint headers.
 *
 *   wc_check COUNTS MULT exact|atleast LABEL=PATH...
 *
 * COUNTS holds "word count" lines (ref/word_counts.py); every count is multiplied by MULT
 * (the input was MULT copies of the counted text). The outputs are read in argument order;
 * LABEL is RUN/WRITER (e.g. "r1/s0" for subtask 0 of the first run): within one RUN every
 * word must come from one WRITER (a key lives in one subtask), across runs it may move
 * (a restore at another parallelism).
 *   exact    every word's counts are 1, 2, ..., N, each exactly once and in order
 *            (exactly-once: committed output as if nothing had failed)
 *   atleast  every count 1..N of every word is present (at-least-once: no loss); counts
 *            repeated or above N are allowed and reported
 * Prints a one-line summary; exits 1 after the first differences otherwise.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct word {
    char *w;
    size_t len;
    int64_t expected, last, seen_lines, dups, above;
    int owner;          /* index of the LABEL that wrote it in the current run, -1 none */
    int run;            /* the run of owner */
    uint8_t *bits;      /* atleast: which counts 1..N were seen */
};

static struct word *tab;
static size_t tab_cap, nwords;
static int errors;
static int exact;

static uint64_t hash(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 1099511628211ULL;
    return h;
}

static struct word *lookup(const char *p, size_t n, int create)
{
    size_t i = hash(p, n) & (tab_cap - 1);
    while (tab[i].w) {
        if (tab[i].len == n && !memcmp(tab[i].w, p, n))
            return &tab[i];
        i = (i + 1) & (tab_cap - 1);
    }
    if (!create)
        return NULL;
    tab[i].w = malloc(n + 1);
    memcpy(tab[i].w, p, n);
    tab[i].w[n] = '\0';
    tab[i].len = n;
    tab[i].owner = tab[i].run = -1;
    nwords++;
    return &tab[i];
}

static void err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void err(const char *fmt, ...)
{
    va_list ap;
    if (++errors > 10)
        return;
    fprintf(stderr, "  ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
}

int main(int argc, char **argv)
{
    if (argc < 4 || (strcmp(argv[3], "exact") && strcmp(argv[3], "atleast"))) {
        fprintf(stderr, "usage: wc_check COUNTS MULT exact|atleast LABEL=PATH...\n");
        return 2;
    }
    exact = !strcmp(argv[3], "exact");
    long long mult = atoll(argv[2]);
    FILE *f = fopen(argv[1], "r");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    tab_cap = 1 << 22;
    tab = calloc(tab_cap, sizeof *tab);
    char line[2048];
    long long total = 0;
    while (fgets(line, sizeof line, f)) {
        char *sp = strchr(line, ' ');
        if (!sp)
            continue;
        struct word *w = lookup(line, (size_t)(sp - line), 1);
        w->expected = atoll(sp + 1) * mult;
        total += w->expected;
        if (!exact)
            w->bits = calloc((size_t)w->expected / 8 + 1, 1);
    }
    fclose(f);

    char runs[64][64];
    int nruns = 0;
    long long lines = 0;
    for (int a = 4; a < argc; a++) {
        char *eq = strchr(argv[a], '=');
        if (!eq) {
            fprintf(stderr, "wc_check: argument %s is not LABEL=PATH\n", argv[a]);
            return 2;
        }
        const char *path = eq + 1;
        size_t rl = strcspn(argv[a], "/=");
        int run = -1;
        for (int r = 0; r < nruns; r++)
            if (strlen(runs[r]) == rl && !strncmp(runs[r], argv[a], rl))
                run = r;
        if (run < 0 && nruns < 64) {
            snprintf(runs[nruns], sizeof runs[nruns], "%.*s", (int)rl, argv[a]);
            run = nruns++;
        }
        int fd = open(path, O_RDONLY);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0) {
            perror(path);
            return 2;
        }
        if (st.st_size == 0) {
            close(fd);
            continue;
        }
        const char *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        close(fd);
        if (p == MAP_FAILED) {
            perror(path);
            return 2;
        }
        const char *end = p + st.st_size, *base = p;
        if (end[-1] != '\n')
            err("%s does not end with a newline", path);
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            if (!nl)
                nl = end;
            const char *comma = nl;
            while (comma > p && comma[-1] != ',')
                comma--;
            lines++;
            long long n = 0;
            const char *d = comma;
            int ok = comma > p + 1 && d < nl;
            for (; ok && d < nl; d++) {
                if (*d < '0' || *d > '9')
                    ok = 0;
                else
                    n = n * 10 + (*d - '0');
            }
            if (!ok) {
                err("malformed line '%.*s' in %s", (int)(nl - p > 80 ? 80 : nl - p), p, path);
                p = nl + 1;
                continue;
            }
            size_t wl = (size_t)(comma - 1 - p);
            struct word *w = lookup(p, wl, 0);
            if (!w) {
                err("word '%.*s' (count %lld) is not in the text, in %s", (int)wl, p, n, path);
                p = nl + 1;
                continue;
            }
            w->seen_lines++;
            if (w->run != run) {
                w->run = run;
                w->owner = a;
            } else if (w->owner != a) {
                /* one writer per word and run: compare the writer labels */
                const char *l1 = argv[w->owner], *l2 = argv[a];
                size_t n1 = strcspn(l1, "="), n2 = strcspn(l2, "=");
                if (n1 != n2 || strncmp(l1, l2, n1)) {
                    err("word '%.*s': count %lld from %.*s, count %lld from %.*s", (int)wl, p, n,
                        (int)n2, l2, (long long)w->last, (int)n1, l1);
                }
                w->owner = a;
            }
            if (exact) {
                if (n != w->last + 1)
                    err("word '%.*s': count %lld follows %lld, in %s", (int)wl, p, n,
                        (long long)w->last, path);
            } else if (n >= 1 && n <= w->expected) {
                if (w->bits[(n - 1) / 8] & (1 << ((n - 1) % 8)))
                    w->dups++;
                w->bits[(n - 1) / 8] |= (uint8_t)(1 << ((n - 1) % 8));
            } else {
                w->above++;
            }
            w->last = n;
            p = nl + 1;
        }
        munmap((void *)base, (size_t)st.st_size);
    }
    long long dups = 0, above = 0, words_above = 0;
    for (size_t i = 0; i < tab_cap; i++) {
        struct word *w = &tab[i];
        if (!w->w)
            continue;
        if (exact) {
            if (w->last != w->expected)
                err("word '%s': last count %lld, reference count %lld", w->w, (long long)w->last,
                    (long long)w->expected);
        } else {
            for (int64_t n = 1; n <= w->expected; n++)
                if (!(w->bits[(n - 1) / 8] & (1 << ((n - 1) % 8)))) {
                    err("word '%s': count %lld missing (reference count %lld)", w->w, (long long)n,
                        (long long)w->expected);
                    break;
                }
            dups += w->dups;
            above += w->above;
            words_above += w->above > 0;
        }
    }
    if (exact && !errors && lines != total)
        err("%lld lines for %lld words", lines, total);
    if (errors) {
        if (errors > 10)
            fprintf(stderr, "  ... %d differences in all\n", errors);
        return 1;
    }
    if (exact)
        printf("%lld lines = %lld words, %zu distinct: every count 1..N exactly once, in "
               "order, one writer per word and run\n", lines, total, nwords);
    else
        printf("%lld lines for %lld words, %zu distinct: every count 1..N present; %lld "
               "repeated, %lld above N (%lld words)\n", lines, total, nwords, dups, above,
               words_above);
    return 0;
}
