/*
 * The errors a client can be answered with, as one vocabulary for every
 * process (after OpenSSH's ssherr.h): a code names the failure and fixes
 * its HTTP status, the OpenAI error `type` and `code` and a default
 * message; a struct pmerr adds the detail text when one must travel
 * (keyd's seal and relay to the worker, in MSG_RESP).  Rendering as an
 * OpenAI or Anthropic error is the worker's (daemon/apierr.c).
 */
#ifndef PM_PMERR_H
#define PM_PMERR_H

#include <stdarg.h>

#include "buf.h"
#include "ipc.h"

/*
 * X(name, HTTP status, OpenAI type, OpenAI code, default message).  Only
 * the worker and keyd of one binary exchange the numbers (MSG_HELLO
 * checks IPC_PROTO_VERSION): bump it when a row is inserted or removed.
 */
#define PMERR_CODES(X)							\
	/* the request as HTTP (daemon/server.c) */			\
	X(PME_BAD_REQUEST, 400, "invalid_request_error", "bad_request",	\
	    "bad request")						\
	X(PME_HEAD_TOO_MANY, 431, "invalid_request_error", "bad_request", \
	    "too many header fields")					\
	X(PME_HTTP_VERSION, 505, "invalid_request_error", "bad_request", \
	    "unsupported HTTP version")					\
	X(PME_HEADER_TOO_LARGE, 431, "invalid_request_error",		\
	    "header_too_large", "request header too large")		\
	X(PME_BAD_CONTENT_LENGTH, 400, "invalid_request_error",	\
	    "bad_content_length", "invalid Content-Length")		\
	X(PME_BAD_TRANSFER_ENCODING, 400, "invalid_request_error",	\
	    "bad_transfer_encoding", "invalid message framing")		\
	X(PME_UNSUPPORTED_TRANSFER_ENCODING, 501, "invalid_request_error", \
	    "unsupported_transfer_encoding",				\
	    "unsupported Transfer-Encoding")				\
	X(PME_INVALID_CHUNKED_BODY, 400, "invalid_request_error",	\
	    "invalid_chunked_body", "malformed chunked body")		\
	X(PME_BODY_TOO_LARGE, 413, "invalid_request_error",		\
	    "body_too_large", "request body too large")			\
	X(PME_EXPECTATION_FAILED, 417, "invalid_request_error",	\
	    "expectation_failed", "unsupported Expect")			\
	X(PME_REQUEST_TIMEOUT, 408, "invalid_request_error",		\
	    "request_timeout", "timed out reading the request")		\
	X(PME_BODY_BUFFER_FULL, 503, "service_unavailable",		\
	    "body_buffer_full", "the proxy is receiving too many "	\
	    "request bodies at once (max_body_buffer); retry later")	\
	/* routing and the request's content (route.c, proxy.c, seal.c) */ \
	X(PME_NOT_FOUND, 404, "invalid_request_error", "not_found",	\
	    "unknown route")						\
	X(PME_METHOD_NOT_ALLOWED, 405, "invalid_request_error",	\
	    "method_not_allowed", "method not allowed")			\
	X(PME_UNSUPPORTED_MEDIA_TYPE, 415, "invalid_request_error",	\
	    "unsupported_media_type", "unsupported media type")		\
	X(PME_INVALID_JSON, 400, "invalid_request_error", "invalid_json", \
	    "request body must be a JSON object")			\
	X(PME_DUPLICATE_KEY, 400, "invalid_request_error",		\
	    "duplicate_key", "request body repeats a member name")	\
	X(PME_INVALID_MULTIPART, 400, "invalid_request_error",		\
	    "invalid_multipart", "invalid multipart form")		\
	X(PME_MISSING_MODEL, 400, "invalid_request_error",		\
	    "missing_model", "no model specified in request")		\
	X(PME_INVALID_MODEL, 400, "invalid_request_error",		\
	    "invalid_model", "model must be a string")			\
	X(PME_CONTEXT_TOO_LARGE, 400, "invalid_request_error",		\
	    "context_too_large", "context too large")			\
	X(PME_INVALID_CACHE_SALT, 400, "invalid_request_error",	\
	    "invalid_cache_salt",					\
	    "cache_salt must be at least 32 characters long")		\
	X(PME_BAD_KIND, 400, "invalid_request_error", "bad_kind",	\
	    "unknown hand-over fault")					\
	/* who may ask (access.c, keyd's API key) */			\
	X(PME_MISSING_API_KEY, 401, "authentication_error",		\
	    "missing_api_key", "no API key")				\
	X(PME_INVALID_API_KEY, 401, "authentication_error",		\
	    "invalid_api_key", "the API key is not valid")		\
	X(PME_EXPIRED_API_KEY, 401, "authentication_error",		\
	    "expired_api_key", "the client token has expired")		\
	X(PME_TOO_MANY_STREAMS, 429, "rate_limit_error",		\
	    "too_many_streams", "too many requests at once")		\
	X(PME_RATE_LIMITED, 429, "rate_limit_error",			\
	    "rate_limit_exceeded", "rate limit exceeded")		\
	X(PME_TOO_MANY_CONNECTIONS, 429, "rate_limit_error",		\
	    "too_many_connections", "too many connections")		\
	X(PME_TOO_MANY_CONNECTIONS_ADDR, 429, "rate_limit_error",	\
	    "too_many_connections_from_address",			\
	    "too many connections from this address")			\
	/* the proxy itself */						\
	X(PME_INTERNAL, 500, "server_error", "internal_error",		\
	    "internal error")						\
	X(PME_SANDBOX_MISSING, 500, "server_error", "sandbox_missing",	\
	    "the worker survived a forbidden syscall")			\
	X(PME_ENCRYPTION_FAILED, 500, "server_error",			\
	    "encryption_failed", "encrypting the request failed")	\
	X(PME_METRICS_UNAVAILABLE, 503, "service_unavailable",		\
	    "metrics_unavailable", "metrics are not available")		\
	X(PME_KEYD_UNAVAILABLE, 503, "service_unavailable",		\
	    "keyd_unavailable", "key daemon unavailable")		\
	X(PME_KEYD_LOST, 502, "upstream_error", "keyd_lost",		\
	    "the key daemon serving this request exited")		\
	X(PME_RELAY_INTERNAL, 502, "upstream_error", "internal_error",	\
	    "internal error relaying the response")			\
	/* the API and the way to it (keyd/relay.c, keyd/secret.c) */	\
	X(PME_NOT_ATTESTED, 503, "service_unavailable", "not_attested",	\
	    "the deployment is not attested")				\
	X(PME_UPSTREAM_UNREACHABLE, 503, "service_unavailable",	\
	    "upstream_unreachable", "cannot reach the API")		\
	X(PME_UPSTREAM_TIMEOUT, 504, "timeout_error",			\
	    "upstream_timeout", "upstream timed out")			\
	X(PME_UPSTREAM_CLOSED, 502, "upstream_error",			\
	    "upstream_closed", "upstream closed the connection")	\
	X(PME_BAD_UPSTREAM_RESPONSE, 502, "upstream_error",		\
	    "bad_upstream_response", "bad upstream response")		\
	X(PME_UPSTREAM_RESET, 502, "upstream_error", "upstream_reset",	\
	    "upstream reset the stream")				\
	X(PME_UPSTREAM_HTTP2, 502, "upstream_error", "upstream_http2",	\
	    "upstream HTTP/2 failed")					\
	X(PME_UPSTREAM_TLS, 502, "upstream_error", "upstream_tls",	\
	    "upstream TLS failed")					\
	X(PME_UPSTREAM_PROXY, 502, "upstream_error", "upstream_proxy",	\
	    "the egress proxy refused the connection")

