/*
 * The worker's upstream sockets.  A connection is opened for a client
 * request (to api_endpoint, pooled for keep-alive) or on keyd's request
 * (MSG_NET_OPEN, for attestation and downloads).  Its bytes are pumped
 * to keyd as they are read; keyd answers with bytes to write and
 * response events, which go to the connection's user.
 */
#ifndef PM_UPSTREAM_H
#define PM_UPSTREAM_H

#include <stdint.h>

struct msgr;
struct upconn;

/* Events from keyd for whoever uses the connection. */
struct upuser {
	/* One MSG_UP_IO's events; the reader is positioned at the count. */
	void	(*on_events)(struct upconn *, uint8_t flags, struct msgr *,
		    void *);
	void	 *arg;
};

void		 upstream_init(void);
/*
 * A connection to the API endpoint for a new exchange: a pooled idle one
 * if there is one, else a new one (keyd starts the TLS handshake).
 */
struct upconn	*upconn_get(const struct upuser *);
uint32_t	 upconn_id(const struct upconn *);
int		 upconn_fresh(const struct upconn *);
/* The user is done: pool the connection if reusable, else close it. */
void		 upconn_release(struct upconn *, int reusable);
void		 upconn_close(struct upconn *);
/* Timers: from now until the response head / between reads. */
void		 upconn_arm_first_byte(struct upconn *);
void		 upconn_headed(struct upconn *);
/* Flow control towards a slow client. */
void		 upconn_pause(struct upconn *, int);

/* keyd channel messages for the data path. */
int		 upstream_keyd_msg(unsigned int type, struct msgr *);
/* Close every connection (shutdown). */
void		 upstream_close_all(void);
int		 upstream_active(void);

#endif
