/*
 * Dropping privileges in one fixed order: not dumpable, chroot, groups,
 * uid/gid, capabilities and the bounding set, no_new_privs.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>

#include "ipc.h"
#include "log.h"
#include "privdrop.h"
#include "util.h"

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT			47
#define PR_CAP_AMBIENT_RAISE		2
#define PR_CAP_AMBIENT_CLEAR_ALL	4
#endif

/*
 * What the parent keeps once it is the unprivileged user: CAP_SYS_CHROOT,
 * handed to every (re)spawned child as an ambient capability so that it
 * can chroot itself, and CAP_DAC_READ_SEARCH to re-read a root-only API
 * key or TLS key file on reload.  No CAP_SETUID: the parent can never
 * become root again, and children inherit the right ids instead of
 * switching to them.
 */
/*
 * LeakSanitizer stops the process with a ptrace()ing helper task, which
 * neither a non-dumpable process nor RLIMIT_NPROC 0 allows: builds without
 * the sandbox (the sanitizer builds) keep both so that leaks are reported,
 * not hidden.
 */
#ifdef SANDBOX_NONE
#define SANITIZER_DUMPABLE	1
#else
#define SANITIZER_DUMPABLE	0
#endif

void
privdrop_not_dumpable(void)
{
	/* No core files, no ptrace or /proc/<pid>/mem by same-uid processes. */
	if (prctl(PR_SET_DUMPABLE, SANITIZER_DUMPABLE, 0, 0, 0) == -1)
		fatal("PR_SET_DUMPABLE");
}

static const int parent_caps[] = { CAP_SYS_CHROOT, CAP_DAC_READ_SEARCH };
static const int child_caps[] = { CAP_SYS_CHROOT };

static int
capget_masks(uint64_t *eff, uint64_t *prm, uint64_t *inh)
{
	struct __user_cap_header_struct	hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0
	};
	struct __user_cap_data_struct	d[2];

	memset(d, 0, sizeof(d));	/* valgrind cannot see capget write */
	if (syscall(SYS_capget, &hdr, d) == -1)
		return -1;
	*eff = d[0].effective | (uint64_t)d[1].effective << 32;
	*prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	*inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
	return 0;
}

static void
capset_masks(uint64_t eff, uint64_t prm, uint64_t inh)
{
	struct __user_cap_header_struct	hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0
	};
	struct __user_cap_data_struct	d[2];

	d[0].effective = (uint32_t)eff;
	d[1].effective = (uint32_t)(eff >> 32);
	d[0].permitted = (uint32_t)prm;
	d[1].permitted = (uint32_t)(prm >> 32);
	d[0].inheritable = (uint32_t)inh;
	d[1].inheritable = (uint32_t)(inh >> 32);
	if (syscall(SYS_capset, &hdr, d) == -1)
		fatal("capset");
}

int
priv_is_root(void)
{
	return geteuid() == 0;
}

static uint64_t
mask_of(const int *caps, size_t n)
{
	uint64_t	m = 0;
	size_t		i;

	for (i = 0; i < n; i++)
		m |= 1ULL << caps[i];
	return m;
}

static void
drop_bounding_except(uint64_t keep)
{
	int	c;

	for (c = 0; c < 64; c++) {
		if (keep & (1ULL << c))
			continue;
		/* EINVAL: this kernel does not know capability c. */
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) == -1 && errno != EINVAL)
			fatal("PR_CAPBSET_DROP %d", c);
	}
}

int
priv_have_cap(int cap)
{
	uint64_t	eff, prm, inh;

	return capget_masks(&eff, &prm, &inh) == 0 && (eff & (1ULL << cap));
}

/*
 * Started as the user (systemd User= with AmbientCapabilities=
 * CAP_SYS_CHROOT): keep exactly CAP_SYS_CHROOT for the children, drop any
 * other capability we were given, and set no_new_privs.
 */
static void
privdrop_parent_user(void)
{
	uint64_t	pass = mask_of(child_caps, nitems(child_caps));
	uint64_t	eff, prm, inh, keep;
	size_t		i;

	if (capget_masks(&eff, &prm, &inh) == -1)
		fatal("capget");
	keep = prm & pass;
	capset_masks(keep, keep, keep);
	for (i = 0; i < nitems(child_caps); i++)
		if ((keep & (1ULL << child_caps[i])) &&
		    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, child_caps[i],
		    0, 0) == -1)
			fatal("PR_CAP_AMBIENT_RAISE %d", child_caps[i]);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("PR_SET_NO_NEW_PRIVS");
}

void
privdrop_parent(uid_t uid, gid_t gid, int root)
{
	uint64_t	keep = mask_of(parent_caps, nitems(parent_caps));
	uint64_t	pass = mask_of(child_caps, nitems(child_caps));
	size_t		i;

	if (!root) {
		privdrop_parent_user();
		return;
	}
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == -1)
		fatal("PR_SET_KEEPCAPS");
	drop_bounding_except(keep);
	if (setgroups(1, &gid) == -1)
		fatal("setgroups");
	if (setresgid(gid, gid, gid) == -1)
		fatal("setresgid");
	if (setresuid(uid, uid, uid) == -1)
		fatal("setresuid");
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) == -1)
		fatal("PR_SET_KEEPCAPS");
	/* Inheritable + ambient carry the drop capabilities over exec. */
	capset_masks(keep, keep, pass);
	for (i = 0; i < nitems(child_caps); i++)
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, child_caps[i],
		    0, 0) == -1)
			fatal("PR_CAP_AMBIENT_RAISE %d", child_caps[i]);
	if (setuid(0) != -1 || seteuid(0) != -1 || setgid(0) != -1)
		fatalx("parent could regain root");
	/* Nothing we exec may gain privileges (setuid binaries included). */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("PR_SET_NO_NEW_PRIVS");
	/* The id switch made us non-dumpable; sanitizer builds need it back. */
	if (SANITIZER_DUMPABLE && prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == -1)
		fatal("PR_SET_DUMPABLE");
}

