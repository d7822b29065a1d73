/* fuzz_state.c -- libFuzzer target: a hashmap state backend's checkpoint file as a restore
 * reads it (taskmanager/state/hashmap_backend.c): the input is the file, named by a handle
 * as a _metadata names it, and restored into a backend of all key groups. A damaged file is
 * an error; a crash, leak or read out of bounds is a bug. */
#include "common/log.h"
#include "common/util.h"
#include "proto/checkpoint.pb-c.h"
#include "taskmanager/state/keyed.h"

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
    static uint8_t *handle;
    static size_t hlen;
    if (!dir[0]) {
        fl_log_init(FL_LOG_OFF);
        snprintf(dir, sizeof dir, "/tmp/flint-fuzz-state-%d", (int)getpid());
        mkdir(dir, 0700);
        atexit(remove_dir); /* libFuzzer ends a timed run with exit() */
        Fl__Pb__StateFile f = FL__PB__STATE_FILE__INIT, *fp = &f;
        f.path = "v1-s0-op0.keyed";
        Fl__Pb__KeyedStateHandle h = FL__PB__KEYED_STATE_HANDLE__INIT;
        h.backend = "hashmap";
        h.kg_first = 0;
        h.kg_last = 127;
        h.n_files = 1;
        h.files = &fp;
        hlen = fl__pb__keyed_state_handle__get_packed_size(&h);
        handle = malloc(hlen);
        fl__pb__keyed_state_handle__pack(&h, handle);
    }
    char path[128];
    snprintf(path, sizeof path, "%s/v1-s0-op0.keyed", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return 0;
    ssize_t w = write(fd, data, size);
    (void)w;
    close(fd);
    fl_kbackend *kb = fl_kbackend_hashmap_new(128, 0, 127);
    const uint8_t *hs[1] = {handle};
    size_t ls[1] = {hlen};
    fl_err err;
    (void)kb->ops->restore(kb, dir, hs, ls, 1, &err);
    fl_kbackend_free(kb);
    return 0;
}
