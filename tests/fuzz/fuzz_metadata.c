/* fuzz_metadata.c -- libFuzzer target: a checkpoint's _metadata file as the JobManager reads
 * it at a restore (magic, version, CRC, the protobuf, the state handles' paths). The input is
 * the file as it is when its first byte is even; when odd, the rest is the protobuf and the
 * target writes a valid header and checksum around it, so that mutations reach the decoder
 * and the handle checks behind the CRC. Refusals are fine; crashes, leaks and reads out of
 * bounds are not. */
#include "common/log.h"
#include "common/util.h"
#include "jobmanager/checkpoint_coordinator.h"
#include "jobmanager/checkpoint_internal.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static void remove_dir(void)
{
    fl_remove_tree(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        fl_log_init(FL_LOG_OFF);
        snprintf(dir, sizeof dir, "/tmp/flint-fuzz-metadata-%d", (int)getpid());
        mkdir(dir, 0700);
        atexit(remove_dir); /* libFuzzer ends a timed run with exit() */
    }
    char path[128];
    snprintf(path, sizeof path, "%s/_metadata", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return 0;
    ssize_t w;
    if (size > 0 && (data[0] & 1)) {
        uint8_t hdr[META_HDR] = {0};
        memcpy(hdr, META_MAGIC, 4);
        uint16_t version = META_VERSION;
        memcpy(hdr + 4, &version, 2);
        uint32_t crc = fl_crc32(data + 1, size - 1);
        memcpy(hdr + 8, &crc, 4);
        w = write(fd, hdr, sizeof hdr);
        w = write(fd, data + 1, size - 1);
    } else {
        w = write(fd, data, size);
    }
    (void)w;
    close(fd);
    fl_err err;
    Fl__Pb__CheckpointMetadata *m = fl_cc_load_metadata(dir, &err);
    if (m)
        fl__pb__checkpoint_metadata__free_unpacked(m, NULL);
    return 0;
}
