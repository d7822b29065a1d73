/* bundle.c -- see bundle.h. */
#include "bundle.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fl_bundle_open(fl_bundle *b, const char *path, bool need_main, fl_err *err)
{
    struct stat st;
    unsigned char magic[4] = {0};
    memset(b, 0, sizeof *b);
    if (stat(path, &st) < 0) {
        fl_err_set(err, "Bundle file '%s' does not exist (%s).", path, strerror(errno));
        return -1;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (!S_ISREG(st.st_mode) || fd < 0 || read(fd, magic, 4) != 4 ||
        memcmp(magic, "\177ELF", 4) != 0) {
        if (fd >= 0)
            close(fd);
        fl_err_set(err, "'%s' is not a job bundle: expected an ELF shared object built with "
                        "cc -shared -fPIC.",
                   path);
        return -1;
    }
    close(fd);
    /* A relative path would make dlopen search the library path instead. */
    char full[4096];
    if (path[0] != '/' && realpath(path, full))
        path = full;
    b->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!b->handle) {
        fl_err_set(err, "Cannot load bundle '%s': %s", path, dlerror());
        return -1;
    }
    b->main = (fl_main_fn)dlsym(b->handle, "flint_main");
    if (need_main && !b->main) {
        fl_err_set(err, "Bundle '%s' has no entry point: it must define int flint_main(fl_env "
                        "*env, int argc, char **argv).",
                   path);
        dlclose(b->handle);
        b->handle = NULL;
        return -1;
    }
    return 0;
}

void *fl_bundle_sym(const fl_bundle *b, const char *name)
{
    void *p = b->handle ? dlsym(b->handle, name) : NULL;
    return p ? p : dlsym(RTLD_DEFAULT, name);
}

void fl_bundle_close(fl_bundle *b)
{
    if (b->handle)
        dlclose(b->handle);
    b->handle = NULL;
}
