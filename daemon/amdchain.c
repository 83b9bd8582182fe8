/*
 * AMD's certificate chains for keyd: which file, read and checked by the
 * parent (see amdchain.h).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amdchain.h"
#include "buf.h"
#include "conf.h"
#include "ipc.h"
#include "log.h"
#include "util.h"

/* A KDS cert_chain is about 4.6 KB; anything much larger is not one. */
#define AMD_CHAIN_MAX	(64 * 1024)

static const struct amd_line {
	enum attest_product	 line;
	const char		*key;
	const char		*file;
} amd_lines[AMD_NLINES] = {
	{ ATT_PRODUCT_GENOA, "amd_cert_chain_genoa", "genoa-cert-chain.pem" },
	{ ATT_PRODUCT_MILAN, "amd_cert_chain_milan", "milan-cert-chain.pem" },
	{ ATT_PRODUCT_TURIN, "amd_cert_chain_turin", "turin-cert-chain.pem" },
};

static const char *
configured(const struct config *c, enum attest_product line)
{
	switch (line) {
	case ATT_PRODUCT_GENOA:
		return c->amd_cert_chain_genoa;
	case ATT_PRODUCT_MILAN:
		return c->amd_cert_chain_milan;
	case ATT_PRODUCT_TURIN:
		return c->amd_cert_chain_turin;
	default:
		return NULL;
	}
}

/*
 * Only "no such file" means absent: an override that exists but cannot
 * be read must fail loudly, not be replaced by the shipped copy.
 */
static int
present(const char *path)
{
	struct stat	st;

	return stat(path, &st) == 0 || (errno != ENOENT && errno != ENOTDIR);
}

/* The override if it exists, else the shipped copy, else nothing. */
static void
pick(const struct config *c, const struct amd_line *l, const char *dir,
    struct amd_chain *ch)
{
	const char	*conf = configured(c, l->line);
	const char	*name = attest_product_name(l->line);
	char		*shipped;

	if (conf != NULL && conf[0] != '\0' && present(conf)) {
		ch->path = xstrdup(conf);
		return;
	}
	xasprintf(&shipped, "%s/%s", dir, l->file);
	if (present(shipped)) {
		/* The default path's absence is the normal case: no noise. */
		if (conf != NULL && config_is_set(c, l->key))
			log_warnx("%s %s does not exist: using the %s chain "
			    "shipped with the daemon, %s", l->key, conf, name,
			    shipped);
		ch->path = shipped;
		ch->shipped = 1;
		return;
	}
	if (conf != NULL && conf[0] != '\0')
		xasprintf(&ch->missing, "%s and %s are missing", conf,
		    shipped);
	else
		xasprintf(&ch->missing, "%s is missing", shipped);
	free(shipped);
}

/* The file must be a chain keyd will accept: keyd runs the same check. */
static int
check(struct amd_chain *ch, int test_only)
{
	struct attest_trust	 t;
	enum attest_reason	 rv;
	const char		*name = attest_product_name(ch->line);
	char			 err[256];

	if (read_file(ch->path, AMD_CHAIN_MAX, &ch->pem, &ch->len) == -1) {
		log_warn("AMD certificate chain (%s) %s", name, ch->path);
		return -1;
	}
	attest_trust_init(&t);
	rv = attest_trust_load_pem(&t, ch->line, ch->pem, ch->len, test_only,
	    err, sizeof(err));
	attest_trust_free(&t);
	if (rv != ATT_OK) {
		log_warnx("AMD certificate chain (%s) %s refused: %s", name,
		    ch->path, err);
		return -1;
	}
	ch->test_only = test_only != 0;
	return 0;
}

int
amd_chains_load(const struct config *c, const char *shipped_dir,
    struct amd_chains *out)
{
	size_t	i;
	int	rv = 0;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < AMD_NLINES; i++) {
		out->v[i].line = amd_lines[i].line;
		pick(c, &amd_lines[i], shipped_dir, &out->v[i]);
		if (out->v[i].path != NULL &&
		    check(&out->v[i], c->test_trust_any_amd_root) == -1)
			rv = -1;
	}
	if (rv == -1)
		amd_chains_free(out);
	return rv;
}

void
amd_chains_free(struct amd_chains *cs)
{
	size_t	i;

	for (i = 0; i < AMD_NLINES; i++) {
		free(cs->v[i].path);
		free(cs->v[i].missing);
		free(cs->v[i].pem);
	}
	memset(cs, 0, sizeof(*cs));
}

void
amd_chains_put(const struct amd_chains *cs, struct buf *w)
{
	size_t	i;

	for (i = 0; i < AMD_NLINES; i++) {
		msg_put_u8(w, cs->v[i].pem != NULL);
		msg_put_bytes(w, cs->v[i].pem, cs->v[i].len);
	}
}

void
amd_chain_describe(const struct amd_chain *ch, char *buf, size_t len)
{
	const char	*name = attest_product_name(ch->line);

	if (ch->path == NULL)
		snprintf(buf, len, "%s: no AMD certificate chain (%s): %s "
		    "hosts cannot be attested", name,
		    ch->missing != NULL ? ch->missing : "none configured",
		    name);
	else
		snprintf(buf, len, "%s: AMD certificate chain %s (%s), %s",
		    name, ch->path, ch->shipped ? "shipped with the daemon" :
		    "override", ch->test_only ? "fingerprints not checked "
		    "(test_trust_any_amd_root)" : "AMD's fingerprints");
}

void
amd_chains_log(const struct amd_chains *cs)
{
	char	line[1024];
	size_t	i;

	for (i = 0; i < AMD_NLINES; i++) {
		amd_chain_describe(&cs->v[i], line, sizeof(line));
		if (cs->v[i].path != NULL)
			log_info("%s", line);
		else
			log_warnx("%s", line);
	}
}

void
amd_chains_print(const struct amd_chains *cs, FILE *f)
{
	char	line[1024];
	size_t	i;

	for (i = 0; i < AMD_NLINES; i++) {
		amd_chain_describe(&cs->v[i], line, sizeof(line));
		fprintf(f, "%s\n", line);
	}
}

int
amd_chains_check(const struct config *c, const char *shipped_dir, FILE *f)
{
	struct amd_chains	cs;

	if (amd_chains_load(c, shipped_dir, &cs) == -1)
		return -1;
	amd_chains_print(&cs, f);
	amd_chains_free(&cs);
	return 0;
}
