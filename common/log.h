/*
 * Logging in the OpenBSD vocabulary.  Every line names the process role,
 * its instance and its pid.  The parent writes to stderr (foreground) or
 * syslog; keyd has no outlet of its own and hands its lines to a sink that
 * forwards them over IPC.
 */
#ifndef PM_LOG_H
#define PM_LOG_H

#include <stdarg.h>
#include <syslog.h>

#ifndef __dead
#define __dead __attribute__((__noreturn__))
#endif
#define PM_PRINTF(a, b) __attribute__((__format__(printf, a, b)))

enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

/* A sink receives one fully formatted message (no role prefix, no newline). */
typedef void (*log_sink_fn)(int prio, const char *msg, void *arg);

void	log_init(int to_stderr, int level, enum log_format format);
void	log_setlevel(int level);
/* Debug level that later log_setlevel() calls do not lower (-d). */
void	log_pindebug(void);
int	log_getlevel(void);
/* The pid on each line is cached: call in the child after fork(2). */
void	log_forked(void);
void	log_setformat(enum log_format format);
void	log_procinit(const char *role, int instance);
void	log_setsink(log_sink_fn fn, void *arg);
/* Emit a line on behalf of another process (keyd forwards through us). */
void	log_emit(const char *role, int instance, long pid, int prio,
	    const char *msg);
const char *log_prioname(int prio);
int	log_parselevel(const char *name);

void	log_warn(const char *, ...) PM_PRINTF(1, 2);
void	log_warnx(const char *, ...) PM_PRINTF(1, 2);
void	log_info(const char *, ...) PM_PRINTF(1, 2);
void	log_debug(const char *, ...) PM_PRINTF(1, 2);
void	vlog(int prio, const char *, va_list) PM_PRINTF(2, 0);
void	log_line(int prio, const char *, ...) PM_PRINTF(2, 3);
__dead void fatal(const char *, ...) PM_PRINTF(1, 2);
__dead void fatalx(const char *, ...) PM_PRINTF(1, 2);
/* Hook run by fatal()/fatalx() before exit, e.g. to flush an IPC sink. */
void	log_setfatalhook(void (*fn)(void));

#endif
