/* libFuzzer target: cip_list_walk (X-Forwarded-For) and cip_list_rightmost.
 *
 * The first byte picks recursion (bit 0); the rest is the header value. A
 * fixed trust table is used: 10.0.0.0/8, 192.0.2.0/24, 2001:db8::/32 and
 * loopback. Checks: hop_count <= CIP_LIST_MAX_HOPS (1 without recursion);
 * keep_len <= len (== len when no hop was taken); every hop's text and the
 * bad entry lie inside the value; a hop's trusted_by, when set, contains
 * its address and is the table's answer; every hop but the last is trusted
 * when walking recursively; the stop reason and statuses are in range.
 *
 * The walk's memo (cip_list_walk_memo) is kept across inputs, as a
 * connection keeps it across requests: the value, a right part of it
 * (bits 1-7 of the first byte pick where it starts) and the value again
 * are walked with it, and each result must equal the walk without a memo,
 * field by field. Each value is an exact-size heap copy freed after its
 * input, so a memo that kept a pointer into an earlier value is a
 * use-after-free for ASan. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cip_list.h"

static cip_trust *table;

static cip_trust *get_table(void)
{
    static const char *specs[] = {"10.0.0.0/8", "192.0.2.0/24", "2001:db8::/32", "loopback"};
    size_t i;
    if (table != NULL)
        return table;
    table = cip_trust_new();
    if (table == NULL)
        abort();
    for (i = 0; i < sizeof specs / sizeof specs[0]; i++)
        if (cip_trust_add_spec(table, specs[i], strlen(specs[i])) != CIP_SPEC_OK)
            abort();
    if (cip_trust_build(table) != 0)
        abort();
    return table;
}

static int inside(const char *p, size_t n, const char *v, size_t len)
{
    return p >= v && n <= len && (size_t)(p - v) <= len - n;
}

static void check_walk(const char *v, size_t len, int recursive, const cip_walk *w)
{
    size_t i;
    if (w->hop_count > CIP_LIST_MAX_HOPS || w->keep_len > len)
        abort();
    if (!recursive && w->hop_count > 1)
        abort();
    if (w->hop_count == 0 && w->keep_len != len)
        abort();
    if ((int)w->stop < CIP_WALK_NOT_RECURSIVE || w->stop > CIP_WALK_HOP_LIMIT ||
        cip_walk_stop_text(w->stop) == NULL)
        abort();
    if (w->stop == CIP_WALK_HOP_LIMIT && w->hop_count != CIP_LIST_MAX_HOPS)
        abort();
    for (i = 0; i < w->hop_count; i++) {
        const cip_hop *h = &w->hops[i];
        if (!inside(h->text, h->text_len, v, len) || h->text_len == 0)
            abort();
        if (h->trusted_by != NULL && cip_trust_lookup(table, &h->endpoint.addr) != h->trusted_by)
            abort();
        if (recursive && i + 1 < w->hop_count && h->trusted_by == NULL)
            abort();
    }
    if (w->stop == CIP_WALK_INVALID_ENTRY) {
        if (w->bad_status == CIP_ENDPOINT_OK || w->bad_status > CIP_ENDPOINT_MISSING)
            abort();
        if (w->bad_entry != NULL && !inside(w->bad_entry, w->bad_entry_len, v, len))
            abort();
    }
}

static int same_walk(const cip_walk *a, const char *va, const cip_walk *b, const char *vb)
{
    size_t i;
    if (a->hop_count != b->hop_count || a->stop != b->stop || a->keep_len != b->keep_len ||
        a->bad_status != b->bad_status || a->bad_entry_len != b->bad_entry_len ||
        (a->bad_entry == NULL) != (b->bad_entry == NULL) ||
        (a->bad_entry != NULL && a->bad_entry - va != b->bad_entry - vb))
        return 0;
    for (i = 0; i < a->hop_count; i++) {
        const cip_hop *x = &a->hops[i], *y = &b->hops[i];
        if (memcmp(&x->endpoint.addr, &y->endpoint.addr, sizeof x->endpoint.addr) != 0 ||
            x->endpoint.port != y->endpoint.port ||
            x->endpoint.canonical_len != y->endpoint.canonical_len ||
            x->trusted_by != y->trusted_by || x->text - va != y->text - vb ||
            x->text_len != y->text_len)
            return 0;
    }
    return 1;
}

static void check_memo(const char *v, size_t len)
{
    static cip_walk_memo memo; /* across inputs, like a connection's */
    static cip_walk with, without;
    cip_list_walk_memo(v, len, table, 1, &memo, &with);
    cip_list_walk(v, len, table, 1, &without);
    if (!same_walk(&with, v, &without, v) || with.memo_hops > with.hop_count)
        abort();
    check_walk(v, len, 1, &with);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static cip_walk w;
    const char *v, *start;
    size_t len, rlen;
    char *copy;
    int recursive;

    if (size == 0)
        return 0;
    get_table();
    recursive = data[0] & 1;
    len = size - 1;
    /* exact-size heap copy: ASan sees any read past the value */
    copy = malloc(len ? len : 1);
    if (copy == NULL)
        abort();
    memcpy(copy, data + 1, len);
    v = copy;

    cip_list_walk(v, len, table, recursive, &w);
    check_walk(v, len, recursive, &w);
    cip_list_walk(v, len, table, !recursive, &w);
    check_walk(v, len, !recursive, &w);
    cip_list_walk(v, len, NULL, 1, &w); /* nothing trusted */
    check_walk(v, len, 1, &w);
    if (w.hop_count > 1)
        abort();

    cip_list_rightmost(v, len, &start, &rlen);
    if (rlen > 0 && !inside(start, rlen, v, len))
        abort();

    check_memo(v, len);
    {
        size_t from = len ? (size_t)(data[0] >> 1) % (len + 1) : 0;
        char *tail = malloc(len - from ? len - from : 1);
        if (tail == NULL)
            abort();
        memcpy(tail, v + from, len - from);
        check_memo(tail, len - from);
        free(tail);
    }
    check_memo(v, len);
    free(copy);
    return 0;
}
