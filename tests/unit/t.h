/*
 * A tiny assertion harness for the C unit tests: each check prints a
 * TAP-like line on failure and the program exits non-zero if any failed.
 */
#ifndef PM_TEST_T_H
#define PM_TEST_T_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern int	t_failures;
extern int	t_checks;
extern const char *t_current;

#define T_BEGIN(name)	do { t_current = (name); } while (0)

#define T_CHECK(cond) do {						\
	t_checks++;							\
	if (!(cond)) {							\
		t_failures++;						\
		fprintf(stderr, "FAIL %s (%s:%d): %s\n", t_current,	\
		    __FILE__, __LINE__, #cond);				\
	}								\
} while (0)

#define T_EQ_INT(a, b) do {						\
	long long _a = (long long)(a), _b = (long long)(b);		\
	t_checks++;							\
	if (_a != _b) {							\
		t_failures++;						\
		fprintf(stderr, "FAIL %s (%s:%d): %s == %lld, want %lld\n", \
		    t_current, __FILE__, __LINE__, #a, _a, _b);		\
	}								\
} while (0)

#define T_EQ_STR(a, b) do {						\
	const char *_a = (a), *_b = (b);				\
	t_checks++;							\
	if (_a == NULL || _b == NULL || strcmp(_a, _b) != 0) {		\
		t_failures++;						\
		fprintf(stderr, "FAIL %s (%s:%d): %s == \"%s\", want \"%s\"\n", \
		    t_current, __FILE__, __LINE__, #a, _a ? _a : "(null)", \
		    _b ? _b : "(null)");				\
	}								\
} while (0)

#define T_EQ_MEM(a, b, n) do {						\
	t_checks++;							\
	if (memcmp((a), (b), (n)) != 0) {				\
		t_failures++;						\
		fprintf(stderr, "FAIL %s (%s:%d): %s differs from %s\n", \
		    t_current, __FILE__, __LINE__, #a, #b);		\
	}								\
} while (0)

/* Define once per test program, then end main() with T_DONE(). */
#define T_GLOBALS	int t_failures, t_checks; const char *t_current = "?"

#define T_DONE() do {							\
	printf("%s: %d checks, %d failures\n", __FILE__, t_checks,	\
	    t_failures);						\
	return t_failures == 0 && t_checks > 0 ? 0 : 1;			\
} while (0)

/*
 * Directory of the official test vectors (tests/vectors): PM_VECTORS if
 * set (make check sets it, a caller may point it at another copy), else
 * the one the build compiled in, so a test binary run by hand finds them.
 */
#ifndef PM_VECTORS_DIR
#define PM_VECTORS_DIR	"tests/vectors"
#endif

static inline const char *
t_vectors_dir(void)
{
	const char *d = getenv("PM_VECTORS");

	return d != NULL && d[0] != '\0' ? d : PM_VECTORS_DIR;
}

#ifdef EVLOOP_NONBLOCK
/*
 * For tests that include <event2/event.h> first: run a loop without
 * blocking until what is ready has run; each socket read takes at most
 * one 64 KiB chunk, so a few passes.
 */
static inline void
t_pump(struct event_base *base)
{
	int	i;

	for (i = 0; i < 8; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
}
#endif

#endif
