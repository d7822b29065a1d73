/* main.c -- the `flint` command line client (bin/flint runs it).
 *
 *   flint [OPTIONS] ACTION [ACTION OPTIONS] [ARGUMENTS]
 *
 * Global options may stand before or after the action: -m host:port (the JobManager's REST
 * endpoint; default rest.address:rest.port), -D key=value, -h/--help, -v/--version.
 */
#include "cli.h"
#include "log.h"
#include "util.h"
#include "version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct action {
    const char *name;
    int (*run)(fl_cli *cli);
    const char *help;
} action;

static const action actions[] = {
    {"list", fl_cli_list,
     "Action \"list\" lists running and scheduled jobs.\n"
     "  Syntax: list [OPTIONS]\n"
     "     -a,--all         Show all jobs and their state (also terminated ones).\n"
     "     -r,--running     Show only running jobs.\n"
     "     -s,--scheduled   Show only scheduled jobs.\n"},
};

static void usage(FILE *out)
{
    fprintf(out, "./flint <ACTION> [OPTIONS] [ARGUMENTS]\n\nThe following actions are available:\n\n");
    for (size_t i = 0; i < FL_ARRAY_LEN(actions); i++)
        fprintf(out, "%s\n", actions[i].help);
    fprintf(out, "Options for every action:\n"
                 "     -m,--jobmanager <host:port>   Address of the JobManager's REST endpoint.\n"
                 "     -D <property=value>           Overrides a configuration property.\n"
                 "     -h,--help                     Shows this help.\n"
                 "     -v,--version                  Shows Flint's version.\n");
}

static void valid_actions(FILE *out)
{
    fprintf(out, "Valid actions are ");
    for (size_t i = 0; i < FL_ARRAY_LEN(actions); i++)
        fprintf(out, "%s\"%s\"", i == 0 ? "" : i + 1 == FL_ARRAY_LEN(actions) ? ", or " : ", ",
                actions[i].name);
    fprintf(out, ".\n\nSpecify the version option (-v or --version) to print Flint version.\n\n"
                 "Specify the help option (-h or --help) to get help on the command.\n");
}

int main(int argc, char **argv)
{
    fl_cli cli = {0};
    fl_err err;
    const char *action_name = NULL, *jm = NULL;
    char **rest = fl_xcalloc((size_t)argc + 1, sizeof *rest);
    int nrest = 0;

    fl_log_init(FL_LOG_WARN);
    cli.conf = fl_conf_new();
    /* Global options anywhere; the first other word is the action; the rest belongs to it. */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if ((!strcmp(a, "-v") || !strcmp(a, "--version")) && !action_name) {
            printf("Version: %s\n", FL_VERSION);
            return 0;
        }
        if ((!strcmp(a, "-m") || !strcmp(a, "--jobmanager")) && i + 1 < argc) {
            jm = argv[++i];
        } else if (!strcmp(a, "-D") && i + 1 < argc) {
            i++; /* applied by fl_conf_load_startup */
        } else if (!strncmp(a, "-D", 2) && a[2]) {
            /* likewise */
        } else if (!action_name) {
            action_name = a;
        } else {
            rest[nrest++] = argv[i];
        }
    }
    if (!action_name) {
        fprintf(stderr, "Please specify an action.\n");
        valid_actions(stderr);
        return 1;
    }
    const action *act = NULL;
    for (size_t i = 0; i < FL_ARRAY_LEN(actions); i++)
        if (!strcmp(actions[i].name, action_name))
            act = &actions[i];
    if (!act) {
        fprintf(stderr, "\"%s\" is not a valid action.\n\n", action_name);
        valid_actions(stderr);
        return 1;
    }
    if (fl_conf_load_startup(cli.conf, argc, argv, false, &err) < 0) {
        fprintf(stderr, "Configuration error: %s\n", err.msg);
        return 1;
    }
    if (jm) {
        if (fl_parse_host_port(jm, cli.host, sizeof cli.host, &cli.port, &err) < 0) {
            fprintf(stderr, "Invalid -m value: %s\n", err.msg);
            return 1;
        }
    } else {
        snprintf(cli.host, sizeof cli.host, "%s", fl_conf_get_str(cli.conf, "rest.address"));
        cli.port = (int)fl_conf_get_int(cli.conf, "rest.port");
    }
    cli.argc = nrest;
    cli.argv = rest;
    int rc = act->run(&cli);
    fl_conf_free(cli.conf);
    free(rest);
    return rc;
}
