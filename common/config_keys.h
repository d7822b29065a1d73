/* config_keys.h -- every configuration key Flint knows, with Flink's name, type, default and
 * the range of values it accepts.
 *
 * X-macro table: FL_KEY(name, type, default, choices, range, doc). A key used anywhere in the
 * code must be listed here; a key in a file that is not listed draws a warning at start-up.
 * The default NULL means "unset" (the getters return their documented fallbacks). choices is
 * "a|b|c" for FL_CT_ENUM and NULL otherwise. range is "lo..hi" (both allowed) in the key's
 * own form, the length in bytes for strings, NULL for booleans and enums (config.h): the one
 * place a bound is written, checked when a value is set (file, -D, a job's -D at
 * submission), so code reading a value can rely on it. A range says what the code can
 * carry: ports fit 16 bits, slots what the JobManager accepts (FL_MAX_TM_SLOTS), a frame size
 * its 32-bit length field and the slot report of the largest TaskManager, durations leave
 * `now + d` far from overflow.
 */
FL_KEY("jobmanager.rpc.address", FL_CT_STRING, "localhost", NULL, "1..255",
       "Host the JobManager's RPC endpoint is reached at (TaskManagers and the CLI use it).")
FL_KEY("jobmanager.rpc.port", FL_CT_INT, "6123", NULL, "1..65535", "The JobManager's RPC port.")
FL_KEY("jobmanager.bind-host", FL_CT_STRING, "localhost", NULL, "1..255",
       "Local address the JobManager's RPC server binds to (0.0.0.0 for all interfaces).")
FL_KEY("rest.address", FL_CT_STRING, "localhost", NULL, "1..255",
       "Host clients reach the REST server at.")
FL_KEY("rest.bind-address", FL_CT_STRING, "localhost", NULL, "1..255",
       "Local address the REST server binds to.")
FL_KEY("rest.port", FL_CT_INT, "8081", NULL, "1..65535",
       "Port of the REST server and web dashboard.")
FL_KEY("rest.server.max-content-length", FL_CT_MEMORY, "100 mb", NULL, "1 kb..1 gb",
       "Largest request body the REST server accepts (a job submission carries the bundle); "
       "a larger one is answered 413 as soon as its Content-Length (or its data) says so.")
FL_KEY("rest.server.max-concurrent-content-length", FL_CT_MEMORY, "256 mb", NULL,
       "1 kb..64 gb",
       "Memory all request bodies being received at once may take; a body that would exceed "
       "it is answered 413. At least rest.server.max-content-length.")
FL_KEY("rest.retry.max-attempts", FL_CT_INT, "20", NULL, "0..1000",
       "Times the CLI repeats a request that a JobManager answered 503 (it cannot answer yet: "
       "a standby that does not know the leader yet, a leadership being re-established).")
FL_KEY("rest.retry.delay", FL_CT_DURATION, "3 s", NULL, "1 ms..1 h",
       "Wait of the CLI before it repeats a request answered 503 (rest.retry.max-attempts).")
FL_KEY("web.access-control-allow-origin", FL_CT_STRING, NULL, NULL, "1..4096",
       "Origins (comma-separated, e.g. https://ops.example.com) whose web pages may call the "
       "REST API: their Origin is echoed in Access-Control-Allow-Origin. Unset: no CORS "
       "header, and a state-changing request from another origin is refused. * allows any.")
FL_KEY("jobmanager.job-name.max-length", FL_CT_INT, "1024", NULL, "16..1048576",
       "Longest job name (bytes) a submission may carry; a longer one is refused with 400.")
FL_KEY("taskmanager.host", FL_CT_STRING, NULL, NULL, "1..255",
       "Address other daemons use to reach this TaskManager; default the local address of "
       "its route to the JobManager.")
FL_KEY("taskmanager.bind-host", FL_CT_STRING, "localhost", NULL, "1..255",
       "Local address the TaskManager's RPC and data servers bind to.")
FL_KEY("taskmanager.rpc.port", FL_CT_INT, "0", NULL, "0..65535",
       "TaskManager RPC port; 0 picks a free one.")
FL_KEY("taskmanager.data.port", FL_CT_INT, "0", NULL, "0..65535",
       "TaskManager data (shuffle) port; 0 picks a free one.")
FL_KEY("taskmanager.numberOfTaskSlots", FL_CT_INT, "1", NULL, "1.." FL_STR(FL_MAX_TM_SLOTS),
       "Slots each TaskManager offers; a slot runs one parallel pipeline of a job.")
FL_KEY("taskmanager.resource-id", FL_CT_STRING, NULL, NULL, "1..127",
       "Fixed resource id for this TaskManager; default host:port-random.")
