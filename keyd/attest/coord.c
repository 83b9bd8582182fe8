/*
 * The Coordinator attestation response (Contrast internal/httpapi) and
 * the REPORT_DATA that binds it: the nonce, the manifest history, the
 * root CA and the mesh CA (v1.20-era formula, no capabilities digest).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "attest_int.h"

enum attest_reason
att_response_parse(const uint8_t *body, size_t len, struct att_blob *doc,
    char *err, size_t errlen)
{
	struct json_object	*root;
	enum attest_reason	 rv = ATT_OK;

	doc->p = NULL;
	doc->len = 0;
	if ((root = att_json_parse(body, len, err, errlen)) == NULL)
		return ATT_ERR_MALFORMED;
	if (!json_object_is_type(root, json_type_object))
		rv = att_err(err, errlen, ATT_ERR_MALFORMED,
		    "attest response is not a JSON object");
	else if (att_json_bytes(root, "AttestationDoc", &doc->p,
	    &doc->len) == -1)
		rv = att_err(err, errlen, ATT_ERR_MALFORMED,
		    "AttestationDoc is not base64");
	json_object_put(root);
	return rv;
}

static int
oid_is(struct json_object *arr, const int64_t *want, size_t n)
{
	size_t	i;

	if (json_object_array_length(arr) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (json_object_get_int64(json_object_array_get_idx(arr, i)) !=
		    want[i])
			return 0;
	return 1;
}

/* attestation_type is an asn1.ObjectIdentifier: a JSON array of ints. */
static int
parse_evidence_type(struct json_object *root, int *ev)
{
	static const int64_t snp[] = { 1, 3, 9901, 2, 1 };
	static const int64_t tdx[] = { 1, 3, 9901, 2, 2 };
	static const int64_t insecure[] = { 1, 3, 9901, 2, 3 };
	struct json_object	*arr;
	size_t			 i, n;

	*ev = ATT_EV_ABSENT;
	if ((arr = att_json_get(root, "attestation_type")) == NULL)
		return 0;
	if (!json_object_is_type(arr, json_type_array))
		return -1;
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++)
		if (!json_object_is_type(json_object_array_get_idx(arr, i),
		    json_type_int))
			return -1;
	if (oid_is(arr, snp, 5))
		*ev = ATT_EV_SNP;
	else if (oid_is(arr, tdx, 5))
		*ev = ATT_EV_TDX;
	else if (oid_is(arr, insecure, 5))
		*ev = ATT_EV_INSECURE;
	else
		*ev = ATT_EV_OTHER;
	return 0;
}

static int
decode_elem(struct json_object *v, struct att_blob *b)
{
	b->p = NULL;
	b->len = 0;
	if (v == NULL)		/* null element: a nil []byte */
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -1;
	return att_b64_decode(json_object_get_string(v),
	    (size_t)json_object_get_string_len(v), &b->p, &b->len);
}

/* A [][]byte member; keep=0 validates without storing. */
static enum attest_reason
parse_blob_list(struct json_object *root, const char *name, int keep,
    struct att_blob **out, size_t *np, char *err, size_t errlen)
{
	struct json_object	*arr;
	struct att_blob		 b, *list = NULL;
	size_t			 i, n;

	*np = 0;
	if ((arr = att_json_get(root, name)) == NULL)
		return ATT_OK;
	if (!json_object_is_type(arr, json_type_array))
		return att_err(err, errlen, ATT_ERR_MALFORMED,
		    "%s is not an array", name);
	if ((n = json_object_array_length(arr)) > ATT_MAX_MANIFESTS)
		return att_err(err, errlen, ATT_ERR_MALFORMED,
		    "%s has too many entries (%zu)", name, n);
	if (keep && n > 0 && (list = calloc(n, sizeof(*list))) == NULL)
		return att_err(err, errlen, ATT_ERR_INTERNAL, "out of memory");
	for (i = 0; i < n; i++) {
		if (decode_elem(json_object_array_get_idx(arr, i), &b) == -1) {
			att_err(err, errlen, ATT_ERR_MALFORMED,
			    "%s[%zu] is not base64", name, i);
			while (keep && i-- > 0)
				free(list[i].p);
			free(list);
			return ATT_ERR_MALFORMED;
		}
		if (keep)
			list[i] = b;
		else
			free(b.p);
	}
	if (keep)
		*out = list;
	*np = n;
	return ATT_OK;
}

