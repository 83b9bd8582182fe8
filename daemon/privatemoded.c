/*
 * privatemoded: command line and role dispatch.  The parent re-executes
 * this binary as "-T worker|keyd -I <instance>" for every child, so each
 * child starts from a fresh image (new ASLR layout, new stack canary).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "keyd.h"
#include "log.h"
#include "parent.h"
#include "privatemoded.h"
#include "privdrop.h"
#include "util.h"

static __dead void
usage(void)
{
	fprintf(stderr,
	    "usage: privatemoded [-dFtV] [-f file] [--apiKey=key|@file] "
	    "[--port=port]\n"
	    "                    [--apiEndpoint=host:port] [--workspace=dir] "
	    "[--<flag>=value ...]\n"
	    "See privatemoded(8) and privatemode.conf(5).\n");
	exit(1);
}

static __dead void
version(void)
{
	printf("privatemode-proxy version v%s (privatemoded; sandbox %s%s)\n",
	    PACKAGE_VERSION,
#ifdef SANDBOX_NONE
	    "none",
#else
	    "seccomp",
#endif
#ifdef TEST_HOOKS
	    "; test hooks"
#else
	    ""
#endif
	    );
#ifdef TEST_HOOKS
	printf("WARNING: built with --enable-test-hooks: unauthenticated "
	    "/__test/ routes and insecure test-only settings; not for "
	    "production\n");
#endif
	exit(0);
}

/* Overwrite an argv string so /proc/<pid>/cmdline no longer shows it. */
static void
scrub_arg(char *s)
{
	explicit_bzero(s, strlen(s));
}

/*
 * The official proxy's long flags: --name value, --name=value, and for
 * booleans --name or --name=true|false (a separate word is not consumed).
 */
static int
long_flag(struct parent_opts *o, int argc, char **argv, int i)
{
	char		*arg = argv[i] + 2, *eq, *name, *value;
	const char	*key;
	int		 is_bool = 0, used = 1;

	if (strcmp(arg, "help") == 0)
		usage();
	if (strcmp(arg, "version") == 0)
		version();
	name = xstrdup(arg);
	if ((eq = strchr(name, '=')) != NULL)
		*eq = '\0';
	if (strcmp(name, "ssEndpoint") == 0 ||
	    strcmp(name, "coordinatorEndpoint") == 0) {
		fprintf(stderr, "Flag --%s has been deprecated, direct "
		    "connection to the %s is no longer required\n", name,
		    name[0] == 's' ? "secret-service" : "Coordinator");
		if (eq == NULL && i + 1 < argc)
			used = 2;
		free(name);
		return used;
	}
	if ((key = config_flag_to_key(name, &is_bool)) == NULL) {
		fprintf(stderr, "privatemoded: unknown flag: --%s\n", name);
		usage();
	}
	if (eq != NULL)
		value = argv[i] + 2 + (eq - name) + 1;
	else if (is_bool)
		value = "true";
	else if (i + 1 < argc) {
		value = argv[i + 1];
		used = 2;
	} else {
		fprintf(stderr, "privatemoded: flag needs an argument: --%s\n",
		    name);
		usage();
	}
	/* Literal secrets never stay in argv or in the override list. */
	if (strcmp(key, "api_key") == 0 && value[0] != '@') {
		strfreezero(o->cli_api_key);
		o->cli_api_key = xstrdup(value);
		scrub_arg(value);
	} else if (strcmp(key, "prompt_cache_salt") == 0 && value[0] != '@') {
		strfreezero(o->cli_salt);
		o->cli_salt = xstrdup(value);
		scrub_arg(value);
	} else
		overrides_add(&o->ovr, key, value);
	free(name);
	return used;
}

int
main(int argc, char *argv[])
{
	struct parent_opts	 o;
	const char		*role = NULL;
	int			 instance = -1, i, j;
	char			*a;

	/*
	 * First of all, in the parent and in every child (exec made it
	 * dumpable again): nothing of ours may be read by ptrace or
	 * /proc/<pid>/mem from another process of the same user.
	 */
	privdrop_not_dumpable();
	memset(&o, 0, sizeof(o));
	o.conf_path = SYSCONFDIR "/privatemode.conf";
	log_init(1, LOG_INFO, LOG_FORMAT_TEXT);

	for (i = 1; i < argc; ) {
		a = argv[i];
		if (strncmp(a, "--", 2) == 0 && a[2] != '\0') {
			i += long_flag(&o, argc, argv, i);
			continue;
		}
		if (a[0] != '-' || a[1] == '\0') {
			fprintf(stderr, "privatemoded: unexpected argument "
			    "\"%s\"\n", a);
			usage();
		}
		for (j = 1; a[j] != '\0'; j++) {
			const char	*optarg = NULL;

			if (strchr("fTIl", a[j]) != NULL) {
				if (a[j + 1] != '\0')
					optarg = a + j + 1;
				else if (i + 1 < argc)
					optarg = argv[++i];
				else
					usage();
			}
			switch (a[j]) {
			case 'd':
				o.debug = o.foreground = 1;
				break;
			case 'F':
				o.foreground = 1;
				break;
			case 'f':
				o.conf_path = optarg;
				o.conf_explicit = 1;
				break;
			case 'l':
				overrides_add(&o.ovr, "log_level", optarg);
				break;
			case 't':
				o.check_only = 1;
				break;
			case 'V':
			case 'v':
				version();
			case 'K':
				config_print_keys();
				exit(0);
			case 'T':
				role = optarg;
				break;
			case 'I':
				instance = atoi(optarg);
				break;
			default:
				usage();
			}
			if (optarg != NULL)
				break;
		}
		i++;
	}

	if (role != NULL) {
		/* A child: stderr in the foreground, syslog otherwise. */
		log_init(o.foreground, LOG_INFO, LOG_FORMAT_TEXT);
		if (o.debug)
			log_pindebug();
		if (strcmp(role, "worker") == 0)
			return worker_main(instance);
		if (strcmp(role, "keyd") == 0)
			return keyd_main(instance);
		fatalx("unknown role %s", role);
	}
	if (o.debug)
		log_pindebug();
	i = parent_main(&o);
	overrides_free(&o.ovr);
	return i;
}