FL_KEY("env.ssh.opts", FL_CT_STRING, NULL, NULL, "1..4096",
       "Options of the ssh with which bin/start-cluster.sh and stop-cluster.sh reach the hosts "
       "of conf/masters and conf/workers (FLINT_SSH_OPTS overrides it).")
FL_KEY("env.remote-exec", FL_CT_STRING, NULL, NULL, "1..4096",
       "A command the cluster scripts use instead of ssh to run a command on a host; {host} "
       "is replaced by the host's name and the command line appended (bash -c LINE), e.g. "
       "'ip netns exec flint-{host}' (FLINT_REMOTE_EXEC overrides it).")
FL_KEY("parallelism.default", FL_CT_INT, "1", NULL, "1..32768",
       "Parallelism of jobs that set none (flint run -p overrides it).")
FL_KEY("heartbeat.interval", FL_CT_DURATION, "10 s", NULL, "1 ms..365 d",
       "How often the JobManager and TaskManagers exchange heartbeats.")
FL_KEY("heartbeat.timeout", FL_CT_DURATION, "50 s", NULL, "1 ms..365 d",
       "A peer not heard from for this long is considered lost.")
FL_KEY("cluster.registration.initial-timeout", FL_CT_DURATION, "100 ms", NULL, "1 ms..1 d",
       "First retry delay of a TaskManager (re-)registering with the JobManager.")
FL_KEY("cluster.registration.max-timeout", FL_CT_DURATION, "30 s", NULL, "1 ms..365 d",
       "Largest retry delay of the registration backoff.")
FL_KEY("rpc.frame.max-size", FL_CT_MEMORY, "16 mb", NULL, "1 mb..1 gb",
       "Largest RPC frame accepted; a larger one closes the connection.")
FL_KEY("rpc.ask-timeout", FL_CT_DURATION, "10 s", NULL, "1 ms..365 d",
       "Deadline of an RPC request awaiting its response (Flink: akka.ask.timeout).")
FL_KEY("rpc.server.max-connections", FL_CT_INT, "16384", NULL, "1..65536",
       "Connections an RPC port (the JobManager's, each TaskManager's) holds at once; more are "
       "closed as soon as they are accepted. The JobManager's holds one per TaskManager.")
FL_KEY("rpc.server.handshake-timeout", FL_CT_DURATION, "10 s", NULL, "1 ms..1 d",
       "An accepted RPC connection must prove the cluster secret and register within this, "
       "else it is closed.")
FL_KEY("rpc.server.read-timeout", FL_CT_DURATION, "30 s", NULL, "1 ms..1 d",
       "A frame begun on an RPC connection must arrive whole within this, else the connection "
       "is closed.")
FL_KEY("rpc.server.handshake.max-frame-size", FL_CT_MEMORY, "64 kb", NULL, "1 kb..1 mb",
       "Largest frame an RPC connection may send before it registered (at least 1 kb).")
FL_KEY("rpc.server.max-buffered-memory", FL_CT_MEMORY, "128 mb", NULL, "1 mb..64 gb",
       "Memory that partial frames of all connections of an RPC port may take; a frame that "
       "would exceed it closes its connection.")
FL_KEY("security.ssl.internal.enabled", FL_CT_BOOL, "false", NULL, NULL,
       "TLS with mutual authentication on every RPC and data connection between the daemons "
       "(both sides present a certificate of the cluster's CA).")
FL_KEY("security.ssl.internal.key", FL_CT_STRING, NULL, NULL, "1..4096",
       "PEM private key of this daemon for internal TLS.")
FL_KEY("security.ssl.internal.cert", FL_CT_STRING, NULL, NULL, "1..4096",
       "PEM certificate (chain) of this daemon for internal TLS.")
FL_KEY("security.ssl.internal.trust-certificates", FL_CT_STRING, NULL, NULL, "1..4096",
       "PEM file of the CA certificate(s) a peer's certificate must be signed by (internal).")
FL_KEY("security.ssl.rest.enabled", FL_CT_BOOL, "false", NULL, NULL,
       "TLS on the REST port (and the CLI speaks it).")
FL_KEY("security.ssl.rest.authentication-enabled", FL_CT_BOOL, "false", NULL, NULL,
       "REST clients must present a certificate signed by security.ssl.rest.trust-certificates.")
FL_KEY("security.ssl.rest.key", FL_CT_STRING, NULL, NULL, "1..4096",
       "PEM private key of the REST server (and of the CLI, with authentication-enabled).")
FL_KEY("security.ssl.rest.cert", FL_CT_STRING, NULL, NULL, "1..4096",
       "PEM certificate of the REST server (and of the CLI, with authentication-enabled).")
