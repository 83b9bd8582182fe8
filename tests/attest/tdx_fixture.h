/*
 * Test fixtures for TDX: a protobuf encoder for tdx.QuoteV4 (as Go's
 * proto.Marshal writes it), a fake Intel PKI (SGX root, PCK platform CA,
 * PCK leaf with an SGX extension, TCB signing certificate, CRLs), signed
 * quotes, signed TCB info and QE identity answers, and the Coordinator
 * document around a quote.  Everything is built with OpenSSL at test
 * time; P-256 keys are cheap, so nothing is cached.
 */
#ifndef PM_TEST_ATTEST_TDX_FIXTURE_H
#define PM_TEST_ATTEST_TDX_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "attest_int.h"

/* tdx.QuoteV4 protobuf of a decoded quote (malloc'd). */
int	 fxt_quote_proto(const struct att_tdx_quote *, uint8_t **, size_t *);
/* The raw ABI quote of a decoded one (malloc'd). */
int	 fxt_quote_abi(const struct att_tdx_quote *, uint8_t **, size_t *);

/* URL-escape a PEM the way Intel's PCS does in its headers. */
char	*fxt_url_escape(const char *);

struct fxt_pki {
	EVP_PKEY	*root_key, *pca_key, *pck_key, *signing_key;
	EVP_PKEY	*foreign_key;		/* signs what must be refused */
	X509		*root, *pca, *signing;
	char		*root_pem;
};

int	 fxt_pki_init(struct fxt_pki *, time_t now);
void	 fxt_pki_free(struct fxt_pki *);

/* What the fake platform and its collateral say. */
struct fxt_params {
	time_t		 now;
	/* PCK certificate */
	uint8_t		 fmspc[6], pceid[2];
	uint8_t		 comp[16];
	uint16_t	 pcesvn;
	long		 sgx_type;
	uint8_t		 piid[16];
	int		 dynamic_platform, cached_keys, smt_enabled;
	int		 pck_foreign;		/* signed by another key */
	int		 pck_extra_ext;		/* a seventh extension */
	time_t		 pck_not_after;
	/* quote */
	uint8_t		 tee_tcb_svn[16];
	uint8_t		 mr_seam[48], mr_signer_seam[48];
	uint64_t	 seam_attributes, td_attributes, xfam;
	uint8_t		 mr_td[48], mr_config_id[48];
	uint8_t		 rtmr[4][48];
	uint8_t		 report_data[64];
	uint8_t		 qe_vendor[16];
	uint16_t	 qe_isvsvn, qe_prodid;
	uint32_t	 qe_miscselect;
	uint8_t		 qe_mrsigner[32];
	int		 flip_body;		/* after signing: body byte, or -1 */
	int		 rd_set, config_set;	/* keep report_data, mr_config_id */
	const char	*snp_entries;		/* manifest snp[] entries */
	int		 bad_qe_binding;
	/* TCB info and QE identity (defaults: what the quote and PCK say) */
	uint8_t		 tcb_pceid[2], tcb_mrsigner_seam[48];
	uint8_t		 qe_id_mrsigner[32];
	const char	*tcb_status;		/* "UpToDate", ... */
	const char	*qe_status;
	uint8_t		 tcb_sgx[16], tcb_tdx[16];
	uint16_t	 tcb_pcesvn;
	long long	 eval_num;
	const char	*tcb_fmspc;		/* default: the PCK's */
	time_t		 tcb_next, qe_next, crl_next;
	int		 tcb_foreign_sig;	/* signed by a foreign key */
	int		 revoke_pck;
	const char	*module_ids;		/* JSON, or NULL */
};

void	 fxt_params_default(struct fxt_params *, time_t now);

struct fxt_doc {
	struct att_tdx_quote q;		/* views into abi */
	uint8_t		*abi;
	size_t		 abi_len;
	uint8_t		*proto;
	size_t		 proto_len;
	char		*tcb_info, *qe_identity;	/* bodies */
	char		*tcb_chain, *qe_chain, *pck_crl_chain;	/* headers */
	uint8_t		*pck_crl, *root_crl;
	size_t		 pck_crl_len, root_crl_len;
};

int	 fxt_build(const struct fxt_pki *, const struct fxt_params *,
	    struct fxt_doc *);
void	 fxt_doc_free(struct fxt_doc *);

/* A tdx[] reference value entry of the manifest. */
struct fxt_ref {
	long long	 min_eval;
	uint8_t		 mr_td[48], mr_seam[48], xfam[8];
	uint8_t		 rtmr[4][48];
	const char	*piids;			/* JSON array, or NULL */
	int		 memory_integrity, smt_disabled, static_platform;
};

/* The entry the default quote satisfies. */
void	 fxt_ref_default(struct fxt_ref *, const struct fxt_params *);
char	*fxt_ref_json(const struct fxt_ref *);

/* The whole /attest answer around a quote. */
struct fxt_full {
	struct fxt_doc	 doc;
	uint8_t		 nonce[32];
	uint8_t		 policy_hash[32];
	char		*manifest;
	char		*body;			/* {"AttestationDoc": ...} */
	char		*root_pem, *mesh_pem;
};

/*
 * Manifest with the entries given (NULL: the default one), REPORT_DATA
 * and MR_CONFIG_ID bound to it unless the params set them (rd_set,
 * config_set), the quote, the Coordinator JSON (extra members appended),
 * the envelope.
 */
int	 fxt_full_build(const struct fxt_pki *, struct fxt_params *,
	    const char *tdx_entries, const char *extra_json,
	    struct fxt_full *);
void	 fxt_full_free(struct fxt_full *);

/* The four PCS answers of a document, with the URLs keyd would use. */
void	 fxt_pcs_docs(const struct fxt_doc *, const struct attest_trust *,
	    const char *fmspc_hex, long long eval, struct attest_pcs_doc[4]);

#endif
