/* Token usage per client and model (usage.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "ipc.h"
#include "json.h"
#include "usage.h"
#include "util.h"

static const char	label_chars[] = "abcdefghijklmnopqrstuvwxyz"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:/@+-";

/* --- reading answers --------------------------------------------------- */

/* A JSON number that is a non-negative integer; -1 otherwise. */
static int
json_uint(const uint8_t *p, struct json_span sp, uint64_t *v)
{
	uint64_t	x = 0;
	size_t		i;

	if (sp.len == 0 || sp.len > 19)
		return -1;
	for (i = 0; i < sp.len; i++) {
		if (p[sp.off + i] < '0' || p[sp.off + i] > '9')
			return -1;
		x = x * 10 + (p[sp.off + i] - '0');
	}
	*v = x;
	return 0;
}

static int
is_key(const uint8_t *p, struct json_span key, const char *lit)
{
	return json_strcmp(p + key.off, key.len, (const uint8_t *)lit,
	    strlen(lit)) == 0;
}

/* The members of one usage object. */
static void
usage_object(struct usage *u, const uint8_t *p, struct json_span sp)
{
	struct json_iter	it;
	struct json_member	m;
	uint64_t		v;

	if (json_iter_init(&it, p, sp) == -1)
		return;
	while (json_iter_next(&it, &m) == 1) {
		if (m.type != JSON_NUMBER || json_uint(p, m.value, &v) == -1)
			continue;
		if (is_key(p, m.key, "\"prompt_tokens\"") ||
		    is_key(p, m.key, "\"input_tokens\"")) {
			u->prompt = v;
			u->seen |= USAGE_PROMPT;
		} else if (is_key(p, m.key, "\"completion_tokens\"") ||
		    is_key(p, m.key, "\"output_tokens\"")) {
			u->completion = v;
			u->seen |= USAGE_COMPLETION;
		}
	}
	json_iter_free(&it);
}

/* "message"."usage" (Anthropic's message_start). */
static void
usage_in_message(struct usage *u, const uint8_t *p, struct json_span sp)
{
	struct json_iter	it;
	struct json_member	m;

	if (json_iter_init(&it, p, sp) == -1)
		return;
	while (json_iter_next(&it, &m) == 1)
		if (m.type == JSON_OBJECT && is_key(p, m.key, "\"usage\""))
			usage_object(u, p, m.value);
	json_iter_free(&it);
}

void
usage_from_json(struct usage *u, const uint8_t *p, size_t n)
{
	struct json_result	 jr;
	struct json_top		*top = NULL;
	enum json_status	 st;
	size_t			 ntop = 0, i;

	if (n == 0 || memmem(p, n, "\"usage\"", 7) == NULL)
		return;
	st = json_validate_top(p, n, 64, &jr, &top, &ntop);
	if ((st == JSON_OK || st == JSON_EDUPKEY) && jr.top == JSON_OBJECT) {
		for (i = 0; i < ntop; i++) {
			if (json_kind_at(p, n, top[i].value.off) != JSON_OBJECT)
				continue;
			if (is_key(p, top[i].key, "\"usage\""))
				usage_object(u, p, top[i].value);
			else if (is_key(p, top[i].key, "\"message\""))
				usage_in_message(u, p, top[i].value);
		}
	}
	free(top);
}

void
usage_from_sse(struct usage *u, const uint8_t *p, size_t n)
{
	struct usage	 line;
	const uint8_t	*end, *start;
	size_t		 len;
	int		 got = 0;

	/* Only whole lines: drop what follows the last newline. */
	while (n > 0 && p[n - 1] != '\n')
		n--;
	for (end = p + n; end > p && got != (USAGE_PROMPT | USAGE_COMPLETION);
	    end = start) {
		/* The line before end: [start, end - 1) and its newline. */
		for (start = end - 1; start > p && start[-1] != '\n'; start--)
			;
		len = (size_t)(end - 1 - start);
		if (len > 0 && start[len - 1] == '\r')
			len--;
		if (len < 5 || memcmp(start, "data:", 5) != 0)
			continue;
		memset(&line, 0, sizeof(line));
		usage_from_json(&line, start + 5, len - 5);
		/* A later line's value stands; an earlier one fills a gap. */
		if ((line.seen & USAGE_PROMPT) && !(got & USAGE_PROMPT)) {
			u->prompt = line.prompt;
			u->seen |= USAGE_PROMPT;
		}
		if ((line.seen & USAGE_COMPLETION) &&
		    !(got & USAGE_COMPLETION)) {
			u->completion = line.completion;
			u->seen |= USAGE_COMPLETION;
		}
		got |= line.seen;
	}
}

int
usage_name_ok(const char *s)
{
	size_t	n = strlen(s);

	return (n > 0 && n <= USAGE_NAME_MAX &&
	    strspn(s, label_chars) == n) || strcmp(s, USAGE_OTHER) == 0;
}

void
usage_label(char out[USAGE_NAME_MAX + 1], const void *p, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strchr(label_chars, ((const char *)p)[i]) == NULL ||
		    ((const char *)p)[i] == '\0')
			break;
	if (n == 0 || n > USAGE_NAME_MAX || i < n) {
		strlcpy(out, USAGE_OTHER, USAGE_NAME_MAX + 1);
		return;
	}
	memcpy(out, p, n);
	out[n] = '\0';
}

