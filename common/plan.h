/* plan.h -- names of JobGraph enums and the JSON plan of a JobGraph (Flink's JSON plan:
 * vertices with their chained operators, inputs with ship strategies), shown by
 * `flint info` and in GET /jobs/:id. */
#ifndef FL_PLAN_H
#define FL_PLAN_H

#include <jansson.h>

#include "proto/jobgraph.pb-c.h"

json_t *fl_plan_json(const Fl__Pb__JobGraph *g);
const char *fl_partitioner_name(Fl__Pb__Partitioner partitioner);
const char *fl_op_kind_name(Fl__Pb__OpKind kind);

/* WindowSpec.trigger and WindowSpec.function (jobgraph.proto): written by the graph
 * builder (common/api), read by the window operator. */
enum fl_window_trigger_kind {
    FL_WINDOW_TRIGGER_TIME = 0, /* the assigner's: event or processing time, none for global */
    FL_WINDOW_TRIGGER_COUNT = 1,
    FL_WINDOW_TRIGGER_CUSTOM = 2,
};
enum fl_window_function_kind {
    FL_WINDOW_REDUCE = 1,
    FL_WINDOW_AGGREGATE = 2,
    FL_WINDOW_PROCESS = 3,
};

#endif
