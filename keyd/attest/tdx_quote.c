/*
 * Intel TDX quotes (version 4, ECDSA P-256 attestation key) in the two
 * forms we meet: the tdx.QuoteV4 protobuf a Contrast Coordinator sends
 * as its raw_attestation_doc (go-tdx-guest proto/tdx.proto), and the raw
 * bytes the quoting enclave emits (go-tdx-guest abi.QuoteToProto), which
 * is how Intel's sample quotes are published.  Both land in struct
 * att_tdx_quote; att_tdx_check() then applies abi.CheckQuoteV4, and the
 * signed images (header, TD quote body, QE report) are rebuilt from the
 * fields as Go's *ToAbiBytes do, so that what is verified is exactly
 * what was decoded.
 *
 * Layout (Intel TDX DCAP Quote Generation Library, quote format v4):
 *	0x000	header (48): version u16, key type u16, TEE type u32,
 *		two 2-byte SVNs, QE vendor ID (16), user data (20)
 *	0x030	TD quote body (584)
 *	0x278	signed data size u32
 *	0x27C	signature (64), attestation key (64), certification data:
 *		type u16 (6), size u32, then the QE report certification
 *		data: QE report (384), its signature (64), QE auth data
 *		(size u16, bytes), PCK chain data (type u16 (5), size u32,
 *		PEM bytes)
 *	...	trailing bytes, not signed, ignored (as in Go)
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "attest_int.h"

static struct att_view
view(const uint8_t *p, size_t n)
{
	struct att_view	v = { p, n };

	return v;
}

/* --- protobuf ---------------------------------------------------------- */

enum tkind { T_U32, T_BYTES, T_RTMR };

struct tfield {
	uint32_t	num;
	enum tkind	kind;
	size_t		off;
};

#define Q(n, k, m)	{ n, k, offsetof(struct att_tdx_quote, m) }
static const struct tfield header_fields[] = {
	Q(1, T_U32, version),		Q(2, T_U32, key_type),
	Q(3, T_U32, tee_type),		Q(4, T_BYTES, qe_svn),
	Q(5, T_BYTES, pce_svn),		Q(6, T_BYTES, qe_vendor_id),
	Q(7, T_BYTES, user_data),
};
static const struct tfield body_fields[] = {
	Q(1, T_BYTES, tee_tcb_svn),	Q(2, T_BYTES, mr_seam),
	Q(3, T_BYTES, mr_signer_seam),	Q(4, T_BYTES, seam_attributes),
	Q(5, T_BYTES, td_attributes),	Q(6, T_BYTES, xfam),
	Q(7, T_BYTES, mr_td),		Q(8, T_BYTES, mr_config_id),
	Q(9, T_BYTES, mr_owner),	Q(10, T_BYTES, mr_owner_config),
	Q(11, T_RTMR, rtmr),		Q(12, T_BYTES, report_data),
};
static const struct tfield signed_fields[] = {
	Q(1, T_BYTES, signature),	Q(2, T_BYTES, attestation_key),
};
static const struct tfield cert_fields[] = {
	Q(1, T_U32, cert_type),		Q(2, T_U32, cert_size),
};
static const struct tfield qe_report_fields[] = {
	Q(1, T_BYTES, cpu_svn),		Q(2, T_U32, misc_select),
	Q(3, T_BYTES, reserved1),	Q(4, T_BYTES, attributes),
	Q(5, T_BYTES, mr_enclave),	Q(6, T_BYTES, reserved2),
	Q(7, T_BYTES, mr_signer),	Q(8, T_BYTES, reserved3),
	Q(9, T_U32, isv_prod_id),	Q(10, T_U32, isv_svn),
	Q(11, T_BYTES, reserved4),	Q(12, T_BYTES, qe_report_data),
};
static const struct tfield auth_fields[] = {
	Q(1, T_U32, qe_auth_size),	Q(2, T_BYTES, qe_auth_data),
};
static const struct tfield pck_fields[] = {
	Q(1, T_U32, pck_type),		Q(2, T_U32, pck_size),
	Q(3, T_BYTES, pck_chain),
};
#undef Q

