/* common/util.c: the pool behind pubrand(), sort_small(). */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "t.h"
#include "util.h"

T_GLOBALS;

static int
all_zero(const uint8_t *p, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

static void
test_pubrand(void)
{
	static uint8_t	 big[3000];
	uint8_t		 prev[12], cur[12];
	unsigned int	 seen[256];
	size_t		 i, j, missing = 0, repeats = 0, zeros = 0;

	/*
	 * Twelve pool refills' worth: the pool hands out each byte once
	 * (a wiped byte handed out again would show as zeros or repeats).
	 */
	T_BEGIN("pubrand: fresh bytes across refills");
	memset(seen, 0, sizeof(seen));
	memset(prev, 0, sizeof(prev));
	for (i = 0; i < 4000; i++) {
		pubrand(cur, sizeof(cur));
		zeros += all_zero(cur, sizeof(cur));
		repeats += memcmp(cur, prev, sizeof(cur)) == 0;
		for (j = 0; j < sizeof(cur); j++)
			seen[cur[j]]++;
		memcpy(prev, cur, sizeof(cur));
	}
	for (i = 0; i < 256; i++)
		missing += seen[i] == 0;
	T_EQ_INT(zeros, 0);
	T_EQ_INT(repeats, 0);
	T_EQ_INT(missing, 0);	/* 48000 bytes: each value ~187 times */

	T_BEGIN("pubrand: a request larger than the pool's quarter");
	pubrand(big, sizeof(big));
	T_CHECK(!all_zero(big, 1000));
	T_CHECK(!all_zero(big + 2000, 1000));
}

struct rec {
	uint32_t	key;
	uint32_t	seq;	/* place before sorting */
	char		pad[40];
};

static int
rec_cmp(const void *va, const void *vb)
{
	const struct rec	*a = va, *b = vb;

	return a->key < b->key ? -1 : a->key > b->key;
}

/*
 * Both paths (insertion up to 16 elements, qsort above) against qsort's
 * order on random keys with repeats; the insertion path is stable.
 */
static void
test_sort_small(void)
{
	struct rec	a[40], b[40];
	size_t		n, i, round, wrong = 0, unstable = 0;

	T_BEGIN("sort_small: qsort's order, stable when small");
	srandom(7);
	for (round = 0; round < 50; round++) {
		for (n = 0; n <= 40; n++) {
			for (i = 0; i < n; i++) {
				a[i].key = (uint32_t)(random() % 8);
				a[i].seq = (uint32_t)i;
				memset(a[i].pad, (int)i, sizeof(a[i].pad));
			}
			memcpy(b, a, sizeof(a));
			sort_small(a, n, sizeof(a[0]), rec_cmp);
			qsort(b, n, sizeof(b[0]), rec_cmp);
			for (i = 0; i < n; i++) {
				wrong += a[i].key != b[i].key ||
				    a[i].pad[0] != (char)a[i].seq;
				if (n <= 16 && i > 0 && a[i].key == a[i - 1].key)
					unstable += a[i].seq < a[i - 1].seq;
			}
		}
	}
	T_EQ_INT(wrong, 0);
	T_EQ_INT(unstable, 0);
}

int
main(void)
{
	test_pubrand();
	test_sort_small();
	T_DONE();
}
