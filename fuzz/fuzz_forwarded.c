/* libFuzzer target: cip_forwarded_parse, _walk, _chosen, _node, cip_fwd_value_copy.
 *
 * The first byte picks recursion (bit 0); the rest is the header value.
 * Trust table as in fuzz_list. Checks: status and error_offset in range;
 * on OK, kept <= min(element_count, CIP_LIST_MAX_HOPS), every kept element
 * and every value it holds lies inside the input, elements are in order;
 * the walk keeps the fuzz_list invariants; chosen is NULL or a kept
 * element; for= and by= of every kept element decode (cip_forwarded_node)
 * to a status in range, and every value copies unescaped into a 256-byte
 * and a 4-byte buffer without overflowing (NUL-terminated, length
 * consistent, or (size_t)-1). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cip_forwarded.h"

static cip_trust *table;

static void make_table(void)
{
    static const char *specs[] = {"10.0.0.0/8", "192.0.2.0/24", "2001:db8::/32", "loopback"};
    size_t i;
    if (table != NULL)
        return;
    table = cip_trust_new();
    if (table == NULL)
        abort();
    for (i = 0; i < sizeof specs / sizeof specs[0]; i++)
        if (cip_trust_add_spec(table, specs[i], strlen(specs[i])) != CIP_SPEC_OK)
            abort();
    if (cip_trust_build(table) != 0)
        abort();
}

static int inside(const char *p, size_t n, const char *v, size_t len)
{
    return p >= v && n <= len && (size_t)(p - v) <= len - n;
}

static void check_value(const cip_fwd_value *fv, const char *v, size_t len, int node)
{
    char big[256], small[4];
    size_t n;
    if (fv->text == NULL)
        return;
    if (!inside(fv->text, fv->len, v, len))
        abort();
    n = cip_fwd_value_copy(fv, big, sizeof big);
    if (n != (size_t)-1 && (n >= sizeof big || strlen(big) != n || n > fv->len))
        abort();
    n = cip_fwd_value_copy(fv, small, sizeof small);
    if (n != (size_t)-1 && (n >= sizeof small || strlen(small) != n))
        abort();
    if (node) {
        cip_endpoint ep;
        cip_endpoint_status s = cip_forwarded_node(fv, &ep);
        if ((int)s < CIP_ENDPOINT_OK || s > CIP_ENDPOINT_MISSING)
            abort();
    }
}

static void check_walk(const cip_forwarded *f, size_t len, int recursive, const cip_walk *w)
{
    const cip_fwd_element *chosen;
    size_t i;
    if (w->hop_count > CIP_LIST_MAX_HOPS || w->hop_count > f->kept || w->keep_len > len)
        abort();
    if (!recursive && w->hop_count > 1)
        abort();
    if (w->hop_count == 0 && w->keep_len != len)
        abort();
    if ((int)w->stop < CIP_WALK_NOT_RECURSIVE || w->stop > CIP_WALK_HOP_LIMIT)
        abort();
    for (i = 0; i < w->hop_count; i++)
        if (w->hops[i].text_len > 0 && !inside(w->hops[i].text, w->hops[i].text_len, f->value, len))
            abort();
    chosen = cip_forwarded_chosen(f, w);
    if (chosen == NULL) {
        if (f->kept != 0)
            abort();
    } else if (chosen < f->elements || chosen >= f->elements + f->kept) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static cip_forwarded f;
    static cip_walk w;
    size_t len, i;
    char *v;
    int recursive;

    if (size == 0)
        return 0;
    make_table();
    recursive = data[0] & 1;
    len = size - 1;
    v = malloc(len ? len : 1);
    if (v == NULL)
        abort();
    memcpy(v, data + 1, len);

    cip_fwd_status s = cip_forwarded_parse(v, len, &f);
    if (s != f.status || (int)s < CIP_FWD_OK || s > CIP_FWD_TOO_MANY_PAIRS ||
        cip_fwd_status_text(s) == NULL)
        abort();
    if (s != CIP_FWD_OK) {
        if (f.error_offset > len)
            abort();
    } else {
        if (f.kept > CIP_LIST_MAX_HOPS || f.kept > f.element_count)
            abort();
        if (f.element_count > 0 && f.kept != (f.element_count < CIP_LIST_MAX_HOPS
                                                  ? f.element_count : CIP_LIST_MAX_HOPS))
            abort();
        for (i = 0; i < f.kept; i++) {
            const cip_fwd_element *e = &f.elements[i];
            if (e->start > e->end || e->end > len)
                abort();
            if (i > 0 && e->start < f.elements[i - 1].end)
                abort();
            check_value(&e->for_node, v, len, 1);
            check_value(&e->by, v, len, 1);
            check_value(&e->proto, v, len, 0);
            check_value(&e->host, v, len, 0);
        }
        cip_forwarded_walk(&f, table, recursive, &w);
        check_walk(&f, len, recursive, &w);
        cip_forwarded_walk(&f, table, !recursive, &w);
        check_walk(&f, len, !recursive, &w);
        cip_forwarded_walk(&f, NULL, 1, &w);
        check_walk(&f, len, 1, &w);
    }
    free(v);
    return 0;
}