static enum attest_reason
coord_fields(struct json_object *root, struct att_coord *c, char *err,
    size_t errlen)
{
	struct json_object	*v;
	enum attest_reason	 rv;

	if (!json_object_is_type(root, json_type_object))
		return att_err(err, errlen, ATT_ERR_MALFORMED,
		    "Coordinator response is not a JSON object");
	if ((v = att_json_get(root, "version")) != NULL) {
		if (!json_object_is_type(v, json_type_string))
			return att_err(err, errlen, ATT_ERR_MALFORMED,
			    "version is not a string");
		if ((c->version = strdup(json_object_get_string(v))) == NULL)
			return att_err(err, errlen, ATT_ERR_INTERNAL,
			    "out of memory");
	}
	if (att_json_bytes(root, "raw_attestation_doc", &c->raw_doc.p,
	    &c->raw_doc.len) == -1)
		return att_err(err, errlen, ATT_ERR_MALFORMED,
		    "raw_attestation_doc is not base64");
	if (parse_evidence_type(root, &c->evidence) == -1)
		return att_err(err, errlen, ATT_ERR_MALFORMED,
		    "attestation_type is not an OID");
	if ((rv = parse_blob_list(root, "manifests", 1, &c->manifests,
	    &c->nmanifests, err, errlen)) != ATT_OK)
		return rv;
	if ((rv = parse_blob_list(root, "policies", 0, NULL, &c->npolicies,
	    err, errlen)) != ATT_OK)
		return rv;
	if (att_json_bytes(root, "root_ca", &c->root_ca.p,
	    &c->root_ca.len) == -1)
		return att_err(err, errlen, ATT_ERR_MALFORMED,
		    "root_ca is not base64");
	if (att_json_bytes(root, "mesh_ca", &c->mesh_ca.p,
	    &c->mesh_ca.len) == -1)
		return att_err(err, errlen, ATT_ERR_MALFORMED,
		    "mesh_ca is not base64");
	return ATT_OK;
}

enum attest_reason
att_coord_parse(const uint8_t *p, size_t len, struct att_coord *c, char *err,
    size_t errlen)
{
	struct json_object	*root;
	enum attest_reason	 rv;

	memset(c, 0, sizeof(*c));
	if ((root = att_json_parse(p, len, err, errlen)) == NULL)
		return ATT_ERR_MALFORMED;
	rv = coord_fields(root, c, err, errlen);
	json_object_put(root);
	if (rv != ATT_OK)
		att_coord_free(c);
	return rv;
}

void
att_coord_free(struct att_coord *c)
{
	size_t	i;

	free(c->version);
	free(c->raw_doc.p);
	for (i = 0; i < c->nmanifests; i++)
		free(c->manifests[i].p);
	free(c->manifests);
	free(c->root_ca.p);
	free(c->mesh_ca.p);
	memset(c, 0, sizeof(*c));
}

static void
sha256(const void *p, size_t n, uint8_t out[32])
{
	EVP_Digest(p, n, out, NULL, EVP_sha256(), NULL);
}

/*
 * Contrast's history: each Transition is ManifestHash || previous
 * transition hash, and the chain starts from 32 zero bytes.
 */
void
att_transition_digest(const struct att_blob *m, size_t n, uint8_t out[32])
{
	uint8_t	t[64];
	size_t	i;

	memset(t + 32, 0, 32);
	for (i = 0; i < n; i++) {
		sha256(m[i].p != NULL ? m[i].p : (const uint8_t *)"",
		    m[i].len, t);
		sha256(t, sizeof(t), t + 32);
	}
	memcpy(out, t + 32, 32);
}

void
att_report_data(const uint8_t nonce[ATT_NONCE_LEN], const struct att_coord *c,
    uint8_t out[64])
{
	uint8_t	in[4 * 32];

	memcpy(in, nonce, 32);
	att_transition_digest(c->manifests, c->nmanifests, in + 32);
	sha256(c->root_ca.p != NULL ? c->root_ca.p : (const uint8_t *)"",
	    c->root_ca.len, in + 64);
	sha256(c->mesh_ca.p != NULL ? c->mesh_ca.p : (const uint8_t *)"",
	    c->mesh_ca.len, in + 96);
	sha256(in, sizeof(in), out);
	memset(out + 32, 0, 32);
}
