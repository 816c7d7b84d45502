/* libFuzzer target: cip_list_walk (X-Forwarded-For) and cip_list_rightmost.
 *
 * The first byte picks recursion (bit 0); the rest is the header value. A
 * fixed trust table is used: 10.0.0.0/8, 192.0.2.0/24, 2001:db8::/32 and
 * loopback. Checks: hop_count <= CIP_LIST_MAX_HOPS (1 without recursion);
 * keep_len <= len (== len when no hop was taken); every hop's text and the
 * bad entry lie inside the value; a hop's trusted_by, when set, contains
 * its address and is the table's answer; every hop but the last is trusted
 * when walking recursively; the stop reason and statuses are in range. */
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
    free(copy);
    return 0;
}