#define NF(t)	(sizeof(t) / sizeof((t)[0]))

/*
 * The fields of one message.  Known fields with another wire type than
 * the schema's are refused (Go's encoder never writes them); unknown ones
 * are skipped; a uint32 keeps the low 32 bits of its varint like Go.
 */
static int
decode_fields(struct att_view m, const struct tfield *tab, size_t n,
    struct att_tdx_quote *q)
{
	struct att_pb	 b = { m.p, m.len, 0 };
	struct att_view	 v;
	uint64_t	 x;
	uint32_t	 num, u32;
	size_t		 i;
	uint8_t		*dst;
	int		 wt;

	while (b.off < b.len) {
		if (att_pb_tag(&b, &num, &wt) == -1)
			return -1;
		for (i = 0; i < n && tab[i].num != num; i++)
			;
		if (i == n) {
			if (att_pb_skip(&b, wt) == -1)
				return -1;
			continue;
		}
		dst = (uint8_t *)q + tab[i].off;
		switch (tab[i].kind) {
		case T_U32:
			if (wt != ATT_WT_VARINT || att_pb_varint(&b, &x) == -1)
				return -1;
			u32 = (uint32_t)x;
			memcpy(dst, &u32, sizeof(u32));
			break;
		case T_BYTES:
			if (wt != ATT_WT_LEN || att_pb_bytes(&b, &v) == -1)
				return -1;
			memcpy(dst, &v, sizeof(v));
			break;
		case T_RTMR:
			if (wt != ATT_WT_LEN || att_pb_bytes(&b, &v) == -1)
				return -1;
			if (q->nrtmrs < ATT_TDX_MAX_RTMRS)
				q->rtmr[q->nrtmrs] = v;
			q->nrtmrs++;
			break;
		}
	}
	return 0;
}

/* A length-delimited submessage field; the same field twice merges. */
static int
submessage(struct att_pb *b, int wt, struct att_view *v)
{
	return wt == ATT_WT_LEN ? att_pb_bytes(b, v) : -1;
}

/* A submessage of scalars from one table; has says it was there. */
static int
sub_fields(struct att_pb *b, int wt, int *has, const struct tfield *tab,
    size_t n, struct att_tdx_quote *q)
{
	struct att_view	v;

	if (submessage(b, wt, &v) == -1)
		return -1;
	*has = 1;
	return decode_fields(v, tab, n, q);
}

static int
decode_qe_cert(struct att_view m, struct att_tdx_quote *q)
{
	struct att_pb	 b = { m.p, m.len, 0 };
	uint32_t	 num;
	int		 wt, rv = 0;

	while (rv == 0 && b.off < b.len) {
		if (att_pb_tag(&b, &num, &wt) == -1)
			return -1;
		switch (num) {
		case 1:
			rv = sub_fields(&b, wt, &q->has_qe_report,
			    qe_report_fields, NF(qe_report_fields), q);
			break;
		case 2:
			if (wt != ATT_WT_LEN ||
			    att_pb_bytes(&b, &q->qe_report_signature) == -1)
				rv = -1;
			break;
		case 3:
			rv = sub_fields(&b, wt, &q->has_qe_auth, auth_fields,
			    NF(auth_fields), q);
			break;
		case 4:
			rv = sub_fields(&b, wt, &q->has_pck, pck_fields,
			    NF(pck_fields), q);
			break;
		default:
			rv = att_pb_skip(&b, wt);
		}
	}
	return rv;
}

/*
 * A message whose field 3 is the next level down (inner) and whose other
 * fields are scalars read by a pass of their own over the table.
 */
static int
decode_level(struct att_view m, int *has, int (*inner)(struct att_view,
    struct att_tdx_quote *), const struct tfield *fields, size_t nfields,
    struct att_tdx_quote *q)
{
	struct att_pb	 b = { m.p, m.len, 0 };
	struct att_view	 v;
	uint32_t	 num;
	int		 wt, rv = 0;