FL_KEY("security.ssl.rest.trust-certificates", FL_CT_STRING, NULL, NULL, "1..4096",
       "PEM CA certificate(s): the CLI verifies the server with them, the server its clients "
       "(authentication-enabled).")
FL_KEY("security.ssl.protocol", FL_CT_ENUM, "TLSv1.2", "TLSv1.2|TLSv1.3", NULL,
       "Lowest TLS version: TLSv1.2 (1.2 and 1.3) or TLSv1.3 (1.3 only).")
FL_KEY("security.ssl.algorithms", FL_CT_STRING,
       "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
       "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305",
       NULL, "1..4096",
       "TLS 1.2 cipher suites (an OpenSSL list); the default keeps forward-secret AEAD ones.")
FL_KEY("security.rest.auth.tokens", FL_CT_STRING, NULL, NULL, "1..4096",
       "A file of REST bearer tokens with roles, a line 'ROLE TOKEN' each (read: GET; submit: "
       "and POST /jobs; admin: everything). Unset: REST is open, as in Flink.")
FL_KEY("security.rest.auth.token-file", FL_CT_STRING, NULL, NULL, "1..4096",
       "The CLI's bearer token, in a file of its own (FLINT_REST_TOKEN overrides it).")
FL_KEY("security.bundles.trusted-keys", FL_CT_STRING, NULL, NULL, "1..8192",
       "PEM files of Ed25519 public keys (';'-separated). When set, the Dispatcher accepts "
       "and a TaskManager loads only job bundles signed by one of them (beyond Flink).")
FL_KEY("security.bundles.signing-key", FL_CT_STRING, NULL, NULL, "1..4096",
       "The CLI's Ed25519 private key (PEM, unencrypted): flint run signs each bundle it "
       "submits with it, flint sign writes BUNDLE.sig.")
FL_KEY("security.cluster.secret-file", FL_CT_STRING, NULL, NULL, "1..1024",
       "A file holding the cluster secret (16 bytes to 64 KiB, e.g. head -c 32 /dev/urandom | "
       "base64). When set, every RPC and data connection between the daemons proves it "
       "(challenge and HMAC-SHA256) before anything else; unset: no proof.")
FL_KEY("web.refresh-interval", FL_CT_DURATION, "3 s", NULL, "1 ms..365 d",
       "Dashboard refresh interval.")
FL_KEY("log.level", FL_CT_ENUM, "INFO", "DEBUG|INFO|WARN|ERROR", NULL,
       "Least severe level written to the daemon logs.")
FL_KEY("taskmanager.memory.process.size", FL_CT_MEMORY, "1728m", NULL, "1 mb..1 tb",
       "Memory budget of a TaskManager; network memory is a fraction of it.")
FL_KEY("taskmanager.memory.segment-size", FL_CT_MEMORY, "32kb", NULL, "4 kb..64 mb",
       "Size of one network buffer (memory segment).")
FL_KEY("taskmanager.memory.network.fraction", FL_CT_DOUBLE, "0.1", NULL, "0..1",
       "Share of taskmanager.memory.process.size used for network buffers.")
FL_KEY("taskmanager.memory.network.min", FL_CT_MEMORY, "64mb", NULL, "1 mb..1 tb",
       "Lower bound of the network memory.")
FL_KEY("taskmanager.memory.network.max", FL_CT_MEMORY, "1gb", NULL, "1 mb..1 tb",
       "Upper bound of the network memory.")
FL_KEY("taskmanager.network.numberOfBuffers", FL_CT_INT, NULL, NULL, "1..16777216",
       "Plain number of network buffers; overrides the memory.network.* keys when set.")
FL_KEY("taskmanager.network.memory.buffers-per-channel", FL_CT_INT, "2", NULL, "0..1024",
       "Exclusive buffers of each remote input channel (its initial credit).")
FL_KEY("taskmanager.network.memory.floating-buffers-per-gate", FL_CT_INT, "8", NULL, "0..16384",
       "Floating buffers an input gate lends to the channels with the largest backlog.")
FL_KEY("taskmanager.network.memory.read-buffer.required-per-gate.max", FL_CT_INT, "256", NULL,
       "1..16777216",
       "Most buffers an input gate requires. A gate whose remote channels would need more "
       "exclusive buffers (channels x buffers-per-channel) gets none: it requires this many "
       "floating buffers instead, lent to the channels whose senders announce a backlog, so "
       "an all-to-all job at any parallelism runs within a fixed budget (Flink 1.17's key; "
       "its streaming default is unbounded).")
