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
    size_t memo_hops;             /* of the hops, how many came from a memo (cip_list_walk_memo) */
} cip_walk;

/* Walk value [value, value+len). The caller has already established that
 * the peer is trusted. recursive == 0 takes only the rightmost entry;
 * otherwise trusted entries (per trust) are passed until the first
 * untrusted one. hop_count == 0 means: leave the client unchanged (and
 * keep_len == len). */
void cip_list_walk(const char *value, size_t len, const cip_trust *trust, int recursive,
                   cip_walk *out);

/* A memo of the trusted right end of a list, kept by the caller between
 * walks of one connection: behind a fixed chain of proxies (a CDN edge,
 * then a load balancer) every request's list ends with the same trusted
 * entries, and only the part left of them changes. A walk whose value ends
 * with the memo's bytes, under the same table, takes the memo's hops
 * without reading them again and goes on from there; the result is exactly
 * that of cip_list_walk (the walk of those bytes can only come out the
 * same). Fixed size, overwritten in place: a connection's memo never grows.
 * Zero it before first use. */
#define CIP_MEMO_TEXT_MAX 128
#define CIP_MEMO_HOPS 4

typedef struct cip_walk_memo {
    const cip_trust *trust;  /* the table the hops were judged by */
    size_t hop_count;        /* 0: empty */
    unsigned long version;   /* counts the times it was replaced: a caller that keeps
                                something derived from the memo's hops can tell */
    size_t text_len;         /* the value's last text_len bytes: from the comma left of the
                                farthest memoized entry to the end */
    char text[CIP_MEMO_TEXT_MAX];
    cip_hop hops[CIP_MEMO_HOPS]; /* their text pointers are not kept: */
    size_t text_from_end[CIP_MEMO_HOPS]; /* where each entry's text starts, back from the end */
} cip_walk_memo;

/* cip_list_walk with a memo (NULL: none). Only recursive walks use it; a
 * walk that passed trusted entries other than the memo's replaces it. */
void cip_list_walk_memo(const char *value, size_t len, const cip_trust *trust, int recursive,
                        cip_walk_memo *memo, cip_walk *out);

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
