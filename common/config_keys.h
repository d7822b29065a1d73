/* config_keys.h -- every configuration key Flint knows, with Flink's name, type and default.
 *
 * X-macro table: FL_KEY(name, type, default, choices, doc). A key used anywhere in the code
 * must be listed here; a key in a file that is not listed draws a warning at start-up. The
 * default NULL means "unset" (the getters return their documented fallbacks). choices is
 * "a|b|c" for FL_CT_ENUM and NULL otherwise.
 */
FL_KEY("jobmanager.rpc.address", FL_CT_STRING, "localhost", NULL,
       "Host the JobManager's RPC endpoint is reached at (TaskManagers and the CLI use it).")
FL_KEY("jobmanager.rpc.port", FL_CT_INT, "6123", NULL, "The JobManager's RPC port.")
FL_KEY("jobmanager.bind-host", FL_CT_STRING, "localhost", NULL,
       "Local address the JobManager's RPC server binds to (0.0.0.0 for all interfaces).")
FL_KEY("rest.address", FL_CT_STRING, "localhost", NULL, "Host clients reach the REST server at.")
FL_KEY("rest.bind-address", FL_CT_STRING, "localhost", NULL,
       "Local address the REST server binds to.")
FL_KEY("rest.port", FL_CT_INT, "8081", NULL, "Port of the REST server and web dashboard.")
FL_KEY("taskmanager.host", FL_CT_STRING, "localhost", NULL,
       "Address other daemons use to reach this TaskManager.")
FL_KEY("taskmanager.bind-host", FL_CT_STRING, "localhost", NULL,
       "Local address the TaskManager's RPC and data servers bind to.")
FL_KEY("taskmanager.rpc.port", FL_CT_INT, "0", NULL, "TaskManager RPC port; 0 picks a free one.")
FL_KEY("taskmanager.data.port", FL_CT_INT, "0", NULL,
       "TaskManager data (shuffle) port; 0 picks a free one.")
FL_KEY("taskmanager.numberOfTaskSlots", FL_CT_INT, "1", NULL,
       "Slots each TaskManager offers; a slot runs one parallel pipeline of a job.")
FL_KEY("taskmanager.resource-id", FL_CT_STRING, NULL, NULL,
       "Fixed resource id for this TaskManager; default host:port-random.")
FL_KEY("parallelism.default", FL_CT_INT, "1", NULL,
       "Parallelism of jobs that set none (flint run -p overrides it).")
FL_KEY("heartbeat.interval", FL_CT_DURATION, "10 s", NULL,
       "How often the JobManager and TaskManagers exchange heartbeats.")
FL_KEY("heartbeat.timeout", FL_CT_DURATION, "50 s", NULL,
       "A peer not heard from for this long is considered lost.")
FL_KEY("cluster.registration.initial-timeout", FL_CT_DURATION, "100 ms", NULL,
       "First retry delay of a TaskManager (re-)registering with the JobManager.")
FL_KEY("cluster.registration.max-timeout", FL_CT_DURATION, "30 s", NULL,
       "Largest retry delay of the registration backoff.")
FL_KEY("rpc.frame.max-size", FL_CT_MEMORY, "16 mb", NULL,
       "Largest RPC frame accepted; a larger one closes the connection.")
FL_KEY("rpc.ask-timeout", FL_CT_DURATION, "10 s", NULL,
       "Deadline of an RPC request awaiting its response (Flink: akka.ask.timeout).")
FL_KEY("rpc.server.max-connections", FL_CT_INT, "1024", NULL,
       "Connections an RPC port (the JobManager's, each TaskManager's) holds at once; more are "
       "closed as soon as they are accepted.")
FL_KEY("rpc.server.handshake-timeout", FL_CT_DURATION, "10 s", NULL,
       "An accepted RPC connection must prove the cluster secret and register within this, "
       "else it is closed.")
FL_KEY("rpc.server.read-timeout", FL_CT_DURATION, "30 s", NULL,
       "A frame begun on an RPC connection must arrive whole within this, else the connection "
       "is closed.")
FL_KEY("rpc.server.handshake.max-frame-size", FL_CT_MEMORY, "64 kb", NULL,
       "Largest frame an RPC connection may send before it registered (at least 1 kb).")
FL_KEY("rpc.server.max-buffered-memory", FL_CT_MEMORY, "128 mb", NULL,
       "Memory that partial frames of all connections of an RPC port may take; a frame that "
       "would exceed it closes its connection.")
