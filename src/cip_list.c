/* cip_list: the right-to-left walk of address lists (SPEC
 * "ClientIPRecursive"). cip_walk_entries holds the trust rules for every
 * list format; the X-Forwarded-For source below cuts entries from the right
 * end one at a time, so a 600-entry or 8 KB header costs only the entries
 * the walk takes. */
#include "cip_list.h"

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* Length of value[0, len) once trailing spaces and tabs are gone. */
static size_t trimmed_length(const char *value, size_t len)
{
    while (len > 0 && is_space(value[len - 1]))
        len--;
    return len;
}

void cip_walk_entries(cip_entry_next next, void *source, size_t value_len,
                      const cip_trust *trust, int recursive, cip_walk *out)
{
    cip_entry entry;
    out->hop_count = 0;
    out->bad_entry = NULL;
    out->bad_entry_len = 0;
    out->bad_status = CIP_ENDPOINT_OK;
    out->keep_len = value_len;

    for (;;) {
        if (out->hop_count == CIP_LIST_MAX_HOPS) {
            out->stop = CIP_WALK_HOP_LIMIT;
            return;
        }
        if (!next(source, &entry)) {
            /* Only a source that hands out nothing at all gets here. */
            out->stop = CIP_WALK_INVALID_ENTRY;
            out->bad_status = CIP_ENDPOINT_EMPTY;
            return;
        }
        if (entry.status != CIP_ENDPOINT_OK) {
            out->stop = CIP_WALK_INVALID_ENTRY;
            out->bad_status = entry.status;
            out->bad_entry = entry.text;
            out->bad_entry_len = entry.text_len;
            return;
        }
        cip_hop *hop = &out->hops[out->hop_count++];
        hop->endpoint = entry.endpoint;
        hop->trusted_by = NULL;
        hop->text = entry.text;
        hop->text_len = entry.text_len;
        out->keep_len = entry.keep_len;
        if (!recursive) {
            out->stop = CIP_WALK_NOT_RECURSIVE;
            return;
        }
        hop->trusted_by = cip_trust_lookup(trust, &hop->endpoint.addr);
        if (hop->trusted_by == NULL) {
            out->stop = CIP_WALK_UNTRUSTED;
            return;
        }
        if (entry.leftmost) {
            out->stop = CIP_WALK_ALL_TRUSTED;
            return;
        }
    }
}

/* X-Forwarded-For source: [value, end) is what is still unread. */
typedef struct xff_source {
    const char *value;
    const char *end;
} xff_source;

/* Cut the rightmost entry off [value, end): its trimmed text, whether it
 * is the leftmost one, and what remains left of its comma. */
static void cut_rightmost(xff_source *src, const char **text, size_t *text_len, int *leftmost)
{
    const char *p = src->end;
    while (p > src->value && p[-1] != ',')
        p--;
    const char *start = p, *stop = src->end;
    while (start < stop && is_space(*start))
        start++;
    while (stop > start && is_space(stop[-1]))
        stop--;
    *text = start;
    *text_len = (size_t)(stop - start);
    *leftmost = p == src->value;
    src->end = *leftmost ? src->value : p - 1;
}

static int xff_next(void *state, cip_entry *entry)
{
    xff_source *src = state;
    cut_rightmost(src, &entry->text, &entry->text_len, &entry->leftmost);
    entry->status = cip_endpoint_parse(entry->text, entry->text_len, &entry->endpoint);
    entry->keep_len = trimmed_length(src->value, (size_t)(src->end - src->value));
    return 1;
}

void cip_list_walk(const char *value, size_t len, const cip_trust *trust, int recursive,
                   cip_walk *out)
{
    xff_source src = {value, value + len};
    cip_walk_entries(xff_next, &src, len, trust, recursive, out);
}

void cip_list_rightmost(const char *value, size_t len, const char **start, size_t *out_len)
{
    xff_source src = {value, value + len};
    int leftmost;
    cut_rightmost(&src, start, out_len, &leftmost);
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
