/*
 * The worker <-> keyd data path messages (common/ipc.h): one encoder and
 * one decoder per message, so that the two processes cannot disagree on
 * a layout.  Every decoder fails on a short payload or trailing bytes.
 *
 *	MSG_REQ		worker -> keyd	a client request, plaintext
 *	MSG_REQ_CTL	worker -> keyd	pause, resume or cancel an exchange
 *	MSG_RESP	keyd -> worker	answer events of an exchange
 *	MSG_NET_OPEN	keyd -> worker	connect to a configured origin
 *	MSG_NET_FD	worker -> keyd	the connected socket, or why not
 *
 * Where keyd may connect is not a host name but an origin's role; the
 * worker looks the role up in its own configuration (origin_get()).
 */
#ifndef PM_DPMSG_H
#define PM_DPMSG_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "ipc.h"
#include "pmerr.h"

struct config;

/* --- origins ------------------------------------------------------------ */

enum net_origin {
	NO_API = 1,		/* api_endpoint: inference, attestation, secrets */
	NO_CDN,			/* cdn_base_url: the manifest */
	NO_KDS,			/* AMD's key distribution service */
	NO_PCS,			/* pcs_base_url: Intel PCS (TDX collateral) */
	NO_PCS_ROOT_CRL		/* pcs_root_crl_url: Intel's root CA CRL */
};
#define NO_MAX	NO_PCS_ROOT_CRL

/* AMD KDS, where VCEKs and CRLs come from (test_kds_base_url overrides). */
#define PM_KDS_BASE_URL	"https://kdsintf.amd.com"

struct origin {
	int		tls;
	char		host[256];
	uint16_t	port;
};

/* scheme://host[:port][/path] into parts; *path "/" when absent. */
int	url_split(const char *url, struct origin *, char **path);
/* Where an origin is, from the configuration; -1 if it does not parse. */
int	origin_get(const struct config *, enum net_origin, struct origin *);
/* The base URL of an origin (no trailing slash), for keyd's requests. */
const char *origin_base_url(const struct config *, enum net_origin);
const char *origin_name(enum net_origin);

/* --- MSG_REQ ------------------------------------------------------------ */

struct dp_req {
	uint8_t		  route;	/* enum route_kind */
	const char	 *path;		/* upstream path and query */
	const char	 *reqid;
	const char	 *peer;		/* client address */
	uint32_t	  nh;
	const char	**hname;
	const char	**hvalue;
	const uint8_t	 *body;
	size_t		  bodylen;
};

void	dp_req_put(struct buf *, const struct dp_req *);
/* Decode with copies of every field (free with dp_req_free). */
int	dp_req_get(struct msgr *, struct dp_req *);
void	dp_req_free(struct dp_req *);

/* --- MSG_REQ_CTL --------------------------------------------------------- */

enum dp_ctl {
	DPC_PAUSE = 1,		/* the client stopped reading */
	DPC_RESUME,		/* ... and reads again */
	DPC_CANCEL		/* the client is gone */
};

void	dp_ctl_put(struct buf *, enum dp_ctl);
int	dp_ctl_get(struct msgr *, enum dp_ctl *);

/* --- MSG_NET_OPEN / MSG_NET_FD -------------------------------------------- */

void	dp_open_put(struct buf *, enum net_origin);
int	dp_open_get(struct msgr *, enum net_origin *);

/* Why a worker could not hand a connection over. */
enum dp_fd_fail {
	DPF_OK = 0,		/* the socket rides along (SCM_RIGHTS) */
	DPF_UNREACHABLE,	/* resolving or connecting failed, timed out */
	DPF_PROXY		/* the egress proxy refused or misbehaved */
};

void	dp_fd_put(struct buf *, enum dp_fd_fail, const char *err);
int	dp_fd_get(struct msgr *, enum dp_fd_fail *, char **err);

/* --- MSG_RESP ------------------------------------------------------------- */

/*
 * A sequence of events, everything one upstream read produced:
 *	DPE_HEAD	u16 status, u32 n, n x (str name, str value)
 *	DPE_DATA	bytes (plaintext for the client)
 *	DPE_END		- (the answer is complete)
 *	DPE_ERROR	a struct pmerr: u16 code, str message (the
 *			exchange is over)
 */
enum dp_event_type {
	DPE_HEAD = 1,
	DPE_DATA,
	DPE_END,
	DPE_ERROR
};

void	dp_resp_head(struct buf *, int status, const char *const *names,
	    const char *const *values, int n);
void	dp_resp_data(struct buf *, const void *, size_t);
void	dp_resp_end(struct buf *);
void	dp_resp_error(struct buf *, const struct pmerr *);

struct dp_event {
	enum dp_event_type	 type;
	int			 status;	/* HEAD */
	int			 nh;		/* HEAD */
	char			**hname, **hvalue;
	const uint8_t		*data;		/* DATA: a view */
	size_t			 len;
	struct pmerr		 err;		/* ERROR */
};

/* The next event: 1, 0 when none is left, -1 when malformed. */
int	dp_resp_next(struct msgr *, struct dp_event *);
void	dp_event_free(struct dp_event *);

#endif