FL_KEY("taskmanager.network.request-backoff.max", FL_CT_DURATION, "10 s", NULL, "1 ms..365 d",
       "How long a partition request waits for its producer before failing.")
FL_KEY("taskmanager.network.server.max-connections", FL_CT_INT, "16384", NULL, "1..65536",
       "Connections a TaskManager's data port holds at once; more are closed as soon as they "
       "are accepted (one per other TaskManager its producers serve).")
FL_KEY("taskmanager.network.server.handshake-timeout", FL_CT_DURATION, "10 s", NULL,
       "1 ms..1 d",
       "An accepted data connection must prove the cluster secret and request a partition "
       "within this, else it is closed.")
FL_KEY("taskmanager.network.server.read-timeout", FL_CT_DURATION, "30 s", NULL, "1 ms..1 d",
       "A frame begun on a data connection must arrive whole within this, else the connection "
       "is closed.")
FL_KEY("taskmanager.network.server.max-buffered-memory", FL_CT_MEMORY, "64 mb", NULL,
       "1 mb..64 gb",
       "Memory that partial frames of all data connections of a TaskManager may take (one "
       "connection's frame is at most a network buffer); more closes the connection.")
FL_KEY("execution.buffer-timeout", FL_CT_TIMEOUT, "100 ms", NULL, "0 ms..1 h",
       "Longest a partly filled buffer waits before it is sent; 0 sends after every record, "
       "-1 only full buffers.")
FL_KEY("high-availability.type", FL_CT_ENUM, "NONE", "NONE|zookeeper", NULL,
       "High-availability mode: NONE, or zookeeper (JobManagers elect a leader through "
       "ZooKeeper; jobs and checkpoints survive the leader). Overrides high-availability.")
FL_KEY("high-availability", FL_CT_ENUM, "NONE", "NONE|zookeeper", NULL,
       "The older name of high-availability.type (used when that is not set).")
FL_KEY("high-availability.zookeeper.quorum", FL_CT_STRING, NULL, NULL, "1..4096",
       "The ZooKeeper servers, host:port[,host:port...]; required with high availability.")
FL_KEY("high-availability.zookeeper.path.root", FL_CT_STRING, "/flint", NULL, "1..200",
       "The ZooKeeper node under which Flint clusters keep their data.")
FL_KEY("high-availability.cluster-id", FL_CT_STRING, "/default", NULL, "1..200",
       "This cluster's name below path.root (and below storageDir); clusters sharing a "
       "ZooKeeper need different ones.")
FL_KEY("high-availability.storageDir", FL_CT_STRING, NULL, NULL, "1..900",
       "A directory every JobManager reaches (NFS) for submitted job graphs and bundles and "
       "finished jobs' results; ZooKeeper holds pointers to them. Required with high "
       "availability.")
FL_KEY("high-availability.zookeeper.client.session-timeout", FL_CT_DURATION, "60 s", NULL,
       "1 s..1 h",
       "A JobManager that ZooKeeper has not heard from for this long loses its leadership to "
       "a standby (the server bounds it by its minSessionTimeout and maxSessionTimeout).")
FL_KEY("high-availability.zookeeper.client.connection-timeout", FL_CT_DURATION, "15 s", NULL,
       "100 ms..1 h",
       "How long the CLI waits to reach the ZooKeeper quorum before giving up, and a daemon "
       "before it logs that it cannot (it keeps trying).")
FL_KEY("high-availability.zookeeper.client.retry-wait", FL_CT_DURATION, "5 s", NULL,
       "1 ms..1 h", "Wait between two attempts of the CLI to find the leader or reach it.")
FL_KEY("high-availability.zookeeper.client.max-retry-attempts", FL_CT_INT, "3", NULL, "0..1000",
       "Attempts the CLI makes to find the leader or reach it after the first one failed.")
FL_KEY("high-availability.jobmanager.port", FL_CT_INT, "0", NULL, "0..65535",
       "With high availability: the JobManager's RPC port (0: any free one; TaskManagers find "
       "it through ZooKeeper), instead of jobmanager.rpc.port.")
FL_KEY("slot.request.timeout", FL_CT_DURATION, "5 min", NULL, "1 ms..365 d",
       "How long a job waits for the slots it needs before it fails.")
FL_KEY("jobstore.max-capacity", FL_CT_INT, "1000", NULL, "1..1000000",
       "Completed (finished, failed, cancelled) jobs the JobManager keeps for the REST API; "
       "the oldest beyond it are dropped.")
FL_KEY("jobstore.expiration-time", FL_CT_SECONDS, "3600", NULL, "1 s..365 d",
       "How long a completed job is kept (a bare number is seconds, as in Flink).")
