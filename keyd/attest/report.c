/*
 * The SEV-SNP ATTESTATION_REPORT: its 0x4A0-byte little-endian ABI
 * image (the bytes the AMD-SP signed) and the bit fields inside it,
 * following go-sev-guest's abi package so both sides agree on what is
 * signed and what is malformed.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "attest_int.h"

#define BIT(v, n)	(((v) >> (n)) & 1)
#define NF(t)		(sizeof(t) / sizeof((t)[0]))

/* A one-bit flag of a policy or platform word and the int it fills. */
struct flag_bit {
	int	bit;
	size_t	off;
};

#define P(b, m)	{ b, offsetof(struct att_policy, m) }
static const struct flag_bit policy_flags[] = {
	P(16, smt),			P(18, migrate_ma),
	P(19, debug),			P(20, single_socket),
	P(21, cxl_allowed),		P(22, mem_aes_256_xts),
	P(23, rapl_dis),		P(24, ciphertext_hiding_dram),
	P(25, page_swap_disable),
};
#undef P
#define P(b, m)	{ b, offsetof(struct att_platform, m) }
static const struct flag_bit platform_flags[] = {
	P(0, smt_en),			P(1, tsme_en),
	P(2, ecc_en),			P(3, rapl_dis),
	P(4, ciphertext_hiding_dram_en), P(5, alias_check_complete),
	P(7, tio_en),
};
#undef P

static void
flags_from(uint64_t v, const struct flag_bit *f, size_t n, void *out)
{
	size_t	i;

	for (i = 0; i < n; i++)
		*(int *)((char *)out + f[i].off) = BIT(v, f[i].bit);
}

int
att_policy_parse(uint64_t v, struct att_policy *p)
{
	memset(p, 0, sizeof(*p));
	/* Bit 17 is reserved and must be one; bits 26-63 must be zero. */
	if (BIT(v, 17) == 0 || (v >> 26) != 0)
		return -1;
	p->abi_minor = v & 0xff;
	p->abi_major = (v >> 8) & 0xff;
	flags_from(v, policy_flags, NF(policy_flags), p);
	return 0;
}

uint64_t
att_policy_bits(const struct att_policy *p)
{
	uint64_t	v;
	size_t		i;

	v = (uint64_t)p->abi_minor | (uint64_t)p->abi_major << 8 |
	    (uint64_t)1 << 17;
	for (i = 0; i < NF(policy_flags); i++)
		if (*(const int *)((const char *)p + policy_flags[i].off))
			v |= (uint64_t)1 << policy_flags[i].bit;
	return v;
}

int
att_platform_parse(uint64_t v, struct att_platform *p)
{
	memset(p, 0, sizeof(*p));
	/* Bit 6 is reserved; bits from 8 up are not defined yet. */
	if (BIT(v, 6) != 0 || (v >> 8) != 0)
		return -1;
	flags_from(v, platform_flags, NF(platform_flags), p);
	return 0;
}

int
att_signer_parse(uint32_t v, struct att_signer *s)
{
	memset(s, 0, sizeof(*s));
	if ((v >> 5) != 0)
		return -1;
	s->author_key_en = BIT(v, 0);
	s->mask_chip_key = BIT(v, 1);
	s->signing_key = (v >> 2) & 7;
	/* 0 VCEK, 1 VLEK, 7 none; 2-6 are reserved. */
	if (s->signing_key > ATT_SIGNER_VLEK &&
	    s->signing_key < ATT_SIGNER_NONE)
		return -1;
	return 0;
}

void
att_fms(uint32_t eax, uint8_t *family, uint8_t *model, uint8_t *stepping)
{
	*family = (uint8_t)(((eax >> 20) & 0xff) + ((eax >> 8) & 0xf));
	*model = (uint8_t)(((eax >> 16) & 0xf) << 4 | ((eax >> 4) & 0xf));
	*stepping = eax & 0xf;
}

uint32_t
att_fms_to_eax(uint8_t family, uint8_t model, uint8_t stepping)
{
	uint8_t	ext = 0, fam = family;

	if (family >= 0xf) {
		ext = family - 0xf;
		fam = 0xf;
	}
	return (uint32_t)ext << 20 | (uint32_t)(model >> 4) << 16 |
	    (uint32_t)fam << 8 | (uint32_t)(model & 0xf) << 4 |
	    (stepping & 0xf);
}

enum attest_product
att_product_from_fms(uint32_t eax)
{
	uint8_t	f, m, s;

	att_fms(eax, &f, &m, &s);
	if (f == 0x19 && m == 0x01)
		return ATT_PRODUCT_MILAN;
	if (f == 0x19 && m == 0x11)
		return ATT_PRODUCT_GENOA;
	if (f == 0x1a && m == 0x02)
		return ATT_PRODUCT_TURIN;
	return ATT_PRODUCT_UNKNOWN;
}

