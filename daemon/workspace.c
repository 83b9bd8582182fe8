/*
 * The parent's workspace directory, laid out as the official proxy's:
 * the manifest log, the AMD KDS cache, request dumps.
 */

#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "log.h"
#include "util.h"
#include "workspace.h"

void
workspace_prepare(const char *dir, uid_t uid, gid_t gid)
{
	struct stat	st;

	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			fatalx("workspace %s is not a directory", dir);
		return;
	}
	if (errno != ENOENT)
		fatal("workspace %s", dir);
	if (mkdir(dir, 0750) == -1)
		fatal("mkdir %s", dir);
	if (chown(dir, uid, gid) == -1)
		fatal("chown %s", dir);
}

static int
write_file(const char *path, const uint8_t *p, size_t n, int flags)
{
	ssize_t	w;
	int	fd, saved;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0644)) ==
	    -1)
		return -1;
	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			saved = errno;
			close(fd);
			errno = saved;
			return -1;
		}
		p += w;
		n -= w;
	}
	return close(fd);
}

static int
count_lines(const char *path, long *lines)
{
	char	*buf;
	size_t	 len, i;

	*lines = 0;
	if (read_file(path, 64 * 1024 * 1024, &buf, &len) == -1)
		return errno == ENOENT ? 1 : -1;
	for (i = 0; i < len; i++)
		if (buf[i] == '\n')
			(*lines)++;
	if (len > 0 && buf[len - 1] != '\n')
		(*lines)++;
	free(buf);
	return 0;
}

static int
has_json_files(const char *dir)
{
	struct dirent	*de;
	DIR		*d;
	size_t		 n;
	int		 found = 0;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (n > 5 && strcmp(de->d_name + n - 5, ".json") == 0) {
			found = 1;
			break;
		}
	}
	closedir(d);
	return found;
}

/* Go's filepath.Clean for the simple joins we make. */
static void
clean_join(char *out, size_t len, const char *ws, const char *rest)
{
	size_t	n;

	if (strcmp(ws, ".") == 0 || ws[0] == '\0') {
		snprintf(out, len, "%s", rest);
		return;
	}
	n = strlen(ws);
	while (n > 1 && ws[n - 1] == '/')
		n--;
	snprintf(out, len, "%.*s/%s", (int)n, ws, rest);
}

