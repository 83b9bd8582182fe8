/*
 * Test fixtures for the attestation verifier: a fake AMD PKI (ARK ->
 * ASK -> VCEK with AMD's extensions, CRLs), a synthetic SNP report
 * signed by the VCEK, its sevsnp.Attestation protobuf, the Coordinator
 * JSON and the /attest response, for a given nonce and manifest.
 *
 * Everything is built with OpenSSL at test time.  The RSA-4096 keys are
 * slow to make, so they are generated once into a directory and reused.
 */
#ifndef PM_TEST_ATTEST_FIXTURE_H
#define PM_TEST_ATTEST_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "attest.h"

struct fx_pki {
	EVP_PKEY	*ark_key, *ask_key;	/* RSA-4096, cached */
	EVP_PKEY	*foreign_key;		/* RSA-2048, cached */
	EVP_PKEY	*vcek_key;		/* P-384 */
	EVP_PKEY	*p256_key;
	EVP_PKEY	*ca_key;		/* root/mesh CA, P-384 */
	X509		*ark, *ask;		/* Genoa, test-only */
	X509		*foreign_ask;		/* SEV-Genoa by another key */
	char		*trust_pem;		/* ASK then ARK */
	size_t		 trust_pem_len;
	char		*root_pem, *mesh_pem;
};

/* Load or create the keys under dir (default PM_ATTEST_PKI_DIR). */
int	 fx_pki_init(struct fx_pki *, const char *dir);
void	 fx_pki_free(struct fx_pki *);

enum fx_sig { FX_PSS = 0, FX_PKCS1 };
enum fx_issuer { FX_ASK = 0, FX_FOREIGN };
enum fx_crl { FX_CRL_EMBED = 0, FX_CRL_NONE };

struct fx_params {
	time_t		 now;

	/* VCEK */
	int		 embed_vcek;
	enum fx_sig	 vcek_sig;
	int		 vcek_p256;
	enum fx_issuer	 vcek_issuer;
	const char	*vcek_cn;
	const char	*vcek_issuer_cn;
	time_t		 vcek_not_before, vcek_not_after;
	struct attest_tcb vcek_tcb;
	uint8_t		 hwid[64];
	int		 hwid_len;		/* 64, or another size */
	int		 hwid_octet;		/* DER OCTET STRING */
	int		 no_hwid;
	int		 dup_ext;		/* two blSPL extensions */
	int		 extra_ext;		/* a subjectKeyIdentifier */
	const char	*product_name;

	/* CRL */
	enum fx_crl	 crl;
	int		 crl_revoke_ask;
	int		 crl_foreign;
	time_t		 crl_this, crl_next;

	/* Report */
	uint32_t	 version, guest_svn, vmpl, sigalgo, signer_info;
	uint64_t	 policy, platform_info;
	uint64_t	 current_tcb, reported_tcb, committed_tcb, launch_tcb;
	uint64_t	 launch_mit, current_mit;
	uint8_t		 cur_build, cur_minor, cur_major;
	uint8_t		 com_build, com_minor, com_major;
	uint32_t	 fms;
	uint8_t		 chip_id[64];
	uint8_t		 measurement[48];
	uint64_t	 idkey_policy;		/* manifest's policy bits */
	int		 id_key_set;
	uint8_t		 id_key_digest[48];
	uint8_t		 host_data[32];
	int		 report_data_set;
	uint8_t		 report_data[64];
	int		 flip;			/* ABI offset to flip, or -1 */

	/* Coordinator */
	uint8_t		 nonce[32];
	char		*manifest;		/* owned */
	char		*prev_manifest;		/* owned; history of 2 */
	const char	*extra_json;		/* raw members to add */
	const char	*mesh_pem;		/* default: the fixture's */
};

/* pm-like defaults: Genoa, report v3, everything consistent. */
void	 fx_params_default(struct fx_params *, const struct fx_pki *);
void	 fx_params_free(struct fx_params *);

/* Pieces of the default manifest, so tests can vary one of them. */
struct fx_manifest {
	const char	*product;		/* "Genoa" */
	uint8_t		 measurement[48];
	uint8_t		 coord_hash[32];
	const char	*min_tcb;		/* JSON object */
	const char	*guest_policy;		/* JSON object */
	const char	*platform_info;		/* JSON object */
	uint64_t	 min_mitigation;
	const char	*chip_ids;		/* JSON array, or: */
	uint8_t		 chip[64];		/* the one allowed ID */
	const char	*extra_snp;		/* appended snp[] entries */
	const char	*prefix_snp;		/* prepended snp[] entries */
};
void	 fx_manifest_default(struct fx_manifest *, const struct fx_params *);
char	*fx_manifest_json(const struct fx_manifest *);

struct fx_doc {
	uint8_t		 abi[0x4a0];
	uint8_t		*proto;
	size_t		 proto_len;
	uint8_t		*vcek;
	size_t		 vcek_len;
	uint8_t		*crl;
	size_t		 crl_len;
	char		*coord;			/* Coordinator JSON */
	size_t		 coord_len;
	char		*body;			/* {"AttestationDoc": ...} */
	size_t		 body_len;
};

int	 fx_build(const struct fx_pki *, const struct fx_params *,
	    struct fx_doc *);
void	 fx_doc_free(struct fx_doc *);

/* A CRL signed by the fixture ARK (or the foreign key). */
int	 fx_crl(const struct fx_pki *, int revoke_ask, int foreign,
	    time_t this_update, time_t next_update, uint8_t **, size_t *);

/* Helpers shared by tests. */
char	*fx_b64(const uint8_t *, size_t);
void	 fx_hex(const uint8_t *, size_t, char *, int upper);

#endif
