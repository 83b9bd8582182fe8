/*
 * keyd's registry of the connections it holds TLS sessions for, and the
 * MSG_UP_IO messages that carry their bytes and events to the worker.
 */
#include "config.h"

#ifdef HAVE_MALLOC_TRIM
#include <malloc.h>
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "buf.h"
#include "chan.h"
#include "ipc.h"
#include "kd.h"
#include "log.h"
#include "tunnel.h"
#include "util.h"

#define KTUN_BUCKETS	256
#define TRIM_QUIET_MS	500

static struct ktun	*buckets[KTUN_BUCKETS];

#ifdef HAVE_MALLOC_TRIM
static struct event	*trim_ev;

static void
trim_cb(evutil_socket_t fd, short ev, void *arg)
{
	malloc_trim(0);
}
#endif

/*
 * Every TLS handshake leaves freed memory in the heap, which malloc keeps.
 * Once connections have stopped opening, completing their handshakes and
 * closing for TRIM_QUIET_MS, the free pages go back to the kernel: after a
 * burst of streams keyd holds what the open sessions use, not the burst's
 * high-water mark.
 */
static void
trim_when_quiet(void)
{
#ifdef HAVE_MALLOC_TRIM
	struct timeval	tv = { 0, TRIM_QUIET_MS * 1000 };

	if (trim_ev == NULL &&
	    (trim_ev = evtimer_new(kenv->base, trim_cb, NULL)) == NULL)
		fatalx("%s: evtimer_new", __func__);
	evtimer_add(trim_ev, &tv);	/* re-adding restarts the wait */
#endif
}

struct ktun *
ktun_new(uint32_t id, enum ktun_kind kind, const char *host, int tls,
    int verify)
{
	struct ktun	*kt;

	kt = xcalloc(1, sizeof(*kt));
	kt->id = id;
	kt->kind = kind;
	kt->t = tun_new(id, host, tls, verify);
	kt->next = buckets[id % KTUN_BUCKETS];
	buckets[id % KTUN_BUCKETS] = kt;
	trim_when_quiet();
	return kt;
}

struct ktun *
ktun_find(uint32_t id)
{
	struct ktun	*kt;

	for (kt = buckets[id % KTUN_BUCKETS]; kt != NULL; kt = kt->next)
		if (kt->id == id)
			return kt;
	return NULL;
}

void
ktun_free(struct ktun *kt)
{
	struct ktun	**pp;

	for (pp = &buckets[kt->id % KTUN_BUCKETS]; *pp != NULL;
	    pp = &(*pp)->next)
		if (*pp == kt) {
			*pp = kt->next;
			break;
		}
	tun_free(kt->t);
	free(kt);
	trim_when_quiet();
}

void
upio_init(struct upio *io)
{
	buf_init(&io->ev, 0);
	io->nev = 0;
	io->flags = 0;
}

void
upio_free(struct upio *io)
{
	buf_free(&io->ev);
}

static void
put_u16(struct buf *b, uint16_t v)
{
	buf_add(b, &v, sizeof(v));
}

static void
put_u32(struct buf *b, uint32_t v)
{
	buf_add(b, &v, sizeof(v));
}

/* Same encoding as msg_put_str / msg_put_bytes. */
static void
put_bytes(struct buf *b, const void *p, size_t n)
{
	put_u32(b, (uint32_t)n);
	buf_add(b, p, n);
}

void
upio_head(struct upio *io, int status, const char *const *names,
    const char *const *values, int n)
{
	int	i;

	buf_addc(&io->ev, UPE_HEAD);
	put_u16(&io->ev, (uint16_t)status);
	put_u32(&io->ev, (uint32_t)n);
	for (i = 0; i < n; i++) {
		put_bytes(&io->ev, names[i], strlen(names[i]));
		put_bytes(&io->ev, values[i], strlen(values[i]));
	}
	io->nev++;
}

void
upio_data(struct upio *io, const void *p, size_t n)
{
	if (n == 0)
		return;
	buf_addc(&io->ev, UPE_DATA);
	put_bytes(&io->ev, p, n);
	io->nev++;
}

void
upio_end(struct upio *io)
{
	buf_addc(&io->ev, UPE_END);
	io->nev++;
}

void
upio_error(struct upio *io, int status, const char *type, const char *code,
    const char *fmt, ...)
{
	char	msg[1024];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	buf_addc(&io->ev, UPE_ERROR);
	put_u16(&io->ev, (uint16_t)status);
	put_bytes(&io->ev, type, strlen(type));
	put_bytes(&io->ev, code, strlen(code));
	put_bytes(&io->ev, msg, strlen(msg));
	io->nev++;
}

void
upio_retry(struct upio *io, int reason, uint32_t delay_ms)
{
	buf_addc(&io->ev, UPE_RETRY);
	buf_addc(&io->ev, (uint8_t)reason);
	put_u32(&io->ev, delay_ms);
	io->nev++;
}

/* Send the socket bytes tunnel kt has pending, with io's events. */
void
ktun_flush(struct ktun *kt, struct upio *io)
{
	struct buf	m;
	struct buf	out;

	if (kenv->worker == NULL)
		return;
	buf_init(&out, 0);
	tun_output(kt->t, &out);
	if (tun_ready(kt->t) && !kt->ready_sent) {
		io->flags |= UPF_READY;
		kt->ready_sent = 1;
		trim_when_quiet();	/* the handshake's garbage is free now */
	}
	if (out.len == 0 && io->nev == 0 && io->flags == 0) {
		buf_free(&out);
		return;
	}
	buf_init(&m, out.len + io->ev.len + 32);
	msg_put_u32(&m, kt->id);
	msg_put_bytes(&m, out.p, out.len);
	msg_put_u8(&m, io->flags);
	msg_put_u32(&m, io->nev);
	msg_put_raw(&m, io->ev.p, io->ev.len);
	chan_send(kenv->worker, MSG_UP_IO, 0, &m);
	buf_free(&m);
	buf_free(&out);
	buf_reset(&io->ev);
	io->nev = 0;
	io->flags = 0;
}
