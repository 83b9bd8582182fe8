/* The privileged parent: configuration, listeners, supervision. */
#ifndef PM_PARENT_H
#define PM_PARENT_H

#include "conf.h"

struct parent_opts {
	const char		*conf_path;
	int			 conf_explicit;	/* -f given */
	int			 foreground;
	int			 debug;
	int			 check_only;	/* -t */
	struct overrides	 ovr;
	/* literal secrets taken off the command line (argv is scrubbed) */
	char			*cli_api_key;
	char			*cli_salt;
};

int	parent_main(struct parent_opts *);

#endif
