#include "config.h"

#include <stdio.h>

#include "conf.h"
#include "log.h"
#include "privatemoded.h"

int
main(int argc, char *argv[])
{
	(void)argc;
	(void)argv;
	log_init(1, LOG_INFO, LOG_FORMAT_TEXT);
	log_info("skeleton");
	return 0;
}
