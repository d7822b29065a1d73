/* cli_list.c -- `flint list [-r] [-s] [-a]`, in Flink's output format. */
#include "cli.h"
#include "common/util.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static void print_job(json_t *j)
{
    char when[64] = "";
    json_int_t start = json_integer_value(json_object_get(j, "start-time"));
    time_t secs = (time_t)(start / 1000);
    struct tm tm;
    localtime_r(&secs, &tm);
    strftime(when, sizeof when, "%d.%m.%Y %H:%M:%S", &tm);
    printf("%s : %s : %s (%s)\n", when, json_string_value(json_object_get(j, "jid")),
           json_string_value(json_object_get(j, "name")),
           json_string_value(json_object_get(j, "state")));
}

static bool state_in(const char *state, const char *const *set)
{
    for (; *set; set++)
        if (strcmp(state, *set) == 0)
            return true;
    return false;
}

static const char *const running_states[] = {"RUNNING", "RESTARTING", "FAILING", "CANCELLING",
                                             NULL};
static const char *const scheduled_states[] = {"CREATED", "INITIALIZING", NULL};
static const char *const terminated_states[] = {"FINISHED", "CANCELED", "FAILED", NULL};

static int print_section(json_t *jobs, const char *const *states, const char *title,
                         const char *none)
{
    size_t i, n = 0;
    json_t *j;
    json_array_foreach(jobs, i, j) if (state_in(json_string_value(json_object_get(j, "state")), states)) n++;
    if (n == 0) {
        if (none)
            printf("%s\n", none);
        return 0;
    }
    printf("%s\n", title);
    json_array_foreach(jobs, i, j) if (state_in(json_string_value(json_object_get(j, "state")), states)) print_job(j);
    printf("--------------------------------------------------------------\n");
    return 0;
}

int fl_cli_list(fl_cli *cli)
{
    bool running = false, scheduled = false, all = false;
    for (int i = 0; i < cli->argc; i++) {
        if (!strcmp(cli->argv[i], "-r") || !strcmp(cli->argv[i], "--running"))
            running = true;
        else if (!strcmp(cli->argv[i], "-s") || !strcmp(cli->argv[i], "--scheduled"))
            scheduled = true;
        else if (!strcmp(cli->argv[i], "-a") || !strcmp(cli->argv[i], "--all"))
            all = true;
        else {
            fprintf(stderr, "Unrecognized option for list: %s\n\n%s", cli->argv[i],
                    cli->usage ? cli->usage : "");
            return 1;
        }
    }
    if (!running && !scheduled && !all)
        running = scheduled = true;
    if (all)
        running = scheduled = true;

    printf("Waiting for response...\n");
    int status;
    json_t *body = fl_cli_rest(cli, "GET", "/jobs/overview", NULL, NULL, 0, &status);
    if (!body)
        return 1;
    if (status != 200) {
        fprintf(stderr, "Could not list jobs: %s\n", fl_cli_rest_error(body));
        json_decref(body);
        return 1;
    }
    json_t *jobs = json_object_get(body, "jobs");
    if (running)
        print_section(jobs, running_states,
                      "------------------ Running/Restarting Jobs -------------------",
                      "No running jobs.");
    if (scheduled)
        print_section(jobs, scheduled_states,
                      "----------------------- Scheduled Jobs -----------------------",
                      "No scheduled jobs.");
    if (all)
        print_section(jobs, terminated_states,
                      "---------------------- Terminated Jobs -----------------------", NULL);
    json_decref(body);
    return 0;
}