	while (rv == 0 && b.off < b.len) {
		if (att_pb_tag(&b, &num, &wt) == -1)
			return -1;
		if (num == 3) {
			if ((rv = submessage(&b, wt, &v)) == 0) {
				*has = 1;
				rv = inner(v, q);
			}
		} else
			rv = att_pb_skip(&b, wt);
	}
	if (rv == -1)
		return -1;
	return decode_fields(m, fields, nfields, q);
}

static int
decode_cert(struct att_view m, struct att_tdx_quote *q)
{
	return decode_level(m, &q->has_qe_cert, decode_qe_cert, cert_fields,
	    NF(cert_fields), q);
}

static int
decode_signed(struct att_view m, struct att_tdx_quote *q)
{
	return decode_level(m, &q->has_cert, decode_cert, signed_fields,
	    NF(signed_fields), q);
}

int
att_tdx_from_proto(const uint8_t *p, size_t len, struct att_tdx_quote *q,
    char *err, size_t errlen)
{
	struct att_pb	 b = { p, len, 0 };
	struct att_view	 v;
	uint64_t	 x;
	uint32_t	 num;
	int		 wt, rv = 0;

	memset(q, 0, sizeof(*q));
	while (rv == 0 && b.off < b.len) {
		if (att_pb_tag(&b, &num, &wt) == -1) {
			rv = -1;
			break;
		}
		switch (num) {
		case 1:
			rv = sub_fields(&b, wt, &q->has_header, header_fields,
			    NF(header_fields), q);
			break;
		case 2:
			rv = sub_fields(&b, wt, &q->has_body, body_fields,
			    NF(body_fields), q);
			break;
		case 3:
			if (wt != ATT_WT_VARINT || att_pb_varint(&b, &x) == -1)
				rv = -1;
			else
				q->signed_data_size = (uint32_t)x;
			break;
		case 4:
			if ((rv = submessage(&b, wt, &v)) == 0) {
				q->has_signed = 1;
				rv = decode_signed(v, q);
			}
			break;
		case 5:
			if (wt != ATT_WT_LEN ||
			    att_pb_bytes(&b, &q->extra_bytes) == -1)
				rv = -1;
			break;
		default:
			rv = att_pb_skip(&b, wt);
		}
	}
	if (rv == -1) {
		att_err(err, errlen, ATT_ERR_MALFORMED,
		    "malformed tdx.QuoteV4 protobuf near offset %zu", b.off);
		return -1;
	}
	return 0;
}

/* --- raw ABI ------------------------------------------------------------ */

/* Offsets inside the signed data (after the size field). */
#define SD_SIG		0x00
#define SD_KEY		0x40
#define SD_CERT		0x80
#define CERT_HDR	6		/* type u16, size u32 */
#define QE_SIG		ATT_TDX_QE_REPORT_SIZE
#define QE_AUTH		(QE_SIG + 64)

static void
enclave_report(const uint8_t *r, struct att_tdx_quote *q)
{
	q->cpu_svn = view(r + 0x00, 16);
	q->misc_select = att_get32(r + 0x10);
	q->reserved1 = view(r + 0x14, 28);
	q->attributes = view(r + 0x30, 16);
	q->mr_enclave = view(r + 0x40, 32);
	q->reserved2 = view(r + 0x60, 32);
	q->mr_signer = view(r + 0x80, 32);
	q->reserved3 = view(r + 0xA0, 96);
	q->isv_prod_id = att_get16(r + 0x100);
	q->isv_svn = att_get16(r + 0x102);
	q->reserved4 = view(r + 0x104, 60);
	q->qe_report_data = view(r + 0x140, 64);
	q->has_qe_report = 1;
}