FL_KEY("cluster.evenly-spread-out-slots", FL_CT_BOOL, "false", NULL, NULL,
       "Spread a job's slots over all TaskManagers instead of filling one after the other.")
FL_KEY("blob.storage.directory", FL_CT_STRING, NULL, NULL, "1..1024",
       "Where the JobManager stores submitted bundles; it must be the user's own and writable "
       "by no one else. Default: a fresh directory in the per-user directory "
       "${TMPDIR:-/tmp}/flint-<user>/, removed at shutdown.")
FL_KEY("jobmanager.execution.failover-strategy", FL_CT_ENUM, "region", "full|region", NULL,
       "What a failed task restarts: region (only its pipelined region: the tasks connected "
       "to it by data edges, from the latest checkpoint, while the other regions keep "
       "running) or full (every task of the job).")
FL_KEY("scheduler-mode", FL_CT_ENUM, NULL, "reactive", NULL,
       "reactive: every running job rescales to use all slots of the cluster (each vertex at "
       "most its max parallelism) when a TaskManager registers or is lost, restoring its "
       "latest completed checkpoint at the new parallelism. Unset: jobs keep their "
       "parallelism.")
FL_KEY("jobmanager.scheduler", FL_CT_ENUM, "default", "default|adaptive", NULL,
       "adaptive: a job starts at the parallelism it declared when the cluster has the slots, "
       "else at what there is after jobmanager.adaptive-scheduler.resource-wait-timeout, and "
       "scales back up to the declared parallelism as TaskManagers register (scheduler-mode: "
       "reactive implies it, up to the max parallelism instead).")
FL_KEY("jobmanager.adaptive-scheduler.resource-wait-timeout", FL_CT_DURATION, "5 min", NULL,
       "0 ms..365 d",
       "Adaptive scheduler: how long a job waits for all the slots it needs before it runs "
       "with fewer.")
FL_KEY("jobmanager.adaptive-scheduler.resource-stabilization-timeout", FL_CT_DURATION, "10 s",
       NULL, "0 ms..1 h",
       "Reactive mode and the adaptive scheduler: how long the cluster's slots must stay "
       "unchanged before a job scales up "
       "to use new ones, so that TaskManagers starting together cause one rescale.")
FL_KEY("restart-strategy.type", FL_CT_ENUM, NULL, "none|off|disable|fixed-delay|fixeddelay|"
       "exponential-delay|exponentialdelay|failure-rate|failurerate", NULL,
       "How a failed job restarts: none, fixed-delay, exponential-delay or failure-rate. "
       "Default: none without checkpointing, exponential-delay with it.")
FL_KEY("restart-strategy.fixed-delay.attempts", FL_CT_INT, "1", NULL, "0..2147483647",
       "fixed-delay: restarts before the job fails.")
FL_KEY("restart-strategy.fixed-delay.delay", FL_CT_DURATION, "1 s", NULL, "0 ms..365 d",
       "fixed-delay: wait before each restart.")
FL_KEY("restart-strategy.exponential-delay.initial-backoff", FL_CT_DURATION, "1 s", NULL,
       "1 ms..365 d", "exponential-delay: first wait.")
FL_KEY("restart-strategy.exponential-delay.max-backoff", FL_CT_DURATION, "1 min", NULL,
       "1 ms..365 d", "exponential-delay: longest wait.")
FL_KEY("restart-strategy.exponential-delay.backoff-multiplier", FL_CT_DOUBLE, "1.5", NULL,
       "1..1000", "exponential-delay: factor between waits.")
FL_KEY("restart-strategy.exponential-delay.reset-backoff-threshold", FL_CT_DURATION, "1 h", NULL,
       "1 ms..365 d", "exponential-delay: a job running this long without failure starts over.")
FL_KEY("restart-strategy.exponential-delay.jitter-factor", FL_CT_DOUBLE, "0.1", NULL, "0..1",
       "exponential-delay: random share added to or taken from each wait.")
FL_KEY("restart-strategy.exponential-delay.attempts-before-reset-backoff", FL_CT_INT,
       "2147483647", NULL, "0..2147483647", "exponential-delay: restarts before the job fails.")
FL_KEY("restart-strategy.failure-rate.max-failures-per-interval", FL_CT_INT, "1", NULL, "1..100000",
       "failure-rate: failures tolerated within one interval.")
FL_KEY("restart-strategy.failure-rate.failure-rate-interval", FL_CT_DURATION, "1 min", NULL,
       "1 ms..365 d", "failure-rate: the interval.")
FL_KEY("restart-strategy.failure-rate.delay", FL_CT_DURATION, "1 s", NULL, "0 ms..365 d",
       "failure-rate: wait before each restart.")
