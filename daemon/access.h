/*
 * Who may use the API port, in the worker: client tokens (client_auth
 * tokens), the per-client and per-address limits, and the usage the
 * worker reports to the parent (MSG_USAGE).
 *
 * The policy comes from the parent (MSG_CLIENTS: mode, token hashes,
 * expiry, limits) before the worker serves and again on every reload,
 * to live workers too, so a revoked token is refused from the next
 * request on, whichever generation serves it; a request admitted before
 * goes on to its end.
 *
 * Limits are per worker: each worker enforces limit / workers (rounded
 * up, at least 1) with buckets of its own.  No lock, no shared memory
 * and no round trip to the parent on the data path; the price is that a
 * client whose connections all land on one worker gets that share only.
 */
#ifndef PM_ACCESS_H
#define PM_ACCESS_H

struct msgr;
struct request;

/* MSG_CLIENTS; -1 if malformed. */
int	access_set_policy(struct msgr *);
int	access_have_policy(void);
/* client_auth tokens is in force. */
int	access_tokens_on(void);

/*
 * The head of a request on the API port that needs a client token: 0 to
 * go on, -1 after answering 401 (WWW-Authenticate, the route's dialect).
 */
int	access_auth(struct request *);
/*
 * A proxied request within its client's and its address's limits: 0 to
 * go on (a stream slot is held until the request is freed), -1 after
 * answering 429 with Retry-After.
 */
int	access_admit(struct request *);
/* The request is freed: its slots go back. */
void	access_release(struct request *);
/* The request is answered: its usage row. */
void	access_account(struct request *);
/* Send the usage rows gathered since the last time to the parent. */
void	access_flush(void);
/*
 * A header that carries a client token (client_auth tokens): never sent
 * to keyd and redacted in dumps.
 */
int	access_token_header(const char *);

#endif