enum pmerr_code {
	PME_NONE = 0,
#define PMERR_ENUM(name, status, type, code, msg)	name,
	PMERR_CODES(PMERR_ENUM)
#undef PMERR_ENUM
	PME_MAX
};

/* The detail a client is told; longer text is cut. */
#define PMERR_MSG_MAX	1024

struct pmerr {
	enum pmerr_code	code;
	char		msg[PMERR_MSG_MAX];	/* "" until set */
};

/* What a code maps to; a code out of range reads as PME_INTERNAL. */
int		 pmerr_status(enum pmerr_code);
const char	*pmerr_type(enum pmerr_code);
const char	*pmerr_code_str(enum pmerr_code);
const char	*pmerr_default_msg(enum pmerr_code);

/* Set code and message; a NULL fmt takes the code's default message. */
void	pmerr_set(struct pmerr *, enum pmerr_code, const char *fmt, ...)
	    __attribute__((__format__(printf, 3, 4)));
void	pmerr_vset(struct pmerr *, enum pmerr_code, const char *fmt,
	    va_list) __attribute__((__format__(printf, 3, 0)));

/* IPC: u16 code, str message.  The reader refuses an unknown code. */
void	pmerr_put(struct buf *, const struct pmerr *);
int	pmerr_get(struct msgr *, struct pmerr *);

#endif