FL_KEY("execution.checkpointing.interval", FL_CT_DURATION, NULL, NULL, "10 ms..365 d",
       "Checkpoint interval; checkpointing is off when unset.")
FL_KEY("metrics.report-interval", FL_CT_DURATION, "1 s", NULL, "1 ms..365 d",
       "How often TaskManagers report task metrics to the JobManager.")
FL_KEY("pipeline.max-parallelism", FL_CT_INT, "-1", NULL, "-1..32768",
       "Key groups of a job's keyed state, the largest parallelism it can be rescaled to "
       "(1..32768); -1 derives it per operator: 1.5 x parallelism rounded up to a power of "
       "two, at least 128.")
FL_KEY("pipeline.auto-watermark-interval", FL_CT_DURATION, "200 ms", NULL, "0 ms..365 d",
       "How often watermarks are emitted; 0 emits one after every record (deterministic).")
FL_KEY("testing.source.gate-file", FL_CT_STRING, NULL, NULL, "1..4096",
       "Test hook: while this file exists, a source subtask does not finish at the end of "
       "its input (it stays idle and keeps taking part in checkpoints) and emits at most "
       "testing.source.gate-rate records/s. Fault tests use it so that a job cannot end "
       "before its fault is injected, however fast the machine.")
FL_KEY("testing.source.gate-rate", FL_CT_INT, "0", NULL, "0..1000000000",
       "Test hook: records/s per source subtask while testing.source.gate-file exists "
       "(0: unthrottled).")
FL_KEY("execution.checkpointing.mode", FL_CT_ENUM, "EXACTLY_ONCE", "EXACTLY_ONCE|AT_LEAST_ONCE",
       NULL,
       "EXACTLY_ONCE aligns barriers; AT_LEAST_ONCE does not (records may be seen twice).")
FL_KEY("execution.checkpointing.timeout", FL_CT_DURATION, "10 min", NULL, "1 ms..365 d",
       "A checkpoint not complete after this long is aborted.")
FL_KEY("execution.checkpointing.min-pause", FL_CT_DURATION, "0 ms", NULL, "0 ms..365 d",
       "Least time between the end of one checkpoint and the start of the next.")
FL_KEY("execution.checkpointing.max-concurrent-checkpoints", FL_CT_INT, "1", NULL, "1..1000",
       "Checkpoints that may be in progress at once.")
FL_KEY("execution.checkpointing.tolerable-failed-checkpoints", FL_CT_INT, "0", NULL,
       "0..2147483647", "Failed checkpoints in a row tolerated before the job fails over.")
FL_KEY("execution.checkpointing.unaligned.enabled", FL_CT_BOOL, "false", NULL, NULL,
       "Unaligned checkpoints: barriers overtake in-flight data, which is stored with them.")
FL_KEY("execution.checkpointing.aligned-checkpoint-timeout", FL_CT_DURATION, "0 ms", NULL,
       "0 ms..365 d",
       "With unaligned checkpoints: start aligned, switch to unaligned after this long.")
FL_KEY("state.backend.type", FL_CT_ENUM, "hashmap", "hashmap|rocksdb", NULL,
       "Where keyed state lives: hashmap (in memory) or rocksdb (on local disk).")
FL_KEY("state.backend.incremental", FL_CT_BOOL, "false", NULL, NULL,
       "rocksdb: upload only new SST files at each checkpoint.")
/* Flink's RocksDBConfigurableOptions; read when a RocksDB backend opens its DB */
FL_KEY("state.backend.rocksdb.thread.num", FL_CT_INT, "2", NULL, "1..256",
       "rocksdb: background flushes and compactions at once (RocksDB's max_background_jobs; "
       "the thread pool is the TaskManager's, sized by the largest value of its jobs).")
FL_KEY("state.backend.rocksdb.writebuffer.size", FL_CT_MEMORY, "64 mb", NULL, "64 kb..4 gb",
       "rocksdb: a memtable's size, written to an SST file when full (and at each "
       "checkpoint).")
FL_KEY("state.backend.rocksdb.writebuffer.count", FL_CT_INT, "2", NULL, "2..64",
       "rocksdb: memtables (the one written, the others being flushed) before writes stall.")
FL_KEY("state.backend.rocksdb.writebuffer.number-to-merge", FL_CT_INT, "1", NULL, "1..64",
       "rocksdb: full memtables merged into one SST file by a flush.")
FL_KEY("state.backend.rocksdb.block.blocksize", FL_CT_MEMORY, "4 kb", NULL, "1 kb..64 mb",
       "rocksdb: the size of an SST file's data blocks (the unit read and cached).")