int
manifest_log_append(const char *workspace, const uint8_t *m, size_t n,
    char *err, size_t errlen)
{
	char		 dir[PATH_MAX / 2], logpath[PATH_MAX], file[PATH_MAX];
	char		 rel[64], line[PATH_MAX + 128], ts[64];
	long		 lines;
	int		 rv;
	time_t		 now = time(NULL);
	struct tm	 tm;

	clean_join(dir, sizeof(dir), workspace, "manifests");
	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "creating %s: %s", dir, strerror(errno));
		return -1;
	}
	snprintf(logpath, sizeof(logpath), "%s/log.txt", dir);
	if ((rv = count_lines(logpath, &lines)) == -1) {
		snprintf(err, errlen, "reading %s: %s", logpath,
		    strerror(errno));
		return -1;
	}
	if (rv == 1 && has_json_files(dir)) {
		snprintf(err, errlen, "versioned manifest files exist but "
		    "log.txt does not. Please remove the manifest files in the "
		    "manifests directory and try again");
		return -1;
	}
	snprintf(rel, sizeof(rel), "manifests/%ld.json", lines + 1);
	clean_join(file, sizeof(file), workspace, rel);
	if (write_file(file, m, n, O_TRUNC) == -1) {
		snprintf(err, errlen, "writing %s: %s", file, strerror(errno));
		return -1;
	}
	/* RFC 3339 in local time, like Go's time.Now().Format(RFC3339). */
	localtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S%z", &tm);
	if (strlen(ts) == 24 && (ts[19] == '+' || ts[19] == '-')) {
		/* +0100 -> +01:00; +0000 -> Z as Go prints UTC. */
		if (strcmp(ts + 19, "+0000") == 0)
			strcpy(ts + 19, "Z");
		else {
			memmove(ts + 23, ts + 22, 2);
			ts[22] = ':';
			ts[25] = '\0';
		}
	}
	snprintf(line, sizeof(line), "%s %s\n", ts, file);
	if (write_file(logpath, (const uint8_t *)line, strlen(line),
	    O_APPEND) == -1) {
		snprintf(err, errlen, "writing %s: %s", logpath,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* <workspace>/contrast/<sha256(url) in hex>: names safe for any URL. */
static void
cache_path(char *out, size_t len, const char *ws, const char *url)
{
	uint8_t	md[SHA256_DIGEST_LENGTH];
	char	hex[2 * SHA256_DIGEST_LENGTH + 1], rel[128];
	int	i;

	SHA256((const uint8_t *)url, strlen(url), md);
	for (i = 0; i < SHA256_DIGEST_LENGTH; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	snprintf(rel, sizeof(rel), "contrast/%s", hex);
	clean_join(out, len, ws, rel);
}

int
kds_cache_get(const char *ws, const char *url, uint8_t **p, size_t *n)
{
	char	path[PATH_MAX], *buf;

	cache_path(path, sizeof(path), ws, url);
	if (read_file(path, 16 * 1024 * 1024, &buf, n) == -1)
		return -1;
	*p = (uint8_t *)buf;
	return 0;
}

int
kds_cache_put(const char *ws, const char *url, const uint8_t *p, size_t n,
    char *err, size_t errlen)
{
	char	dir[PATH_MAX / 2], path[PATH_MAX], tmp[PATH_MAX + 8];

	clean_join(dir, sizeof(dir), ws, "contrast");
	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "creating %s: %s", dir, strerror(errno));
		return -1;
	}
	cache_path(path, sizeof(path), ws, url);
	/* Write aside and rename: a reader never sees half a file. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (write_file(tmp, p, n, O_TRUNC) == -1 || rename(tmp, path) == -1) {
		snprintf(err, errlen, "writing %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/*
 * <workspace>/requests/YYYY-MM-DD/YYYY-MM-DD_HHMMSS.ffffff_NN_{req,resp}.txt
 * (UTC, NN a random 00-99), directories 0755 and files 0644.
 */
int
dump_write(const char *ws, int64_t t_us, const uint8_t *req, size_t reqlen,
    const uint8_t *resp, size_t resplen, char *err, size_t errlen)
{
	char		 base[PATH_MAX / 4], dir[PATH_MAX / 2], day[16];
	char		 stamp[64], path[PATH_MAX];
	time_t		 t = (time_t)(t_us / 1000000);
	struct tm	 tm;
	uint32_t	 nn;

	gmtime_r(&t, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	clean_join(base, sizeof(base), ws, "requests");
	snprintf(dir, sizeof(dir), "%s/%s", base, day);
	if ((mkdir(base, 0755) == -1 && errno != EEXIST) ||
	    (mkdir(dir, 0755) == -1 && errno != EEXIST)) {
		snprintf(err, errlen, "creating %s: %s", dir, strerror(errno));
		return -1;
	}
	if (getentropy(&nn, sizeof(nn)) == -1)
		nn = (uint32_t)t_us;
	strftime(stamp, sizeof(stamp), "%Y-%m-%d_%H%M%S", &tm);
	snprintf(path, sizeof(path), "%s/%s.%06lld_%02u_req.txt", dir, stamp,
	    (long long)(t_us % 1000000), nn % 100);
	if (write_file(path, req, reqlen, O_TRUNC) == -1)
		goto fail;
	snprintf(path, sizeof(path), "%s/%s.%06lld_%02u_resp.txt", dir, stamp,
	    (long long)(t_us % 1000000), nn % 100);
	if (write_file(path, resp, resplen, O_TRUNC) == -1)
		goto fail;
	return 0;
 fail:
	snprintf(err, errlen, "writing %s: %s", path, strerror(errno));
	return -1;
}
