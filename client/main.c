/* main.c -- the `flint` command line client (bin/flint runs it).
 *
 *   flint [OPTIONS] ACTION [ACTION OPTIONS] [ARGUMENTS]
 *
 * Global options may stand before or after the action: -m host:port (the JobManager's REST
 * endpoint; default rest.address:rest.port, or with high availability the leader that
 * ZooKeeper names), -D key=value, -h/--help, -v/--version.
 */
#include "cli.h"
#include "common/log.h"
#include "common/tls.h"
#include "common/util.h"
#include "common/version.h"
#include "common/zk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct action {
    const char *name;
    int (*run)(fl_cli *cli);
    const char *help;
} action;

static const action actions[] = {
    {"run", fl_cli_run,
     "Action \"run\" compiles and runs a program.\n"
     "  Syntax: run [OPTIONS] <bundle.so> <arguments>\n"
     "     -d,--detached           Submit and return without waiting for the result.\n"
     "     -s,--fromSavepoint <p>  Start from the savepoint (or retained checkpoint) at p.\n"
     "     -n,--allowNonRestoredState  Skip savepoint state of operators the job lacks.\n"
     "     -c,--class <symbol>     The program's entry point: a function of the bundle\n"
     "                             other than flint_main, with its signature.\n"
     "     -sae,--shutdownOnAttachedExit  Attached: cancel the job when the client is\n"
     "                             stopped (Ctrl-C, SIGTERM).\n"
     "     -p,--parallelism <n>    Parallelism of the job's operators (overrides\n"
     "                             parallelism.default).\n"},
    {"info", fl_cli_info,
     "Action \"info\" shows the optimized execution plan of the program (JSON).\n"
     "  Syntax: info [OPTIONS] <bundle.so> <arguments>\n"
     "     -c,--class <symbol>     The program's entry point (default flint_main).\n"
     "     -p,--parallelism <n>    Parallelism to plan with.\n"},
    {"list", fl_cli_list,
     "Action \"list\" lists running and scheduled jobs.\n"
     "  Syntax: list [OPTIONS]\n"
     "     -a,--all         Show all jobs and their state (also terminated ones).\n"
     "     -r,--running     Show only running jobs.\n"
     "     -s,--scheduled   Show only scheduled jobs.\n"},
    {"cancel", fl_cli_cancel,
     "Action \"cancel\" cancels a running job.\n"
     "  Syntax: cancel <Job ID>\n"},
    {"rescale", fl_cli_rescale,
     "Action \"rescale\" changes the parallelism of a running job (every operator): it\n"
     "restarts from its latest completed checkpoint at the new parallelism.\n"
     "  Syntax: rescale <Job ID> <parallelism>\n"},
    {"savepoint", fl_cli_savepoint,
     "Action \"savepoint\" triggers savepoints for a running job.\n"
     "  Syntax: savepoint [OPTIONS] <Job ID> [<target directory>]\n"
     "     -d,--dispose <path>     Disposes of the savepoint at path (refuses a path\n"
     "                             that is not a savepoint).\n"},
    {"sign", fl_cli_sign,
     "Action \"sign\" signs a bundle for a cluster with security.bundles.trusted-keys.\n"
     "  Syntax: sign [--key <private key>] <bundle.so>\n"
     "     -k,--key <file>   Ed25519 private key (PEM); default security.bundles.signing-key.\n"
     "                       Writes <bundle.so>.sig, which run sends with the bundle.\n"},
    {"stop", fl_cli_stop,
     "Action \"stop\" stops a running job with a savepoint.\n"
     "  Syntax: stop [OPTIONS] <Job ID>\n"
     "     -p,--savepointPath <dir>  Where the savepoint goes (default\n"
     "                               state.savepoints.dir).\n"
     "     -d,--drain                MAX_WATERMARK first: every event-time window and\n"
     "                               timer fires before the savepoint (the job ends).\n"},
};