/* Milan/Genoa TCB_VERSION: BL, TEE, 4 reserved, SNP, microcode. */
void
att_tcb_split(uint64_t v, struct attest_tcb *t)
{
	t->bl = v;
	t->tee = v >> 8;
	t->spl4 = v >> 16;
	t->spl5 = v >> 24;
	t->spl6 = v >> 32;
	t->spl7 = v >> 40;
	t->snp = v >> 48;
	t->ucode = v >> 56;
}

uint64_t
att_tcb_join(const struct attest_tcb *t)
{
	return (uint64_t)t->bl | (uint64_t)t->tee << 8 |
	    (uint64_t)t->spl4 << 16 | (uint64_t)t->spl5 << 24 |
	    (uint64_t)t->spl6 << 32 | (uint64_t)t->spl7 << 40 |
	    (uint64_t)t->snp << 48 | (uint64_t)t->ucode << 56;
}

const char *
att_tcb_first_gt(const struct attest_tcb *a, const struct attest_tcb *b)
{
	if (a->bl > b->bl)
		return "BL_SPL";
	if (a->tee > b->tee)
		return "TEE_SPL";
	if (a->spl4 > b->spl4)
		return "SPL4";
	if (a->spl5 > b->spl5)
		return "SPL5";
	if (a->spl6 > b->spl6)
		return "SPL6";
	if (a->spl7 > b->spl7)
		return "SPL7";
	if (a->snp > b->snp)
		return "SNP_SPL";
	if (a->ucode > b->ucode)
		return "UCODE_SPL";
	return NULL;
}

int
att_tcb_le(const struct attest_tcb *a, const struct attest_tcb *b)
{
	return att_tcb_first_gt(a, b) == NULL;
}

enum attest_reason
att_report_check_sizes(const struct att_report *r, char *err, size_t errlen)
{
	static const struct {
		size_t		 off;
		size_t		 size;
		const char	*name;
	} f[] = {
		{ offsetof(struct att_report, family_id), 16, "family_id" },
		{ offsetof(struct att_report, image_id), 16, "image_id" },
		{ offsetof(struct att_report, report_data), 64, "report_data" },
		{ offsetof(struct att_report, measurement), 48, "measurement" },
		{ offsetof(struct att_report, host_data), 32, "host_data" },
		{ offsetof(struct att_report, id_key_digest), 48,
		    "id_key_digest" },
		{ offsetof(struct att_report, author_key_digest), 48,
		    "author_key_digest" },
		{ offsetof(struct att_report, report_id), 32, "report_id" },
		{ offsetof(struct att_report, report_id_ma), 32,
		    "report_id_ma" },
		{ offsetof(struct att_report, chip_id), 64, "chip_id" },
		{ offsetof(struct att_report, signature), 512, "signature" },
	};
	const struct att_view *v;
	size_t	i;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		v = (const struct att_view *)(const void *)
		    ((const uint8_t *)r + f[i].off);
		if (v->len != f[i].size)
			return att_err(err, errlen, ATT_ERR_MALFORMED,
			    "report %s is %zu bytes, want %zu", f[i].name,
			    v->len, f[i].size);
	}
	return ATT_OK;
}

static void
put_view(uint8_t *dst, struct att_view v)
{
	memcpy(dst, v.p, v.len);
}

enum attest_reason
att_report_to_abi(const struct att_report *r, uint8_t out[ATT_REPORT_SIZE],
    char *err, size_t errlen)
{
	struct att_signer	s;
	enum attest_reason	rv;
	uint8_t			f, m, st;

	if ((rv = att_report_check_sizes(r, err, errlen)) != ATT_OK)
		return rv;
	if (att_signer_parse(r->signer_info, &s) == -1)
		return att_err(err, errlen, ATT_ERR_SIGNER,
		    "signer info 0x%x has reserved bits", r->signer_info);
	if (r->current_build > 0xff || r->current_minor > 0xff ||
	    r->current_major > 0xff || r->committed_build > 0xff ||
	    r->committed_minor > 0xff || r->committed_major > 0xff)
		return att_err(err, errlen, ATT_ERR_MALFORMED,
		    "firmware version field does not fit in a byte");

	/* Every byte not covered by a field is reserved and zero. */
	memset(out, 0, ATT_REPORT_SIZE);
	att_put32(out + 0x000, r->version);
	att_put32(out + 0x004, r->guest_svn);
	att_put64(out + 0x008, r->policy);
	put_view(out + 0x010, r->family_id);
	put_view(out + 0x020, r->image_id);
	att_put32(out + 0x030, r->vmpl);
	att_put32(out + 0x034, r->signature_algo);
	att_put64(out + 0x038, r->current_tcb);
	att_put64(out + 0x040, r->platform_info);
	att_put32(out + 0x048, r->signer_info);
	put_view(out + 0x050, r->report_data);
	put_view(out + 0x090, r->measurement);
	put_view(out + 0x0c0, r->host_data);
	put_view(out + 0x0e0, r->id_key_digest);
	put_view(out + 0x110, r->author_key_digest);
	put_view(out + 0x140, r->report_id);
	put_view(out + 0x160, r->report_id_ma);
	att_put64(out + 0x180, r->reported_tcb);
	if (r->version >= 3) {
		att_fms(r->cpuid1eax_fms, &f, &m, &st);
		out[0x188] = f;
		out[0x189] = m;
		out[0x18a] = st;
	}
	put_view(out + 0x1a0, r->chip_id);
	att_put64(out + 0x1e0, r->committed_tcb);
	out[0x1e8] = r->current_build;
	out[0x1e9] = r->current_minor;
	out[0x1ea] = r->current_major;
	out[0x1ec] = r->committed_build;
	out[0x1ed] = r->committed_minor;
	out[0x1ee] = r->committed_major;
	att_put64(out + 0x1f0, r->launch_tcb);
	att_put64(out + 0x1f8, r->launch_mit_vector);
	att_put64(out + 0x200, r->current_mit_vector);
	put_view(out + 0x2a0, r->signature);
	return ATT_OK;
}

