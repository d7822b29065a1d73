/* ha_file.c -- the payload files of the HA stores in high-availability.storageDir: a 12-byte
 * header (magic, u16 version, u16 flags, CRC32 of the rest) and one packed protobuf message
 * (proto/ha.proto), written so that a reader sees the whole file or none (write to a
 * temporary file of this writer's own, fsync, rename, fsync the directory). Called on the
 * "ha" thread and, for submissions, on the Dispatcher's.
 */
#include "common/util.h"
#include "ha_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FILE_VERSION 1
#define FILE_HDR 12

int fl_ha_write_atomic(const char *path, const void *data, size_t len, fl_err *err)
{
    char tmp[1300], rnd[9], dir[1200];
    fl_random_hex(rnd, 4);
    snprintf(tmp, sizeof tmp, "%s.tmp-%d-%s", path, (int)getpid(), rnd);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        fl_err_set(err, "cannot create %s: %s", tmp, strerror(errno));
        return -1;
    }
    const uint8_t *p = data;
    size_t left = len;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            fl_err_set(err, "cannot write %s: %s", tmp, strerror(w < 0 ? errno : ENOSPC));
            goto fail_close;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) < 0) {
        fl_err_set(err, "cannot sync %s: %s", tmp, strerror(errno));
        goto fail_close;
    }
    if (close(fd) < 0) {
        fl_err_set(err, "cannot close %s: %s", tmp, strerror(errno));
        goto fail_unlink;
    }
    if (rename(tmp, path) < 0) {
        fl_err_set(err, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        goto fail_unlink;
    }
    snprintf(dir, sizeof dir, "%s", path);
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) < 0) {
        fl_err_set(err, "cannot sync the directory of %s: %s", path, strerror(errno));
        if (dfd >= 0)
            close(dfd);
        return -1;
    }
    close(dfd);
    return 0;
fail_close:
    close(fd);
fail_unlink:
    unlink(tmp);
    return -1;
}

int fl_ha_file_write(const char *path, const char *magic, const ProtobufCMessage *m,
                     fl_err *err)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = fl_xmalloc(FILE_HDR + n);
    uint16_t version = FILE_VERSION, flags = 0;
    memcpy(buf, magic, 4);
    memcpy(buf + 4, &version, 2);
    memcpy(buf + 6, &flags, 2);
    protobuf_c_message_pack(m, buf + FILE_HDR);
    uint32_t crc = fl_crc32(buf + FILE_HDR, n);
    memcpy(buf + 8, &crc, 4);
    int rc = fl_ha_write_atomic(path, buf, FILE_HDR + n, err);
    free(buf);
    return rc;
}

ProtobufCMessage *fl_ha_file_read(const char *path, const char *magic,
                                  const ProtobufCMessageDescriptor *desc, fl_err *err)
{
    char *data;
    size_t len;
    if (fl_read_file(path, &data, &len, err) < 0)
        return NULL;
    ProtobufCMessage *m = NULL;
    uint16_t version;
    uint32_t crc;
    if (len < FILE_HDR) {
        fl_err_set(err, "%s is truncated (%zu bytes)", path, len);
    } else if (memcmp(data, magic, 4) != 0) {
        fl_err_set(err, "%s is not a Flint %s file (bad magic number)", path,
                   !strcmp(magic, MAGIC_JOBGRAPH) ? "job graph" : "job result");
    } else if (memcpy(&version, data + 4, 2), version != FILE_VERSION) {
        fl_err_set(err, "%s has version %u; this Flint reads version %u", path, version,
                   FILE_VERSION);
    } else if (memcpy(&crc, data + 8, 4), crc != fl_crc32(data + FILE_HDR, len - FILE_HDR)) {
        fl_err_set(err, "%s is damaged (checksum mismatch: truncated or altered)", path);
    } else if (!(m = protobuf_c_message_unpack(desc, NULL, len - FILE_HDR,
                                               (uint8_t *)data + FILE_HDR))) {
        fl_err_set(err, "%s does not decode", path);
    }
    free(data);
    return m;
}

bool fl_ha_is_job_id(const char *s)
{
    return strlen(s) == 32 && strspn(s, "0123456789abcdef") == 32;
}
