/*
 * The one place that knows the error schemas clients read: a pmerr as
 * an OpenAI or an Anthropic error, a JSON document or a server-sent
 * event.  The dialect is a parameter (the route decides it).
 */
#ifndef PM_APIERR_H
#define PM_APIERR_H

#include "buf.h"
#include "pmerr.h"
#include "routes.h"	/* enum route_dialect */

enum apierr_form {
	AEF_JSON,		/* the document alone */
	AEF_SSE,		/* "event: error" + data: an error answer to a
				 * client that asked for an event stream */
	AEF_STREAM		/* the event ending a stream already begun: as
				 * each API sends it (OpenAI: data only) */
};

/* Append the error; msg NULL is the code's default message. */
void	apierr_render(struct buf *, enum route_dialect, enum apierr_form,
	    enum pmerr_code, const char *msg);
/* The Content-Type of an answer that is the error alone. */
const char *apierr_ctype(enum apierr_form);

#endif
