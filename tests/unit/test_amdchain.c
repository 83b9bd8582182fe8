/*
 * AMD's certificate chains as the parent hands them to keyd
 * (daemon/amdchain.c): the copies the package ships carry the fingerprints
 * pinned in keyd/attest/chain.c (the build-time check of data/amd/), an
 * existing override wins, an absent one falls back to the shipped copy,
 * and a bad override fails instead of being replaced.
 */
#include "config.h"

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "amdchain.h"
#include "buf.h"
#include "conf.h"
#include "ipc.h"
#include "log.h"
#include "t.h"
#include "util.h"

T_GLOBALS;

/* data/amd in the source tree (unit.mk). */
#ifndef PM_AMD_CHAIN_SRCDIR
#error PM_AMD_CHAIN_SRCDIR must name data/amd
#endif

static const char *const files[AMD_NLINES] = {
	"genoa-cert-chain.pem", "milan-cert-chain.pem", "turin-cert-chain.pem"
};
static const char *const keys[AMD_NLINES] = {
	"amd_cert_chain_genoa", "amd_cert_chain_milan", "amd_cert_chain_turin"
};

static char	tmp[1024];
static char	logged[8192];

static void
capture(int prio, const char *msg, void *arg)
{
	(void)prio;
	(void)arg;
	strlcat(logged, msg, sizeof(logged));
	strlcat(logged, "\n", sizeof(logged));
}

static char *
tmppath(const char *name)
{
	char	*p;

	xasprintf(&p, "%s/%s", tmp, name);
	return p;
}

static void
copy_file(const char *from, const char *to)
{
	char	*buf;
	size_t	 len;
	FILE	*f;

	if (read_file(from, 1 << 20, &buf, &len) == -1 ||
	    (f = fopen(to, "wb")) == NULL)
		abort();
	fwrite(buf, 1, len, f);
	fclose(f);
	free(buf);
}

static void
write_text(const char *to, const char *text)
{
	FILE	*f;

	if ((f = fopen(to, "wb")) == NULL)
		abort();
	fputs(text, f);
	fclose(f);
}

/* A config whose keys name files in tmp that do not exist, set or not. */
static struct config *
conf_absent(int explicit)
{
	struct config	*c = config_new();
	char		*p;
	size_t		 i;

	for (i = 0; i < AMD_NLINES; i++) {
		p = tmppath(files[i]);
		if (explicit)
			T_EQ_INT(config_set(c, keys[i], p, "t.conf:1"), 0);
		else {
			/* As a default would be: the path, not marked set. */
			char **field = i == 0 ? &c->amd_cert_chain_genoa :
			    i == 1 ? &c->amd_cert_chain_milan :
			    &c->amd_cert_chain_turin;

			free(*field);
			*field = xstrdup(p);
		}
		free(p);
	}
	return c;
}

static int
load(const struct config *c, const char *dir, struct amd_chains *cs)
{
	logged[0] = '\0';
	return amd_chains_load(c, dir, cs);
}

/* The build-time check: what make install ships is AMD's, as pinned. */
static void
test_shipped_pinned(void)
{
	struct config		*c = conf_absent(0);
	struct amd_chains	 cs;
	char			*want;
	size_t			 i;

	T_BEGIN("shipped chains carry the pinned fingerprints");
	T_EQ_INT(load(c, PM_AMD_CHAIN_SRCDIR, &cs), 0);
	for (i = 0; i < AMD_NLINES; i++) {
		xasprintf(&want, "%s/%s", PM_AMD_CHAIN_SRCDIR, files[i]);
		T_EQ_STR(cs.v[i].path, want);
		T_EQ_INT(cs.v[i].shipped, 1);
		T_EQ_INT(cs.v[i].test_only, 0);
		T_CHECK(cs.v[i].pem != NULL && cs.v[i].len > 4000);
		free(want);
	}
	T_EQ_INT(cs.v[0].line, ATT_PRODUCT_GENOA);
	T_EQ_INT(cs.v[1].line, ATT_PRODUCT_MILAN);
	T_EQ_INT(cs.v[2].line, ATT_PRODUCT_TURIN);
	/* A default path that does not exist is the normal case: silent. */
	T_EQ_STR(logged, "");
	amd_chains_free(&cs);
	config_free(c);
}

static void
test_override_wins(void)
{
	struct config		*c = conf_absent(1);
	struct amd_chains	 cs;
	char			*ov, *src, line[1024];

	T_BEGIN("an existing override wins over the shipped copy");
	ov = tmppath(files[1]);
	xasprintf(&src, "%s/%s", PM_AMD_CHAIN_SRCDIR, files[1]);
	copy_file(src, ov);
	T_EQ_INT(load(c, PM_AMD_CHAIN_SRCDIR, &cs), 0);
	T_EQ_STR(cs.v[1].path, ov);
	T_EQ_INT(cs.v[1].shipped, 0);
	T_EQ_INT(cs.v[0].shipped, 1);
	T_EQ_INT(cs.v[2].shipped, 1);
	amd_chain_describe(&cs.v[1], line, sizeof(line));
	T_CHECK(strstr(line, "Milan: AMD certificate chain ") == line);
	T_CHECK(strstr(line, ov) != NULL);
	T_CHECK(strstr(line, "(override), AMD's fingerprints") != NULL);
	amd_chain_describe(&cs.v[0], line, sizeof(line));
	T_CHECK(strstr(line, "(shipped with the daemon)") != NULL);
	/* Explicitly set but absent: said, and the shipped copy named. */
	T_CHECK(strstr(logged, "amd_cert_chain_genoa ") != NULL);
	T_CHECK(strstr(logged, "does not exist: using the Genoa chain "
	    "shipped with the daemon") != NULL);
	T_CHECK(strstr(logged, "amd_cert_chain_milan") == NULL);
	amd_chains_free(&cs);
	unlink(ov);
	free(ov);
	free(src);
	config_free(c);
}

