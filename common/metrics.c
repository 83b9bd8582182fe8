/*
 * Prometheus counters and histograms: each worker counts, the parent
 * sums and renders the exposition.
 */

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest_reason.h"
#include "buf.h"
#include "metrics.h"
#include "util.h"

struct metrics	metrics;

static const int	codes[M_NCODES] = M_CODES;
static const double	lat_bounds[M_NLAT] = M_LAT_BUCKETS;
static const double	ipc_bounds[M_NIPC] = M_IPC_BUCKETS;
/* As keyd/attest's attest_platform_name(). */
static const char *const platform_names[M_NPLATFORMS] = {
	"none", "sev-snp", "tdx"
};

static const char *const retry_names[M_NRETRY] = {
	"none", "connection_reset", "unknown_secret", "stale_connection"
};
static const char *const limit_names[ML_NLIMITS] = {
	"max_connections", "max_connections_per_address", "max_body_buffer",
	"client_body_deadline", "client_rate_limit", "client_max_streams",
	"address_rate_limit", "address_max_streams"
};
static const char *const auth_names[3] = { "missing", "invalid", "expired" };

int
metrics_route(int rk)
{
	return route_traits(rk) != NULL ? rk : MR_OTHER;
}

static const char *
route_name(int r)
{
	const struct route_traits	*t;

	if (r == MR_HEALTH)
		return "health";
	if (r == MR_METRICS)
		return "metrics";
	return (t = route_traits(r)) != NULL ? t->label : "other";
}

void
metrics_request(int r, int status)
{
	int	i;

	for (i = 0; i < M_NCODES - 1; i++)
		if (codes[i] == status)
			break;
	metrics.requests[r][i]++;
}

void
metrics_observe(struct hist *h, uint64_t usec, int ipc)
{
	const double	*b = ipc ? ipc_bounds : lat_bounds;
	int		 n = ipc ? M_NIPC : M_NLAT, i;
	double		 s = usec / 1e6;

	for (i = 0; i < n; i++)
		if (s <= b[i])
			break;
	h->bucket[i]++;		/* i == n: only +Inf */
	h->count++;
	h->sum_us += usec;
}

void
metrics_add(struct metrics *a, const struct metrics *b)
{
	const uint64_t	*src = (const uint64_t *)b;
	uint64_t	*dst = (uint64_t *)a;
	size_t		 i, n = sizeof(*a) / sizeof(uint64_t);

	uint64_t	 age = a->secret_age_s;

	for (i = 0; i < n; i++)
		dst[i] += src[i];
	/* A gauge that is a maximum, not a sum. */
	a->secret_age_s = age > b->secret_age_s ? age : b->secret_age_s;
}

static void
hist(struct buf *o, const char *name, const char *labels,
    const struct hist *h, int ipc)
{
	const double	*b = ipc ? ipc_bounds : lat_bounds;
	int		 n = ipc ? M_NIPC : M_NLAT, i;
	uint64_t	 cum = 0;

	for (i = 0; i < n; i++) {
		cum += h->bucket[i];
		buf_addf(o, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels,
		    *labels ? "," : "", b[i], (unsigned long long)cum);
	}
	buf_addf(o, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels,
	    *labels ? "," : "", (unsigned long long)h->count);
	buf_addf(o, "%s_sum{%s} %.6f\n%s_count{%s} %llu\n", name, labels,
	    h->sum_us / 1e6, name, labels, (unsigned long long)h->count);
}

