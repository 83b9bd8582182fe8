/* Error text helpers; see cerr.h. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "cerr.h"
#include "util.h"

void
cerr_set(struct cerr *e, const char *fmt, ...)
{
	va_list	ap;

	if (e == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

void
cerr_wrap(struct cerr *e, const char *fmt, ...)
{
	char	old[CERR_MAX];
	va_list	ap;

	if (e == NULL)
		return;
	strlcpy(old, e->msg, sizeof(old));
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	strlcat(e->msg, ": ", sizeof(e->msg));
	strlcat(e->msg, old, sizeof(e->msg));
}

void
cerr_quote(char *dst, size_t dstlen, const void *src, size_t n)
{
	const unsigned char	*s = src;
	struct buf		 b;
	size_t			 i;

	buf_init(&b, n + 2);
	buf_addc(&b, '"');
	for (i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\') {
			buf_addc(&b, '\\');
			buf_addc(&b, s[i]);
		} else if (s[i] == '\n')
			buf_adds(&b, "\\n");
		else if (s[i] == '\t')
			buf_adds(&b, "\\t");
		else if (s[i] < 0x20 || s[i] == 0x7f)
			buf_addf(&b, "\\x%02x", s[i]);
		else
			buf_addc(&b, s[i]);
	}
	buf_addc(&b, '"');
	strlcpy(dst, buf_cstr(&b), dstlen);
	buf_free(&b);
}
