/*
 * The portable build of common/json.c (no SSE2 fast paths) under other
 * names, linked into the JSON fuzzer as a reference: both builds must
 * agree on every input.
 */
#undef __SSE2__
#define json_validate		ref_json_validate
#define json_validate_top	ref_json_validate_top
#define json_scan_top		ref_json_scan_top
#define json_kind_at		ref_json_kind_at
#define json_value_span		ref_json_value_span
#define json_iter_init		ref_json_iter_init
#define json_iter_next		ref_json_iter_next
#define json_iter_free		ref_json_iter_free
#define json_unescape		ref_json_unescape
#define json_strcmp		ref_json_strcmp
#include "json.c"