enum attest_reason
att_tdx_from_abi(const uint8_t *p, size_t len, struct att_tdx_quote *q,
    char *err, size_t errlen)
{
	const uint8_t	*h = p, *body = p + ATT_TDX_HEADER_SIZE, *sd, *qe;
	size_t		 sdlen, n, i, auth_end;

	memset(q, 0, sizeof(*q));
	if (len < 2)
		return att_err(err, errlen, ATT_ERR_MALFORMED,
		    "quote too short");
	if ((q->version = att_get16(h)) != 4)
		return att_err(err, errlen, ATT_ERR_VERSION, "quote version "
		    "%u is not supported (need 4)", q->version);
	if (len < ATT_TDX_QUOTE_MIN)
		return att_err(err, errlen, ATT_ERR_MALFORMED, "quote of %zu "
		    "bytes is shorter than 0x%x", len, ATT_TDX_QUOTE_MIN);
	q->has_header = q->has_body = 1;
	q->key_type = att_get16(h + 2);
	q->tee_type = att_get32(h + 4);
	q->pce_svn = view(h + 0x08, 2);
	q->qe_svn = view(h + 0x0A, 2);
	q->qe_vendor_id = view(h + 0x0C, 16);
	q->user_data = view(h + 0x1C, 20);

	q->tee_tcb_svn = view(body + 0x000, 16);
	q->mr_seam = view(body + 0x010, 48);
	q->mr_signer_seam = view(body + 0x040, 48);
	q->seam_attributes = view(body + 0x070, 8);
	q->td_attributes = view(body + 0x078, 8);
	q->xfam = view(body + 0x080, 8);
	q->mr_td = view(body + 0x088, 48);
	q->mr_config_id = view(body + 0x0B8, 48);
	q->mr_owner = view(body + 0x0E8, 48);
	q->mr_owner_config = view(body + 0x118, 48);
	for (i = 0; i < 4; i++)
		q->rtmr[i] = view(body + 0x148 + 48 * i, 48);
	q->nrtmrs = 4;
	q->report_data = view(body + 0x208, 64);

	n = ATT_TDX_HEADER_SIZE + ATT_TDX_BODY_SIZE;
	q->signed_data_size = att_get32(p + n);
	n += 4;
	if (len - n < q->signed_data_size)
		return att_err(err, errlen, ATT_ERR_MALFORMED, "signed data "
		    "size 0x%x exceeds the quote", q->signed_data_size);
	sd = p + n;
	sdlen = q->signed_data_size;
	q->extra_bytes = view(sd + sdlen, len - n - sdlen);
	q->has_signed = 1;
	if (sdlen < SD_CERT + CERT_HDR)
		return att_err(err, errlen, ATT_ERR_MALFORMED, "signed data "
		    "too short");
	q->signature = view(sd + SD_SIG, 64);
	q->attestation_key = view(sd + SD_KEY, 64);
	q->cert_type = att_get16(sd + SD_CERT);
	q->cert_size = att_get32(sd + SD_CERT + 2);
	q->has_cert = 1;
	if (sdlen - SD_CERT - CERT_HDR != q->cert_size)
		return att_err(err, errlen, ATT_ERR_MALFORMED, "certification "
		    "data is 0x%zx bytes, its size field says 0x%x",
		    sdlen - SD_CERT - CERT_HDR, q->cert_size);
	qe = sd + SD_CERT + CERT_HDR;
	n = q->cert_size;
	/* QE report, its signature, the auth data size field. */
	if (n < QE_AUTH + 2)
		return att_err(err, errlen, ATT_ERR_MALFORMED, "QE report "
		    "certification data too short");
	q->has_qe_cert = 1;
	enclave_report(qe, q);
	q->qe_report_signature = view(qe + QE_SIG, 64);
	q->qe_auth_size = att_get16(qe + QE_AUTH);
	q->has_qe_auth = 1;
	auth_end = QE_AUTH + 2 + (size_t)q->qe_auth_size;
	if (n < auth_end + CERT_HDR)
		return att_err(err, errlen, ATT_ERR_MALFORMED, "QE auth data "
		    "overruns the certification data");
	q->qe_auth_data = view(qe + QE_AUTH + 2, q->qe_auth_size);
	q->has_pck = 1;
	q->pck_type = att_get16(qe + auth_end);
	q->pck_size = att_get32(qe + auth_end + 2);
	/* The chain is the rest; its size field must agree (checked later). */
	q->pck_chain = view(qe + auth_end + CERT_HDR, n - auth_end - CERT_HDR);
	return ATT_OK;
}

