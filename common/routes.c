/*
 * The route-traits table: every proxied route kind in one row (see
 * routes.h), and the lookups the worker and keyd make in it.
 */

#include "config.h"

#include <stddef.h>
#include <string.h>

#include "routes.h"

/* Plain sets of protocol.md 4.0: members sent (and answered) in clear. */
static const char *const chat_req_plain[] = { "model", "stream_options",
    "max_tokens", "max_completion_tokens", "n", "stream", NULL };
static const char *const emb_req_plain[] = { "model", NULL };
static const char *const msg_req_plain[] = { "model", "stream", NULL };
static const char *const tr_req_plain[] = { "model", "stream",
    "stream_include_usage", "stream_continuous_usage_stats", NULL };
static const char *const chat_resp_plain[] = { "id", "usage", NULL };
static const char *const tr_resp_plain[] = { "duration", "usage", NULL };
static const char *const msg_resp_plain[] = { "id", "type", "usage", NULL };

/*
 * The official proxy's routes, plus the paths GitLab users get wrong: an
 * endpoint configured without /v1, and the old health check's
 * /v1/v1/models.
 */
static const char *const chat_aliases[] = { "/chat/completions", NULL };
static const char *const compl_aliases[] = { "/completions", NULL };
static const char *const emb_aliases[] = { "/embeddings", NULL };
static const char *const models_aliases[] = { "/v1/v1/models", "/models",
    NULL };

static const struct route_traits rows[RK__COUNT] = {
	[RK_MODELS] = { "models", "GET", "/v1/models", 0, models_aliases,
	    RB_PLAIN, 0, NULL, NULL, RD_OPENAI },
	[RK_CHAT] = { "chat_completions", "POST", "/v1/chat/completions", 0,
	    chat_aliases, RB_JSON, RT_CACHE_SALT | RT_USAGE, chat_req_plain,
	    chat_resp_plain, RD_OPENAI },
	[RK_COMPLETIONS] = { "completions", "POST", "/v1/completions", 0,
	    compl_aliases, RB_JSON, RT_CACHE_SALT | RT_USAGE, chat_req_plain,
	    chat_resp_plain, RD_OPENAI },
	[RK_EMBEDDINGS] = { "embeddings", "POST", "/v1/embeddings", 0,
	    emb_aliases, RB_JSON, RT_USAGE, emb_req_plain, chat_resp_plain,
	    RD_OPENAI },
	[RK_TRANSCRIPTIONS] = { "audio_transcriptions", "POST",
	    "/v1/audio/transcriptions", 0, NULL, RB_MULTIPART, RT_USAGE,
	    tr_req_plain, tr_resp_plain, RD_OPENAI },
	[RK_MESSAGES] = { "messages", "POST", "/v1/messages", 0, NULL,
	    RB_JSON, RT_CACHE_SALT | RT_USAGE, msg_req_plain, msg_resp_plain,
	    RD_ANTHROPIC },
	/* The whole body one message both ways (protocol.md 3.9). */
	[RK_UNSTRUCTURED] = { "unstructured", "POST", "/unstructured/", 1,
	    NULL, RB_RAW, 0, NULL, NULL, RD_OPENAI },
};

const struct route_traits *
route_traits(int rk)
{
	/* Row 0 is no kind; a kind without a row is a bug caught here. */
	if (rk <= 0 || rk >= RK__COUNT || rows[rk].path == NULL)
		return NULL;
	return &rows[rk];
}

static int
path_is(const char *path, const char *p, int subtree)
{
	return subtree ? strncmp(path, p, strlen(p)) == 0 :
	    strcmp(path, p) == 0;
}

int
route_by_path(const char *path, const char **canonical)
{
	const struct route_traits	*t;
	const char *const		*a;
	int				 rk;

	*canonical = NULL;
	for (rk = 1; rk < RK__COUNT; rk++) {
		if ((t = route_traits(rk)) == NULL)
			continue;
		if (path_is(path, t->path, t->subtree))
			return rk;
		for (a = t->aliases; a != NULL && *a != NULL; a++)
			if (strcmp(path, *a) == 0) {
				*canonical = t->path;
				return rk;
			}
	}
	return 0;
}

int
route_sealed(const struct route_traits *t)
{
	return t->body != RB_PLAIN;
}

int
route_plain_has(const char *const *plain, const char *name)
{
	for (; plain != NULL && *plain != NULL; plain++)
		if (strcmp(*plain, name) == 0)
			return 1;
	return 0;
}
