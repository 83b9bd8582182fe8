/*
 * AMD's certificate chains (ASK, ARK) per product line, which the parent
 * reads for keyd.  Each line's chain comes from the file its
 * amd_cert_chain_* key names when that file exists (an administrator's
 * override, /etc/privatemode/amd/<line>-cert-chain.pem by default), and
 * otherwise from the copy installed with the daemon
 * ($(pkgdatadir)/amd/<line>-cert-chain.pem).  The chosen file is checked
 * here, as keyd will check it, so that a bad one fails `privatemoded -t',
 * the start and a reload instead of every attestation.
 */
#ifndef PM_AMDCHAIN_H
#define PM_AMDCHAIN_H

#include <stddef.h>
#include <stdio.h>

#include "attest.h"

struct buf;
struct config;

/* Where make install puts AMD's chains (Makefile.am: dist_amd_DATA). */
#define AMD_CHAIN_DIR		PKGDATADIR "/amd"

/* Genoa, Milan, Turin: the order of MSG_KEYD_FILES. */
#define AMD_NLINES		3

struct amd_chain {
	enum attest_product	 line;
	char			*path;		/* file read; NULL: none */
	char			*missing;	/* none: the paths looked at */
	int			 shipped;	/* path is the installed copy */
	int			 test_only;	/* fingerprints not checked */
	char			*pem;
	size_t			 len;
};

struct amd_chains {
	struct amd_chain	 v[AMD_NLINES];
};

/*
 * Pick, read and check each line's chain, looking for the installed
 * copies in shipped_dir.  A line with neither file is logged and left
 * empty; an unreadable or refused file (garbage, not AMD's fingerprints)
 * is logged and fails the whole call: -1.
 */
int	 amd_chains_load(const struct config *, const char *shipped_dir,
	    struct amd_chains *);
void	 amd_chains_free(struct amd_chains *);
/* Each line as MSG_KEYD_FILES carries it: u8 present, bytes. */
void	 amd_chains_put(const struct amd_chains *, struct buf *);
/* "Genoa: AMD certificate chain <path> (shipped), ...": one per line. */
void	 amd_chain_describe(const struct amd_chain *, char *, size_t);
/* Every line's description, to the log (start, reload) or to a file (-t). */
void	 amd_chains_log(const struct amd_chains *);
void	 amd_chains_print(const struct amd_chains *, FILE *);
/* -t: load, print every line's description to f; -1 as amd_chains_load. */
int	 amd_chains_check(const struct config *, const char *shipped_dir,
	    FILE *f);

#endif