/* --- tables ------------------------------------------------------------ */

static struct usage_row *
row_find(struct usage_table *t, const char *client, const char *model)
{
	size_t	i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->v[i].client, client) == 0 &&
		    strcmp(t->v[i].model, model) == 0)
			return &t->v[i];
	return NULL;
}

static struct usage_row *
row_new(struct usage_table *t, const char *client, const char *model)
{
	struct usage_row	*r;

	t->v = xreallocarray(t->v, t->n + 1, sizeof(*t->v));
	r = &t->v[t->n++];
	memset(r, 0, sizeof(*r));
	strlcpy(r->client, client, sizeof(r->client));
	strlcpy(r->model, model, sizeof(r->model));
	return r;
}

static size_t
client_models(const struct usage_table *t, const char *client)
{
	size_t	i, k = 0;

	for (i = 0; i < t->n; i++)
		k += strcmp(t->v[i].client, client) == 0;
	return k;
}

int
usage_add(struct usage_table *t, const char *client, const char *model,
    uint64_t requests, uint64_t prompt, uint64_t completion)
{
	struct usage_row	*r;

	if ((r = row_find(t, client, model)) == NULL) {
		if (!t->bounded) {
			if (t->n >= USAGE_DELTA_ROWS)
				return -1;
			r = row_new(t, client, model);
		} else {
			if (client_models(t, client) >= USAGE_MODELS_PER_CLIENT)
				model = USAGE_OTHER;
			if (t->n >= USAGE_ROWS_MAX)
				client = model = USAGE_OTHER;
			if ((r = row_find(t, client, model)) == NULL)
				r = row_new(t, client, model);
		}
	}
	r->requests += requests;
	r->prompt += prompt;
	r->completion += completion;
	return 0;
}

void
usage_reset(struct usage_table *t)
{
	t->n = 0;
}

void
usage_free(struct usage_table *t)
{
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

/* --- MSG_USAGE --------------------------------------------------------- */

void
usage_put(struct buf *m, const struct usage_table *t)
{
	size_t	i;

	msg_put_u32(m, (uint32_t)t->n);
	for (i = 0; i < t->n; i++) {
		msg_put_str(m, t->v[i].client);
		msg_put_str(m, t->v[i].model);
		msg_put_u64(m, t->v[i].requests);
		msg_put_u64(m, t->v[i].prompt);
		msg_put_u64(m, t->v[i].completion);
	}
}

int
usage_get(struct msgr *m, struct usage_table *t)
{
	struct usage_row	*rows;
	char			*client, *model;
	uint32_t		 n, i;
	int			 ok = 1;

	n = msg_get_u32(m);
	if (m->err || n > USAGE_DELTA_ROWS || n > m->left / (2 * 5 + 24))
		return -1;
	rows = xcalloc(n > 0 ? n : 1, sizeof(*rows));
	/* All of it is checked before any of it counts. */
	for (i = 0; i < n && ok; i++) {
		client = msg_get_str(m);
		model = msg_get_str(m);
		ok = client != NULL && model != NULL &&
		    usage_name_ok(client) && usage_name_ok(model);
		if (ok) {
			strlcpy(rows[i].client, client, sizeof(rows[i].client));
			strlcpy(rows[i].model, model, sizeof(rows[i].model));
		}
		free(client);
		free(model);
		rows[i].requests = msg_get_u64(m);
		rows[i].prompt = msg_get_u64(m);
		rows[i].completion = msg_get_u64(m);
	}
	if (!ok || msg_end(m) == -1) {
		free(rows);
		return -1;
	}
	for (i = 0; i < n; i++)
		usage_add(t, rows[i].client, rows[i].model, rows[i].requests,
		    rows[i].prompt, rows[i].completion);
	free(rows);
	return 0;
}

/* --- exposition -------------------------------------------------------- */

static void
row_labels(struct buf *o, const struct usage_row *r)
{
	/* Names are label-safe by construction (usage_name_ok). */
	buf_addf(o, "client=\"%s\",model=\"%s\"", r->client, r->model);
}

void
usage_render(const struct usage_table *t, struct buf *o)
{
	size_t	i;

	buf_adds(o, "# HELP privatemode_client_requests_total Proxied "
	    "requests, by client (\"-\" without client_auth) and the model "
	    "the request named.\n"
	    "# TYPE privatemode_client_requests_total counter\n");
	for (i = 0; i < t->n; i++) {
		buf_adds(o, "privatemode_client_requests_total{");
		row_labels(o, &t->v[i]);
		buf_addf(o, "} %llu\n", (unsigned long long)t->v[i].requests);
	}
	buf_adds(o, "# HELP privatemode_client_tokens_total Tokens the "
	    "answers' usage objects counted, by client, model and kind "
	    "(prompt or completion).\n"
	    "# TYPE privatemode_client_tokens_total counter\n");
	for (i = 0; i < t->n; i++) {
		buf_adds(o, "privatemode_client_tokens_total{");
		row_labels(o, &t->v[i]);
		buf_addf(o, ",kind=\"prompt\"} %llu\n",
		    (unsigned long long)t->v[i].prompt);
		buf_adds(o, "privatemode_client_tokens_total{");
		row_labels(o, &t->v[i]);
		buf_addf(o, ",kind=\"completion\"} %llu\n",
		    (unsigned long long)t->v[i].completion);
	}
}