/*
 * chroot by descriptor: the parent opened the directory (O_PATH) while
 * it could still traverse its path, which the user we run as may not
 * (a build tree under a mode 0700 home).  fchdir() needs search
 * permission on the directory itself only.  The descriptor is closed
 * once we are inside: an open directory is a way out of a chroot.
 */
static void
chroot_fd(int fd, const char *name)
{
	if (fchdir(fd) == -1)
		fatal("chroot %s: fchdir", name);
	if (chroot(".") == -1)
		fatal("chroot %s", name);
	if (chdir("/") == -1)
		fatal("chdir /");
	if (close(fd) == -1)
		fatal("chroot %s: close", name);
	if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
		fatalx("chroot %s: descriptor %d still open", name, fd);
}

static void
set_rlimit(int resource, const char *name, long long v)
{
	struct rlimit	rl;

	if (v < 0)
		return;
	rl.rlim_cur = rl.rlim_max = (rlim_t)v;
	if (setrlimit(resource, &rl) == 0)
		return;
	/*
	 * NOFILE sizes the connection table, it is not a boundary: when it
	 * cannot be set (above an unprivileged hard limit; under valgrind,
	 * which guards its own descriptors) we run with what we have.
	 */
	if (resource == RLIMIT_NOFILE) {
		log_warn("setrlimit NOFILE %lld: keeping the current limit", v);
		return;
	}
	fatal("setrlimit %s", name);
}

/* Is the supplementary group list exactly { gid }? */
static int
groups_are(gid_t gid)
{
	gid_t	g[2];
	int	n;

	n = getgroups(2, g);
	return n == 1 && g[0] == gid;
}

static void
drop_all_caps(void)
{
	uint64_t	eff, prm, inh;

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 &&
	    errno != EINVAL)
		fatal("PR_CAP_AMBIENT_CLEAR_ALL");
	if (capget_masks(&eff, &prm, &inh) == -1)
		fatal("capget");
	if (prm & (1ULL << CAP_SETPCAP))
		drop_bounding_except(0);
	capset_masks(0, 0, 0);
	if (capget_masks(&eff, &prm, &inh) == -1)
		fatal("capget");
	if (eff != 0 || prm != 0 || inh != 0)
		fatalx("capabilities survived the drop");
}

void
privdrop_child_init(struct privdrop *pd, int privflags, const char *chroot,
    uid_t uid, gid_t gid)
{
	memset(pd, 0, sizeof(*pd));
	pd->chroot_fd = (privflags & PRIV_CHROOT) ? IPC_FD_CHROOT : -1;
	pd->chroot = chroot;
	pd->switch_ids = (privflags & PRIV_SWITCH_IDS) != 0;
	pd->uid = uid;
	pd->gid = gid;
	pd->nofile = -1;
	pd->fsize = -1;
	pd->nproc = 0;
}

/*
 * The fixed drop sequence: chroot (by descriptor), chdir, groups, gid,
 * uid, capabilities, a check that none of it can be undone, rlimits, then
 * no_new_privs.
 * keyd enters its seccomp filter right after this returns.
 */
void
privdrop(const struct privdrop *pd)
{
	if (pd->chroot_fd != -1)
		chroot_fd(pd->chroot_fd, pd->chroot);
	if (pd->switch_ids) {
		/*
		 * The parent already runs as the user, so this normally
		 * confirms rather than changes; it still catches a child
		 * started any other way.
		 */
		if (!groups_are(pd->gid) && setgroups(1, &pd->gid) == -1)
			fatal("setgroups");
		if (setresgid(pd->gid, pd->gid, pd->gid) == -1)
			fatal("setresgid");
		if (setresuid(pd->uid, pd->uid, pd->uid) == -1)
			fatal("setresuid");
	}
	drop_all_caps();
	if (pd->switch_ids) {
		/* OpenSSH's paranoia: the old identity must be gone for good. */
		if (pd->uid != 0 && (setuid(0) != -1 || seteuid(0) != -1))
			fatalx("was able to restore uid 0");
		if (pd->gid != 0 && (setgid(0) != -1 || setegid(0) != -1))
			fatalx("was able to restore gid 0");
		if (getuid() != pd->uid || geteuid() != pd->uid ||
		    getgid() != pd->gid || getegid() != pd->gid)
			fatalx("ids not switched");
	}
	set_rlimit(RLIMIT_NOFILE, "NOFILE", pd->nofile);
	set_rlimit(RLIMIT_FSIZE, "FSIZE", pd->fsize);
	/* LeakSanitizer's tracer is a new task: sanitizer builds allow it. */
	if (!SANITIZER_DUMPABLE)
		set_rlimit(RLIMIT_NPROC, "NPROC", pd->nproc);
	set_rlimit(RLIMIT_CORE, "CORE", 0);
	/* Again: the id switch may have changed it. */
	privdrop_not_dumpable();
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("PR_SET_NO_NEW_PRIVS");
}
