/*
 * Counters every process keeps and the parent sums on a scrape.  The
 * layout is a flat array of u64 (struct metrics) so that an answer is
 * one memcpy and the sum is a loop; the names, labels and kinds are in
 * metrics.c, which renders the Prometheus text format.
 */
#ifndef PM_METRICS_H
#define PM_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "ipc.h"
#include "routes.h"

/*
 * Routes as labels: "other", each route kind by its value (labelled in
 * common/routes.c), then the local ones.
 */
enum m_route {
	MR_OTHER = 0,
	MR_HEALTH = RK__COUNT, MR_METRICS, MR_NROUTES
};

/* Status codes as labels; anything else counts as "other". */
#define M_CODES	{ 200, 400, 401, 403, 404, 405, 408, 413, 415, 417, 429, \
		  431, 500, 501, 502, 503, 504, 505, 0 }
#define M_NCODES	19

#define M_LAT_BUCKETS	{ 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, \
			  5, 10, 30, 60, 120, 300 }
#define M_NLAT		15
#define M_IPC_BUCKETS	{ 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, \
			  0.005, 0.01, 0.025, 0.1 }
#define M_NIPC		10
#define M_NREASONS	64	/* attestation failure reasons */
#define M_NRETRY	4	/* by enum m_retry */
/* Attested platforms as labels: keyd/attest's enum attest_platform. */
#define M_NPLATFORMS	3	/* none, sev-snp, tdx */

/* Why keyd sent a request again (protocol.md 2.8). */
enum m_retry {
	MRT_RESET = 1,		/* connection reset: new attempt, 50 ms */
	MRT_NO_SECRET,		/* "no secret for ID": after a new secret */
	MRT_STALE		/* a pooled connection was dead: at once */
};

/* Client limits that refused something (privatemode.conf(5)). */
enum m_limit {
	ML_CONNECTIONS = 0,	/* max_connections: 429 */
	ML_PER_ADDRESS,		/* max_connections_per_address: 429 */
	ML_BODY_BUFFER,		/* max_body_buffer: 503 */
	ML_BODY_DEADLINE,	/* client_body_deadline: 408 */
	ML_CLIENT_RATE,		/* client_rate_limit (or rate=): 429 */
	ML_CLIENT_STREAMS,	/* client_max_streams (or streams=): 429 */
	ML_ADDRESS_RATE,	/* address_rate_limit: 429 */
	ML_ADDRESS_STREAMS,	/* address_max_streams: 429 */
	ML_NLIMITS
};

struct hist {
	uint64_t	bucket[16];	/* cumulative at render time */
	uint64_t	count;
	uint64_t	sum_us;
};

struct metrics {
	uint64_t	requests[MR_NROUTES][M_NCODES];
	struct hist	upstream[MR_NROUTES];	/* request to complete answer */
	struct hist	ttft[MR_NROUTES];	/* request to first byte out */
	struct hist	keyd_ipc;		/* seal round trip */
	uint64_t	stream_chunks;
	uint64_t	bytes_in;		/* client request bodies */
	uint64_t	bytes_out;		/* answers to clients */
	uint64_t	retries[M_NRETRY];
	uint64_t	attest_ok;
	uint64_t	attest_fail[M_NREASONS];
	uint64_t	attest_platform[M_NPLATFORMS];	/* successes */
	uint64_t	attested_platform[M_NPLATFORMS]; /* gauge: keyds */
	uint64_t	secret_exchanges;
	uint64_t	active_connections;	/* gauge */
	uint64_t	secret_age_s;		/* gauge, max over keyds */
	uint64_t	secret_ready;		/* gauge: keyds with a secret */
	uint64_t	processes;		/* gauge: answering children */
	uint64_t	body_buffer_bytes;	/* gauge: max_body_buffer in use */
	uint64_t	limit_refusals[ML_NLIMITS];
	uint64_t	auth_failures[3];	/* missing, invalid, expired */
};

extern struct metrics	metrics;

void	metrics_request(int route, int status);	/* enum m_route */
void	metrics_observe(struct hist *, uint64_t usec, int ipc);
/* Add b into a (the parent's aggregation). */
void	metrics_add(struct metrics *a, const struct metrics *b);
/* Prometheus text exposition of m. */
char	*metrics_render(const struct metrics *m, size_t *len);
int	metrics_route(int rk);	/* enum m_route of a route kind */

#endif
