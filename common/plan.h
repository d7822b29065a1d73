/* plan.h -- names of JobGraph enums and the JSON plan of a JobGraph (Flink's JSON plan:
 * vertices with their chained operators, inputs with ship strategies), shown by
 * `flint info` and in GET /jobs/:id. */
#ifndef FL_PLAN_H
#define FL_PLAN_H

#include <jansson.h>

#include "jobgraph.pb-c.h"

json_t *fl_plan_json(const Fl__Pb__JobGraph *g);
const char *fl_partitioner_name(int partitioner);
const char *fl_op_kind_name(int kind);

#endif
