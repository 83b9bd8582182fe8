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

#include <sodium.h>

#include "clients.h"
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
	    "       privatemoded -G name\n"
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

/*
 * -G name: a new client token.  The line for the token file goes to
 * standard output (so ">>/etc/privatemode/clients" appends it), the
 * token itself to standard error, once: only its hash is kept anywhere.
 */
static int
new_client_token(const char *name)
{
	char	token[CLIENT_TOKEN_LEN + 1], line[CLIENT_NAME_MAX + 80];

	if (!client_name_ok(name)) {
		fprintf(stderr, "privatemoded: bad client name \"%s\": 1 to 64 "
		    "letters, digits, '.', '_' or '-', starting with a letter "
		    "or digit\n", name);
		return 1;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "privatemoded: sodium_init failed\n");
		return 1;
	}
	client_token_new(token, sizeof(token), name, line, sizeof(line));
	printf("%s\n", line);
	fflush(stdout);
	fprintf(stderr, "client token for %s (give it to the client; it is "
	    "shown only now):\n%s\n", name, token);
	sodium_memzero(token, sizeof(token));
	return ferror(stdout) ? 1 : 0;
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
	const char		*role = NULL, *gen = NULL;
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

			if (strchr("fGTIl", a[j]) != NULL) {
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
			case 'G':
				gen = optarg;
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

	if (gen != NULL)
		return new_client_token(gen);
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
