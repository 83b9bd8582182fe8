/*
 * The error vocabulary (common/pmerr.h): the table's lookups, setting an
 * error, and its IPC encoding.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pmerr.h"
#include "util.h"

struct pmerr_row {
	int		 status;
	const char	*type;
	const char	*code;
	const char	*msg;
};

static const struct pmerr_row rows[PME_MAX] = {
	[PME_NONE] = { 0, NULL, NULL, "no error" },
#define PMERR_ROW(name, status, type, code, msg)			\
	[name] = { status, type, code, msg },
	PMERR_CODES(PMERR_ROW)
#undef PMERR_ROW
};

static const struct pmerr_row *
row(enum pmerr_code c)
{
	if ((unsigned int)c == PME_NONE || (unsigned int)c >= PME_MAX)
		c = PME_INTERNAL;
	return &rows[c];
}

int
pmerr_status(enum pmerr_code c)
{
	return row(c)->status;
}

const char *
pmerr_type(enum pmerr_code c)
{
	return row(c)->type;
}

const char *
pmerr_code_str(enum pmerr_code c)
{
	return row(c)->code;
}

const char *
pmerr_default_msg(enum pmerr_code c)
{
	return row(c)->msg;
}

void
pmerr_vset(struct pmerr *e, enum pmerr_code c, const char *fmt, va_list ap)
{
	e->code = c;
	if (fmt == NULL)
		strlcpy(e->msg, pmerr_default_msg(c), sizeof(e->msg));
	else
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
}

void
pmerr_set(struct pmerr *e, enum pmerr_code c, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	pmerr_vset(e, c, fmt, ap);
	va_end(ap);
}

void
pmerr_put(struct buf *m, const struct pmerr *e)
{
	msg_put_u16(m, (uint16_t)e->code);
	msg_put_str(m, e->msg);
}

int
pmerr_get(struct msgr *r, struct pmerr *e)
{
	char		*s;
	uint16_t	 c;
	int		 rv = -1;

	memset(e, 0, sizeof(*e));
	c = msg_get_u16(r);
	s = msg_get_str(r);
	if (!r->err && c != PME_NONE && c < PME_MAX && s != NULL &&
	    strlcpy(e->msg, s, sizeof(e->msg)) < sizeof(e->msg)) {
		e->code = (enum pmerr_code)c;
		rv = 0;
	} else {
		r->err = 1;
		memset(e, 0, sizeof(*e));
	}
	free(s);
	return rv;
}
