/* cip_trust: the table of trusted networks. Pure C, libc only.
 *
 * Filled from specs at startup (cip_trust_add_spec / cip_trust_add_line),
 * then frozen once by cip_trust_build. Lookups afterwards are read-only and
 * thread-safe, and their cost is bounded by the address width (a crit-bit
 * trie over disjoint prefixes), not by the number of entries. */
#ifndef CIP_TRUST_H
#define CIP_TRUST_H

#include <stddef.h>
#include "cip_addr.h"

/* A network: addr with the bits below prefix_len zero. prefix_len counts in
 * the 128-bit mapped space, so an IPv4 /8 is stored as 96 + 8 = 104. */
typedef struct cip_prefix {
    cip_addr addr;
    unsigned char prefix_len; /* 0..128 */
} cip_prefix;

typedef struct cip_trust cip_trust; /* opaque */

typedef enum cip_spec_status {
    CIP_SPEC_OK = 0,
    CIP_SPEC_HOST_BITS_MASKED, /* accepted, but bits below the prefix were set and cleared: warn */
    CIP_SPEC_EMPTY_LINE,       /* cip_trust_add_line only: blank or comment line, nothing added */
    CIP_SPEC_BAD_ADDRESS,      /* not an address, CIDR or keyword (host names land here) */
    CIP_SPEC_BAD_PREFIX,       /* "/" not followed by a decimal length valid for the family */
    CIP_SPEC_TRAILING_TEXT,    /* cip_trust_add_line only: more than one spec on the line */
    CIP_SPEC_FROZEN,           /* cip_trust_build was already called */
    CIP_SPEC_NO_MEMORY
} cip_spec_status;

cip_trust *cip_trust_new(void);
void cip_trust_free(cip_trust *trust); /* NULL is fine */

/* Add one spec, exactly [text, text+len): an address ("192.0.2.7",
 * "2001:db8::1"), a CIDR ("10.0.0.0/8"), or a keyword, case-insensitive:
 * loopback, private, linklocal, all. An IPv4-mapped IPv6 entry with a prefix
 * of at least 96 is an IPv4 entry. IPv6 entries never match IPv4 peers
 * (so "::/0" trusts all IPv6, not IPv4). */
cip_spec_status cip_trust_add_spec(cip_trust *trust, const char *text, size_t len);

/* Add one line of a ClientIPTrustedProxiesFile: leading/trailing spaces and
 * tabs, a '#' comment to the end of line, and a trailing CR/LF are ignored;
 * a blank line answers CIP_SPEC_EMPTY_LINE. Otherwise exactly one spec. */
cip_spec_status cip_trust_add_line(cip_trust *trust, const char *line, size_t len);

/* Freeze the table: sort, drop networks covered by others, build the trie.
 * Returns 0 on success, -1 on allocation failure. Idempotent. */
int cip_trust_build(cip_trust *trust);

/* The trusted network that contains addr, or NULL. The table must be
 * built; a NULL table trusts nothing. */
const cip_prefix *cip_trust_lookup(const cip_trust *trust, const cip_addr *addr);
/* The same for an IPv4 address given as a host-order 32-bit value
 * (192.0.2.1 is 0xc0000201). */
const cip_prefix *cip_trust_lookup_v4(const cip_trust *trust, uint32_t v4);

/* Networks kept after build (covered ones are dropped) and bytes held. */
size_t cip_trust_count(const cip_trust *trust);
/* The i-th kept network of a built table, in address order (IPv4 first),
 * for i < cip_trust_count; NULL otherwise. For reports, not lookups. */
const cip_prefix *cip_trust_prefix_at(const cip_trust *trust, size_t i);
size_t cip_trust_memory_bytes(const cip_trust *trust);

/* "10.0.0.0/8", "2001:db8::/32", "::ffff:0:0/96"-style text of a prefix, in
 * the family's own prefix length. buf holds CIP_PREFIX_TEXT_MAX bytes. */
#define CIP_PREFIX_TEXT_MAX (CIP_ADDR_TEXT_MAX + 4)
size_t cip_prefix_format(const cip_prefix *prefix, char *buf);

const char *cip_spec_status_text(cip_spec_status status);

#endif
