/* No sandbox: sanitizer and Valgrind builds only (sandbox.h). */
#include "config.h"

#include <sys/prctl.h>

#include "sandbox.h"

/* A note, not a warning: -Werror builds must still succeed. */
#pragma message("sandboxes compiled out: for sanitizer and valgrind builds only")

void
sandbox_keyd(void)
{
}

void
sandbox_worker(void)
{
}

const char *
sandbox_name(void)
{
	return "none";
}

int
sandbox_active(void)
{
	return prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == 2;
}
