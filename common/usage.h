/*
 * Token usage per client and model, without content.  A worker reads the
 * `usage` objects of the decrypted answers it relays (OpenAI's
 * prompt_tokens/completion_tokens, Anthropic's input_tokens/output_tokens,
 * unary or streamed), adds each finished request to a small table of its
 * own and sends that table to the parent now and then (MSG_USAGE), which
 * keeps the totals for the daemon's lifetime and renders them with the
 * metrics.  Nothing of a prompt or an answer is kept: only numbers, the
 * client's name and the model's name.
 *
 * The tables are bounded (the labels of a Prometheus counter must be):
 * see usage_table below.
 */
#ifndef PM_USAGE_H
#define PM_USAGE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct msgr;

#define USAGE_NAME_MAX		64
#define USAGE_NONE		"-"		/* client_auth off: no client */
#define USAGE_OTHER		"(other)"	/* over a bound, or not a name */

/* Parent: (client, model) rows for the daemon's lifetime. */
#define USAGE_ROWS_MAX		1024
#define USAGE_MODELS_PER_CLIENT	32
/* Worker: rows between two MSG_USAGE (it sends when full). */
#define USAGE_DELTA_ROWS	256

/* The usage of one answer, as far as seen: the last value of each wins. */
struct usage {
	uint64_t	prompt;
	uint64_t	completion;
	int		seen;		/* USAGE_PROMPT | USAGE_COMPLETION */
};
#define USAGE_PROMPT		0x01
#define USAGE_COMPLETION	0x02

/* One JSON document: its top-level "usage", or "message"."usage". */
void	usage_from_json(struct usage *, const uint8_t *, size_t);
/*
 * Whole lines of an event stream, in order: the data lines with a
 * "usage", read from the last one back until both values are known, so
 * a stream that repeats its usage in every event (continuous usage
 * stats) costs one JSON parse per batch of events, not one per event.
 */
void	usage_from_sse(struct usage *, const uint8_t *, size_t);
/*
 * A model (or client) name as a label: itself when it is 1 to 64 of
 * [A-Za-z0-9._:/@+-], else USAGE_OTHER.
 */
void	usage_label(char out[USAGE_NAME_MAX + 1], const void *, size_t);
int	usage_name_ok(const char *);

struct usage_row {
	char		client[USAGE_NAME_MAX + 1];
	char		model[USAGE_NAME_MAX + 1];
	uint64_t	requests;
	uint64_t	prompt;
	uint64_t	completion;
};

/*
 * bounded: the parent's table.  A client's 33rd model is counted as
 * (client, "(other)"); a row beyond USAGE_ROWS_MAX as ("(other)",
 * "(other)"), so nothing is lost and the table stays within
 * USAGE_ROWS_MAX + 1 rows.  Not bounded: a worker's table, which
 * refuses a new row past USAGE_DELTA_ROWS (usage_add returns -1; the
 * worker sends and empties it, then adds again).
 */
struct usage_table {
	struct usage_row	*v;
	size_t			 n;
	int			 bounded;
};

int	usage_add(struct usage_table *, const char *client, const char *model,
	    uint64_t requests, uint64_t prompt, uint64_t completion);
void	usage_reset(struct usage_table *);
void	usage_free(struct usage_table *);

/* MSG_USAGE: a worker's rows; get adds them to t (the parent's). */
void	usage_put(struct buf *, const struct usage_table *);
int	usage_get(struct msgr *, struct usage_table *);

/* Prometheus text: privatemode_client_requests_total, _tokens_total. */
void	usage_render(const struct usage_table *, struct buf *);

#endif
