/* wordcount_ref.c -- the hand-written baseline of bench/wordcount.sh: streaming word count
 * in plain single-threaded C, with no Flint in it.
 *
 *   wordcount_ref INPUT OUTPUT
 *
 * Same rules as examples/wordcount.c: words are maximal runs of ASCII letters and digits,
 * lower-cased, cut to their first 1024 bytes (FL_MAX_KEY); every occurrence appends
 * "word,count" (the word's new count) to OUTPUT. The input is mmapped, words are counted in
 * an open-addressing hash table (FNV-1a, linear probing, words in one arena), the output
 * goes through a 1 MiB stdio buffer. Prints "words=N distinct=M" to stderr.
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

#define MAX_WORD 1024

typedef struct slot {
    uint64_t hash;
    uint32_t off, len; /* the word in the arena; len 0: empty slot */
    int64_t count;
} slot;

static slot *table;
static size_t table_mask, table_used;
static char *arena;
static size_t arena_len, arena_cap;

static const unsigned char is_word[256] = {
    ['0' ... '9'] = 1,
    ['A' ... 'Z'] = 1,
    ['a' ... 'z'] = 1,
};

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (!p) {
        fprintf(stderr, "wordcount_ref: out of memory\n");
        exit(1);
    }
    return p;
}

static void grow(void)
{
    size_t n = (table_mask + 1) * 2;
    slot *t = calloc(n, sizeof *t);
    if (!t) {
        fprintf(stderr, "wordcount_ref: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i <= table_mask; i++) {
        if (!table[i].len)
            continue;
        size_t j = table[i].hash & (n - 1);
        while (t[j].len)
            j = (j + 1) & (n - 1);
        t[j] = table[i];
    }
    free(table);
    table = t;
    table_mask = n - 1;
}

/* The word's new count. */
static int64_t count_word(const char *w, uint32_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (uint32_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)w[i]) * 0x100000001b3ULL;
    size_t i = h & table_mask;
    for (;;) {
        slot *s = &table[i];
        if (!s->len)
            break;
        if (s->hash == h && s->len == len && memcmp(arena + s->off, w, len) == 0)
            return ++s->count;
        i = (i + 1) & table_mask;
    }
    if (arena_len + len > arena_cap) {
        arena_cap = (arena_cap + len) * 2;
        arena = xrealloc(arena, arena_cap);
    }
    memcpy(arena + arena_len, w, len);
    table[i] = (slot){h, (uint32_t)arena_len, len, 1};
    arena_len += len;
    if (++table_used * 2 > table_mask + 1)
        grow();
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "Usage: wordcount_ref INPUT OUTPUT\n");
        return 1;
    }
    int fd = open(argv[1], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        fprintf(stderr, "wordcount_ref: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    const unsigned char *p = NULL, *end;
    if (st.st_size > 0) {
        p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            fprintf(stderr, "wordcount_ref: mmap %s: %s\n", argv[1], strerror(errno));
            return 1;
        }
        madvise((void *)p, (size_t)st.st_size, MADV_SEQUENTIAL);
    }
    end = p + st.st_size;
    FILE *out = fopen(argv[2], "w");
    if (!out) {
        fprintf(stderr, "wordcount_ref: %s: %s\n", argv[2], strerror(errno));
        return 1;
    }
    setvbuf(out, NULL, _IOFBF, 1 << 20);
    table_mask = (1 << 16) - 1;
    table = calloc(table_mask + 1, sizeof *table);

    char word[MAX_WORD + 24];
    int64_t words = 0;
    while (p < end) {
        while (p < end && !is_word[*p])
            p++;
        uint32_t n = 0;
        while (p < end && is_word[*p]) {
            if (n < MAX_WORD)
                word[n++] = (char)(*p | 0x20);
            p++;
        }
        if (!n)
            continue;
        words++;
        int64_t c = count_word(word, n);
        char num[24], *d = num + sizeof num;
        *--d = '\n';
        do
            *--d = (char)('0' + c % 10);
        while (c /= 10);
        *--d = ',';
        size_t k = (size_t)(num + sizeof num - d);
        memcpy(word + n, d, k);
        fwrite(word, 1, n + k, out);
    }
    if (fclose(out) != 0) {
        fprintf(stderr, "wordcount_ref: %s: %s\n", argv[2], strerror(errno));
        return 1;
    }
    fprintf(stderr, "words=%lld distinct=%zu\n", (long long)words, table_used);
    return 0;
}
