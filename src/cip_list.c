/* cip_list: right-to-left walk of "a, b, c" address lists (SPEC
 * "ClientIPRecursive"). Entries are cut from the right end one at a time,
 * so a 600-entry or 8 KB header costs only the entries the walk takes. */
#include "cip_list.h"

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* The entry that ends at end: [*start, *entry_end) trimmed; *sep is where
 * its left separator (a comma) stands, or NULL when it is the leftmost. */
static void take_rightmost_entry(const char *value, const char *end, const char **start,
                                 const char **entry_end, const char **sep)
{
    const char *p = end;
    while (p > value && p[-1] != ',')
        p--;
    *sep = p > value ? p - 1 : NULL;
    const char *s = p, *e = end;
    while (s < e && is_space(*s))
        s++;
    while (e > s && is_space(e[-1]))
        e--;
    *start = s;
    *entry_end = e;
}

/* Length of value[0, len) once trailing spaces and tabs are gone. */
static size_t trimmed_length(const char *value, size_t len)
{
    while (len > 0 && is_space(value[len - 1]))
        len--;
    return len;
}

void cip_list_walk(const char *value, size_t len, const cip_trust *trust, int recursive,
                   cip_walk *out)
{
    const char *end = value + len; /* unread part is [value, end) */
    out->hop_count = 0;
    out->bad_entry = NULL;
    out->bad_entry_len = 0;
    out->bad_status = CIP_ENDPOINT_OK;
    out->keep_len = len;

    for (;;) {
        if (out->hop_count == CIP_LIST_MAX_HOPS) {
            out->stop = CIP_WALK_HOP_LIMIT;
            break;
        }
        const char *start, *entry_end, *sep;
        take_rightmost_entry(value, end, &start, &entry_end, &sep);
        cip_hop *hop = &out->hops[out->hop_count];
        cip_endpoint_status st = cip_endpoint_parse(start, (size_t)(entry_end - start),
                                                    &hop->endpoint);
        if (st != CIP_ENDPOINT_OK) {
            out->stop = CIP_WALK_INVALID_ENTRY;
            out->bad_status = st;
            out->bad_entry = start;
            out->bad_entry_len = (size_t)(entry_end - start);
            break;
        }
        out->hop_count++;
        end = sep != NULL ? sep : value;
        out->keep_len = trimmed_length(value, (size_t)(end - value));
        if (!recursive) {
            hop->trusted_by = NULL;
            out->stop = CIP_WALK_NOT_RECURSIVE;
            break;
        }
        hop->trusted_by = cip_trust_lookup(trust, &hop->endpoint.addr);
        if (hop->trusted_by == NULL) {
            out->stop = CIP_WALK_UNTRUSTED;
            break;
        }
        if (sep == NULL) {
            out->stop = CIP_WALK_ALL_TRUSTED;
            break;
        }
    }
}

const char *cip_walk_stop_text(cip_walk_stop stop)
{
    switch (stop) {
    case CIP_WALK_NOT_RECURSIVE:
        return "rightmost entry taken (ClientIPRecursive Off)";
    case CIP_WALK_UNTRUSTED:
        return "untrusted entry reached";
    case CIP_WALK_ALL_TRUSTED:
        return "every entry trusted, leftmost taken";
    case CIP_WALK_INVALID_ENTRY:
        return "invalid entry";
    case CIP_WALK_HOP_LIMIT:
        return "hop limit (64) reached";
    }
    return "unknown";
}
