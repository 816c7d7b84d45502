/* cip_list: the right-to-left walk of address lists (SPEC
 * "ClientIPRecursive"). cip_walk_entries holds the trust rules for every
 * list format; the X-Forwarded-For source below cuts entries from the right
 * end one at a time, so a 600-entry or 8 KB header costs only the entries
 * the walk takes. */
#include "cip_list.h"

#include <string.h>

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

static void walk_begin(cip_walk *out, size_t value_len)
{
    out->hop_count = 0;
    out->bad_entry = NULL;
    out->bad_entry_len = 0;
    out->bad_status = CIP_ENDPOINT_OK;
    out->keep_len = value_len;
    out->memo_hops = 0;
}

/* The trust rules of SPEC "ClientIPRecursive", for the hop just taken
 * from the right (out->hops[out->hop_count - 1], with keep_len set): 1 to
 * go on to the next entry, 0 when the walk ends here (out->stop says why).
 * v4 is the hop's IPv4 address in host order when is_v4, which spares the
 * lookup the 128-bit form. */
static int walk_judge(cip_walk *out, cip_hop *hop, const cip_trust *trust, int recursive,
                      int leftmost, int is_v4, uint32_t v4)
{
    if (!recursive) {
        hop->trusted_by = NULL;
        out->stop = CIP_WALK_NOT_RECURSIVE;
        return 0;
    }
    hop->trusted_by = is_v4 ? cip_trust_lookup_v4(trust, v4)
                            : cip_trust_lookup(trust, &hop->endpoint.addr);
    if (hop->trusted_by == NULL) {
        out->stop = CIP_WALK_UNTRUSTED;
        return 0;
    }
    if (leftmost) {
        out->stop = CIP_WALK_ALL_TRUSTED;
        return 0;
    }
    if (out->hop_count == CIP_LIST_MAX_HOPS) {
        out->stop = CIP_WALK_HOP_LIMIT;
        return 0;
    }
    return 1;
}

/* An entry handed out by a source, already parsed: taken as a hop when
 * valid, then judged. */
static int walk_take(cip_walk *out, const cip_entry *entry, const cip_trust *trust, int recursive)
{
    if (entry->status != CIP_ENDPOINT_OK) {
        out->stop = CIP_WALK_INVALID_ENTRY;
        out->bad_status = entry->status;
        out->bad_entry = entry->text;
        out->bad_entry_len = entry->text_len;
        return 0;
    }
    cip_hop *hop = &out->hops[out->hop_count++];
    hop->endpoint = entry->endpoint;
    hop->text = entry->text;
    hop->text_len = entry->text_len;
    out->keep_len = entry->keep_len;
    return walk_judge(out, hop, trust, recursive, entry->leftmost, 0, 0);
}

