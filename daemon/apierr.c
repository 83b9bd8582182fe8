/*
 * Rendering errors as OpenAI or Anthropic answers (daemon/apierr.h).
 * The bytes are the wire format the SDKs parse: keep them stable.
 */
#include "config.h"

#include <stdlib.h>

#include "apierr.h"
#include "util.h"

/* Anthropic's error type for an HTTP status. */
static const char *
anthropic_type(int status)
{
	switch (status) {
	case 400: return "invalid_request_error";
	case 401: return "authentication_error";
	case 403: return "permission_error";
	case 404: return "not_found_error";
	case 413: return "request_too_large";
	case 429: return "rate_limit_error";
	case 529: return "overloaded_error";
	default: return "api_error";
	}
}

static void
render_json(struct buf *b, enum route_dialect d, enum pmerr_code c,
    const char *msg)
{
	char		*esc = json_escape_dup(msg);
	const char	*code = pmerr_code_str(c);

	if (d == RD_ANTHROPIC)
		buf_addf(b, "{\"type\":\"error\",\"error\":{\"type\":\"%s\","
		    "\"message\":%s}}", anthropic_type(pmerr_status(c)), esc);
	else {
		buf_addf(b, "{\"error\":{\"message\":%s,\"type\":\"%s\","
		    "\"param\":null,\"code\":", esc, pmerr_type(c));
		if (code != NULL)
			buf_addf(b, "\"%s\"}}", code);
		else
			buf_adds(b, "null}}");
	}
	free(esc);
}

void
apierr_render(struct buf *b, enum route_dialect d, enum apierr_form f,
    enum pmerr_code c, const char *msg)
{
	if (msg == NULL)
		msg = pmerr_default_msg(c);
	/* OpenAI's streams carry an error as a plain data event. */
	if (f == AEF_SSE || (f == AEF_STREAM && d == RD_ANTHROPIC))
		buf_adds(b, "event: error\n");
	if (f != AEF_JSON)
		buf_adds(b, "data: ");
	render_json(b, d, c, msg);
	if (f != AEF_JSON)
		buf_adds(b, "\n\n");
}

const char *
apierr_ctype(enum apierr_form f)
{
	return f == AEF_JSON ? "application/json" : "text/event-stream";
}
