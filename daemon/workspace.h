/*
 * The parent's writes into the workspace: the manifest log
 * (<workspace>/manifests, protocol.md 7).  Only the parent touches the
 * filesystem after start-up; keyd and the workers ask it over IPC.
 */
#ifndef PM_WORKSPACE_H
#define PM_WORKSPACE_H

#include <stddef.h>
#include <stdint.h>

/* Create the workspace (as root, owned by uid/gid) if it is missing. */
void	workspace_prepare(const char *dir, uid_t uid, gid_t gid);
/*
 * Append a manifest: <dir>/manifests/<n>.json and a line in log.txt.
 * Returns 0, or -1 with a message in err.
 */
int	manifest_log_append(const char *workspace, const uint8_t *, size_t,
	    char *err, size_t errlen);

/*
 * The collateral cache (<workspace>/contrast): AMD KDS responses keyed by
 * URL.  get returns 0 and a malloc'd copy, or -1 if absent.
 */
int	kds_cache_get(const char *workspace, const char *url, uint8_t **,
	    size_t *);
int	kds_cache_put(const char *workspace, const char *url, const uint8_t *,
	    size_t, char *err, size_t errlen);

/* One dumped exchange, protocol.md 8 layout (UTC). */
int	dump_write(const char *workspace, int64_t t_us, const uint8_t *req,
	    size_t reqlen, const uint8_t *resp, size_t resplen, char *err,
	    size_t errlen);

#endif
