/*
 * The proxied routes, one row per route kind: what the worker accepts
 * and checks, what keyd sends upstream and encrypts in each direction,
 * how it is counted and in which dialect its errors are.  The worker
 * (daemon/route.c, daemon/proxy.c), keyd (keyd/seal.c, keyd/relay.c)
 * and the metrics all read this one table.
 */
#ifndef PM_ROUTES_H
#define PM_ROUTES_H

/*
 * Route kinds, as MSG_REQ names them (a wire value between a worker and
 * its keyd).  A new kind goes before RK__COUNT, with its row in
 * common/routes.c.
 */
enum route_kind {
	RK_MODELS = 1,		/* no encryption, passthrough */
	RK_CHAT,		/* /v1/chat/completions */
	RK_COMPLETIONS,		/* /v1/completions */
	RK_EMBEDDINGS,
	RK_TRANSCRIPTIONS,	/* multipart */
	RK_MESSAGES,		/* Anthropic */
	RK_UNSTRUCTURED,	/* raw body */
	RK__COUNT		/* not a kind: one past the last */
};

/* What the request body is, and so how it is checked and sealed. */
enum route_body {
	RB_PLAIN,		/* sent as it came: nothing encrypted, no secret */
	RB_JSON,		/* an object, encrypted value by value */
	RB_MULTIPART,		/* a form, encrypted part by part */
	RB_RAW			/* any bytes, encrypted as one message */
};

/* The shape of the errors a client of the route expects. */
enum route_dialect {
	RD_OPENAI,
	RD_ANTHROPIC
};

#define RT_CACHE_SALT	0x01	/* cache_salt and shard key (protocol.md 4.1) */
#define RT_USAGE	0x02	/* answers carry usage objects (client usage) */

struct route_traits {
	const char		*label;		/* metrics route label */
	/*
	 * The one method, and the canonical path: what the worker routes
	 * and the only request line keyd sends upstream for the kind.
	 */
	const char		*method;
	const char		*path;
	int			 subtree;	/* path is a prefix ending in '/' */
	/* Client paths served as the canonical one (NULL-terminated). */
	const char *const	*aliases;
	enum route_body		 body;
	int			 flags;		/* RT_* */
	/*
	 * Members (JSON) or form fields (multipart) sent in clear, and
	 * members of the answer left in clear (protocol.md 4.0); NULL for
	 * none.  A route whose body is RB_PLAIN encrypts nothing at all.
	 */
	const char *const	*req_plain;
	const char *const	*resp_plain;
	enum route_dialect	 dialect;
};

/* The row of a route kind, or NULL when rk is none. */
const struct route_traits *route_traits(int rk);
/*
 * The kind whose path or alias the client's path is (0 for none), and
 * the canonical path when it was an alias (NULL otherwise).
 */
int	route_by_path(const char *path, const char **canonical);
/* Encrypted requests and answers, and so a secret needed. */
int	route_sealed(const struct route_traits *);
/* Whether name is in a NULL-terminated plain list. */
int	route_plain_has(const char *const *plain, const char *name);

#endif