static void
test_none(void)
{
	struct config		*c = conf_absent(0);
	struct amd_chains	 cs;
	char			*nodir, line[1024];

	T_BEGIN("neither override nor shipped copy: empty, not an error");
	nodir = tmppath("no-such-dir");
	T_EQ_INT(load(c, nodir, &cs), 0);
	T_CHECK(cs.v[2].path == NULL && cs.v[2].pem == NULL);
	amd_chain_describe(&cs.v[2], line, sizeof(line));
	T_CHECK(strstr(line, "Turin: no AMD certificate chain (") == line);
	T_CHECK(strstr(line, nodir) != NULL);
	T_CHECK(strstr(line, "turin-cert-chain.pem are missing") != NULL);
	amd_chains_free(&cs);
	free(nodir);
	config_free(c);
}

/* An override that exists is never silently replaced. */
static void
test_bad_override(void)
{
	struct config		*c = conf_absent(1);
	struct amd_chains	 cs;
	char			*ov, *src;

	ov = tmppath(files[0]);
	T_BEGIN("a garbage override fails, no fallback");
	write_text(ov, "<html>404 Not Found</html>\n");
	T_EQ_INT(load(c, PM_AMD_CHAIN_SRCDIR, &cs), -1);
	T_CHECK(strstr(logged, "AMD certificate chain (Genoa) ") != NULL);
	T_CHECK(strstr(logged, ov) != NULL);
	T_CHECK(strstr(logged, "refused: expected exactly two PEM "
	    "certificates (ASK, ARK)") != NULL);
	T_CHECK(cs.v[0].path == NULL && cs.v[0].pem == NULL);

	T_BEGIN("another line's chain as an override fails");
	xasprintf(&src, "%s/%s", PM_AMD_CHAIN_SRCDIR, files[1]);
	copy_file(src, ov);
	T_EQ_INT(load(c, PM_AMD_CHAIN_SRCDIR, &cs), -1);
	T_CHECK(strstr(logged, "is not AMD's Genoa ASK") != NULL);

	T_BEGIN("... unless test_trust_any_amd_root (names still checked)");
	c->test_trust_any_amd_root = 1;
	T_EQ_INT(load(c, PM_AMD_CHAIN_SRCDIR, &cs), -1);
	T_CHECK(strstr(logged, "CN is not \"ARK-Genoa\"") != NULL);
	free(src);
	xasprintf(&src, "%s/%s", PM_AMD_CHAIN_SRCDIR, files[0]);
	copy_file(src, ov);
	T_EQ_INT(load(c, PM_AMD_CHAIN_SRCDIR, &cs), 0);
	T_EQ_INT(cs.v[0].test_only, 1);
	amd_chains_free(&cs);
	c->test_trust_any_amd_root = 0;
	unlink(ov);

	T_BEGIN("an override that cannot be read fails");
	T_EQ_INT(mkdir(ov, 0700), 0);
	T_EQ_INT(load(c, PM_AMD_CHAIN_SRCDIR, &cs), -1);
	T_CHECK(strstr(logged, "AMD certificate chain (Genoa) ") != NULL);
	rmdir(ov);
	free(src);
	free(ov);
	config_free(c);
}

/* What keyd reads in k_files(): three (present, bytes) pairs in order. */
static void
test_put(void)
{
	struct config		*c = conf_absent(0);
	struct amd_chains	 cs;
	struct buf		 w;
	struct msgr		 r;
	const uint8_t		*p;
	size_t			 n, i;

	T_BEGIN("MSG_KEYD_FILES layout");
	T_EQ_INT(load(c, PM_AMD_CHAIN_SRCDIR, &cs), 0);
	/* Turin as if neither file existed. */
	free(cs.v[2].path);
	free(cs.v[2].pem);
	cs.v[2].path = NULL;
	cs.v[2].pem = NULL;
	cs.v[2].len = 0;
	buf_init(&w, 64);
	amd_chains_put(&cs, &w);
	msgr_init(&r, w.p, w.len);
	for (i = 0; i < 2; i++) {
		T_EQ_INT(msg_get_u8(&r), 1);
		p = msg_get_bytes(&r, &n);
		T_EQ_INT(n, cs.v[i].len);
		T_CHECK(p != NULL && memcmp(p, cs.v[i].pem, n) == 0);
	}
	T_EQ_INT(msg_get_u8(&r), 0);
	(void)msg_get_bytes(&r, &n);
	T_EQ_INT(n, 0);
	T_EQ_INT(msg_end(&r), 0);
	buf_free(&w);
	amd_chains_free(&cs);
	config_free(c);
}

int
main(void)
{
	snprintf(tmp, sizeof(tmp), "%s/pm-amdchain.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tmp) == NULL)
		abort();
	log_setsink(capture, NULL);
	test_shipped_pinned();
	test_override_wins();
	test_none();
	test_bad_override();
	test_put();
	rmdir(tmp);
	T_DONE();
}
