/* plan.c -- see plan.h. */
#include "plan.h"

const char *fl_partitioner_name(Fl__Pb__Partitioner partitioner)
{
    static const char *names[] = {"FORWARD", "HASH",      "REBALANCE", "RESCALE",
                                  "SHUFFLE", "BROADCAST", "GLOBAL",    "CUSTOM"};
    int p = (int)partitioner;
    return p >= 0 && p < 8 ? names[p] : "?";
}

const char *fl_op_kind_name(Fl__Pb__OpKind kind)
{
    switch (kind) {
    case FL__PB__OP_KIND__SRC_ELEMENTS: return "source-elements";
    case FL__PB__OP_KIND__SRC_TEXT_FILE: return "source-text-file";
    case FL__PB__OP_KIND__SRC_SOCKET: return "source-socket";
    case FL__PB__OP_KIND__SRC_SEQUENCE: return "source-sequence";
    case FL__PB__OP_KIND__SRC_CUSTOM: return "source-custom";
    case FL__PB__OP_KIND__OP_MAP: return "map";
    case FL__PB__OP_KIND__OP_FLAT_MAP: return "flat-map";
    case FL__PB__OP_KIND__OP_FILTER: return "filter";
    case FL__PB__OP_KIND__OP_PROCESS: return "process";
    case FL__PB__OP_KIND__OP_REDUCE: return "reduce";
    case FL__PB__OP_KIND__OP_SUM: return "sum";
    case FL__PB__OP_KIND__OP_MIN: return "min";
    case FL__PB__OP_KIND__OP_MAX: return "max";
    case FL__PB__OP_KIND__OP_MIN_BY: return "min-by";
    case FL__PB__OP_KIND__OP_MAX_BY: return "max-by";
    case FL__PB__OP_KIND__SINK_PRINT: return "sink-print";
    case FL__PB__OP_KIND__SINK_FILE: return "sink-file";
    case FL__PB__OP_KIND__SINK_DISCARD: return "sink-discard";
    case FL__PB__OP_KIND__SINK_CUSTOM: return "sink-custom";
    case FL__PB__OP_KIND__OP_ASSIGN_WATERMARKS: return "timestamps-watermarks";
    case FL__PB__OP_KIND__OP_WINDOW: return "window";
    case FL__PB__OP_KIND__OP_CO_MAP: return "co-map";
    case FL__PB__OP_KIND__OP_CO_FLAT_MAP: return "co-flat-map";
    case FL__PB__OP_KIND__OP_CO_PROCESS: return "co-process";
    case FL__PB__OP_KIND__OP_BROADCAST_PROCESS: return "broadcast-process";
    case FL__PB__OP_KIND__OP_INTERVAL_JOIN: return "interval-join";
    case FL__PB__OP_KIND__SRC_CONNECTOR: return "source-connector";
    case FL__PB__OP_KIND__SINK_CONNECTOR: return "sink-connector";
    default: break;
    }
    return "?";
}

json_t *fl_plan_json(const Fl__Pb__JobGraph *g)
{
    json_t *nodes = json_array();
    for (size_t v = 0; v < g->n_vertices; v++) {
        const Fl__Pb__JobVertex *jv = g->vertices[v];
        json_t *ops = json_array(), *inputs = json_array();
        for (size_t k = 0; k < jv->n_chain; k++)
            json_array_append_new(ops, json_pack("{s:i, s:s, s:s, s:s}", "id",
                                                 jv->chain[k]->node_id, "name",
                                                 jv->chain[k]->name, "kind",
                                                 fl_op_kind_name(jv->chain[k]->kind), "uid",
                                                 jv->chain[k]->uid));
        for (size_t k = 0; k < jv->n_inputs; k++) {
            const Fl__Pb__VertexInput *in = jv->inputs[k];
            const Fl__Pb__VertexOutput *o =
                g->vertices[in->source_vertex]->outputs[in->source_output];
            json_array_append_new(inputs, json_pack("{s:i, s:i, s:s, s:s}", "num", (int)k, "id",
                                                    in->source_vertex, "ship_strategy",
                                                    fl_partitioner_name(o->partitioner),
                                                    "exchange", "pipelined_bounded"));
        }
        json_t *node = json_pack("{s:i, s:i, s:s, s:o}", "id", jv->id, "parallelism",
                                 jv->parallelism, "description", jv->name, "operators", ops);
        if (jv->n_inputs)
            json_object_set_new(node, "inputs", inputs);
        else
            json_decref(inputs);
        json_array_append_new(nodes, node);
    }
    return json_pack("{s:s, s:s, s:s, s:o}", "jid", g->job_id, "name", g->name, "type",
                     "STREAMING", "nodes", nodes);
}