FL_KEY("state.backend.rocksdb.compaction.style", FL_CT_ENUM, "LEVEL", "LEVEL|UNIVERSAL|FIFO",
       NULL, "rocksdb: how SST files are compacted (RocksDB's compaction_style).")
FL_KEY("state.backend.rocksdb.compaction.level.use-dynamic-size", FL_CT_BOOL, "false", NULL,
       NULL,
       "rocksdb, LEVEL: level sizes derived from the last level's (RocksDB's "
       "level_compaction_dynamic_level_bytes), bounding space amplification.")
FL_KEY("state.backend.rocksdb.compaction.level.target-file-size-base", FL_CT_MEMORY, "64 mb",
       NULL, "64 kb..4 gb", "rocksdb, LEVEL: the size of an SST file written to level 1.")
FL_KEY("state.backend.rocksdb.compaction.level.max-size-level-base", FL_CT_MEMORY, "256 mb",
       NULL, "64 kb..64 gb", "rocksdb, LEVEL: the size of level 1 (each deeper level 10x).")
FL_KEY("state.checkpoints.dir", FL_CT_STRING, NULL, NULL, "1..1024",
       "Checkpoint storage: a directory or file:// URI (chk-N/, shared/, taskowned/ per job). "
       "Default: ${TMPDIR:-/tmp}/flint-<user>/checkpoints (created 0700).")
FL_KEY("state.checkpoints.num-retained", FL_CT_INT, "1", NULL, "1..10000",
       "Completed checkpoints kept; older ones are deleted.")
FL_KEY("state.savepoints.allowed-dirs", FL_CT_STRING, NULL, NULL, "1..4096",
       "Directories (separated by ';') a savepoint request may name besides "
       "state.savepoints.dir; with either set, a named target must lie under one of them "
       "(resolved: no '..', no symlink out).")
FL_KEY("state.savepoints.dir", FL_CT_STRING, NULL, NULL, "1..1024",
       "Default directory of savepoints.")
FL_KEY("io.tmp.dirs", FL_CT_STRING, "/tmp", NULL, "1..1023",
       "Local working directory of TaskManagers (RocksDB instances live here).")
/* issue 12: observability (metrics, the Prometheus reporter) */
FL_KEY("metrics.reporter.prom.factory.class", FL_CT_STRING, NULL, NULL, "1..255",
       "Set (to Flink's org.apache.flink.metrics.prometheus.PrometheusReporterFactory) to "
       "start the Prometheus reporter on every daemon, on port 9249 unless "
       "metrics.reporter.prom.port says otherwise.")
FL_KEY("metrics.reporters", FL_CT_STRING, NULL, NULL, "0..255",
       "Flink's list of the reporters to start (comma separated names); unset: every one "
       "configured. Flint has one, prom.")
FL_KEY("metrics.reporter.prom.port", FL_CT_STRING, NULL, NULL, "1..32",
       "Port, or range of ports such as 9249-9260 (the first free one), on which every daemon "
       "serves its metrics in the Prometheus text format; unset: 9249 when the factory class "
       "is set, else no reporter.")
FL_KEY("web.root", FL_CT_STRING, NULL, NULL, "1..1024",
       "Directory of the web dashboard's files; default: web/ beside the JobManager's bin/ "
       "directory (build/web, filled by make). Without one GET / is a 404 saying so.")
FL_KEY("crash-reports.enabled", FL_CT_BOOL, "true", NULL, NULL,
       "Daemons catch SIGSEGV, SIGBUS, SIGFPE, SIGILL and SIGABRT and write a crash report "
       "(log, crash file in the log directory, the failed job's exception) before the "
       "default action; false: only the default action.")
FL_KEY("taskmanager.supervisor.enabled", FL_CT_BOOL, "true", NULL, NULL,
       "bin/taskmanager.sh start runs the TaskManager under a supervisor process that "
       "restarts it when it dies of a signal or exits non-zero (not when it is stopped, nor "
       "when the JobManager refused it for good, exit 2).")
FL_KEY("jobmanager.supervisor.enabled", FL_CT_BOOL, "true", NULL, NULL,
       "bin/jobmanager.sh start runs the JobManager under a supervisor process, as "
       "taskmanager.supervisor.enabled does for TaskManagers.")
FL_KEY("supervisor.initial-backoff", FL_CT_DURATION, "500 ms", NULL, "0 ms..1 h",
       "Delay before a supervisor restarts its daemon the first time; doubled at each "
       "restart that follows within supervisor.reset-backoff-threshold.")
FL_KEY("supervisor.max-backoff", FL_CT_DURATION, "1 min", NULL, "0 ms..1 d",
       "Largest delay between two restarts of a supervised daemon.")