/* --- abi.CheckQuoteV4 -------------------------------------------------- */

struct size_rule {
	const char	*name;
	size_t		 off;		/* of the struct att_view */
	size_t		 size;
};

#define S(m, n)	{ #m, offsetof(struct att_tdx_quote, m), n }
static const struct size_rule sizes[] = {
	S(qe_svn, 2), S(pce_svn, 2), S(qe_vendor_id, 16), S(user_data, 20),
	S(tee_tcb_svn, 16), S(mr_seam, 48), S(mr_signer_seam, 48),
	S(seam_attributes, 8), S(td_attributes, 8), S(xfam, 8), S(mr_td, 48),
	S(mr_config_id, 48), S(mr_owner, 48), S(mr_owner_config, 48),
	S(report_data, 64), S(signature, 64), S(attestation_key, 64),
	S(cpu_svn, 16), S(reserved1, 28), S(attributes, 16),
	S(mr_enclave, 32), S(reserved2, 32), S(mr_signer, 32),
	S(reserved3, 96), S(reserved4, 60), S(qe_report_data, 64),
	S(qe_report_signature, 64),
};
#undef S

enum attest_reason
att_tdx_check(const struct att_tdx_quote *q, char *err, size_t errlen)
{
	const struct att_view	*v;
	uint64_t		 expect;
	size_t			 i;

	if (!q->has_header)
		return att_err(err, errlen, ATT_ERR_MALFORMED, "quote has no "
		    "header");
	if (q->version != 4)
		return att_err(err, errlen, ATT_ERR_VERSION, "quote version "
		    "%u is not supported (need 4)", q->version);
	if (q->key_type != ATT_TDX_KEY_TYPE)
		return att_err(err, errlen, ATT_ERR_MALFORMED, "attestation "
		    "key type %u is not ECDSA P-256 (2)", q->key_type);
	if (q->tee_type != ATT_TDX_TEE)
		return att_err(err, errlen, ATT_ERR_MALFORMED, "TEE type 0x%x "
		    "is not TDX", q->tee_type);
	if (!q->has_body || !q->has_signed || !q->has_cert ||
	    !q->has_qe_cert || !q->has_qe_report || !q->has_qe_auth ||
	    !q->has_pck)
		return att_err(err, errlen, ATT_ERR_MALFORMED, "quote lacks "
		    "its body, signed data or certification data");
	if (q->nrtmrs != 4)
		return att_err(err, errlen, ATT_ERR_MALFORMED, "quote has %zu "
		    "RTMRs, not 4", q->nrtmrs);
	for (i = 0; i < 4; i++)
		if (q->rtmr[i].len != 48)
			return att_err(err, errlen, ATT_ERR_MALFORMED,
			    "RTMR[%zu] is %zu bytes, not 48", i,
			    q->rtmr[i].len);
	for (i = 0; i < NF(sizes); i++) {
		v = (const struct att_view *)(const void *)
		    ((const uint8_t *)q + sizes[i].off);
		if (v->len != sizes[i].size)
			return att_err(err, errlen, ATT_ERR_MALFORMED,
			    "%s is %zu bytes, not %zu", sizes[i].name, v->len,
			    sizes[i].size);
	}
	if (q->isv_prod_id > 0xffff || q->isv_svn > 0xffff)
		return att_err(err, errlen, ATT_ERR_MALFORMED, "QE report "
		    "ISV product ID or SVN exceeds 16 bits");
	if (q->cert_type != ATT_TDX_CERT_QE_REPORT)
		return att_err(err, errlen, ATT_ERR_MALFORMED, "certification "
		    "data type %u is not a QE report (6)", q->cert_type);
	if (q->qe_auth_size > 0xffff || q->qe_auth_size != q->qe_auth_data.len)
		return att_err(err, errlen, ATT_ERR_MALFORMED, "QE auth data "
		    "is %zu bytes, its size field says %u",
		    q->qe_auth_data.len, q->qe_auth_size);
	if (q->pck_type != ATT_TDX_CERT_PCK_CHAIN)
		return att_err(err, errlen, ATT_ERR_MALFORMED, "PCK chain data "
		    "type %u is not 5", q->pck_type);
	if (q->pck_size != q->pck_chain.len)
		return att_err(err, errlen, ATT_ERR_MALFORMED, "PCK chain is "
		    "%zu bytes, its size field says %u", q->pck_chain.len,
		    q->pck_size);
	/*
	 * The two outer sizes must add up too.  Go checks them only when it
	 * parses raw bytes, not in the protobuf (where nothing uses them);
	 * a quote made by abi.QuoteToProto always has them right.
	 */
	expect = (uint64_t)ATT_TDX_QE_REPORT_SIZE + 64 + 2 +
	    q->qe_auth_data.len + 6 + q->pck_chain.len;
	if (q->cert_size != expect)
		return att_err(err, errlen, ATT_ERR_MALFORMED, "certification "
		    "data size %u is not its contents' %llu", q->cert_size,
		    (unsigned long long)expect);
	if (q->signed_data_size != expect + 64 + 64 + 6)
		return att_err(err, errlen, ATT_ERR_MALFORMED, "signed data "
		    "size %u is not its contents' %llu", q->signed_data_size,
		    (unsigned long long)(expect + 134));
	return ATT_OK;
}

