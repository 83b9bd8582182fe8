/*
 * The log_warn/log_warnx/fatal/fatalx vocabulary: every line carries
 * the process role and instance; stderr or syslog, text or JSON.
 */

#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static int		 log_stderr = 1;
static int		 log_level = LOG_INFO;
static enum log_format	 log_fmt = LOG_FORMAT_TEXT;
static const char	*log_role = "privatemoded";
static int		 log_instance = -1;
static long		 log_pid;	/* 0: not known yet (log_forked) */
static int		 log_pinned;	/* -d: keep debug whatever the config says */
static log_sink_fn	 log_sink;
static void		*log_sink_arg;
static void		(*log_fatalhook)(void);

void
log_init(int to_stderr, int level, enum log_format format)
{
	log_stderr = to_stderr;
	log_level = level;
	log_fmt = format;
	if (!to_stderr)
		openlog("privatemoded", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	tzset();
}

void
log_setlevel(int level)
{
	if (!log_pinned)
		log_level = level;
}

void
log_pindebug(void)
{
	log_level = LOG_DEBUG;
	log_pinned = 1;
}

int
log_getlevel(void)
{
	return log_level;
}

void
log_setformat(enum log_format format)
{
	log_fmt = format;
}

void
log_procinit(const char *role, int instance)
{
	log_role = role;
	log_instance = instance;
	log_pid = 0;
}

void
log_forked(void)
{
	log_pid = 0;
}

void
log_setsink(log_sink_fn fn, void *arg)
{
	log_sink = fn;
	log_sink_arg = arg;
}

void
log_setfatalhook(void (*fn)(void))
{
	log_fatalhook = fn;
}

const char *
log_prioname(int prio)
{
	switch (prio) {
	case LOG_CRIT:
		return "fatal";
	case LOG_ERR:
		return "error";
	case LOG_WARNING:
		return "warning";
	case LOG_NOTICE:
	case LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

int
log_parselevel(const char *name)
{
	if (strcasecmp(name, "debug") == 0)
		return LOG_DEBUG;
	if (strcasecmp(name, "info") == 0)
		return LOG_INFO;
	if (strcasecmp(name, "warn") == 0 || strcasecmp(name, "warning") == 0)
		return LOG_WARNING;
	if (strcasecmp(name, "error") == 0)
		return LOG_ERR;
	return -1;
}

static void
format_time(char *buf, size_t len)
{
	struct timespec	ts;
	struct tm	tm;
	size_t		n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

void
log_emit(const char *role, int instance, long pid, int prio, const char *msg)
{
	char	 who[64], ts[40];
	char	*esc;

	if (instance >= 0)
		snprintf(who, sizeof(who), "%s[%d]", role, instance);
	else
		snprintf(who, sizeof(who), "%s", role);

	if (log_fmt == LOG_FORMAT_JSON) {
		esc = json_escape_dup(msg);
		format_time(ts, sizeof(ts));
		if (log_stderr)
			fprintf(stderr, "{\"time\":\"%s\",\"level\":\"%s\","
			    "\"proc\":\"%s\",\"instance\":%d,\"pid\":%ld,"
			    "\"msg\":%s}\n", ts, log_prioname(prio), role,
			    instance, pid, esc);
		else
			syslog(prio, "{\"level\":\"%s\",\"proc\":\"%s\","
			    "\"instance\":%d,\"pid\":%ld,\"msg\":%s}",
			    log_prioname(prio), role, instance, pid, esc);
		free(esc);
		return;
	}
	if (log_stderr) {
		format_time(ts, sizeof(ts));
		fprintf(stderr, "%s %s pid %ld: %s: %s\n", ts, who, pid,
		    log_prioname(prio), msg);
	} else
		syslog(prio, "%s pid %ld: %s: %s", who, pid,
		    log_prioname(prio), msg);
}

void
vlog(int prio, const char *fmt, va_list ap)
{
	char	msg[4096];
	int	saved_errno = errno;

	if (prio > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* One getpid(2) per process, not one per access-log line. */
	if (log_pid == 0)
		log_pid = (long)getpid();
	if (log_sink != NULL)
		log_sink(prio, msg, log_sink_arg);
	else
		log_emit(log_role, log_instance, log_pid, prio, msg);
	errno = saved_errno;
}

static void
vlog_errno(int prio, int with_errno, const char *fmt, va_list ap)
{
	char	buf[3072];
	int	saved_errno = errno;

	if (prio > log_level)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (with_errno)
		log_line(prio, "%s: %s", buf, strerror(saved_errno));
	else
		log_line(prio, "%s", buf);
	errno = saved_errno;
}

void
log_line(int prio, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(prio, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog_errno(LOG_WARNING, 1, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog_errno(LOG_WARNING, 0, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

static __dead void
vfatal(int with_errno, const char *fmt, va_list ap)
{
	char	buf[3072];
	int	saved_errno = errno;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (with_errno)
		log_line(LOG_CRIT, "%s: %s", buf, strerror(saved_errno));
	else
		log_line(LOG_CRIT, "%s", buf);
	if (log_fatalhook != NULL)
		log_fatalhook();
	exit(1);
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vfatal(1, fmt, ap);
	/* cppcheck-suppress va_end_missing ; vfatal() does not return */
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vfatal(0, fmt, ap);
	/* cppcheck-suppress va_end_missing ; vfatal() does not return */
}
