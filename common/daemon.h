/* daemon.h -- what the jobmanager and taskmanager daemons do alike at start and stop.
 *
 * fl_daemon_init blocks SIGTERM/SIGINT/SIGHUP in the calling (main) thread, so every thread
 * started afterwards inherits the mask and only fl_daemon_wait receives them; ignores
 * SIGPIPE; loads the configuration (FLINT_CONF_DIR, -D k=v) and sets up logging
 * (log.level; FLINT_LOG_FILE when the start scripts set it). Errors go to stderr as one line.
 * Before all that it hands over to the supervisor when the start script asked for one
 * (supervise.h), and after it installs the crash handler (crash.h) unless crash-reports.enabled is false.
 */
#ifndef FL_DAEMON_H
#define FL_DAEMON_H

#include "config.h"

/* 0 on success; -1 after printing the reason. *conf is the caller's. */
int fl_daemon_init(const char *name, int argc, char **argv, fl_conf **conf);
/* Blocks until SIGTERM, SIGINT or SIGHUP; returns the signal. */
int fl_daemon_wait(void);

#endif
