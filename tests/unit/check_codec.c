/* check_codec.c -- unit tests of include/flint/codec.h, the bundle authors' helpers: text
 * numbers that must fill their field exactly (signs, overflow at both ends, junk), format
 * lengths, integer flags, and the binary record codec (round trips; a short, damaged or
 * overfull record is refused, never read or written past its end). Expected values are
 * literals and strtoll/strtod computations, not the code under test.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <flint/codec.h>

#include "testutil.h"

static int parse(const char *s, int64_t *v)
{
    return fl_parse_i64(s, strlen(s), v);
}

START_TEST(test_parse_i64_exact_fields)
{
    const char *good[] = {"0", "7", "-7", "1700000000000", "9223372036854775807",
                          "-9223372036854775808", "000123"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        int64_t v = 0;
        ck_assert_msg(parse(good[i], &v) == 0, "'%s' refused", good[i]);
        errno = 0;
        ck_assert_int_eq(v, strtoll(good[i], NULL, 10));
        ck_assert_int_eq(errno, 0);
    }
    const char *bad[] = {"", "-", "+1", " 1", "1 ", "1a", "9223372036854775808",
                         "-9223372036854775809", "99999999999999999999", "1.5", "--1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int64_t v = 42;
        ck_assert_msg(parse(bad[i], &v) < 0, "'%s' accepted", bad[i]);
        ck_assert_int_eq(v, 42); /* untouched */
    }
    int64_t v;
    ck_assert_int_eq(fl_parse_i64("12,34", 2, &v), 0); /* a field of a line */
    ck_assert_int_eq(v, 12);
}
END_TEST

START_TEST(test_parse_f64_exact_fields)
{
    double v = 0;
    ck_assert_int_eq(fl_parse_f64("21.5,x", 4, &v), 0);
    ck_assert(v == strtod("21.5", NULL));
    ck_assert_int_eq(fl_parse_f64("-0.25", 5, &v), 0);
    ck_assert(v == -0.25);
    ck_assert_int_lt(fl_parse_f64("", 0, &v), 0);
    ck_assert_int_lt(fl_parse_f64("1.5x", 4, &v), 0);
    ck_assert_int_lt(fl_parse_f64("abc", 3, &v), 0);
    char big[100];
    memset(big, '1', sizeof big);
    ck_assert_int_lt(fl_parse_f64(big, sizeof big, &v), 0); /* longer than a number */
}
END_TEST

START_TEST(test_fmt_len_and_arg_i64)
{
    char buf[8];
    ck_assert_uint_eq(fl_fmt_len(snprintf(buf, sizeof buf, "%d", 123), sizeof buf), 3);
    const char *ten = getenv("FLINT_NO_SUCH_VARIABLE") ? "" : "0123456789";
    ck_assert_uint_eq(fl_fmt_len(snprintf(buf, sizeof buf, "%s", ten), sizeof buf), 7);
    ck_assert_uint_eq(fl_fmt_len(-1, sizeof buf), 0);
    ck_assert_uint_eq(fl_fmt_len(5, 0), 0);

    char *argv[] = {"bundle.so", "--size", "60", "--n", "x", "--min", "-5"};
    int argc = 7;
    int64_t v;
    ck_assert_int_eq(fl_arg_i64(argc, argv, "t", "size", 1, 1, &v), 0);
    ck_assert_int_eq(v, 60);
    ck_assert_int_eq(fl_arg_i64(argc, argv, "t", "absent", 9, 1, &v), 0);
    ck_assert_int_eq(v, 9);
    ck_assert_int_lt(fl_arg_i64(argc, argv, "t", "n", 3, 1, &v), 0);   /* not a number */
    ck_assert_int_lt(fl_arg_i64(argc, argv, "t", "min", 3, 0, &v), 0); /* below min */
}
END_TEST

START_TEST(test_record_round_trip)
{
    uint8_t buf[64];
    fl_enc e = fl_enc_init(buf, sizeof buf);
    fl_enc_i64(&e, -12345);
    fl_enc_str(&e, "./prod?id=7", 11);
    fl_enc_f64(&e, 36.6);
    fl_enc_str(&e, "", 0);
    ck_assert(!e.bad);
    ck_assert_uint_eq(e.len, 8 + 4 + 11 + 8 + 4);

    fl_dec d = fl_dec_init(buf, e.len);
    uint32_t n;
    ck_assert_int_eq(fl_dec_i64(&d), -12345);
    const char *s = fl_dec_str(&d, &n);
    ck_assert_uint_eq(n, 11);
    ck_assert(!memcmp(s, "./prod?id=7", 11));
    ck_assert(fl_dec_f64(&d) == 36.6);
    s = fl_dec_str(&d, &n);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(n, 0);
    ck_assert(fl_dec_done(&d));
}
END_TEST

START_TEST(test_short_or_damaged_records_refused)
{
    uint8_t buf[32];
    fl_enc e = fl_enc_init(buf, sizeof buf);
    fl_enc_i64(&e, 1);
    fl_enc_str(&e, "abcdef", 6);
    /* every truncation of the record: the decoder turns bad, never reads past the end */
    for (uint32_t len = 0; len < e.len; len++) {
        uint8_t *copy = malloc(len ? len : 1); /* exactly len bytes: ASan sees overreads */
        memcpy(copy, buf, len);
        fl_dec d = fl_dec_init(copy, len);
        uint32_t n;
        fl_dec_i64(&d);
        const char *s = fl_dec_str(&d, &n);
        ck_assert_msg(d.bad && !s && n == 0 && !fl_dec_done(&d), "a %u-byte record read", len);
        free(copy);
    }
    /* a string length pointing past the end */
    uint32_t huge = 0xfffffff0u;
    memcpy(buf + 8, &huge, 4);
    fl_dec d = fl_dec_init(buf, e.len);
    uint32_t n;
    fl_dec_i64(&d);
    ck_assert_ptr_null(fl_dec_str(&d, &n));
    ck_assert(d.bad);
    /* trailing bytes: read fine but not done */
    fl_dec t = fl_dec_init(buf, 9);
    fl_dec_i64(&t);
    ck_assert(!t.bad && !fl_dec_done(&t));
}
END_TEST

START_TEST(test_encoder_stops_at_capacity)
{
    uint8_t buf[16];
    memset(buf, 0xee, sizeof buf);
    fl_enc e = fl_enc_init(buf, 12);
    fl_enc_i64(&e, 5);
    fl_enc_str(&e, "too long", 8); /* 4 + 8 > 4 left */
    ck_assert(e.bad);
    fl_enc_i64(&e, 6); /* nothing more once bad */
    ck_assert(e.len <= 12);
    for (int i = 12; i < 16; i++)
        ck_assert_uint_eq(buf[i], 0xee);
}
END_TEST

static Suite *codec_suite(void)
{
    Suite *s = suite_create("codec");
    TCase *tc = tcase_create("codec");
    tcase_add_test(tc, test_parse_i64_exact_fields);
    tcase_add_test(tc, test_parse_f64_exact_fields);
    tcase_add_test(tc, test_fmt_len_and_arg_i64);
    tcase_add_test(tc, test_record_round_trip);
    tcase_add_test(tc, test_short_or_damaged_records_refused);
    tcase_add_test(tc, test_encoder_stops_at_capacity);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(codec_suite());
}
