/* cip_list: the right-to-left walk of an X-Forwarded-For-style list.
 * Pure C, libc only. Implements SPEC "ClientIPRecursive".
 *
 * The list is read from its right end, nearest proxy first, and only as far
 * as the walk needs: the left, client-written part is never parsed unless
 * every entry to its right was trusted. */
#ifndef CIP_LIST_H
#define CIP_LIST_H

#include <stddef.h>
#include "cip_addr.h"
#include "cip_trust.h"

#define CIP_LIST_MAX_HOPS 64

typedef enum cip_walk_stop {
    CIP_WALK_NOT_RECURSIVE = 0, /* recursion Off: took the rightmost entry */
    CIP_WALK_UNTRUSTED,         /* reached an untrusted entry: it is the client */
    CIP_WALK_ALL_TRUSTED,       /* every entry trusted: the leftmost is the client */
    CIP_WALK_INVALID_ENTRY,     /* an entry that is no address: client is the last valid one */
    CIP_WALK_HOP_LIMIT          /* CIP_LIST_MAX_HOPS entries taken, all trusted */
} cip_walk_stop;

/* One valid entry the walk took, right to left. */
typedef struct cip_hop {
    cip_endpoint endpoint;
    const cip_prefix *trusted_by; /* the network that trusted it; NULL if untrusted or not looked up */
    const char *text;             /* the entry as written, inside the value */
    size_t text_len;
} cip_hop;

typedef struct cip_walk {
    size_t hop_count;             /* entries taken; the client is hops[hop_count - 1] when > 0 */
    cip_hop hops[CIP_LIST_MAX_HOPS];
    cip_walk_stop stop;
    cip_endpoint_status bad_status; /* why, when stop == CIP_WALK_INVALID_ENTRY */
    const char *bad_entry;          /* the entry that stopped the walk (trimmed), inside the value */
    size_t bad_entry_len;
    size_t keep_len;              /* the value's first keep_len bytes are what remains after the
                                     taken entries are removed (trailing separators trimmed);
                                     0 means nothing remains: unset the header */
} cip_walk;

/* Walk value [value, value+len). The caller has already established that
 * the peer is trusted. recursive == 0 takes only the rightmost entry;
 * otherwise trusted entries (per trust) are passed until the first
 * untrusted one. hop_count == 0 means: leave the client unchanged (and
 * keep_len == len). */
void cip_list_walk(const char *value, size_t len, const cip_trust *trust, int recursive,
                   cip_walk *out);

/* The shared walk, for any list format (X-Forwarded-For here, Forwarded in
 * cip_forwarded). A source hands out entries right to left, each already
 * parsed; the walk applies the trust rules of SPEC "ClientIPRecursive". */
typedef struct cip_entry {
    cip_endpoint_status status; /* CIP_ENDPOINT_OK: endpoint holds an address */
    cip_endpoint endpoint;
    const char *text; /* the entry as written (for the decision trail) */
    size_t text_len;
    size_t keep_len; /* bytes of the value that remain once this entry and all
                        to its right are taken */
    int leftmost;    /* no entry stands left of this one */
} cip_entry;

/* Fills *entry with the next entry from the right; 0 when there is none. */
typedef int (*cip_entry_next)(void *source, cip_entry *entry);

void cip_walk_entries(cip_entry_next next, void *source, size_t value_len,
                      const cip_trust *trust, int recursive, cip_walk *out);

/* The rightmost comma-separated value of [value, value+len), trimmed of
 * spaces and tabs (X-Forwarded-Proto: "https, http" gives "http"). */
void cip_list_rightmost(const char *value, size_t len, const char **start, size_t *out_len);

const char *cip_walk_stop_text(cip_walk_stop stop);

#endif
