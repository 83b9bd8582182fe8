/*
 * The worker's half of keyd's upstream connections: on MSG_NET_OPEN it
 * resolves and connects to the origin its own configuration names for
 * the role keyd asked for (the API endpoint, the CDN, AMD's KDS), then
 * hands the connected socket to keyd (MSG_NET_FD, SCM_RIGHTS) and closes
 * its copy.  It never reads or writes an upstream byte.
 */
#ifndef PM_UPSTREAM_H
#define PM_UPSTREAM_H

#include <stdint.h>

struct msgr;

/* Before the chroot: the resolver reads resolv.conf and hosts. */
void	upstream_init(void);
/* MSG_NET_OPEN from keyd; -1 if malformed. */
int	upstream_open(uint32_t id, struct msgr *);
/* Abandon every connection in progress (shutdown). */
void	upstream_close_all(void);
#ifdef TEST_HOOKS
/* Spoil the next hand-over ("udp", "unconnected", "nofd") or send an
 * unasked one now ("unasked"); -1 for an unknown kind. */
int	upstream_test_bad_handover(const char *kind);
#endif

#endif