FL_KEY("security.cluster.secret-file", FL_CT_STRING, NULL, NULL,
       "A file holding the cluster secret (16 bytes to 64 KiB, e.g. head -c 32 /dev/urandom | "
       "base64). When set, every RPC and data connection between the daemons proves it "
       "(challenge and HMAC-SHA256) before anything else; unset: no proof.")
FL_KEY("web.refresh-interval", FL_CT_DURATION, "3 s", NULL, "Dashboard refresh interval.")
FL_KEY("log.level", FL_CT_ENUM, "INFO", "DEBUG|INFO|WARN|ERROR",
       "Least severe level written to the daemon logs.")
FL_KEY("taskmanager.memory.process.size", FL_CT_MEMORY, "1728m", NULL,
       "Memory budget of a TaskManager; network memory is a fraction of it.")
FL_KEY("taskmanager.memory.segment-size", FL_CT_MEMORY, "32kb", NULL,
       "Size of one network buffer (memory segment).")
FL_KEY("taskmanager.memory.network.fraction", FL_CT_DOUBLE, "0.1", NULL,
       "Share of taskmanager.memory.process.size used for network buffers.")
FL_KEY("taskmanager.memory.network.min", FL_CT_MEMORY, "64mb", NULL,
       "Lower bound of the network memory.")
FL_KEY("taskmanager.memory.network.max", FL_CT_MEMORY, "1gb", NULL,
       "Upper bound of the network memory.")
FL_KEY("taskmanager.network.numberOfBuffers", FL_CT_INT, NULL, NULL,
       "Plain number of network buffers; overrides the memory.network.* keys when set.")
FL_KEY("taskmanager.network.memory.buffers-per-channel", FL_CT_INT, "2", NULL,
       "Exclusive buffers of each remote input channel (its initial credit).")
FL_KEY("taskmanager.network.memory.floating-buffers-per-gate", FL_CT_INT, "8", NULL,
       "Floating buffers an input gate lends to the channels with the largest backlog.")
FL_KEY("taskmanager.network.request-backoff.max", FL_CT_DURATION, "10 s", NULL,
       "How long a partition request waits for its producer before failing.")
FL_KEY("taskmanager.network.server.max-connections", FL_CT_INT, "1024", NULL,
       "Connections a TaskManager's data port holds at once; more are closed as soon as they "
       "are accepted.")
FL_KEY("taskmanager.network.server.handshake-timeout", FL_CT_DURATION, "10 s", NULL,
       "An accepted data connection must prove the cluster secret and request a partition "
       "within this, else it is closed.")
FL_KEY("taskmanager.network.server.read-timeout", FL_CT_DURATION, "30 s", NULL,
       "A frame begun on a data connection must arrive whole within this, else the connection "
       "is closed.")
FL_KEY("taskmanager.network.server.max-buffered-memory", FL_CT_MEMORY, "64 mb", NULL,
       "Memory that partial frames of all data connections of a TaskManager may take (one "
       "connection's frame is at most a network buffer); more closes the connection.")
FL_KEY("execution.buffer-timeout", FL_CT_TIMEOUT, "100 ms", NULL,
       "Longest a partly filled buffer waits before it is sent; 0 sends after every record, "
       "-1 only full buffers.")
FL_KEY("high-availability", FL_CT_ENUM, "NONE", "NONE|zookeeper",
       "High-availability mode: NONE, or zookeeper (leader election through ZooKeeper).")
FL_KEY("slot.request.timeout", FL_CT_DURATION, "5 min", NULL,
       "How long a job waits for the slots it needs before it fails.")
FL_KEY("cluster.evenly-spread-out-slots", FL_CT_BOOL, "false", NULL,
       "Spread a job's slots over all TaskManagers instead of filling one after the other.")
FL_KEY("blob.storage.directory", FL_CT_STRING, NULL, NULL,
       "Where the JobManager stores submitted bundles and TaskManagers cache them; default a "
       "directory under /tmp.")
FL_KEY("restart-strategy.type", FL_CT_ENUM, NULL, "none|off|disable|fixed-delay|fixeddelay|"
       "exponential-delay|exponentialdelay|failure-rate|failurerate",
       "How a failed job restarts: none, fixed-delay, exponential-delay or failure-rate. "
       "Default: none without checkpointing, exponential-delay with it.")
FL_KEY("restart-strategy.fixed-delay.attempts", FL_CT_INT, "1", NULL,
       "fixed-delay: restarts before the job fails.")
