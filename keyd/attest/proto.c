/*
 * A minimal proto3 decoder for sevsnp.Attestation (go-sev-guest
 * proto/sevsnp.proto), the raw_attestation_doc of an SNP Coordinator.
 *
 * The schema is fixed and shallow, so there is no recursion: unknown
 * fields are skipped by wire type without looking inside.  Decoding a
 * message field twice merges into the same struct, and the last scalar
 * wins, as proto3 requires.  Known fields with the wrong wire type and
 * group wire types are refused rather than skipped: Go's encoder never
 * produces them, and a document that has them is not one we trust.
 */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "attest_int.h"
#include "util.h"

int
att_pb_varint(struct att_pb *b, uint64_t *v)
{
	uint64_t	x = 0;
	int		i;
	uint8_t		c;

	for (i = 0; i < 10; i++) {
		if (b->off >= b->len)
			return -1;
		c = b->p[b->off++];
		/* The tenth byte may only carry the 64th bit. */
		if (i == 9 && c > 1)
			return -1;
		x |= (uint64_t)(c & 0x7f) << (7 * i);
		if ((c & 0x80) == 0) {
			*v = x;
			return 0;
		}
	}
	return -1;
}

int
att_pb_tag(struct att_pb *b, uint32_t *field, int *wt)
{
	uint64_t	t;

	if (att_pb_varint(b, &t) == -1)
		return -1;
	if (t >> 3 == 0 || t >> 3 > 0x1fffffff)
		return -1;
	*field = (uint32_t)(t >> 3);
	*wt = (int)(t & 7);
	return 0;
}

int
att_pb_bytes(struct att_pb *b, struct att_view *v)
{
	uint64_t	n;

	if (att_pb_varint(b, &n) == -1 || n > b->len - b->off)
		return -1;
	v->p = b->p + b->off;
	v->len = (size_t)n;
	b->off += (size_t)n;
	return 0;
}

static int
skip_fixed(struct att_pb *b, size_t n)
{
	if (b->len - b->off < n)
		return -1;
	b->off += n;
	return 0;
}

int
att_pb_skip(struct att_pb *b, int wt)
{
	struct att_view	v;
	uint64_t	x;

	switch (wt) {
	case ATT_WT_VARINT:
		return att_pb_varint(b, &x);
	case ATT_WT_I64:
		return skip_fixed(b, 8);
	case ATT_WT_LEN:
		return att_pb_bytes(b, &v);
	case ATT_WT_I32:
		return skip_fixed(b, 4);
	default:
		/* Groups (3, 4) and the unused types 6, 7. */
		return -1;
	}
}

/* How each known field is stored. */
enum fkind { F_U32, F_U64, F_BYTES };

struct field {
	uint32_t	num;
	enum fkind	kind;
	size_t		off;
};

#define R(n, k, m)	{ n, k, offsetof(struct att_report, m) }
static const struct field report_fields[] = {
	R(1, F_U32, version),		R(2, F_U32, guest_svn),
	R(3, F_U64, policy),		R(4, F_BYTES, family_id),
	R(5, F_BYTES, image_id),	R(6, F_U32, vmpl),
	R(7, F_U32, signature_algo),	R(8, F_U64, current_tcb),
	R(9, F_U64, platform_info),	R(10, F_U32, signer_info),
	R(11, F_BYTES, report_data),	R(12, F_BYTES, measurement),
	R(13, F_BYTES, host_data),	R(14, F_BYTES, id_key_digest),
	R(15, F_BYTES, author_key_digest), R(16, F_BYTES, report_id),
	R(17, F_BYTES, report_id_ma),	R(18, F_U64, reported_tcb),
	R(19, F_BYTES, chip_id),	R(20, F_U64, committed_tcb),
	R(21, F_U32, current_build),	R(22, F_U32, current_minor),
	R(23, F_U32, current_major),	R(24, F_U32, committed_build),
	R(25, F_U32, committed_minor),	R(26, F_U32, committed_major),
	R(27, F_U64, launch_tcb),	R(28, F_BYTES, signature),
	R(29, F_U32, cpuid1eax_fms),	R(30, F_U64, launch_mit_vector),
	R(31, F_U64, current_mit_vector),
};
#undef R