void cip_walk_entries(cip_entry_next next, void *source, size_t value_len,
                      const cip_trust *trust, int recursive, cip_walk *out)
{
    cip_entry entry;
    walk_begin(out, value_len);
    do {
        if (!next(source, &entry)) {
            /* Only a source that hands out nothing at all gets here. */
            out->stop = CIP_WALK_INVALID_ENTRY;
            out->bad_status = CIP_ENDPOINT_EMPTY;
            return;
        }
    } while (walk_take(out, &entry, trust, recursive));
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

/* The common entry, a bare dotted IPv4 address, read from its right end:
 * [begin, end) is the unread value with trailing spaces gone. Returns where
 * the address starts and its value (host order) in *v4, or NULL when the
 * text just left of end is not a strict dotted quad; the caller then checks
 * that a separator precedes it, and otherwise hands the entry to the
 * general parser, which decides. Same rules as cip_endpoint_parse: four
 * decimal parts of at most 255, no leading zeros.
 *
 * `bounded` is a constant at each call: 0 when at least 16 bytes precede
 * end, which is more than the longest address reads (15, plus one look
 * past its first digit), so the checks against begin can go. */
#define V4_SCAN_MAX 16
static inline const char *v4_from_right(const char *begin, const char *end, uint32_t *v4,
                                        int bounded)
{
    const char *p = end;
    uint32_t addr = 0;
#define MORE (!bounded || p > begin)
    for (unsigned shift = 0;; shift += 8) {
        unsigned digit, value;
        if (!MORE || (value = (unsigned)(unsigned char)p[-1] - '0') > 9)
            return NULL;
        p--;
        if (MORE && (digit = (unsigned)(unsigned char)p[-1] - '0') <= 9) {
            p--;
            unsigned hundreds;
            if (MORE && (hundreds = (unsigned)(unsigned char)p[-1] - '0') <= 9) {
                p--;
                value += digit * 10 + hundreds * 100;
                if (hundreds == 0 || value > 255)
                    return NULL;
            } else {
                if (digit == 0)
                    return NULL; /* leading zero */
                value += digit * 10;
            }
        }
        addr |= (uint32_t)value << shift;
        if (shift == 24)
            break;
        if (!MORE || p[-1] != '.')
            return NULL;
        p--;
    }
#undef MORE
    *v4 = addr;
    return p;
}

/* The memo's right end matches this value: the walk may resume left of it. */
static int memo_matches(const cip_walk_memo *memo, const char *value, size_t len,
                        const cip_trust *trust)
{
    return memo->hop_count > 0 && memo->trust == trust && memo->text_len <= len &&
           memcmp(value + len - memo->text_len, memo->text, memo->text_len) == 0;
}

/* Take the memo's hops as if they had just been walked: the walk's state
 * at that point (hops, keep_len, what is left unread) depends only on the
 * bytes of the right end and on the table, and both are the same. */
static const char *memo_resume(const cip_walk_memo *memo, const char *value, size_t len,
                               cip_walk *out)
{
    const char *end = value + len;
    for (size_t i = 0; i < memo->hop_count; i++) {
        out->hops[i] = memo->hops[i];
        out->hops[i].text = end - memo->text_from_end[i];
    }
    out->hop_count = out->memo_hops = memo->hop_count;
    const char *left = end - memo->text_len;
    out->keep_len = trimmed_length(value, (size_t)(left - value));
    return left;
}

/* Remember the trusted hops of this walk and the bytes they were read
 * from ([left, value + len), starting at a comma), when they fit. */
static void memo_store(cip_walk_memo *memo, const char *value, size_t len, const cip_trust *trust,
                       const cip_walk *out, size_t trusted_hops, const char *left)
{
    const char *end = value + len;
    size_t text_len = (size_t)(end - left);
    if (trusted_hops == 0 || trusted_hops > CIP_MEMO_HOPS || text_len > CIP_MEMO_TEXT_MAX)
        return;
    memo->trust = trust;
    memo->version++;
    memo->hop_count = trusted_hops;
    memo->text_len = text_len;
    memcpy(memo->text, left, text_len);
    for (size_t i = 0; i < trusted_hops; i++) {
        memo->hops[i] = out->hops[i];
        memo->hops[i].text = NULL; /* the value it points into is gone by the next use */
        memo->text_from_end[i] = (size_t)(end - out->hops[i].text);
    }
}

void cip_list_walk_memo(const char *value, size_t len, const cip_trust *trust, int recursive,
                        cip_walk_memo *memo, cip_walk *out)
{
    xff_source src = {value, value + len};
    walk_begin(out, len);
    size_t resumed = 0, trusted_hops = 0;
    const char *trusted_left = NULL;
    if (memo != NULL && recursive && memo_matches(memo, value, len, trust)) {
        src.end = trusted_left = memo_resume(memo, value, len, out);
        resumed = trusted_hops = memo->hop_count;
    }
    for (;;) {
        const char *stop = src.end, *start, *before = NULL;
        uint32_t v4 = 0;
        int go_on;
        while (stop > value && is_space(stop[-1]))
            stop--;
        start = stop - value >= V4_SCAN_MAX ? v4_from_right(value, stop, &v4, 0)
                                            : v4_from_right(value, stop, &v4, 1);
        if (start != NULL) {
            before = start;
            while (before > value && is_space(before[-1]))
                before--;
            if (before != value && before[-1] != ',')
                start = NULL; /* more text in this entry: not an address alone */
        }
        if (start == NULL) {
            /* Anything else: the general parser decides. */
            cip_entry entry;
            xff_next(&src, &entry);
            go_on = walk_take(out, &entry, trust, recursive);
        } else {
            /* A bare IPv4 address: straight into the hop. */
            cip_hop *hop = &out->hops[out->hop_count++];
            size_t text_len = (size_t)(stop - start);
            cip_addr_from_v4_value(&hop->endpoint.addr, v4);
            hop->endpoint.port = 0;
            hop->endpoint.canonical_len = (uint8_t)text_len;
            hop->text = start;
            hop->text_len = text_len;
            int leftmost = before == value;
            src.end = leftmost ? value : before - 1;
            out->keep_len = leftmost ? 0 : trimmed_length(value, (size_t)(src.end - value));
            go_on = walk_judge(out, hop, trust, recursive, leftmost, 1, v4);
        }
        if (!go_on)
            break;
        trusted_hops = out->hop_count;
        trusted_left = src.end;
    }
    if (memo != NULL && recursive && trusted_hops != resumed)
        memo_store(memo, value, len, trust, out, trusted_hops, trusted_left);
}

void cip_list_walk(const char *value, size_t len, const cip_trust *trust, int recursive,
                   cip_walk *out)
{
    cip_list_walk_memo(value, len, trust, recursive, NULL, out);
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
