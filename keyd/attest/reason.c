/* Names of the AMD product lines. */
#include "config.h"

#include "attest.h"

const char *
attest_product_name(enum attest_product p)
{
	switch (p) {
	case ATT_PRODUCT_MILAN:
		return "Milan";
	case ATT_PRODUCT_GENOA:
		return "Genoa";
	case ATT_PRODUCT_TURIN:
		return "Turin";
	default:
		return "Unknown";
	}
}
