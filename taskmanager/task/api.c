/* api.c -- the runtime's half of the bundle API, installed in common/api (runtime.h):
 * the tables the operator chain fills (context, time, state) and the window operator's
 * trigger context, composed here, at the top, where both are known. Once per process,
 * from the first fl_task_new (the TaskExecutor's thread, before any task thread starts)
 * or from a test harness.
 */
#include "common/api/connectors.h"
#include "op_host.h"
#include "taskmanager/operators/operators.h"
#include "taskmanager/operators/window/window_trigger.h"

#include <pthread.h>

static const fl_api_runtime task_runtime = {
    .ctx = &fl_chain_ctx_api,
    .time = &fl_chain_time_api,
    .state = &fl_chain_state_api,
    .trigger = &fl_window_trigger_api,
};

static void install(void)
{
    fl_api_install(&task_runtime);
    fl_api_install_conn(&fl_connector_api);
}

void fl_task_install_api(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, install);
}