/* A histogram family with one histogram per route that has seen any. */
static void
route_hists(struct buf *o, const char *name, const char *help,
    const struct hist *h)
{
	char	lab[64];
	int	r;

	buf_addf(o, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (r = 0; r < MR_NROUTES; r++)
		if (h[r].count > 0) {
			snprintf(lab, sizeof(lab), "route=\"%s\"",
			    route_name(r));
			hist(o, name, lab, &h[r], 0);
		}
}

char *
metrics_render(const struct metrics *m, size_t *len)
{
	struct buf	o;
	char		lab[64];
	int		r, c, i;

	buf_init(&o, 16384);
	buf_addf(&o, "# HELP privatemode_build_info Build information.\n"
	    "# TYPE privatemode_build_info gauge\n"
	    "privatemode_build_info{version=\"v%s\"} 1\n", PACKAGE_VERSION);

	buf_adds(&o, "# HELP privatemode_http_requests_total Client requests "
	    "answered, by route and status code.\n"
	    "# TYPE privatemode_http_requests_total counter\n");
	for (r = 0; r < MR_NROUTES; r++)
		for (c = 0; c < M_NCODES; c++) {
			if (m->requests[r][c] == 0)
				continue;
			if (codes[c] == 0)
				snprintf(lab, sizeof(lab), "other");
			else
				snprintf(lab, sizeof(lab), "%d", codes[c]);
			buf_addf(&o, "privatemode_http_requests_total{route=\"%s\","
			    "code=\"%s\"} %llu\n", route_name(r), lab,
			    (unsigned long long)m->requests[r][c]);
		}

	route_hists(&o, "privatemode_upstream_duration_seconds", "Time from "
	    "receiving a request to completing its answer, proxied routes.",
	    m->upstream);
	route_hists(&o, "privatemode_time_to_first_token_seconds", "Time from "
	    "receiving a request to the first answer bytes.", m->ttft);
	buf_adds(&o, "# HELP privatemode_keyd_ipc_seconds Round trip from a "
	    "worker handing a request to keyd to its sealed bytes.\n"
	    "# TYPE privatemode_keyd_ipc_seconds histogram\n");
	hist(&o, "privatemode_keyd_ipc_seconds", "", &m->keyd_ipc, 1);

	buf_addf(&o, "# HELP privatemode_stream_chunks_total Streamed chunks "
	    "relayed to clients.\n# TYPE privatemode_stream_chunks_total "
	    "counter\nprivatemode_stream_chunks_total %llu\n",
	    (unsigned long long)m->stream_chunks);
	buf_addf(&o, "# HELP privatemode_bytes_total Body bytes, by direction."
	    "\n# TYPE privatemode_bytes_total counter\n"
	    "privatemode_bytes_total{direction=\"in\"} %llu\n"
	    "privatemode_bytes_total{direction=\"out\"} %llu\n",
	    (unsigned long long)m->bytes_in, (unsigned long long)m->bytes_out);
	buf_adds(&o, "# HELP privatemode_retries_total Upstream retries, by "
	    "reason.\n# TYPE privatemode_retries_total counter\n");
	for (i = 1; i < M_NRETRY; i++)
		buf_addf(&o, "privatemode_retries_total{reason=\"%s\"} %llu\n",
		    retry_names[i], (unsigned long long)m->retries[i]);
	buf_adds(&o, "# HELP privatemode_attestations_total Attestations of "
	    "the Privatemode deployment, by result and reason.\n"
	    "# TYPE privatemode_attestations_total counter\n");
	buf_addf(&o, "privatemode_attestations_total{result=\"success\","
	    "reason=\"ok\"} %llu\n", (unsigned long long)m->attest_ok);
	for (i = 1; i < M_NREASONS && i < ATT_REASON_MAX; i++)
		if (m->attest_fail[i] > 0)
			buf_addf(&o, "privatemode_attestations_total{result="
			    "\"failure\",reason=\"%s\"} %llu\n",
			    attest_reason_label(i),
			    (unsigned long long)m->attest_fail[i]);
	if (m->attest_fail[0] > 0)
		buf_addf(&o, "privatemode_attestations_total{result=\"failure\","
		    "reason=\"transport\"} %llu\n",
		    (unsigned long long)m->attest_fail[0]);
	buf_adds(&o, "# HELP privatemode_attestations_verified_total "
	    "Successful attestations, by the platform of the Coordinator's "
	    "evidence.\n# TYPE privatemode_attestations_verified_total "
	    "counter\n");
	for (i = 1; i < M_NPLATFORMS; i++)
		buf_addf(&o, "privatemode_attestations_verified_total{platform="
		    "\"%s\"} %llu\n", platform_names[i],
		    (unsigned long long)m->attest_platform[i]);
	buf_adds(&o, "# HELP privatemode_attested_platform Key daemons whose "
	    "mesh CA was attested on the platform.\n# TYPE "
	    "privatemode_attested_platform gauge\n");
	for (i = 1; i < M_NPLATFORMS; i++)
		buf_addf(&o, "privatemode_attested_platform{platform=\"%s\"} "
		    "%llu\n", platform_names[i],
		    (unsigned long long)m->attested_platform[i]);
	buf_addf(&o, "# HELP privatemode_secret_exchanges_total Inference "
	    "secrets obtained.\n# TYPE privatemode_secret_exchanges_total "
	    "counter\nprivatemode_secret_exchanges_total %llu\n",
	    (unsigned long long)m->secret_exchanges);
	buf_addf(&o, "# HELP privatemode_secret_age_seconds Age of the oldest "
	    "inference secret in use.\n# TYPE privatemode_secret_age_seconds "
	    "gauge\nprivatemode_secret_age_seconds %llu\n",
	    (unsigned long long)m->secret_age_s);
	buf_addf(&o, "# HELP privatemode_secret_ready Key daemons holding a "
	    "usable inference secret.\n# TYPE privatemode_secret_ready gauge\n"
	    "privatemode_secret_ready %llu\n",
	    (unsigned long long)m->secret_ready);
	buf_addf(&o, "# HELP privatemode_active_connections Open client "
	    "connections.\n# TYPE privatemode_active_connections gauge\n"
	    "privatemode_active_connections %llu\n",
	    (unsigned long long)m->active_connections);
	buf_addf(&o, "# HELP privatemode_processes Child processes that "
	    "answered this scrape.\n# TYPE privatemode_processes gauge\n"
	    "privatemode_processes %llu\n", (unsigned long long)m->processes);
	buf_addf(&o, "# HELP privatemode_request_body_bytes Client request "
	    "body bytes held or admitted by the workers (max_body_buffer).\n"
	    "# TYPE privatemode_request_body_bytes gauge\n"
	    "privatemode_request_body_bytes %llu\n",
	    (unsigned long long)m->body_buffer_bytes);
	buf_adds(&o, "# HELP privatemode_limit_refusals_total Connections and "
	    "requests refused by a client limit.\n"
	    "# TYPE privatemode_limit_refusals_total counter\n");
	for (i = 0; i < ML_NLIMITS; i++)
		buf_addf(&o, "privatemode_limit_refusals_total{limit=\"%s\"} "
		    "%llu\n", limit_names[i],
		    (unsigned long long)m->limit_refusals[i]);
	buf_adds(&o, "# HELP privatemode_client_auth_failures_total Requests "
	    "refused with 401 under client_auth tokens, by reason.\n"
	    "# TYPE privatemode_client_auth_failures_total counter\n");
	for (i = 0; i < 3; i++)
		buf_addf(&o, "privatemode_client_auth_failures_total{reason="
		    "\"%s\"} %llu\n", auth_names[i],
		    (unsigned long long)m->auth_failures[i]);
	return (char *)buf_release(&o, len);
}
