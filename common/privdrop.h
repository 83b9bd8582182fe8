/*
 * Privilege handling: the one fixed drop sequence every child runs, and
 * the parent's switch to the unprivileged user with the few capabilities
 * it keeps to supervise (spawning children that chroot and switch ids).
 */
#ifndef PM_PRIVDROP_H
#define PM_PRIVDROP_H

#include <sys/types.h>
#include <stdint.h>

struct privdrop {
	/*
	 * The chroot directory, opened by the parent while it could still
	 * reach it and inherited at a fixed descriptor (IPC_FD_CHROOT):
	 * the child enters it by descriptor, so it need not be able to
	 * traverse the path.  -1: no chroot.  The name is for messages.
	 */
	int		 chroot_fd;
	const char	*chroot;
	uid_t		 uid;
	gid_t		 gid;
	int		 switch_ids;	/* 0 when we never had root */
	/* rlimits; RLIM_INFINITY-like -1 means leave as is */
	long long	 nofile;
	long long	 fsize;
	long long	 nproc;
};

/*
 * Not dumpable (except in sanitizer builds, for LeakSanitizer): every
 * process calls it first thing, before it reads a byte of its channel.
 */
void	privdrop_not_dumpable(void);
/*
 * A child's drop as MSG_CONFIG describes it (PRIV_* flags, the chroot,
 * the ids); no rlimit is touched until the caller sets one, and nproc 0.
 */
void	privdrop_child_init(struct privdrop *, int privflags,
	    const char *chroot, uid_t, gid_t);
/* The drop sequence; any failure is fatal. */
void	privdrop(const struct privdrop *);
/*
 * Parent: become uid/gid for good, keeping only CAP_SYS_CHROOT (passed
 * to children as an ambient capability so a respawned child can still
 * chroot) and CAP_DAC_READ_SEARCH (to re-read root-only key files on
 * reload); then no_new_privs.
 */
void	privdrop_parent(uid_t, gid_t, int root);
/* Is cap in our effective set? */
int	priv_have_cap(int cap);

/* What MSG_CONFIG tells a child to do in privdrop(). */
#define PRIV_CHROOT	0x01
#define PRIV_SWITCH_IDS	0x02
/* 1 if we run with root privileges (uid 0). */
int	priv_is_root(void);

#endif
