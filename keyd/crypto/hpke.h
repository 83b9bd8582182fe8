/*
 * HPKE (RFC 9180) base-mode key schedule and secret export, for the
 * recipient side of the Privatemode secret exchange: KEM X-Wing (0x647a),
 * KDF HKDF-SHA256 (0x0001), AEAD export-only (0xFFFF), info empty.
 *
 * The schedule takes the suite ids and the KEM shared secret as inputs so
 * the same code is checked against vectors of other suites (RFC 9180 A.7
 * DHKEM-X25519 export-only, hpke-pq X-Wing with ChaCha20-Poly1305).  Only
 * the KDF HKDF-SHA256 is implemented; AEAD seal/open is not (the exchange
 * only exports), but key and base_nonce are derived for AEADs that have
 * them so the vectors can check every output of the schedule.
 */
#ifndef PM_HPKE_H
#define PM_HPKE_H

#include <stddef.h>
#include <stdint.h>

#define HPKE_KDF_HKDF_SHA256	0x0001
#define HPKE_AEAD_AES128GCM	0x0001
#define HPKE_AEAD_AES256GCM	0x0002
#define HPKE_AEAD_CHACHAPOLY	0x0003
#define HPKE_AEAD_EXPORT_ONLY	0xffff
#define HPKE_NH			32	/* HKDF-SHA256 output size */
#define HPKE_SUITE_ID_BYTES	10

/* The outputs of KeySchedule(); secret, wipe with hpke_ctx_wipe(). */
struct hpke_ctx {
	uint8_t	suite_id[HPKE_SUITE_ID_BYTES];	/* "HPKE" kem kdf aead */
	uint8_t	key[32];
	size_t	nk;				/* 0 for export-only */
	uint8_t	base_nonce[12];
	size_t	nn;				/* 0 for export-only */
	uint8_t	exporter_secret[HPKE_NH];
};

/*
 * KeySchedule(mode_base, shared_secret, info, psk = "", psk_id = "").
 * Fails for a KDF other than HKDF-SHA256 or an unknown AEAD id.
 */
int	hpke_key_schedule_base(struct hpke_ctx *, uint16_t kem_id,
	    uint16_t kdf_id, uint16_t aead_id, const uint8_t *ss, size_t sslen,
	    const uint8_t *info, size_t infolen);

/* Export(exporter_context, L); fails if L > 255 * 32. */
int	hpke_export(const struct hpke_ctx *, const uint8_t *ectx,
	    size_t ectxlen, uint8_t *out, size_t len);

void	hpke_ctx_wipe(struct hpke_ctx *);

#endif
