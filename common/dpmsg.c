/* The worker <-> keyd data path messages and the origins keyd may reach. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "dpmsg.h"
#include "http.h"
#include "util.h"

/* --- origins ------------------------------------------------------------ */

int
url_split(const char *url, struct origin *o, char **path)
{
	const char	*p, *slash;
	char		*hp, *h = NULL, *ps = NULL;
	long		 port;
	int		 rv = -1;

	memset(o, 0, sizeof(*o));
	if (strncmp(url, "https://", 8) == 0) {
		o->tls = 1;
		p = url + 8;
	} else if (strncmp(url, "http://", 7) == 0)
		p = url + 7;
	else
		return -1;
	slash = strchr(p, '/');
	hp = slash != NULL ? xstrndup(p, slash - p) : xstrdup(p);
	if (split_hostport(hp, &h, &ps, o->tls ? "443" : "80") == 0 &&
	    *h != '\0' && strlcpy(o->host, h, sizeof(o->host)) <
	    sizeof(o->host) && (port = strtol(ps, NULL, 10)) > 0 &&
	    port <= 65535) {
		o->port = (uint16_t)port;
		if (path != NULL)
			*path = xstrdup(slash != NULL ? slash : "/");
		rv = 0;
	}
	free(h);
	free(ps);
	free(hp);
	return rv;
}

const char *
origin_base_url(const struct config *c, enum net_origin which)
{
	static char	api[300];

	switch (which) {
	case NO_API:
		snprintf(api, sizeof(api), "https://%s", c->api_endpoint);
		return api;
	case NO_CDN:
		return c->cdn_base_url;
	case NO_KDS:
		return c->test_kds_base_url != NULL ? c->test_kds_base_url :
		    PM_KDS_BASE_URL;
	case NO_PCS:
		return c->pcs_base_url;
	case NO_PCS_ROOT_CRL:
		/* A whole URL: origin_get() takes its scheme, host and port. */
		return c->pcs_root_crl_url;
	}
	return NULL;
}

int
origin_get(const struct config *c, enum net_origin which, struct origin *o)
{
	const char	*base = origin_base_url(c, which);

	return base != NULL ? url_split(base, o, NULL) : -1;
}

const char *
origin_name(enum net_origin which)
{
	switch (which) {
	case NO_API:
		return "API";
	case NO_CDN:
		return "CDN";
	case NO_KDS:
		return "AMD KDS";
	case NO_PCS:
		return "Intel PCS";
	case NO_PCS_ROOT_CRL:
		return "Intel root CA CRL";
	}
	return "?";
}

/* --- MSG_REQ ------------------------------------------------------------ */

void
dp_req_put(struct buf *m, const struct dp_req *q)
{
	uint32_t	i;

	msg_put_u8(m, q->route);
	msg_put_str(m, q->path);
	msg_put_str(m, q->reqid);
	msg_put_str(m, q->peer);
	msg_put_u32(m, q->nh);
	for (i = 0; i < q->nh; i++) {
		msg_put_str(m, q->hname[i]);
		msg_put_str(m, q->hvalue[i]);
	}
	msg_put_bytes(m, q->body, q->bodylen);
}

/* A string that must be present. */
static const char *
get_str(struct msgr *r)
{
	char	*s = msg_get_str(r);

	if (s == NULL)
		r->err = 1;
	return s;
}

int
dp_req_get(struct msgr *r, struct dp_req *q)
{
	const uint8_t	*body;
	uint32_t	 i;

	memset(q, 0, sizeof(*q));
	q->route = msg_get_u8(r);
	q->path = get_str(r);
	q->reqid = get_str(r);
	q->peer = get_str(r);
	q->nh = msg_get_u32(r);
	/* The count is checked before anything is allocated for it. */
	if (q->nh > HTTP_MAX_HEADERS || q->nh > r->left / 8)
		r->err = 1;
	if (!r->err) {
		q->hname = xcalloc(q->nh + 1, sizeof(char *));
		q->hvalue = xcalloc(q->nh + 1, sizeof(char *));
	}
	for (i = 0; i < q->nh && !r->err; i++) {
		q->hname[i] = get_str(r);
		q->hvalue[i] = get_str(r);
	}
	body = msg_get_bytes(r, &q->bodylen);
	if (msg_end(r) == -1) {
		dp_req_free(q);
		return -1;
	}
	q->body = xmalloc(q->bodylen + 1);
	memcpy((uint8_t *)(uintptr_t)q->body, body, q->bodylen);
	return 0;
}