#define C(n, m)	{ n, F_BYTES, offsetof(struct att_chain, m) }
static const struct field chain_fields[] = {
	C(1, vcek), C(2, ask), C(3, ark), C(4, firmware), C(6, vlek),
};
#undef C

static const struct field *
find_field(const struct field *tab, size_t n, uint32_t num)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (tab[i].num == num)
			return &tab[i];
	return NULL;
}

/* Store one known field; uint32 takes the low bits like Go. */
static int
store_field(struct att_pb *b, const struct field *f, int wt, void *base)
{
	uint8_t		*dst = (uint8_t *)base + f->off;
	uint64_t	 v;
	uint32_t	 u32;

	if (f->kind == F_BYTES) {
		if (wt != ATT_WT_LEN)
			return -1;
		return att_pb_bytes(b, (struct att_view *)(void *)dst);
	}
	if (wt != ATT_WT_VARINT || att_pb_varint(b, &v) == -1)
		return -1;
	if (f->kind == F_U32) {
		u32 = (uint32_t)v;
		memcpy(dst, &u32, sizeof(u32));
	} else
		memcpy(dst, &v, sizeof(v));
	return 0;
}

/*
 * The fields of one message by its table; field sub_num, if not 0, is a
 * submessage that sub decodes into base.
 */
static int
decode_fields(struct att_view m, const struct field *tab, size_t n,
    void *base, uint32_t sub_num, int (*sub)(struct att_view, void *))
{
	struct att_pb	 b = { m.p, m.len, 0 };
	struct att_view	 v;
	const struct field *f;
	uint32_t	 num;
	int		 wt;

	while (b.off < b.len) {
		if (att_pb_tag(&b, &num, &wt) == -1)
			return -1;
		if (sub_num != 0 && num == sub_num) {
			if (wt != ATT_WT_LEN || att_pb_bytes(&b, &v) == -1 ||
			    sub(v, base) == -1)
				return -1;
		} else if ((f = find_field(tab, n, num)) == NULL) {
			if (att_pb_skip(&b, wt) == -1)
				return -1;
		} else if (store_field(&b, f, wt, base) == -1)
			return -1;
	}
	return 0;
}

static int
decode_table(struct att_view m, const struct field *tab, size_t n,
    void *base)
{
	return decode_fields(m, tab, n, base, 0, NULL);
}

