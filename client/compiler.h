/* compiler.h -- StreamGraph -> JobGraph (Flink's StreamingJobGraphGenerator), and the JSON
 * plan `flint info` prints. Client only. */
#ifndef FL_COMPILER_H
#define FL_COMPILER_H

#include <jansson.h>

#include "common/api/streamgraph.h"
#include "common/err.h"

/* Compiles env's graph. The result is the caller's (protobuf_c_message_free_unpacked). */
Fl__Pb__JobGraph *fl_compile(fl_env *env, const char *job_id, fl_err *err);

#endif
