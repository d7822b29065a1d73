/* window_trigger.h -- the trigger context of flint/window.h (fl_trigger_register_*,
 * fl_trigger_state_*, ...) as the window operator implements it: a table the task installs
 * in common/api (runtime.h). The triggers themselves are window_trigger.c's, called by
 * the window operator through internal.h. Task thread only.
 */
#ifndef FL_WINDOW_TRIGGER_H
#define FL_WINDOW_TRIGGER_H

#include "common/api/runtime.h"

extern const fl_api_trigger_ops fl_window_trigger_api;

#endif