/* proto3 strings must be valid UTF-8 (Go's Unmarshal checks). */
static int
utf8_valid(const uint8_t *s, size_t n)
{
	size_t		i = 0, k, need;
	uint32_t	cp;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			need = 1;
			cp = s[i] & 0x1f;
		} else if ((s[i] & 0xf0) == 0xe0) {
			need = 2;
			cp = s[i] & 0x0f;
		} else if ((s[i] & 0xf8) == 0xf0) {
			need = 3;
			cp = s[i] & 0x07;
		} else
			return 0;
		if (n - i - 1 < need)
			return 0;
		for (k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((need == 1 && cp < 0x80) || (need == 2 && cp < 0x800) ||
		    (need == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += need + 1;
	}
	return 1;
}

/* One map<string, bytes> entry of CertificateChain.extras. */
struct extra {
	struct att_view	key, val;
};

static const struct field extra_fields[] = {
	{ 1, F_BYTES, offsetof(struct extra, key) },
	{ 2, F_BYTES, offsetof(struct extra, val) },
};

static int
decode_extra(struct att_view m, struct att_chain *c)
{
	struct extra	e;

	memset(&e, 0, sizeof(e));
	if (decode_table(m, extra_fields, nitems(extra_fields), &e) == -1 ||
	    !utf8_valid(e.key.p, e.key.len))
		return -1;
	c->nextras++;
	if (e.key.len == strlen(ATT_CRL_EXTRAS_KEY) &&
	    memcmp(e.key.p, ATT_CRL_EXTRAS_KEY, e.key.len) == 0) {
		c->crl = e.val;
		c->has_crl = 1;
	}
	return 0;
}

/* CertificateChain: its fields, and each entry of extras (field 7). */
static int
decode_extra_of(struct att_view m, void *chain)
{
	return decode_extra(m, chain);
}

static int
decode_chain(struct att_view m, struct att_chain *c)
{
	return decode_fields(m, chain_fields, nitems(chain_fields), c, 7,
	    decode_extra_of);
}

/* google.protobuf.UInt32Value: field 1 varint. */
static int
decode_u32value(struct att_view m, uint32_t *out)
{
	static const struct field f[] = { { 1, F_U32, 0 } };

	return decode_table(m, f, 1, out);
}

/* Product: name and stepping, then machine_stepping (field 3). */
static const struct field product_fields[] = {
	{ 1, F_U32, offsetof(struct att_attestation, product_name) },
	{ 2, F_U32, offsetof(struct att_attestation, product_stepping) },
};

static int
decode_machine_stepping(struct att_view m, void *base)
{
	struct att_attestation	*a = base;

	if (decode_u32value(m, &a->machine_stepping) == -1)
		return -1;
	a->has_machine_stepping = 1;
	return 0;
}

static int
decode_product(struct att_view m, struct att_attestation *a)
{
	return decode_fields(m, product_fields, nitems(product_fields), a, 3,
	    decode_machine_stepping);
}

int
att_proto_decode(const uint8_t *p, size_t len, struct att_attestation *a,
    char *err, size_t errlen)
{
	struct att_pb	 b = { p, len, 0 };
	struct att_view	 v;
	uint32_t	 num;
	int		 wt, rv = 0;

	memset(a, 0, sizeof(*a));
	while (rv == 0 && b.off < b.len) {
		if (att_pb_tag(&b, &num, &wt) == -1) {
			rv = -1;
			break;
		}
		if (num < 1 || num > 3) {
			rv = att_pb_skip(&b, wt);
			continue;
		}
		if (wt != ATT_WT_LEN || att_pb_bytes(&b, &v) == -1) {
			rv = -1;
			break;
		}
		if (num == 1) {
			a->has_report = 1;
			rv = decode_table(v, report_fields,
			    nitems(report_fields), &a->report);
		} else if (num == 2) {
			a->has_chain = 1;
			rv = decode_chain(v, &a->chain);
		} else {
			a->has_product = 1;
			rv = decode_product(v, a);
		}
	}
	if (rv == -1) {
		att_err(err, errlen, ATT_ERR_MALFORMED,
		    "malformed sevsnp.Attestation protobuf near offset %zu",
		    b.off);
		return -1;
	}
	return 0;
}

/*
 * tdx.QuoteV4 starts with field 1 = Header{1 version, 2 key type,
 * 3 tee_type}.  In an SNP document field 1 is the Report, whose field 3
 * is the guest policy; 0x81 cannot be a policy (bit 17 must be set), so
 * a header TEE type of 0x81 identifies TDX evidence unambiguously.
 */
int
att_proto_is_tdx(const uint8_t *p, size_t len)
{
	struct att_pb	 b = { p, len, 0 }, h;
	struct att_view	 v;
	uint64_t	 x;
	uint32_t	 num;
	int		 wt;

	while (b.off < b.len) {
		if (att_pb_tag(&b, &num, &wt) == -1)
			return 0;
		if (num != 1 || wt != ATT_WT_LEN) {
			if (att_pb_skip(&b, wt) == -1)
				return 0;
			continue;
		}
		if (att_pb_bytes(&b, &v) == -1)
			return 0;
		h.p = v.p;
		h.len = v.len;
		h.off = 0;
		while (h.off < h.len) {
			if (att_pb_tag(&h, &num, &wt) == -1)
				break;
			if (num == 3 && wt == ATT_WT_VARINT) {
				if (att_pb_varint(&h, &x) == -1)
					break;
				if (x == 0x81)
					return 1;
			} else if (att_pb_skip(&h, wt) == -1)
				break;
		}
	}
	return 0;
}