void
dp_req_free(struct dp_req *q)
{
	uint32_t	i;

	free((char *)(uintptr_t)q->path);
	free((char *)(uintptr_t)q->reqid);
	free((char *)(uintptr_t)q->peer);
	for (i = 0; i < q->nh && q->hname != NULL; i++) {
		free((char *)(uintptr_t)q->hname[i]);
		free((char *)(uintptr_t)q->hvalue[i]);
	}
	free(q->hname);
	free(q->hvalue);
	free((uint8_t *)(uintptr_t)q->body);
	memset(q, 0, sizeof(*q));
}

/* --- MSG_REQ_CTL, MSG_NET_OPEN, MSG_NET_FD ------------------------------- */

void
dp_ctl_put(struct buf *m, enum dp_ctl op)
{
	msg_put_u8(m, (uint8_t)op);
}

int
dp_ctl_get(struct msgr *r, enum dp_ctl *op)
{
	*op = msg_get_u8(r);
	if (msg_end(r) == -1 || *op < DPC_PAUSE || *op > DPC_CANCEL)
		return -1;
	return 0;
}

void
dp_open_put(struct buf *m, enum net_origin which)
{
	msg_put_u8(m, (uint8_t)which);
}

int
dp_open_get(struct msgr *r, enum net_origin *which)
{
	*which = msg_get_u8(r);
	if (msg_end(r) == -1 || *which < NO_API || *which > NO_MAX)
		return -1;
	return 0;
}

void
dp_fd_put(struct buf *m, enum dp_fd_fail why, const char *err)
{
	msg_put_u8(m, (uint8_t)why);
	msg_put_str(m, err);
}

int
dp_fd_get(struct msgr *r, enum dp_fd_fail *why, char **err)
{
	*why = msg_get_u8(r);
	*err = msg_get_str(r);
	/* A socket comes with no reason, a reason with no socket. */
	if (msg_end(r) == -1 || *err == NULL || *why > DPF_PROXY ||
	    (*why == DPF_OK) != (**err == '\0')) {
		free(*err);
		*err = NULL;
		return -1;
	}
	return 0;
}

/* --- MSG_RESP ------------------------------------------------------------- */

void
dp_resp_head(struct buf *m, int status, const char *const *names,
    const char *const *values, int n)
{
	int	i;

	msg_put_u8(m, DPE_HEAD);
	msg_put_u16(m, (uint16_t)status);
	msg_put_u32(m, (uint32_t)n);
	for (i = 0; i < n; i++) {
		msg_put_str(m, names[i]);
		msg_put_str(m, values[i]);
	}
}

void
dp_resp_data(struct buf *m, const void *p, size_t n)
{
	if (n == 0)
		return;
	msg_put_u8(m, DPE_DATA);
	msg_put_bytes(m, p, n);
}

void
dp_resp_end(struct buf *m)
{
	msg_put_u8(m, DPE_END);
}

void
dp_resp_error(struct buf *m, const struct pmerr *e)
{
	msg_put_u8(m, DPE_ERROR);
	pmerr_put(m, e);
}

static int
get_head(struct msgr *r, struct dp_event *ev)
{
	uint32_t	n, i;

	ev->status = msg_get_u16(r);
	n = msg_get_u32(r);
	if (r->err || n > HTTP_MAX_HEADERS + 1 || n > r->left / 8)
		return -1;
	ev->hname = xcalloc(n + 1, sizeof(char *));
	ev->hvalue = xcalloc(n + 1, sizeof(char *));
	for (i = 0; i < n && !r->err; i++) {
		ev->hname[i] = (char *)(uintptr_t)get_str(r);
		ev->hvalue[i] = (char *)(uintptr_t)get_str(r);
		ev->nh = (int)i + 1;
	}
	return r->err ? -1 : 0;
}

int
dp_resp_next(struct msgr *r, struct dp_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	if (r->err)
		return -1;
	if (r->left == 0)
		return 0;
	ev->type = msg_get_u8(r);
	switch (ev->type) {
	case DPE_HEAD:
		if (get_head(r, ev) == -1)
			goto bad;
		return 1;
	case DPE_DATA:
		ev->data = msg_get_bytes(r, &ev->len);
		if (r->err || ev->len == 0)
			goto bad;
		return 1;
	case DPE_END:
		return 1;
	case DPE_ERROR:
		if (pmerr_get(r, &ev->err) == -1)
			goto bad;
		return 1;
	}
 bad:
	r->err = 1;
	dp_event_free(ev);
	return -1;
}

void
dp_event_free(struct dp_event *ev)
{
	int	i;

	for (i = 0; i < ev->nh; i++) {
		free(ev->hname[i]);
		free(ev->hvalue[i]);
	}
	free(ev->hname);
	free(ev->hvalue);
	memset(ev, 0, sizeof(*ev));
}