static void usage(FILE *out)
{
    fprintf(out, "./flint <ACTION> [OPTIONS] [ARGUMENTS]\n\nThe following actions are available:\n\n");
    for (size_t i = 0; i < FL_ARRAY_LEN(actions); i++)
        fprintf(out, "%s\n", actions[i].help);
    fprintf(out, "Options for every action:\n"
                 "     -m,--jobmanager <host:port>   Address of the JobManager's REST endpoint\n"
                 "                                   (default: the leader ZooKeeper names, with\n"
                 "                                   high availability).\n"
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

/* `flint getconf KEY`: the effective value of a configuration key, for the bin/ scripts
 * (so that they never parse flint-conf.yaml themselves). Not listed in the help. */
static int getconf(fl_cli *cli)
{
    if (cli->argc != 1 || !fl_conf_key_find(cli->argv[0])) {
        fprintf(stderr, "Usage: flint getconf KEY (a key of common/config_keys.h)\n");
        return 1;
    }
    const char *v = fl_conf_get_str(cli->conf, cli->argv[0]);
    /* the effective mode, whichever of its two keys says it */
    if (!strcmp(cli->argv[0], "high-availability.type"))
        v = fl_ha_enabled(cli->conf) ? "zookeeper" : "NONE";
    printf("%s\n", v ? v : "");
    return 0;
}

int main(int argc, char **argv)
{
    fl_cli cli = {0};
    fl_err err;
    const char *action_name = NULL, *jm = NULL;
    char **rest = fl_xcalloc((size_t)argc + 1, sizeof *rest);
    char **dyn = fl_xcalloc((size_t)argc + 1, sizeof *dyn);
    int nrest = 0, ndyn = 0;

    fl_log_init(FL_LOG_WARN);
    cli.conf = fl_conf_new();
    /* Global options anywhere before the bundle; the first other word is the action; for
     * run/info the first word after the action's options is the bundle, and everything
     * after it belongs to the job. */
    bool job_args = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (job_args) {
            rest[nrest++] = argv[i];
            continue;
        }
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
            dyn[ndyn++] = argv[++i]; /* also applied to the configuration below */
        } else if (!strncmp(a, "-D", 2) && a[2]) {
            dyn[ndyn++] = (char *)a + 2;
        } else if (!action_name && a[0] != '-') {
            action_name = a;
        } else if (a[0] == '-') {
            /* an action's own option, with its value when it takes one */
            static const char *with_value[] = {"-p", "--parallelism", "-s", "--fromSavepoint",
                                               "--savepointPath", "-t", "--target", "-k",
                                               "--key", "-c", "--class", "--dispose"};
            /* stop -p is --savepointPath, as in Flink; either way it takes a value */
            rest[nrest++] = argv[i];
            for (size_t k = 0; k < FL_ARRAY_LEN(with_value); k++)
                if (!strcmp(a, with_value[k]) && i + 1 < argc) {
                    rest[nrest++] = argv[++i];
                    break;
                }
        } else {
            rest[nrest++] = argv[i];
            job_args = !strcmp(action_name, "run") || !strcmp(action_name, "info");
        }
    }
    if (!action_name) {
        fprintf(stderr, "Please specify an action.\n");
        valid_actions(stderr);
        return 1;
    }
    const action *act = NULL;
    static const action hidden = {"getconf", getconf, ""};
    for (size_t i = 0; i < FL_ARRAY_LEN(actions); i++)
        if (!strcmp(actions[i].name, action_name))
            act = &actions[i];
    if (!strcmp(action_name, hidden.name))
        act = &hidden;
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
    } else if (fl_ha_enabled(cli.conf) && strcmp(action_name, "info") &&
               strcmp(action_name, "getconf")) {
        cli.follow_leader = true; /* the leader, as ZooKeeper names it (found when needed) */
    } else {
        snprintf(cli.host, sizeof cli.host, "%s", fl_conf_get_str(cli.conf, "rest.address"));
        cli.port = (int)fl_conf_get_int(cli.conf, "rest.port");
    }
    cli.argc = nrest;
    cli.argv = rest;
    cli.usage = act->help;
    cli.ndyn = ndyn;
    cli.dyn = dyn;
    int rc = act->run(&cli);
    fl_tls_free(cli.tls);
    free(cli.token);
    fl_conf_free(cli.conf);
    free(rest);
    free(dyn);
    return rc;
}
