/* ha_file.c -- the payload files of the HA stores in high-availability.storageDir: a 12-byte
 * header (magic, u16 version, u16 flags, CRC32 of the rest) and one packed protobuf message
 * (proto/ha.proto), written through the file-system layer (common/fs.h: a local directory
 * or S3) so that a reader sees the whole file or none (local: a temporary file of this
 * writer's own, fsync, rename, fsync of the directory; S3: one PUT). Called on the "ha"
 * thread and, for submissions, on the Dispatcher's.
 */
#include "common/fs.h"
#include "common/util.h"
#include "ha_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILE_VERSION 1
#define FILE_HDR 12

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
    int rc = fl_fs_put(path, buf, FILE_HDR + n, err);
    free(buf);
    return rc;
}

ProtobufCMessage *fl_ha_file_read(const char *path, const char *magic,
                                  const ProtobufCMessageDescriptor *desc, fl_err *err)
{
    char *data;
    size_t len;
    if (fl_fs_get(path, &data, &len, err) < 0)
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
