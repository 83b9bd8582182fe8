/* Helpers for the crypto test programs; see tc.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t.h"
#include "tc.h"
#include "util.h"

uint8_t *
tc_unhex(const char *s, size_t *len)
{
	size_t	 n = strlen(s), i;
	uint8_t	*out;
	int	 hi, lo;

	if (n % 2 != 0)
		return NULL;
	out = xmalloc(n / 2 + 1);
	for (i = 0; i < n / 2; i++) {
		hi = hex_digit((unsigned char)s[2 * i]);
		lo = hex_digit((unsigned char)s[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			free(out);
			return NULL;
		}
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return out;
}

int
tc_unhex_into(const char *s, uint8_t *out, size_t n)
{
	uint8_t	*p;
	size_t	 len;

	if ((p = tc_unhex(s, &len)) == NULL)
		return -1;
	if (len != n) {
		free(p);
		return -1;
	}
	memcpy(out, p, n);
	free(p);
	return 0;
}

const char *
tc_hex(const uint8_t *p, size_t n)
{
	static char	out[4096];
	size_t		i;

	for (i = 0; i < n && 2 * i + 2 < sizeof(out); i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
	out[2 * i] = '\0';
	return out;
}

static char *
vector_path(const char *rel)
{
	char	*path;

	if (xasprintf(&path, "%s/%s", t_vectors_dir(), rel) == -1)
		abort();
	return path;
}

json_object *
tc_load_json(const char *rel)
{
	json_object	*o;
	char		*path = vector_path(rel);

	if ((o = json_object_from_file(path)) == NULL) {
		fprintf(stderr, "cannot load %s: %s\n", path,
		    json_util_get_last_err());
		exit(1);
	}
	free(path);
	return o;
}

char *
tc_load_text(const char *rel, size_t *len)
{
	char	*path = vector_path(rel), *buf;

	if (read_file(path, 64 * 1024 * 1024, &buf, len) == -1) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(1);
	}
	free(path);
	return buf;
}

const char *
tc_str(json_object *o, const char *key)
{
	json_object	*v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}
