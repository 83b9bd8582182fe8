/*
 * The systemd readiness protocol (sd_notify(3)) without libsystemd: one
 * datagram with "KEY=value" lines to $NOTIFY_SOCKET.  A no-op when the
 * variable is unset.
 */
#ifndef PM_SDNOTIFY_H
#define PM_SDNOTIFY_H

int	sd_notifyf(const char *fmt, ...)
	    __attribute__((__format__(printf, 1, 2)));

#endif
