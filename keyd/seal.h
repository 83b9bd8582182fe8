/*
 * Turning a client request into the upstream request for one attempt:
 * the per-route mutators of the official proxy (cache salt, shard key,
 * target model, JSON / multipart / raw encryption) and the header block
 * with the Privatemode-* headers and the credentials.
 */
#ifndef PM_SEAL_H
#define PM_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "ipc.h"
#include "pmerr.h"
#include "routes.h"

struct fc;
struct sx_secret;
struct jm_skip;

struct seal_in {
	enum route_kind	 route;
	const char	*method;
	const char	*path;		/* with query */
	const char	*reqid;		/* proxy_<uuidv7> */
	const char	*peer;		/* client IP */
	uint32_t	 attempt;
	int		 nh;
	const char	**hname;
	const char	**hvalue;
	const uint8_t	*body;
	size_t		 bodylen;
};

/*
 * The method of the upstream request for a route kind and path (with
 * query), or NULL when keyd does not send that path for that kind.
 */
const char *seal_admit(enum route_kind, const char *path);
/* The upstream request (head + body) into out; fc for the answer. */
int	seal_request(const struct seal_in *, const struct sx_secret *,
	    struct buf *out, struct fc **fc, struct pmerr *);
/* The response plain set of a route (NULL: nothing is decrypted). */
const struct jm_skip *seal_response_plain(enum route_kind);
void	seal_init(void);
/* Go's GOOS/GOARCH for this machine (Privatemode-OS/-Architecture). */
const char *seal_goarch(void);

#endif