FL_KEY("restart-strategy.fixed-delay.delay", FL_CT_DURATION, "1 s", NULL,
       "fixed-delay: wait before each restart.")
FL_KEY("restart-strategy.exponential-delay.initial-backoff", FL_CT_DURATION, "1 s", NULL,
       "exponential-delay: first wait.")
FL_KEY("restart-strategy.exponential-delay.max-backoff", FL_CT_DURATION, "1 min", NULL,
       "exponential-delay: longest wait.")
FL_KEY("restart-strategy.exponential-delay.backoff-multiplier", FL_CT_DOUBLE, "1.5", NULL,
       "exponential-delay: factor between waits.")
FL_KEY("restart-strategy.exponential-delay.reset-backoff-threshold", FL_CT_DURATION, "1 h",
       NULL, "exponential-delay: a job running this long without failure starts over.")
FL_KEY("restart-strategy.exponential-delay.jitter-factor", FL_CT_DOUBLE, "0.1", NULL,
       "exponential-delay: random share added to or taken from each wait.")
FL_KEY("restart-strategy.exponential-delay.attempts-before-reset-backoff", FL_CT_INT,
       "2147483647", NULL, "exponential-delay: restarts before the job fails.")
FL_KEY("restart-strategy.failure-rate.max-failures-per-interval", FL_CT_INT, "1", NULL,
       "failure-rate: failures tolerated within one interval.")
FL_KEY("restart-strategy.failure-rate.failure-rate-interval", FL_CT_DURATION, "1 min", NULL,
       "failure-rate: the interval.")
FL_KEY("restart-strategy.failure-rate.delay", FL_CT_DURATION, "1 s", NULL,
       "failure-rate: wait before each restart.")
FL_KEY("execution.checkpointing.interval", FL_CT_DURATION, NULL, NULL,
       "Checkpoint interval; checkpointing is off when unset.")
FL_KEY("metrics.report-interval", FL_CT_DURATION, "1 s", NULL,
       "How often TaskManagers report task metrics to the JobManager.")
FL_KEY("pipeline.auto-watermark-interval", FL_CT_DURATION, "200 ms", NULL,
       "How often watermarks are emitted; 0 emits one after every record (deterministic).")
FL_KEY("execution.checkpointing.mode", FL_CT_ENUM, "EXACTLY_ONCE", "EXACTLY_ONCE|AT_LEAST_ONCE",
       "EXACTLY_ONCE aligns barriers; AT_LEAST_ONCE does not (records may be seen twice).")
FL_KEY("execution.checkpointing.timeout", FL_CT_DURATION, "10 min", NULL,
       "A checkpoint not complete after this long is aborted.")
FL_KEY("execution.checkpointing.min-pause", FL_CT_DURATION, "0 ms", NULL,
       "Least time between the end of one checkpoint and the start of the next.")
FL_KEY("execution.checkpointing.max-concurrent-checkpoints", FL_CT_INT, "1", NULL,
       "Checkpoints that may be in progress at once.")
FL_KEY("execution.checkpointing.tolerable-failed-checkpoints", FL_CT_INT, "0", NULL,
       "Failed checkpoints in a row tolerated before the job fails over.")
FL_KEY("execution.checkpointing.unaligned.enabled", FL_CT_BOOL, "false", NULL,
       "Unaligned checkpoints: barriers overtake in-flight data, which is stored with them.")
FL_KEY("execution.checkpointing.aligned-checkpoint-timeout", FL_CT_DURATION, "0 ms", NULL,
       "With unaligned checkpoints: start aligned, switch to unaligned after this long.")
FL_KEY("state.backend.type", FL_CT_ENUM, "hashmap", "hashmap|rocksdb",
       "Where keyed state lives: hashmap (in memory) or rocksdb (on local disk).")
FL_KEY("state.backend.incremental", FL_CT_BOOL, "false", NULL,
       "rocksdb: upload only new SST files at each checkpoint.")
FL_KEY("state.checkpoints.dir", FL_CT_STRING, NULL, NULL,
       "Checkpoint storage: a directory or file:// URI (chk-N/, shared/, taskowned/ per job).")
FL_KEY("state.checkpoints.num-retained", FL_CT_INT, "1", NULL,
       "Completed checkpoints kept; older ones are deleted.")
FL_KEY("state.savepoints.dir", FL_CT_STRING, NULL, NULL,
       "Default directory of savepoints.")
FL_KEY("io.tmp.dirs", FL_CT_STRING, "/tmp", NULL,
       "Local working directory of TaskManagers (RocksDB instances live here).")
