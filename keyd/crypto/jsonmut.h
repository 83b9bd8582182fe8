/*
 * In-place mutation of JSON values for the field cipher, reproducing the
 * Go proxy's MutateJSONFields (protocol.md sections 3.3-3.5): every
 * top-level member (or array element) not named in a skip list is
 * replaced by f(raw value text), visited in bytewise order of the escaped
 * member names (array indices as decimal strings, so "10" sorts before
 * "2"); skip paths longer than one element make the walk descend into
 * that member instead.  All other bytes of the document stay as they are.
 *
 * The walk computes the visiting order first, calls f in that order (the
 * cipher's sequence numbers depend on it), then writes the output in one
 * pass, so the cost is linear in the document plus a sort of its keys.
 */
#ifndef PM_JSONMUT_H
#define PM_JSONMUT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cerr.h"
#include "json.h"

/*
 * One skip path: elements are member names in gjson's escaped form (a
 * key "a.b" is written "a\.b"), decimal array indices, or "#" for every
 * element of an array.
 */
struct jm_path {
	char	**elem;
	size_t	 *len;		/* strlen of each element, for the walk */
	size_t	  n;
};

struct jm_skip {
	struct jm_path	*paths;
	size_t		 n;
};

void	jm_skip_init(struct jm_skip *);
/* Add a dotted path ("field1.#.key1"); "\." stays inside an element. */
void	jm_skip_add(struct jm_skip *, const char *);
/* Add a path given as separate elements. */
void	jm_skip_add_elems(struct jm_skip *, const char *const *, size_t);
void	jm_skip_free(struct jm_skip *);

/*
 * The mutation: append the replacement for raw value text in[0..n) to
 * out.  Returns 0, or -1 with err set.
 */
typedef int (*jm_fn)(void *arg, const uint8_t *in, size_t n,
    struct buf *out, struct cerr *err);

/*
 * Mutate doc into out (appended).  An empty doc yields empty output.
 * Errors, as in Go: "mutation on invalid JSON data: invalid JSON data"
 * (or "...: incomplete JSON"), "mutating field \"<k>\": <f's error>",
 * with "mutating nested field: " between levels.  Two further refusals
 * where Go would silently misbehave: a repeated member name in an object
 * the walk visits (Go would mutate the first occurrence twice and leave
 * the second one in plaintext), and a top-level scalar.
 */
int	jm_mutate(const uint8_t *doc, size_t n, const struct jm_skip *,
	    jm_fn, void *arg, struct buf *out, struct cerr *err);
/*
 * jm_mutate of a document the caller has validated already, whose
 * top-level members json_validate_top (or json_scan_top) recorded: the
 * walk does not scan it again.
 */
int	jm_mutate_top(const uint8_t *doc, size_t n, const struct json_top *,
	    size_t ntop, const struct jm_skip *, jm_fn, void *arg,
	    struct buf *out, struct cerr *err);

#endif