/* --- signed images ------------------------------------------------------- */

static void
cp(uint8_t *dst, struct att_view v)
{
	memcpy(dst, v.p, v.len);
}

void
att_tdx_header_abi(const struct att_tdx_quote *q,
    uint8_t out[ATT_TDX_HEADER_SIZE])
{
	memset(out, 0, ATT_TDX_HEADER_SIZE);
	att_put16(out, q->version);
	att_put16(out + 2, q->key_type);
	att_put32(out + 4, q->tee_type);
	cp(out + 0x08, q->pce_svn);
	cp(out + 0x0A, q->qe_svn);
	cp(out + 0x0C, q->qe_vendor_id);
	cp(out + 0x1C, q->user_data);
}

void
att_tdx_body_abi(const struct att_tdx_quote *q, uint8_t out[ATT_TDX_BODY_SIZE])
{
	size_t	i;

	cp(out + 0x000, q->tee_tcb_svn);
	cp(out + 0x010, q->mr_seam);
	cp(out + 0x040, q->mr_signer_seam);
	cp(out + 0x070, q->seam_attributes);
	cp(out + 0x078, q->td_attributes);
	cp(out + 0x080, q->xfam);
	cp(out + 0x088, q->mr_td);
	cp(out + 0x0B8, q->mr_config_id);
	cp(out + 0x0E8, q->mr_owner);
	cp(out + 0x118, q->mr_owner_config);
	for (i = 0; i < 4; i++)
		cp(out + 0x148 + 48 * i, q->rtmr[i]);
	cp(out + 0x208, q->report_data);
}

void
att_tdx_qe_report_abi(const struct att_tdx_quote *q,
    uint8_t out[ATT_TDX_QE_REPORT_SIZE])
{
	cp(out + 0x00, q->cpu_svn);
	att_put32(out + 0x10, q->misc_select);
	cp(out + 0x14, q->reserved1);
	cp(out + 0x30, q->attributes);
	cp(out + 0x40, q->mr_enclave);
	cp(out + 0x60, q->reserved2);
	cp(out + 0x80, q->mr_signer);
	cp(out + 0xA0, q->reserved3);
	att_put16(out + 0x100, q->isv_prod_id);
	att_put16(out + 0x102, q->isv_svn);
	cp(out + 0x104, q->reserved4);
	cp(out + 0x140, q->qe_report_data);
}