static int
mbz(const uint8_t *p, size_t lo, size_t hi)
{
	size_t	i;

	for (i = lo; i < hi; i++)
		if (p[i] != 0)
			return -1;
	return 0;
}

static struct att_view
view(const uint8_t *p, size_t off, size_t len)
{
	struct att_view	v = { p + off, len };

	return v;
}

static int	from_abi_fail(char *, size_t, const char *, ...)
		    __attribute__((__format__(printf, 3, 4)));

static int
from_abi_fail(char *err, size_t errlen, const char *what, ...)
{
	va_list	ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, what);
		vsnprintf(err, errlen, what, ap);
		va_end(ap);
	}
	return -1;
}

int
att_report_from_abi(const uint8_t *p, size_t len, struct att_report *r,
    char *err, size_t errlen)
{
	struct att_policy	pol;
	struct att_signer	s;

	memset(r, 0, sizeof(*r));
	if (len < ATT_REPORT_SIZE)
		return from_abi_fail(err, errlen, "report is %zu bytes", len);
	r->version = att_get32(p);
	r->guest_svn = att_get32(p + 0x004);
	r->policy = att_get64(p + 0x008);
	if (att_policy_parse(r->policy, &pol) == -1)
		return from_abi_fail(err, errlen, "malformed guest policy");
	r->family_id = view(p, 0x010, 16);
	r->image_id = view(p, 0x020, 16);
	r->vmpl = att_get32(p + 0x030);
	r->signature_algo = att_get32(p + 0x034);
	r->current_tcb = att_get64(p + 0x038);
	r->platform_info = att_get64(p + 0x040);
	r->signer_info = att_get32(p + 0x048);
	if (att_signer_parse(r->signer_info, &s) == -1 || mbz(p, 0x4c, 0x50))
		return from_abi_fail(err, errlen, "malformed signer info");
	r->report_data = view(p, 0x050, 64);
	r->measurement = view(p, 0x090, 48);
	r->host_data = view(p, 0x0c0, 32);
	r->id_key_digest = view(p, 0x0e0, 48);
	r->author_key_digest = view(p, 0x110, 48);
	r->report_id = view(p, 0x140, 32);
	r->report_id_ma = view(p, 0x160, 32);
	r->reported_tcb = att_get64(p + 0x180);
	if (r->version >= 3)
		r->cpuid1eax_fms = att_fms_to_eax(p[0x188], p[0x189],
		    p[0x18a]);
	if (mbz(p, r->version >= 3 ? 0x18b : 0x188, 0x1a0))
		return from_abi_fail(err, errlen, "reserved bytes not zero");
	r->chip_id = view(p, 0x1a0, 64);
	r->committed_tcb = att_get64(p + 0x1e0);
	r->current_build = p[0x1e8];
	r->current_minor = p[0x1e9];
	r->current_major = p[0x1ea];
	r->committed_build = p[0x1ec];
	r->committed_minor = p[0x1ed];
	r->committed_major = p[0x1ee];
	r->launch_tcb = att_get64(p + 0x1f0);
	r->launch_mit_vector = att_get64(p + 0x1f8);
	r->current_mit_vector = att_get64(p + 0x200);
	if (mbz(p, 0x1eb, 0x1ec) || mbz(p, 0x1ef, 0x1f0) ||
	    mbz(p, 0x208, ATT_SIGNED_SIZE))
		return from_abi_fail(err, errlen, "reserved bytes not zero");
	if (r->signature_algo == 1 &&
	    mbz(p, ATT_SIGNED_SIZE + 0x90, ATT_REPORT_SIZE))
		return from_abi_fail(err, errlen, "signature padding not zero");
	r->signature = view(p, ATT_SIGNED_SIZE, 512);
	return 0;
}
