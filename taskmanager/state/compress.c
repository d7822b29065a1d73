/* compress.c -- LZ4 frames for snapshot sections (see compress.h). */
#include "compress.h"

#include <string.h>

#include <lz4frame.h>

static LZ4F_preferences_t prefs(size_t n)
{
    LZ4F_preferences_t p;
    memset(&p, 0, sizeof p);
    p.frameInfo.blockSizeID = LZ4F_max4MB;
    p.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
    p.frameInfo.contentSize = n;
    p.compressionLevel = 0; /* the fast default */
    return p;
}

size_t fl_lz4_bound(size_t n)
{
    LZ4F_preferences_t p = prefs(n);
    return LZ4F_compressFrameBound(n, &p);
}

size_t fl_lz4_pack(const void *src, size_t n, void *dst, size_t cap, fl_err *err)
{
    LZ4F_preferences_t p = prefs(n);
    size_t r = LZ4F_compressFrame(dst, cap, src, n, &p);
    if (LZ4F_isError(r)) {
        fl_err_set(err, "LZ4 compression of %zu bytes failed: %s", n, LZ4F_getErrorName(r));
        return 0;
    }
    return r;
}

int fl_lz4_unpack(const void *src, size_t n, void *dst, size_t raw, fl_err *err)
{
    LZ4F_dctx *d;
    if (n == 0 && raw == 0)
        return 0;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION))) {
        fl_err_set(err, "cannot create an LZ4 decompression context");
        return -1;
    }
    const char *in = src;
    char *out = dst;
    size_t in_left = n, out_left = raw, r = 1;
    int rc = -1;
    while (in_left > 0 && r != 0) {
        size_t in_n = in_left, out_n = out_left;
        r = LZ4F_decompress(d, out, &out_n, in, &in_n, NULL);
        if (LZ4F_isError(r)) {
            fl_err_set(err, "damaged compressed section: %s", LZ4F_getErrorName(r));
            goto out;
        }
        if (in_n == 0 && out_n == 0) {
            /* no progress: the output is full and the frame wants more room */
            fl_err_set(err, "compressed section holds more than its %zu bytes", raw);
            goto out;
        }
        in += in_n;
        in_left -= in_n;
        out += out_n;
        out_left -= out_n;
    }
    if (r != 0 || in_left != 0 || out_left != 0) {
        fl_err_set(err, "compressed section is truncated or of another size (%zu of %zu bytes)",
                   raw - out_left, raw);
        goto out;
    }
    rc = 0;
out:
    LZ4F_freeDecompressionContext(d);
    return rc;
}