FL_KEY("supervisor.reset-backoff-threshold", FL_CT_DURATION, "1 min", NULL, "1 ms..365 d",
       "A supervised daemon that ran this long before dying is restarted after the initial "
       "backoff again.")
FL_KEY("s3.endpoint", FL_CT_STRING, NULL, NULL, "1..512",
       "S3 endpoint for s3:// (s3a://, s3p://) paths, http[s]://host[:port]; default AWS's "
       "https://s3.<s3.region>.amazonaws.com.")
FL_KEY("s3.access-key", FL_CT_STRING, NULL, NULL, "1..255",
       "S3 access key id (else the environment's AWS_ACCESS_KEY_ID).")
FL_KEY("s3.secret-key", FL_CT_STRING, NULL, NULL, "1..255",
       "S3 secret key (else AWS_SECRET_ACCESS_KEY); never logged or shown.")
FL_KEY("s3.region", FL_CT_STRING, "us-east-1", NULL, "1..63",
       "The region requests are signed for (AWS Signature Version 4).")
FL_KEY("s3.path.style.access", FL_CT_BOOL, "false", NULL, NULL,
       "Address buckets as endpoint/bucket/key instead of bucket.endpoint/key.")
FL_KEY("s3.upload.min.part.size", FL_CT_MEMORY, "5 mb", NULL, "5 mb..1 gb",
       "Part size of multipart uploads; smaller objects go up in one PUT.")
FL_KEY("s3.multipart.threshold", FL_CT_MEMORY, "128 mb", NULL, "5 mb..5 gb",
       "A finished local file (a RocksDB checkpoint's SST files) at most this large goes up "
       "in one PUT, sent from the file's mapping; larger ones as multipart uploads (Flink's "
       "S3 file systems pass s3.* keys on as fs.s3a.*: S3A's threshold and default).")
FL_KEY("s3.retry.max-attempts", FL_CT_INT, "4", NULL, "1..100",
       "Attempts of an S3 request failing with a 5xx, 429, time-out or broken connection.")
FL_KEY("s3.retry.initial-backoff", FL_CT_DURATION, "100 ms", NULL, "1 ms..1 min",
       "Wait before the first retry of an S3 request; doubled each time, at most 5 s.")
FL_KEY("s3.connection.timeout", FL_CT_DURATION, "5 s", NULL, "1 ms..10 min",
       "Longest wait for a connection to the S3 endpoint.")
FL_KEY("s3.request.timeout", FL_CT_DURATION, "2 min", NULL, "1 ms..1 h",
       "Longest an S3 request (one part of an upload) may take.")
FL_KEY("web.exception-history-size", FL_CT_INT, "16", NULL, "1..1024",
       "Failures of a job kept for GET /jobs/:jobid/exceptions (exceptionHistory), newest "
       "first; older ones are dropped and the answer says truncated.")
FL_KEY("web.checkpoints.history", FL_CT_INT, "10", NULL, "1..1000",
       "Checkpoints of a job kept for GET /jobs/:jobid/checkpoints (history) and their "
       "per-vertex and per-subtask details (checkpoints/details/:checkpointid[/subtasks/"
       ":vertexid]); older ones are dropped.")
FL_KEY("web.submit.enable", FL_CT_BOOL, "true", NULL, NULL,
       "Flink's flag for uploading and running jobs from the web dashboard. Flint's dashboard "
       "has no upload form and no /jars endpoints (submit with flint run, POST /jobs), so "
       "/config reports web-submit false either way.")
FL_KEY("web.cancel.enable", FL_CT_BOOL, "true", NULL, NULL,
       "Whether the web dashboard shows its Cancel button (/config features.web-cancel). As in "
       "Flink the REST cancel (PATCH /jobs/:jobid, which flint cancel uses) stays: protect it "
       "with security.rest.auth.tokens.")
FL_KEY("metrics.latency.interval", FL_CT_DURATION, "0 ms", NULL, "0 ms..1 d",
       "Flink's latency tracking: every source subtask sends a latency marker this often, "
       "past the user functions, to one channel of each output in turn; every task records "
       "the time since the marker left its source in a histogram per source vertex "
       "(flint_taskmanager_job_latency_..._latency on the Prometheus reporter). 0: off.")
FL_KEY("execution.checkpointing.snapshot-compression", FL_CT_BOOL, "false", NULL, NULL,
       "Compress keyed-state snapshots (hashmap backend, checkpoints and savepoints) with "
       "LZ4, one frame per key group. RocksDB snapshots are its own SST files, not "
       "compressed by this flag (as Flink leaves its native and incremental ones). Restores "
       "read compressed and uncompressed snapshots alike.")
