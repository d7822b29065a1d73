/* args.c -- the bundle API's command-line helper (flint.h's fl_arg, in the style of Flink's
 * ParameterTool): a job's arguments are read by flint_main in the client, and by codec.h's
 * fl_arg_i64 wherever a bundle calls it. No state; any thread.
 */
#include <flint/flint.h>

#include <string.h>

const char *fl_arg(int argc, char **argv, const char *name, const char *dflt)
{
    for (int i = 1; i + 1 < argc; i++)
        if (argv[i][0] == '-' && argv[i][1] == '-' && strcmp(argv[i] + 2, name) == 0)
            return argv[i + 1];
    return dflt;
}

bool fl_arg_has(int argc, char **argv, const char *name)
{
    for (int i = 1; i < argc; i++)
        if (argv[i][0] == '-' && argv[i][1] == '-' && strcmp(argv[i] + 2, name) == 0)
            return true;
    return false;
}
