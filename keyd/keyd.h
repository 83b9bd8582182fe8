/*
 * keyd: the key daemon.  One per worker, sandboxed before it receives a
 * secret, and the only process that ever holds the API key, the inference
 * secret, HPKE private keys or upstream TLS session keys.  It answers the
 * requests in its gated table and nothing else.
 */
#ifndef PM_KEYD_H
#define PM_KEYD_H

int	keyd_main(int instance);

#endif
