/* common/util.c: the pool behind pubrand(). */
#include "config.h"

#include <stdint.h>
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

int
main(void)
{
	test_pubrand();
	T_DONE();
}
