/* Unit tests of src/cip_forwarded.c: the Forwarded header of RFC 7239
 * (SPEC "ClientIPHeader", Forwarded part), and of cip_list_rightmost.
 *
 * The contract is include/cip_forwarded.h:
 *   - the whole value is checked left to right; any syntax error makes the
 *     whole header invalid. Deliberately stricter than the ABNF: empty pairs
 *     and empty elements are errors, so is a parameter given twice in one
 *     element. Spaces and tabs are allowed around "," and ";", never around
 *     "=". Parameter names are case-insensitive;
 *   - a value keeps its escapes in place (cip_fwd_value_copy unescapes);
 *   - nodes: IPv4, "[IPv6]" and either with ":port" (an obfuscated port
 *     leaves port 0), "unknown" (CIP_ENDPOINT_UNKNOWN), "_obfuscated"
 *     (CIP_ENDPOINT_OBFUSCATED); an element without for= is
 *     CIP_ENDPOINT_MISSING;
 *   - the walk is cip_list_walk's, over the last 64 elements.
 *
 * Where the header leaves a choice open, the tests accept either answer:
 *   - which error code a malformed pair gets when two fit (an unquoted
 *     "for=192.0.2.43:47011" is BAD_VALUE or TRAILING_GARBAGE; "f@r=x" is
 *     BAD_NAME or NO_EQUALS; spaces around "=" any error);
 *   - blanks at the very start or end of the whole value, an empty header,
 *     an empty quoted string (for=""), and obs-text (bytes >= 0x80) inside a
 *     quoted string: OK or an error, but no crash and a sane result.
 *
 * keep_len for Forwarded, read from cip_list.h and the SPEC: nothing taken
 * leaves the value as is (keep_len == len); otherwise the value up to the
 * leftmost taken element, with the ", " before it trimmed (0 when nothing
 * remains). Left of an element always stands a value (a token character or a
 * closing quote), so trimming every trailing ' ', '\t', ',' is exact.
 *
 * Every value is parsed from an exactly-sized heap copy without a NUL after
 * it, so reading past len shows up under ASan/valgrind. */
#define _POSIX_C_SOURCE 200112L
#include <stdlib.h>
#include <string.h>

#include "cip_forwarded.h"
#include "cip_test.h"

/* 198.51.100.0/24, 127.0.0.1, 10.0.0.0/8, 2001:db8:cafe::/64 */
static cip_trust *trust;

#define L(s) s, sizeof(s) - 1
#define BIT(x) (1u << (x))
#define ANY_ERROR (BIT(CIP_FWD_EMPTY_PAIR) | BIT(CIP_FWD_BAD_NAME) | BIT(CIP_FWD_NO_EQUALS) |     \
                   BIT(CIP_FWD_BAD_VALUE) | BIT(CIP_FWD_UNTERMINATED) | BIT(CIP_FWD_BAD_ESCAPE) | \
                   BIT(CIP_FWD_DUPLICATE) | BIT(CIP_FWD_TRAILING_GARBAGE))
#define STATUS_COUNT 9 /* CIP_FWD_OK .. CIP_FWD_TRAILING_GARBAGE */

enum { OFF = 0, ON = 1 };

/* --------------------------------------------------------------- helpers */

static char *dup_exact(const char *s, size_t len)
{
    char *p = malloc(len ? len : 1);
    if (!p)
        abort();
    if (len)
        memcpy(p, s, len);
    return p;
}

/* One parse of an exactly-sized heap copy. */
typedef struct {
    char *buf;
    size_t len;
    cip_fwd_status st;
    cip_forwarded f;
} parse_run;

static void run_parse(parse_run *r, const char *value, size_t len)
{
    r->buf = dup_exact(value, len);
    r->len = len;
    memset(&r->f, 0xa5, sizeof r->f); /* garbage in: what matters must be written */
    r->st = cip_forwarded_parse(r->buf, len, &r->f);
}

static void end_parse(parse_run *r)
{
    free(r->buf);
    r->buf = NULL;
}

/* "a.b.c.d", "a.b.c.d:p", "v6", "[v6]:p" */
static size_t endpoint_text(const cip_endpoint *e, char *out)
{
    char a[CIP_ADDR_TEXT_MAX];
    cip_addr_format(&e->addr, a);
    if (e->port && !cip_addr_is_v4(&e->addr))
        return (size_t)sprintf(out, "[%s]:%u", a, (unsigned)e->port);
    if (e->port)
        return (size_t)sprintf(out, "%s:%u", a, (unsigned)e->port);
    return (size_t)sprintf(out, "%s", a);
}

/* The hops, right to left, space-separated. */
static const char *hops_text(const cip_walk *w)
{
    static char out[CIP_LIST_MAX_HOPS * 64];
    size_t i, o = 0, n = w->hop_count < CIP_LIST_MAX_HOPS ? w->hop_count : CIP_LIST_MAX_HOPS;
    out[0] = '\0';
    for (i = 0; i < n; i++) {
        if (i)
            out[o++] = ' ';
        o += endpoint_text(&w->hops[i].endpoint, out + o);
    }
    out[o] = '\0';
    return out;
}

static int same_prefix(const cip_prefix *a, const cip_prefix *b)
{
    if (!a || !b)
        return a == b;
    return a->prefix_len == b->prefix_len && memcmp(a->addr.bytes, b->addr.bytes, 16) == 0;
}

static void check_trusted_by(const cip_walk *w, const cip_trust *t, int recursive)
{
    size_t i;
    for (i = 0; i < w->hop_count && i < CIP_LIST_MAX_HOPS; i++) {
        const cip_prefix *want = cip_trust_lookup(t, &w->hops[i].endpoint.addr);
        const cip_prefix *got = w->hops[i].trusted_by;
        if (recursive)
            CHECKF(same_prefix(got, want), "hop %lu: trusted_by %s, expected %s",
                   (unsigned long)i, got ? "set" : "NULL", want ? "set" : "NULL");
        else
            CHECKF(!got || same_prefix(got, want), "hop %lu: trusted_by set but wrong",
                   (unsigned long)i);
    }
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* value[0, cut) without its trailing separators. */
static size_t trim_cut(const char *value, size_t cut)
{
    while (cut > 0 && (is_blank(value[cut - 1]) || value[cut - 1] == ','))
        cut--;
    return cut;
}

/* Check one value. want: NULL for absent; "\"...\"" for a quoted value (the
 * text between the quotes, escapes in place); else the token. */
static void check_value(const parse_run *r, const cip_fwd_value *v, const char *name,
                        const char *want)
{
    size_t wlen;
    int wq;
    if (!want) {
        CHECKF(v->text == NULL, "%s: present (len %lu), expected absent", name,
               (unsigned long)v->len);
        return;
    }
    if (!CHECKF(v->text != NULL, "%s: absent, expected %s", name, want))
        return;
    if (!CHECKF(v->text >= r->buf && v->len <= r->len && v->text + v->len <= r->buf + r->len,
                "%s: text outside the value", name))
        return;
    wq = want[0] == '"';
    wlen = strlen(want) - (wq ? 2 : 0);
    CHECKF(v->len == wlen && memcmp(v->text, want + wq, wlen) == 0,
           "%s: got '%.*s' (len %lu), expected '%.*s'", name, (int)v->len, v->text,
           (unsigned long)v->len, (int)wlen, want + wq);
    CHECKF(v->quoted == wq, "%s: quoted %d, expected %d", name, v->quoted, wq);
}

/* ------------------------------------------------- reference parser */

/* A strict left-to-right parser written from the header comment, used to
 * judge every input of the sweeps, the property test and the mutations.
 * REF_EITHER marks what the header leaves open (see the top comment). */
enum { REF_OK, REF_ERR, REF_EITHER };
enum { V_FOR, V_BY, V_PROTO, V_HOST };

struct ref_val {
    int present;
    size_t off, len;
    int quoted;
};

struct ref_elem {
    size_t start, end; /* end: just past the last value */
    struct ref_val v[4];
};

#define REF_MAX 8192
static struct ref_elem ref_elems[REF_MAX];
static size_t ref_count;

static int is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int ci_equal(const char *a, size_t alen, const char *b)
{
    size_t i;
    if (alen != strlen(b))
        return 0;
    for (i = 0; i < alen; i++) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (char)(y - 'A' + 'a');
        if (x != y)
            return 0;
    }
    return 1;
}

static int known_index(const char *name, size_t len)
{
    static const char *const names[] = {"for", "by", "proto", "host"};
    int k;
    for (k = 0; k < 4; k++)
        if (ci_equal(name, len, names[k]))
            return k;
    return -1;
}

static int ref_parse(const char *value, size_t len)
{
    const unsigned char *s = (const unsigned char *)value;
    size_t i = 0;
    int either = 0;
    ref_count = 0;
    if (len == 0)
        return REF_EITHER;
    if (is_blank(value[0])) {
        either = 1;
        while (i < len && is_blank(value[i]))
            i++;
        if (i == len)
            return REF_EITHER; /* blanks only */
    }
    for (;;) { /* one element */
        struct ref_elem *e;
        size_t ext_off[64], ext_len[64], n_ext = 0;
        if (ref_count == REF_MAX)
            return REF_EITHER; /* too big to judge */
        e = &ref_elems[ref_count++];
        memset(e, 0, sizeof *e);
        e->start = i;
        for (;;) { /* one pair */
            size_t n0 = i, nlen, j;
            int k;
            struct ref_val v;
            while (i < len && is_tchar(s[i]))
                i++;
            if (i == n0 || i == len || s[i] != '=')
                return REF_ERR;
            nlen = i - n0;
            i++;
            memset(&v, 0, sizeof v);
            v.present = 1;
            if (i < len && s[i] == '"') {
                i++;
                v.off = i;
                v.quoted = 1;
                for (;;) {
                    unsigned char c;
                    if (i == len)
                        return REF_ERR;
                    c = s[i];
                    if (c == '"')
                        break;
                    if (c == '\\') {
                        if (++i == len)
                            return REF_ERR;
                        c = s[i];
                        if (c >= 0x80)
                            either = 1;
                        else if (!(c == '\t' || (c >= 0x20 && c < 0x7f)))
                            return REF_ERR;
                    } else if (c >= 0x80) {
                        either = 1;
                    } else if (!(c == '\t' || (c >= 0x20 && c < 0x7f))) {
                        return REF_ERR;
                    }
                    i++;
                }
                v.len = i - v.off;
                i++; /* the closing quote */
                if (v.len == 0)
                    either = 1;
            } else {
                v.off = i;
                while (i < len && is_tchar(s[i]))
                    i++;
                v.len = i - v.off;
                if (v.len == 0)
                    return REF_ERR;
            }
            k = known_index(value + n0, nlen);
            if (k >= 0) {
                if (e->v[k].present)
                    return REF_ERR;
                e->v[k] = v;
            } else {
                size_t x;
                for (x = 0; x < n_ext; x++)
                    if (ext_len[x] == nlen) {
                        char name[256];
                        if (nlen >= sizeof name)
                            continue;
                        memcpy(name, value + ext_off[x], nlen);
                        name[nlen] = '\0';
                        if (ci_equal(value + n0, nlen, name))
                            either = 1; /* a repeated extension: see test_errors */
                    }
                if (n_ext < 64) {
                    ext_off[n_ext] = n0;
                    ext_len[n_ext++] = nlen;
                }
            }
            e->end = i;
            j = i;
            while (j < len && is_blank(value[j]))
                j++;
            if (j == len) {
                if (j > i)
                    either = 1; /* blanks at the very end */
                return either ? REF_EITHER : REF_OK;
            }
            if (s[j] == ';') {
                i = j + 1;
                while (i < len && is_blank(value[i]))
                    i++;
                continue;
            }
            if (s[j] == ',') {
                i = j + 1;
                while (i < len && is_blank(value[i]))
                    i++;
                break;
            }
            return REF_ERR;
        }
        if (i == len || s[i] == ',' || s[i] == ';')
            return REF_ERR; /* an empty element */
    }
}

static void check_status_sane(const parse_run *r)
{
    CHECKF((unsigned)r->st < STATUS_COUNT, "status %d out of range", (int)r->st);
    CHECK_EQ_INT(r->f.status, r->st);
    if (r->st != CIP_FWD_OK)
        CHECKF(r->f.error_offset <= r->len, "error_offset %lu past len %lu",
               (unsigned long)r->f.error_offset, (unsigned long)r->len);
}

static void check_value_inside(const parse_run *r, const cip_fwd_value *v, size_t k, int which)
{
    if (!v->text)
        return;
    CHECKF(v->text >= r->buf && v->len <= r->len && v->text + v->len <= r->buf + r->len,
           "element %lu value %d outside the header", (unsigned long)k, which);
    if (v->text > r->buf && v->quoted)
        CHECKF(v->text[-1] == '"', "element %lu value %d: no quote before a quoted value",
               (unsigned long)k, which);
}

/* What must hold of any successful parse. */
static void check_parse_invariants(const parse_run *r)
{
    const cip_forwarded *f = &r->f;
    size_t k, want_kept;
    if (r->st != CIP_FWD_OK)
        return;
    want_kept = f->element_count < CIP_LIST_MAX_HOPS ? f->element_count : CIP_LIST_MAX_HOPS;
    if (!CHECK_EQ_UINT(f->kept, want_kept))
        return;
    CHECK_EQ_PTR(f->value, r->buf);
    CHECK_EQ_UINT(f->value_len, r->len);
    for (k = 0; k < f->kept; k++) {
        const cip_fwd_element *e = &f->elements[k];
        CHECKF(e->start < r->len, "element %lu start %lu past len", (unsigned long)k,
               (unsigned long)e->start);
        CHECKF(e->end > e->start && e->end <= r->len, "element %lu end %lu (start %lu, len %lu)",
               (unsigned long)k, (unsigned long)e->end, (unsigned long)e->start,
               (unsigned long)r->len);
        if (k)
            CHECKF(e->start > f->elements[k - 1].end, "element %lu starts before %lu ends",
                   (unsigned long)k, (unsigned long)k - 1);
        check_value_inside(r, &e->for_node, k, V_FOR);
        check_value_inside(r, &e->by, k, V_BY);
        check_value_inside(r, &e->proto, k, V_PROTO);
        check_value_inside(r, &e->host, k, V_HOST);
    }
}

static void compare_value_with_ref(const parse_run *r, const cip_fwd_value *v,
                                   const struct ref_val *want, size_t k, int which)
{
    if (!want->present) {
        CHECKF(v->text == NULL, "element %lu value %d: present, expected absent", (unsigned long)k,
               which);
        return;
    }
    if (!CHECKF(v->text != NULL, "element %lu value %d: absent", (unsigned long)k, which))
        return;
    CHECKF(v->text == r->buf + want->off && v->len == want->len && v->quoted == want->quoted,
           "element %lu value %d: at %ld len %lu quoted %d, expected at %lu len %lu quoted %d",
           (unsigned long)k, which, (long)(v->text - r->buf), (unsigned long)v->len, v->quoted,
           (unsigned long)want->off, (unsigned long)want->len, want->quoted);
}

/* The implementation's parse against ref_parse's verdict on the same text. */
static void compare_with_ref(const parse_run *r, int ref)
{
    size_t k, kept;
    check_status_sane(r);
    check_parse_invariants(r);
    if (ref == REF_ERR) {
        CHECKF(r->st != CIP_FWD_OK, "parsed OK, expected a syntax error");
        return;
    }
    if (ref == REF_EITHER)
        return;
    if (!CHECKF(r->st == CIP_FWD_OK, "status %d (%s), expected OK", (int)r->st,
                cip_fwd_status_text(r->st)))
        return;
    if (!CHECK_EQ_UINT(r->f.element_count, ref_count))
        return;
    kept = ref_count < CIP_LIST_MAX_HOPS ? ref_count : CIP_LIST_MAX_HOPS;
    if (r->f.kept != kept)
        return;
    for (k = 0; k < kept; k++) {
        const struct ref_elem *want = &ref_elems[ref_count - kept + k];
        const cip_fwd_element *e = &r->f.elements[k];
        CHECKF(e->start == want->start, "element %lu start %lu, expected %lu", (unsigned long)k,
               (unsigned long)e->start, (unsigned long)want->start);
        CHECKF(e->end == want->end, "element %lu end %lu, expected %lu", (unsigned long)k,
               (unsigned long)e->end, (unsigned long)want->end);
        compare_value_with_ref(r, &e->for_node, &want->v[V_FOR], k, V_FOR);
        compare_value_with_ref(r, &e->by, &want->v[V_BY], k, V_BY);
        compare_value_with_ref(r, &e->proto, &want->v[V_PROTO], k, V_PROTO);
        compare_value_with_ref(r, &e->host, &want->v[V_HOST], k, V_HOST);
    }
}

/* --------------------------------------------------- reference walk */

struct ref_hop {
    int status;  /* cip_endpoint_status */
    int trusted; /* when status == OK */
    char text[64];
};

struct exp_walk {
    char hops[CIP_LIST_MAX_HOPS * 64];
    size_t hop_count;
    cip_walk_stop stop;
    int bad_status;
    size_t keep_len;
    size_t chosen; /* index into elements[0 .. kept) */
};

/* h[0 .. kept) in element order (rightmost last); starts likewise. */
static void ref_walk(const struct ref_hop *h, const size_t *starts, size_t kept, const char *value,
                     size_t len, int recursive, struct exp_walk *out)
{
    size_t i = kept, o = 0;
    out->hop_count = 0;
    out->hops[0] = '\0';
    out->bad_status = CIP_ENDPOINT_OK;
    for (;;) {
        if (out->hop_count == CIP_LIST_MAX_HOPS) {
            out->stop = CIP_WALK_HOP_LIMIT;
            break;
        }
        if (i == 0) {
            out->stop = CIP_WALK_ALL_TRUSTED;
            break;
        }
        i--;
        if (h[i].status != CIP_ENDPOINT_OK) {
            out->stop = CIP_WALK_INVALID_ENTRY;
            out->bad_status = h[i].status;
            break;
        }
        o += (size_t)sprintf(out->hops + o, "%s%s", out->hop_count ? " " : "", h[i].text);
        out->hop_count++;
        if (!recursive) {
            out->stop = CIP_WALK_NOT_RECURSIVE;
            break;
        }
        if (!h[i].trusted) {
            out->stop = CIP_WALK_UNTRUSTED;
            break;
        }
    }
    if (out->hop_count == 0) {
        out->keep_len = len;
        out->chosen = kept - 1;
    } else {
        out->keep_len = trim_cut(value, starts[kept - out->hop_count]);
        out->chosen = kept - out->hop_count;
    }
}

/* Walk a successful parse and compare with want. */
static void check_walk(const parse_run *r, const cip_trust *t, int recursive,
                       const struct exp_walk *want)
{
    cip_walk w;
    const cip_fwd_element *chosen;
    memset(&w, 0xa5, sizeof w);
    cip_forwarded_walk(&r->f, t, recursive, &w);
    CHECK_EQ_STR(hops_text(&w), want->hops);
    CHECK_EQ_UINT(w.hop_count, want->hop_count);
    if (want->stop == CIP_WALK_ALL_TRUSTED && want->hop_count == CIP_LIST_MAX_HOPS)
        CHECK(w.stop == CIP_WALK_ALL_TRUSTED || w.stop == CIP_WALK_HOP_LIMIT);
    else
        CHECKF(w.stop == want->stop, "stop %d (%s), expected %d (%s)", (int)w.stop,
               cip_walk_stop_text(w.stop), (int)want->stop, cip_walk_stop_text(want->stop));
    if (want->stop == CIP_WALK_INVALID_ENTRY && w.stop == CIP_WALK_INVALID_ENTRY) {
        CHECK_EQ_INT(w.bad_status, want->bad_status);
        CHECKF(w.bad_entry != NULL && w.bad_entry >= r->buf && w.bad_entry_len <= r->len &&
                   w.bad_entry + w.bad_entry_len <= r->buf + r->len,
               "bad_entry not inside the value");
    }
    CHECKF(w.keep_len == want->keep_len, "keep_len %lu ('%.*s'), expected %lu ('%.*s')",
           (unsigned long)w.keep_len, (int)(w.keep_len <= r->len ? w.keep_len : 0), r->buf,
           (unsigned long)want->keep_len, (int)want->keep_len, r->buf);
    check_trusted_by(&w, t, recursive);
    chosen = cip_forwarded_chosen(&r->f, &w);
    if (r->f.kept > 0 && want->chosen < r->f.kept)
        CHECKF(chosen == &r->f.elements[want->chosen], "chosen element %ld, expected %lu",
               chosen ? (long)(chosen - r->f.elements) : -1L, (unsigned long)want->chosen);
}

/* The expected walk from the implementation's own node answers: checks the
 * walk machinery on any successful parse. */
static void expect_from_nodes(const parse_run *r, const cip_trust *t, int recursive,
                              struct exp_walk *out)
{
    static struct ref_hop h[CIP_LIST_MAX_HOPS];
    size_t starts[CIP_LIST_MAX_HOPS], k;
    for (k = 0; k < r->f.kept; k++) {
        const cip_fwd_element *e = &r->f.elements[k];
        cip_endpoint ep;
        starts[k] = e->start;
        h[k].text[0] = '\0';
        h[k].trusted = 0;
        if (!e->for_node.text) {
            h[k].status = CIP_ENDPOINT_MISSING;
            continue;
        }
        h[k].status = cip_forwarded_node(&e->for_node, &ep);
        if (h[k].status == CIP_ENDPOINT_OK) {
            endpoint_text(&ep, h[k].text);
            h[k].trusted = cip_trust_lookup(t, &ep.addr) != NULL;
        }
    }
    ref_walk(h, starts, r->f.kept, r->buf, r->len, recursive, out);
}

/* ------------------------------------------------------ parse: fixed */

struct elem_want {
    size_t start;
    const char *for_node, *by, *proto, *host;
};

struct parse_case {
    const char *value;
    size_t count;
    struct elem_want e[3];
};

static const struct parse_case parse_cases[] = {
    /* RFC 7239 section 4 */
    {"for=\"_gazonk\"", 1, {{0, "\"_gazonk\"", NULL, NULL, NULL}}},
    {"For=\"[2001:db8:cafe::17]:4711\"", 1, {{0, "\"[2001:db8:cafe::17]:4711\"", NULL, NULL, NULL}}},
    {"for=192.0.2.60;proto=http;by=203.0.113.43", 1,
     {{0, "192.0.2.60", "203.0.113.43", "http", NULL}}},
    {"for=192.0.2.43, for=198.51.100.17", 2,
     {{0, "192.0.2.43", NULL, NULL, NULL}, {16, "198.51.100.17", NULL, NULL, NULL}}},
    /* section 6 (node examples, quoted as they must be) */
    {"for=\"192.0.2.43:47011\"", 1, {{0, "\"192.0.2.43:47011\"", NULL, NULL, NULL}}},
    {"for=\"[2001:db8:cafe::17]:47011\"", 1,
     {{0, "\"[2001:db8:cafe::17]:47011\"", NULL, NULL, NULL}}},
    /* section 6.3 */
    {"for=_hidden, for=_SEVKISEK", 2,
     {{0, "_hidden", NULL, NULL, NULL}, {13, "_SEVKISEK", NULL, NULL, NULL}}},
    /* section 7.1 */
    {"for=192.0.2.43,for=\"[2001:db8:cafe::17]\",for=unknown", 3,
     {{0, "192.0.2.43", NULL, NULL, NULL},
      {15, "\"[2001:db8:cafe::17]\"", NULL, NULL, NULL},
      {41, "unknown", NULL, NULL, NULL}}},
    {"for=192.0.2.43, for=\"[2001:db8:cafe::17]\", for=unknown", 3,
     {{0, "192.0.2.43", NULL, NULL, NULL},
      {16, "\"[2001:db8:cafe::17]\"", NULL, NULL, NULL},
      {43, "unknown", NULL, NULL, NULL}}},
    /* section 7.4 */
    {"for=192.0.2.43, for=\"[2001:db8:cafe::17]\"", 2,
     {{0, "192.0.2.43", NULL, NULL, NULL}, {16, "\"[2001:db8:cafe::17]\"", NULL, NULL, NULL}}},
    /* section 7.5 */
    {"for=192.0.2.43", 1, {{0, "192.0.2.43", NULL, NULL, NULL}}},
    {"for=192.0.2.43, for=198.51.100.17;by=203.0.113.60;proto=http;host=example.com", 2,
     {{0, "192.0.2.43", NULL, NULL, NULL},
      {16, "198.51.100.17", "203.0.113.60", "http", "example.com"}}},
    /* the same with its line folds turned into blanks */
    {"for=192.0.2.43,   for=198.51.100.17;by=203.0.113.60;proto=http;   host=example.com", 2,
     {{0, "192.0.2.43", NULL, NULL, NULL},
      {18, "198.51.100.17", "203.0.113.60", "http", "example.com"}}},

    /* names are case-insensitive */
    {"FOR=192.0.2.1;PROTO=https;By=10.0.0.1;HoSt=example.com", 1,
     {{0, "192.0.2.1", "10.0.0.1", "https", "example.com"}}},
    /* unknown parameters are accepted and ignored, quoted ones too */
    {"secret=abc;for=192.0.2.1;x-trace=\"1;2,3\"", 1, {{0, "192.0.2.1", NULL, NULL, NULL}}},
    {"fore=1;bye=2;protocol=3;hosts=4;forwarded=5", 1, {{0, NULL, NULL, NULL, NULL}}},
    /* commas and semicolons inside quotes split nothing */
    {"for=192.0.2.1;ext=\"a, for=10.0.0.1\", for=10.0.0.2", 2,
     {{0, "192.0.2.1", NULL, NULL, NULL}, {37, "10.0.0.2", NULL, NULL, NULL}}},
    {"for=\"_a;b=c,d\";proto=\"https\"", 1, {{0, "\"_a;b=c,d\"", NULL, "\"https\"", NULL}}},
    /* escapes stay in place */
    {"for=\"\\[2001:db8::1\\]\";host=\"a\\\"b\"", 1,
     {{0, "\"\\[2001:db8::1\\]\"", NULL, NULL, "\"a\\\"b\""}}},
    {"host=\"\\\\\";for=\"x\\\tx\"", 1, {{0, "\"x\\\tx\"", NULL, NULL, "\"\\\\\""}}},
    /* blanks around ";" and "," */
    {"for=198.51.100.1 ;proto=http , for=203.0.113.7\t;\tby=x", 2,
     {{0, "198.51.100.1", NULL, "http", NULL}, {31, "203.0.113.7", "x", NULL, NULL}}},
    {"for=\"1.2.3.4\" ; proto=http\t,\tfor=\"5.6.7.8\"", 2,
     {{0, "\"1.2.3.4\"", NULL, "http", NULL}, {29, "\"5.6.7.8\"", NULL, NULL, NULL}}},
    {"for=1.2.3.4,for=5.6.7.8", 2,
     {{0, "1.2.3.4", NULL, NULL, NULL}, {12, "5.6.7.8", NULL, NULL, NULL}}},
    /* tabs and spaces inside a quoted string */
    {"for=\"_a\tb c\"", 1, {{0, "\"_a\tb c\"", NULL, NULL, NULL}}},
    /* an element without for= */
    {"proto=https", 1, {{0, NULL, NULL, "https", NULL}}},
    {"for=192.0.2.1, by=_p", 2,
     {{0, "192.0.2.1", NULL, NULL, NULL}, {15, NULL, "_p", NULL, NULL}}},
    /* every tchar, in a name and in a value */
    {"!#$%&'*+-.^_`|~09AZaz=!#$%&'*+-.^_`|~09AZaz;for=192.0.2.1", 1,
     {{0, "192.0.2.1", NULL, NULL, NULL}}},
    {"by=_p;for=\"[2001:db8::1]:443\";proto=http;host=\"[2001:db8::1]:443\"", 1,
     {{0, "\"[2001:db8::1]:443\"", "_p", "http", "\"[2001:db8::1]:443\""}}},
};

static void test_parse_fixed(void)
{
    size_t c, k;
    for (c = 0; c < sizeof parse_cases / sizeof parse_cases[0]; c++) {
        const struct parse_case *pc = &parse_cases[c];
        parse_run r;
        CIP_CONTEXT("parse '%s'", pc->value);
        run_parse(&r, pc->value, strlen(pc->value));
        check_status_sane(&r);
        if (CHECKF(r.st == CIP_FWD_OK, "status %d (%s) at %lu, expected OK", (int)r.st,
                   cip_fwd_status_text(r.st), (unsigned long)r.f.error_offset)) {
            check_parse_invariants(&r);
            CHECK_EQ_UINT(r.f.element_count, pc->count);
            if (CHECK_EQ_UINT(r.f.kept, pc->count)) {
                for (k = 0; k < pc->count && k < 3; k++) {
                    const cip_fwd_element *e = &r.f.elements[k];
                    const struct elem_want *we = &pc->e[k];
                    CHECKF(e->start == we->start, "element %lu start %lu, expected %lu",
                           (unsigned long)k, (unsigned long)e->start, (unsigned long)we->start);
                    check_value(&r, &e->for_node, "for", we->for_node);
                    check_value(&r, &e->by, "by", we->by);
                    check_value(&r, &e->proto, "proto", we->proto);
                    check_value(&r, &e->host, "host", we->host);
                }
            }
        }
        /* the reference parser agrees (a check of the reference itself), and
           with it the element ends */
        if (CHECKF(ref_parse(r.buf, r.len) == REF_OK, "reference parser disagrees"))
            compare_with_ref(&r, REF_OK);
        end_parse(&r);
    }
    CIP_CONTEXT("");
}

/* ------------------------------------------------------ parse: errors */

struct bad_case {
    const char *value;
    size_t len;
    unsigned allowed; /* BIT(status) of the acceptable answers */
};

#define TOKEN_OR_GARBAGE (BIT(CIP_FWD_BAD_VALUE) | BIT(CIP_FWD_TRAILING_GARBAGE))
#define NAME_OR_EQUALS (BIT(CIP_FWD_BAD_NAME) | BIT(CIP_FWD_NO_EQUALS))

static const struct bad_case bad_cases[] = {
    /* unterminated quoted strings */
    {L("for=\"1.2.3.4"), BIT(CIP_FWD_UNTERMINATED)},
    {L("for=\""), BIT(CIP_FWD_UNTERMINATED)},
    {L("for=\"1.2.3.4\\\""), BIT(CIP_FWD_UNTERMINATED)},
    {L("for=\"a, for=1.2.3.4"), BIT(CIP_FWD_UNTERMINATED)},
    {L("for=1.2.3.4;host=\"example.com"), BIT(CIP_FWD_UNTERMINATED)},
    {L("for=1.2.3.4, for=\"[2001:db8::1]:443;proto=https"), BIT(CIP_FWD_UNTERMINATED)},
    /* escapes */
    {L("for=\"1.2.3.4\\"), BIT(CIP_FWD_BAD_ESCAPE)},
    {L("for=\"a\\\x01" "b\""), BIT(CIP_FWD_BAD_ESCAPE)},
    {L("for=\"a\\\nb\""), BIT(CIP_FWD_BAD_ESCAPE)},
    {L("for=\"a\\\0b\""), BIT(CIP_FWD_BAD_ESCAPE)},
    {L("for=\"a\\\x7f" "b\""), ANY_ERROR},
    /* control characters */
    {L("for=\"a\x01" "b\""), ANY_ERROR},
    {L("for=\"a\x7f" "b\""), ANY_ERROR},
    {L("for=\"a\r\nb\""), ANY_ERROR},
    {L("for=\"a\0b\""), ANY_ERROR},
    {L("for=1.2.3.4\r\n"), ANY_ERROR},
    {L("for=1.2.3.4\0"), ANY_ERROR},
    {L("for=1.2.3.4\n, for=5.6.7.8"), ANY_ERROR},
    /* a parameter twice in one element: the whole header is invalid */
    {L("for=1.2.3.4;for=5.6.7.8"), BIT(CIP_FWD_DUPLICATE)},
    {L("for=1.2.3.4;FOR=5.6.7.8"), BIT(CIP_FWD_DUPLICATE)},
    {L("proto=http;for=1.2.3.4;Proto=https"), BIT(CIP_FWD_DUPLICATE)},
    {L("by=a;host=b;By=c"), BIT(CIP_FWD_DUPLICATE)},
    {L("host=a;HOST=\"b\""), BIT(CIP_FWD_DUPLICATE)},
    {L("for=1.2.3.4;for=1.2.3.4, for=5.6.7.8"), BIT(CIP_FWD_DUPLICATE)},
    {L("for=5.6.7.8, for=1.2.3.4;proto=http;proto=http"), BIT(CIP_FWD_DUPLICATE)},
    /* empty pairs and elements */
    {L("for=1.2.3.4;;proto=http"), BIT(CIP_FWD_EMPTY_PAIR)},
    {L(";for=1.2.3.4"), BIT(CIP_FWD_EMPTY_PAIR)},
    {L("for=1.2.3.4;"), BIT(CIP_FWD_EMPTY_PAIR)},
    {L("for=1.2.3.4; ;proto=http"), BIT(CIP_FWD_EMPTY_PAIR)},
    {L("for=1.2.3.4;proto=http;"), BIT(CIP_FWD_EMPTY_PAIR)},
    {L("for=\"1.2.3.4\";"), BIT(CIP_FWD_EMPTY_PAIR)},
    {L("for=1.2.3.4, , for=5.6.7.8"), BIT(CIP_FWD_EMPTY_PAIR)},
    {L("for=1.2.3.4,,for=5.6.7.8"), BIT(CIP_FWD_EMPTY_PAIR)},
    {L("for=1.2.3.4,"), BIT(CIP_FWD_EMPTY_PAIR)},
    {L("for=1.2.3.4, "), BIT(CIP_FWD_EMPTY_PAIR)},
    {L(", for=1.2.3.4"), BIT(CIP_FWD_EMPTY_PAIR)},
    {L("for=1.2.3.4 ; , for=5.6.7.8"), BIT(CIP_FWD_EMPTY_PAIR)},
    {L("for=1.2.3.4, ;for=5.6.7.8"), BIT(CIP_FWD_EMPTY_PAIR)},
    {L(";"), BIT(CIP_FWD_EMPTY_PAIR)},
    {L(","), BIT(CIP_FWD_EMPTY_PAIR)},
    /* a pair without "=" */
    {L("for"), BIT(CIP_FWD_NO_EQUALS)},
    {L("for;proto=http"), BIT(CIP_FWD_NO_EQUALS)},
    {L("for=1.2.3.4;proto"), BIT(CIP_FWD_NO_EQUALS)},
    {L("for=1.2.3.4, by"), BIT(CIP_FWD_NO_EQUALS)},
    {L("for=1.2.3.4;secure, for=5.6.7.8"), BIT(CIP_FWD_NO_EQUALS)},
    /* blanks around "=" */
    {L("for =1.2.3.4"), ANY_ERROR},
    {L("for= 1.2.3.4"), ANY_ERROR},
    {L("for = 1.2.3.4"), ANY_ERROR},
    {L("for\t=1.2.3.4"), ANY_ERROR},
    {L("for=\t\"1.2.3.4\""), ANY_ERROR},
    /* empty values */
    {L("for="), BIT(CIP_FWD_BAD_VALUE)},
    {L("for=;proto=http"), BIT(CIP_FWD_BAD_VALUE)},
    {L("for=,for=1.2.3.4"), BIT(CIP_FWD_BAD_VALUE)},
    {L("for=1.2.3.4;proto="), BIT(CIP_FWD_BAD_VALUE)},
    /* characters no token allows in an unquoted value */
    {L("for=192.0.2.43:47011"), TOKEN_OR_GARBAGE},
    {L("for=[2001:db8:cafe::17]"), TOKEN_OR_GARBAGE},
    {L("for=[2001:db8:cafe::17]:4711"), TOKEN_OR_GARBAGE},
    {L("for=1.2.3.4/24"), TOKEN_OR_GARBAGE},
    {L("for=caf\xc3\xa9"), TOKEN_OR_GARBAGE},
    {L("for=1.2.3.4\"x\""), TOKEN_OR_GARBAGE},
    {L("for=1.2.3.4=5"), TOKEN_OR_GARBAGE},
    {L("for=a@b"), TOKEN_OR_GARBAGE},
    {L("for=(x)"), TOKEN_OR_GARBAGE},
    /* names that are not tokens */
    {L("f@r=1.2.3.4"), NAME_OR_EQUALS},
    {L("fo r=1.2.3.4"), NAME_OR_EQUALS},
    {L("f\x01r=1.2.3.4"), NAME_OR_EQUALS},
    {L("for[0]=1.2.3.4"), NAME_OR_EQUALS},
    {L("f\xc3\xb6r=1.2.3.4"), NAME_OR_EQUALS},
    {L("\"for\"=1.2.3.4"), BIT(CIP_FWD_BAD_NAME)},
    {L("=1.2.3.4"), BIT(CIP_FWD_BAD_NAME) | BIT(CIP_FWD_EMPTY_PAIR)},
    {L("for=1.2.3.4;@=x"), BIT(CIP_FWD_BAD_NAME) | BIT(CIP_FWD_EMPTY_PAIR)},
    /* something after a value other than ";" or "," */
    {L("for=\"1.2.3.4\"x"), BIT(CIP_FWD_TRAILING_GARBAGE)},
    {L("for=\"1.2.3.4\" x"), BIT(CIP_FWD_TRAILING_GARBAGE)},
    {L("for=\"1.2.3.4\"\"x\""), BIT(CIP_FWD_TRAILING_GARBAGE)},
    {L("for=\"1.2.3.4\"=x"), BIT(CIP_FWD_TRAILING_GARBAGE)},
    {L("for=1.2.3.4 x"), BIT(CIP_FWD_TRAILING_GARBAGE)},
    {L("for=1.2.3.4 for=5.6.7.8"), BIT(CIP_FWD_TRAILING_GARBAGE)},
    {L("for=1.2.3.4;proto=http https"), BIT(CIP_FWD_TRAILING_GARBAGE)},
};

/* A parameter given twice: the header says any parameter, not only the
 * four it keeps. */
static const struct bad_case bad_ext_cases[] = {
    {L("for=1.2.3.4;ext=a;ext=b"), BIT(CIP_FWD_DUPLICATE)},
    {L("secret=a;for=1.2.3.4;SECRET=\"b\""), BIT(CIP_FWD_DUPLICATE)},
};

/* Valid or not, as the implementation decides (see the top comment). */
static const struct bad_case either_cases[] = {
    {L(""), 0},
    {L(" "), 0},
    {L("\t"), 0},
    {L(" for=1.2.3.4"), 0},
    {L("for=1.2.3.4 "), 0},
    {L("for=1.2.3.4\t"), 0},
    {L("for=\"\""), 0},
    {L("for=\"\";proto=http"), 0},
    {L("for=\"_\x80\""), 0},
    {L("for=\"_a\\\xff\""), 0},
    {L("x=1;x=2"), 0},
};

static void check_bad(const struct bad_case *bc, size_t n, const char *what)
{
    size_t c;
    for (c = 0; c < n; c++) {
        parse_run r;
        char shown[300];
        cip_t_show(bc[c].value, shown, sizeof shown); /* stops at a NUL: fine for a label */
        CIP_CONTEXT("%s %s (len %lu)", what, shown, (unsigned long)bc[c].len);
        run_parse(&r, bc[c].value, bc[c].len);
        check_status_sane(&r);
        CHECKF(r.st != CIP_FWD_OK && (BIT(r.st) & bc[c].allowed),
               "status %d (%s), expected one of mask 0x%x", (int)r.st,
               cip_fwd_status_text(r.st), bc[c].allowed);
        CHECKF(ref_parse(r.buf, r.len) != REF_OK, "reference parser accepts it");
        end_parse(&r);
    }
}

static void test_errors(void)
{
    size_t c;
    parse_run r;
    check_bad(bad_cases, sizeof bad_cases / sizeof bad_cases[0], "invalid");
    check_bad(bad_ext_cases, sizeof bad_ext_cases / sizeof bad_ext_cases[0], "repeated extension");

    for (c = 0; c < sizeof either_cases / sizeof either_cases[0]; c++) {
        const struct bad_case *ec = &either_cases[c];
        char shown[300];
        cip_t_show(ec->value, shown, sizeof shown);
        CIP_CONTEXT("either %s", shown);
        run_parse(&r, ec->value, ec->len);
        check_status_sane(&r);
        check_parse_invariants(&r);
        fprintf(stderr, "info: either %s -> %s\n", shown, cip_fwd_status_text(r.st));
        if (r.st == CIP_FWD_OK) {
            /* whatever was accepted must walk sanely, and for="" is no address */
            struct exp_walk want;
            size_t k;
            for (k = 0; k < r.f.kept; k++)
                if (r.f.elements[k].for_node.text && r.f.elements[k].for_node.len == 0) {
                    cip_endpoint ep;
                    CHECK(cip_forwarded_node(&r.f.elements[k].for_node, &ep) != CIP_ENDPOINT_OK);
                }
            if (r.f.kept > 0) {
                expect_from_nodes(&r, trust, ON, &want);
                check_walk(&r, trust, ON, &want);
                expect_from_nodes(&r, trust, OFF, &want);
                check_walk(&r, trust, OFF, &want);
            } else {
                cip_walk w;
                memset(&w, 0xa5, sizeof w);
                cip_forwarded_walk(&r.f, trust, ON, &w);
                CHECK_EQ_UINT(w.hop_count, 0);
                CHECK_EQ_UINT(w.keep_len, r.len);
                CHECK(cip_forwarded_chosen(&r.f, &w) == NULL);
            }
        }
        end_parse(&r);
    }

    /* "1.2.3.4" whose closing quote lies just past len is unterminated */
    CIP_CONTEXT("quote past len");
    run_parse(&r, "for=\"1.2.3.4\"", 12);
    CHECK_EQ_INT(r.st, CIP_FWD_UNTERMINATED);
    end_parse(&r);
    /* and a value is cut at len, not at a NUL */
    CIP_CONTEXT("len cuts the value");
    run_parse(&r, "for=1.2.3.4, for=5.6.7.8", 11);
    if (CHECK_EQ_INT(r.st, CIP_FWD_OK) && CHECK_EQ_UINT(r.f.kept, 1))
        check_value(&r, &r.f.elements[0].for_node, "for", "1.2.3.4");
    end_parse(&r);
    CIP_CONTEXT("");
}

/* ---------------------------------------------- every prefix of everything */

/* Each fixed input cut at every length: the implementation against the
 * reference, from an exactly-sized buffer each time. */
static void sweep_prefixes(const char *value, size_t len, unsigned long *count)
{
    size_t cut;
    for (cut = 0; cut <= len; cut++) {
        parse_run r;
        int ref;
        run_parse(&r, value, cut);
        ref = ref_parse(r.buf, r.len);
        CIP_CONTEXT("prefix %lu of '%.*s'", (unsigned long)cut, (int)len, value);
        compare_with_ref(&r, ref);
        if (r.st == CIP_FWD_OK && r.f.kept > 0) {
            struct exp_walk want;
            expect_from_nodes(&r, trust, ON, &want);
            check_walk(&r, trust, ON, &want);
        }
        end_parse(&r);
        (*count)++;
    }
}

static void test_prefixes(void)
{
    unsigned long n = 0;
    size_t c;
    for (c = 0; c < sizeof parse_cases / sizeof parse_cases[0]; c++)
        sweep_prefixes(parse_cases[c].value, strlen(parse_cases[c].value), &n);
    for (c = 0; c < sizeof bad_cases / sizeof bad_cases[0]; c++)
        sweep_prefixes(bad_cases[c].value, bad_cases[c].len, &n);
    CIP_CONTEXT("");
    fprintf(stderr, "info: test_forwarded prefixes: %lu cut inputs compared with the reference\n",
            n);
}

/* ------------------------------------------------------------- nodes */

#define NODE_BAD (-1) /* any status other than OK */

struct node_case {
    const char *text; /* the value: between the quotes when quoted */
    int quoted;
    int status; /* cip_endpoint_status, or NODE_BAD */
    const char *endpoint; /* endpoint_text when OK */
};

static const struct node_case node_cases[] = {
    /* addresses */
    {"192.0.2.43", 0, CIP_ENDPOINT_OK, "192.0.2.43"},
    {"192.0.2.43", 1, CIP_ENDPOINT_OK, "192.0.2.43"},
    {"192.0.2.43:47011", 1, CIP_ENDPOINT_OK, "192.0.2.43:47011"},
    {"192.0.2.43:1", 1, CIP_ENDPOINT_OK, "192.0.2.43:1"},
    {"192.0.2.43:65535", 1, CIP_ENDPOINT_OK, "192.0.2.43:65535"},
    {"[2001:db8:cafe::17]", 1, CIP_ENDPOINT_OK, "2001:db8:cafe::17"},
    {"[2001:db8:cafe::17]:4711", 1, CIP_ENDPOINT_OK, "[2001:db8:cafe::17]:4711"},
    {"[2001:db8:cafe::17]:47011", 1, CIP_ENDPOINT_OK, "[2001:db8:cafe::17]:47011"},
    {"[::1]:65535", 1, CIP_ENDPOINT_OK, "[::1]:65535"},
    {"[::ffff:192.0.2.1]", 1, CIP_ENDPOINT_OK, "192.0.2.1"},
    {"[2001:DB8::ABCD]", 1, CIP_ENDPOINT_OK, "2001:db8::abcd"},
    /* escapes are undone before the node is read (RFC 7239 5.2) */
    {"\\[2001:db8::1\\]", 1, CIP_ENDPOINT_OK, "2001:db8::1"},
    {"\\1\\9\\2.0.2.1\\:\\8\\0", 1, CIP_ENDPOINT_OK, "192.0.2.1:80"},
    /* obfuscated ports: address valid, port unknown */
    {"192.0.2.43:_abc", 1, CIP_ENDPOINT_OK, "192.0.2.43"},
    {"192.0.2.43:_a.B-c_1", 1, CIP_ENDPOINT_OK, "192.0.2.43"},
    {"[2001:db8::1]:_p", 1, CIP_ENDPOINT_OK, "2001:db8::1"},
    {"[2001:db8::1]:__", 1, CIP_ENDPOINT_OK, "2001:db8::1"},
    /* unknown (ABNF literals are case-insensitive), with or without a port */
    {"unknown", 0, CIP_ENDPOINT_UNKNOWN, NULL},
    {"UNKNOWN", 0, CIP_ENDPOINT_UNKNOWN, NULL},
    {"Unknown", 1, CIP_ENDPOINT_UNKNOWN, NULL},
    {"unknown:4711", 1, CIP_ENDPOINT_UNKNOWN, NULL},
    {"unknown:_p", 1, CIP_ENDPOINT_UNKNOWN, NULL},
    {"\\u\\n\\k\\n\\o\\w\\n", 1, CIP_ENDPOINT_UNKNOWN, NULL},
    /* obfuscated identifiers */
    {"_hidden", 0, CIP_ENDPOINT_OBFUSCATED, NULL},
    {"_SEVKISEK", 0, CIP_ENDPOINT_OBFUSCATED, NULL},
    {"_gazonk", 1, CIP_ENDPOINT_OBFUSCATED, NULL},
    {"_a.b-c_9", 0, CIP_ENDPOINT_OBFUSCATED, NULL},
    {"__", 0, CIP_ENDPOINT_OBFUSCATED, NULL},
    {"_hidden:80", 1, CIP_ENDPOINT_OBFUSCATED, NULL},
    {"_hidden:_p", 1, CIP_ENDPOINT_OBFUSCATED, NULL},
    {"\\_hidden", 1, CIP_ENDPOINT_OBFUSCATED, NULL},
    /* not a valid obfnode, so no node at all */
    {"_", 0, CIP_ENDPOINT_BAD_ADDR, NULL},
    {"_bad!char", 0, CIP_ENDPOINT_BAD_ADDR, NULL},
    {"_a~b", 0, CIP_ENDPOINT_BAD_ADDR, NULL},
    {"_a b", 1, CIP_ENDPOINT_BAD_ADDR, NULL},
    {"_a,b", 1, CIP_ENDPOINT_BAD_ADDR, NULL},
    {"_a;b=c,d", 1, CIP_ENDPOINT_BAD_ADDR, NULL},
    /* ports */
    {"192.0.2.43:_", 1, CIP_ENDPOINT_BAD_PORT, NULL},
    {"192.0.2.43:_a!b", 1, CIP_ENDPOINT_BAD_PORT, NULL},
    {"192.0.2.43:", 1, CIP_ENDPOINT_BAD_PORT, NULL},
    {"192.0.2.43:65536", 1, CIP_ENDPOINT_BAD_PORT, NULL},
    {"192.0.2.43:0", 1, CIP_ENDPOINT_BAD_PORT, NULL},
    {"192.0.2.43:080", 1, CIP_ENDPOINT_BAD_PORT, NULL},
    {"192.0.2.43:-1", 1, CIP_ENDPOINT_BAD_PORT, NULL},
    {"192.0.2.43:4294967377", 1, CIP_ENDPOINT_BAD_PORT, NULL},
    {"[2001:db8::1]:99999", 1, CIP_ENDPOINT_BAD_PORT, NULL},
    {"[2001:db8::1]:", 1, CIP_ENDPOINT_BAD_PORT, NULL},
    {"[2001:db8::1]:80x", 1, CIP_ENDPOINT_BAD_PORT, NULL},
    {"192.0.2.1:80:80", 1, NODE_BAD, NULL},
    /* IPv6 must be bracketed (RFC 7239 6.1); no zone ids; no v4 in brackets */
    {"2001:db8::1", 1, CIP_ENDPOINT_BAD_ADDR, NULL},
    {"2001:db8:cafe::17", 1, CIP_ENDPOINT_BAD_ADDR, NULL},
    {"::1", 1, CIP_ENDPOINT_BAD_ADDR, NULL},
    {"[fe80::1%eth0]", 1, CIP_ENDPOINT_BAD_ADDR, NULL},
    {"[fe80::1%25eth0]:80", 1, CIP_ENDPOINT_BAD_ADDR, NULL},
    {"[1.2.3.4]", 1, CIP_ENDPOINT_BAD_ADDR, NULL},
    {"[2001:db8::1", 1, CIP_ENDPOINT_BAD_ADDR, NULL},
    {"2001:db8::1]", 1, CIP_ENDPOINT_BAD_ADDR, NULL},
    {"[]", 1, CIP_ENDPOINT_BAD_ADDR, NULL},
    /* not numeric, not strict */
    {"example.com", 0, CIP_ENDPOINT_BAD_ADDR, NULL},
    {"127.1", 0, CIP_ENDPOINT_BAD_ADDR, NULL},
    {"192.0.2.043", 0, CIP_ENDPOINT_BAD_ADDR, NULL},
    {"1.2.3.4.5", 0, CIP_ENDPOINT_BAD_ADDR, NULL},
    {"unknownx", 0, CIP_ENDPOINT_BAD_ADDR, NULL},
    {"unknow", 0, CIP_ENDPOINT_BAD_ADDR, NULL},
    {" 192.0.2.1", 1, CIP_ENDPOINT_BAD_ADDR, NULL},
    {"192.0.2.1 ", 1, CIP_ENDPOINT_BAD_ADDR, NULL},
    {"", 1, NODE_BAD, NULL},
};

static void test_nodes(void)
{
    size_t c;
    /* RFC 7239 sets no length limit on obfuscated identifiers */
    {
        static const size_t lengths[] = {2, 20, 64, 69, 70, 100, 199};
        char text[200];
        cip_fwd_value v;
        cip_endpoint ep;
        size_t i, n;
        for (i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
            char *buf;
            n = lengths[i];
            memset(text, 'x', n);
            text[0] = '_';
            buf = dup_exact(text, n);
            v.text = buf;
            v.len = n;
            v.quoted = 0;
            CIP_CONTEXT("node: obfuscated identifier of %lu bytes", (unsigned long)n);
            CHECK_EQ_INT(cip_forwarded_node(&v, &ep), CIP_ENDPOINT_OBFUSCATED);
            free(buf);
        }
    }
    for (c = 0; c < sizeof node_cases / sizeof node_cases[0]; c++) {
        const struct node_case *nc = &node_cases[c];
        size_t len = strlen(nc->text);
        char *buf = dup_exact(nc->text, len);
        cip_fwd_value v;
        cip_endpoint ep;
        cip_endpoint_status st;
        v.text = buf;
        v.len = len;
        v.quoted = nc->quoted;
        memset(&ep, 0xa5, sizeof ep);
        CIP_CONTEXT("node %s'%s'", nc->quoted ? "quoted " : "", nc->text);
        st = cip_forwarded_node(&v, &ep);
        if (nc->status == NODE_BAD) {
            CHECKF(st != CIP_ENDPOINT_OK, "status OK, expected an error");
        } else if (CHECKF((int)st == nc->status, "status %d (%s), expected %d (%s)", (int)st,
                          cip_endpoint_status_text(st), nc->status,
                          cip_endpoint_status_text((cip_endpoint_status)nc->status)) &&
                   st == CIP_ENDPOINT_OK) {
            char got[64];
            endpoint_text(&ep, got);
            CHECK_EQ_STR(got, nc->endpoint);
        }
        free(buf);
    }
    CIP_CONTEXT("");
}

/* ------------------------------------------------------ value copy */

static void test_copy(void)
{
    static const struct {
        const char *text;
        int quoted;
        const char *want;
    } cases[] = {
        {"abc", 0, "abc"},
        {"abc", 1, "abc"},
        {"a\\\"b\\\\c", 1, "a\"b\\c"},
        {"\\[2001:db8::1\\]", 1, "[2001:db8::1]"},
        {"x\\\ty", 1, "x\ty"},
        {"\\\\", 1, "\\"},
        {"", 1, ""},
        {"_gazonk", 1, "_gazonk"},
    };
    size_t c;
    for (c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t len = strlen(cases[c].text), wlen = strlen(cases[c].want), size;
        char *src = dup_exact(cases[c].text, len);
        cip_fwd_value v;
        v.text = src;
        v.len = len;
        v.quoted = cases[c].quoted;
        CIP_CONTEXT("copy %s'%s'", cases[c].quoted ? "quoted " : "", cases[c].text);
        for (size = 0; size <= wlen + 3; size++) {
            char out[64];
            size_t got;
            memset(out, 'Z', sizeof out);
            got = cip_fwd_value_copy(&v, out, size);
            if (size <= wlen) {
                CHECKF(got == (size_t)-1, "size %lu: returned %lu, expected (size_t)-1",
                       (unsigned long)size, (unsigned long)got);
            } else if (CHECKF(got == wlen, "size %lu: returned %lu, expected %lu",
                              (unsigned long)size, (unsigned long)got, (unsigned long)wlen)) {
                CHECK(memcmp(out, cases[c].want, wlen) == 0 && out[wlen] == '\0');
            }
            CHECKF(out[size] == 'Z' && out[size + 1] == 'Z', "size %lu: wrote past size",
                   (unsigned long)size);
        }
        free(src);
    }
    CIP_CONTEXT("");
}

static void test_texts(void)
{
    int s;
    for (s = 0; s < STATUS_COUNT; s++) {
        const char *t = cip_fwd_status_text((cip_fwd_status)s);
        CHECKF(t != NULL && t[0] != '\0', "cip_fwd_status_text(%d) empty", s);
    }
    for (s = 0; s <= CIP_ENDPOINT_MISSING; s++) {
        const char *t = cip_endpoint_status_text((cip_endpoint_status)s);
        CHECKF(t != NULL && t[0] != '\0', "cip_endpoint_status_text(%d) empty", s);
    }
    CHECK(strcmp(cip_endpoint_status_text(CIP_ENDPOINT_UNKNOWN),
                 cip_endpoint_status_text(CIP_ENDPOINT_OBFUSCATED)) != 0);
    CHECK(strcmp(cip_endpoint_status_text(CIP_ENDPOINT_MISSING),
                 cip_endpoint_status_text(CIP_ENDPOINT_BAD_ADDR)) != 0);
}

/* ------------------------------------------------------ walk: fixed */

#define WHOLE ((const char *)-1) /* keep: the whole value */

struct walk_case {
    const char *value;
    int recursive;
    const char *hops;
    cip_walk_stop stop;
    int bad_status;
    const char *keep;
    int chosen; /* index into elements[], rightmost = count - 1 */
};

static const struct walk_case walk_cases[] = {
    /* RFC 7239 section 4 */
    {"for=\"_gazonk\"", OFF, "", CIP_WALK_INVALID_ENTRY, CIP_ENDPOINT_OBFUSCATED, WHOLE, 0},
    {"for=\"_gazonk\"", ON, "", CIP_WALK_INVALID_ENTRY, CIP_ENDPOINT_OBFUSCATED, WHOLE, 0},
    {"For=\"[2001:db8:cafe::17]:4711\"", OFF, "[2001:db8:cafe::17]:4711",
     CIP_WALK_NOT_RECURSIVE, 0, "", 0},
    {"For=\"[2001:db8:cafe::17]:4711\"", ON, "[2001:db8:cafe::17]:4711", CIP_WALK_ALL_TRUSTED,
     0, "", 0},
    {"for=192.0.2.60;proto=http;by=203.0.113.43", OFF, "192.0.2.60", CIP_WALK_NOT_RECURSIVE, 0,
     "", 0},
    {"for=192.0.2.60;proto=http;by=203.0.113.43", ON, "192.0.2.60", CIP_WALK_UNTRUSTED, 0, "",
     0},
    {"for=192.0.2.43, for=198.51.100.17", OFF, "198.51.100.17", CIP_WALK_NOT_RECURSIVE, 0,
     "for=192.0.2.43", 1},
    {"for=192.0.2.43, for=198.51.100.17", ON, "198.51.100.17 192.0.2.43", CIP_WALK_UNTRUSTED, 0,
     "", 0},
    /* section 6 */
    {"for=\"192.0.2.43:47011\"", OFF, "192.0.2.43:47011", CIP_WALK_NOT_RECURSIVE, 0, "", 0},
    {"for=\"[2001:db8:cafe::17]:47011\"", ON, "[2001:db8:cafe::17]:47011", CIP_WALK_ALL_TRUSTED,
     0, "", 0},
    /* section 6.3 */
    {"for=_hidden, for=_SEVKISEK", OFF, "", CIP_WALK_INVALID_ENTRY, CIP_ENDPOINT_OBFUSCATED,
     WHOLE, 1},
    {"for=_hidden, for=_SEVKISEK", ON, "", CIP_WALK_INVALID_ENTRY, CIP_ENDPOINT_OBFUSCATED,
     WHOLE, 1},
    /* section 7.1 */
    {"for=192.0.2.43,for=\"[2001:db8:cafe::17]\",for=unknown", OFF, "", CIP_WALK_INVALID_ENTRY,
     CIP_ENDPOINT_UNKNOWN, WHOLE, 2},
    {"for=192.0.2.43, for=\"[2001:db8:cafe::17]\", for=unknown", ON, "", CIP_WALK_INVALID_ENTRY,
     CIP_ENDPOINT_UNKNOWN, WHOLE, 2},
    /* section 7.4 */
    {"for=192.0.2.43, for=\"[2001:db8:cafe::17]\"", OFF, "2001:db8:cafe::17",
     CIP_WALK_NOT_RECURSIVE, 0, "for=192.0.2.43", 1},
    {"for=192.0.2.43, for=\"[2001:db8:cafe::17]\"", ON, "2001:db8:cafe::17 192.0.2.43",
     CIP_WALK_UNTRUSTED, 0, "", 0},
    /* section 7.5 */
    {"for=192.0.2.43", OFF, "192.0.2.43", CIP_WALK_NOT_RECURSIVE, 0, "", 0},
    {"for=192.0.2.43", ON, "192.0.2.43", CIP_WALK_UNTRUSTED, 0, "", 0},
    {"for=192.0.2.43, for=198.51.100.17;by=203.0.113.60;proto=http;host=example.com", OFF,
     "198.51.100.17", CIP_WALK_NOT_RECURSIVE, 0, "for=192.0.2.43", 1},
    {"for=192.0.2.43, for=198.51.100.17;by=203.0.113.60;proto=http;host=example.com", ON,
     "198.51.100.17 192.0.2.43", CIP_WALK_UNTRUSTED, 0, "", 0},

    /* Off takes the rightmost even when it is trusted */
    {"for=192.0.2.43, for=198.51.100.17, for=127.0.0.1", OFF, "127.0.0.1",
     CIP_WALK_NOT_RECURSIVE, 0, "for=192.0.2.43, for=198.51.100.17", 2},
    {"for=192.0.2.43, for=198.51.100.17, for=127.0.0.1", ON, "127.0.0.1 198.51.100.17 192.0.2.43",
     CIP_WALK_UNTRUSTED, 0, "", 0},
    /* the first untrusted from the right */
    {"for=198.51.100.1, for=203.0.113.7", OFF, "203.0.113.7", CIP_WALK_NOT_RECURSIVE, 0,
     "for=198.51.100.1", 1},
    {"for=198.51.100.1, for=203.0.113.7", ON, "203.0.113.7", CIP_WALK_UNTRUSTED, 0,
     "for=198.51.100.1", 1},
    {"for=192.0.2.9, for=203.0.113.7;proto=https, for=10.1.1.1", ON, "10.1.1.1 203.0.113.7",
     CIP_WALK_UNTRUSTED, 0, "for=192.0.2.9", 1},
    /* all trusted: the leftmost */
    {"for=198.51.100.1, for=10.0.0.1", ON, "10.0.0.1 198.51.100.1", CIP_WALK_ALL_TRUSTED, 0, "",
     0},
    {"for=127.0.0.1", ON, "127.0.0.1", CIP_WALK_ALL_TRUSTED, 0, "", 0},
    /* unknown, obfuscated, missing and bad nodes stop the walk */
    {"for=192.0.2.1, for=unknown, for=10.0.0.1", ON, "10.0.0.1", CIP_WALK_INVALID_ENTRY,
     CIP_ENDPOINT_UNKNOWN, "for=192.0.2.1, for=unknown", 2},
    {"for=192.0.2.1, for=unknown, for=10.0.0.1", OFF, "10.0.0.1", CIP_WALK_NOT_RECURSIVE, 0,
     "for=192.0.2.1, for=unknown", 2},
    {"for=192.0.2.1, for=\"_x\";proto=https, for=10.0.0.1", ON, "10.0.0.1",
     CIP_WALK_INVALID_ENTRY, CIP_ENDPOINT_OBFUSCATED, "for=192.0.2.1, for=\"_x\";proto=https", 2},
    {"for=192.0.2.1, proto=https, for=10.0.0.1;proto=http", ON, "10.0.0.1",
     CIP_WALK_INVALID_ENTRY, CIP_ENDPOINT_MISSING, "for=192.0.2.1, proto=https", 2},
    {"for=192.0.2.1, by=10.0.0.1", OFF, "", CIP_WALK_INVALID_ENTRY, CIP_ENDPOINT_MISSING, WHOLE,
     1},
    {"for=192.0.2.1, by=10.0.0.1", ON, "", CIP_WALK_INVALID_ENTRY, CIP_ENDPOINT_MISSING, WHOLE,
     1},
    {"for=_hidden;proto=https", OFF, "", CIP_WALK_INVALID_ENTRY, CIP_ENDPOINT_OBFUSCATED, WHOLE,
     0},
    {"for=_hidden;proto=https", ON, "", CIP_WALK_INVALID_ENTRY, CIP_ENDPOINT_OBFUSCATED, WHOLE,
     0},
    {"for=\"unknown\"", ON, "", CIP_WALK_INVALID_ENTRY, CIP_ENDPOINT_UNKNOWN, WHOLE, 0},
    {"for=UNKNOWN", OFF, "", CIP_WALK_INVALID_ENTRY, CIP_ENDPOINT_UNKNOWN, WHOLE, 0},
    {"for=192.0.2.1, for=example.com, for=10.0.0.1", ON, "10.0.0.1", CIP_WALK_INVALID_ENTRY,
     CIP_ENDPOINT_BAD_ADDR, "for=192.0.2.1, for=example.com", 2},
    {"for=\"2001:db8::1\", for=10.0.0.1", ON, "10.0.0.1", CIP_WALK_INVALID_ENTRY,
     CIP_ENDPOINT_BAD_ADDR, "for=\"2001:db8::1\"", 1},
    {"for=\"192.0.2.1:0\", for=10.0.0.1", ON, "10.0.0.1", CIP_WALK_INVALID_ENTRY,
     CIP_ENDPOINT_BAD_PORT, "for=\"192.0.2.1:0\"", 1},
    {"for=_bad!char", ON, "", CIP_WALK_INVALID_ENTRY, CIP_ENDPOINT_BAD_ADDR, WHOLE, 0},
    /* obfuscated ports keep the address */
    {"for=\"198.51.100.9:_p1\", for=\"[2001:db8:cafe::9]:_x\"", ON,
     "2001:db8:cafe::9 198.51.100.9", CIP_WALK_ALL_TRUSTED, 0, "", 0},
    /* escapes and blanks */
    {"for=\"\\[2001:db8:cafe::17\\]\"", OFF, "2001:db8:cafe::17", CIP_WALK_NOT_RECURSIVE, 0, "",
     0},
    {"for=198.51.100.1 ;proto=http , for=203.0.113.7\t;\tby=x", OFF, "203.0.113.7",
     CIP_WALK_NOT_RECURSIVE, 0, "for=198.51.100.1 ;proto=http", 1},
    {"for=203.0.113.7\t,\t for=198.51.100.1", ON, "198.51.100.1 203.0.113.7",
     CIP_WALK_UNTRUSTED, 0, "", 0},
    {"for=192.0.2.1;ext=\"a, for=10.0.0.1\", for=10.0.0.2", ON, "10.0.0.2 192.0.2.1",
     CIP_WALK_UNTRUSTED, 0, "", 0},
    {"FOR=192.0.2.1;PROTO=https;By=10.0.0.1;HoSt=example.com", OFF, "192.0.2.1",
     CIP_WALK_NOT_RECURSIVE, 0, "", 0},
    {"secret=abc;for=192.0.2.1;x-trace=\"1;2,3\"", OFF, "192.0.2.1", CIP_WALK_NOT_RECURSIVE, 0,
     "", 0},
    {"fore=192.0.2.1", OFF, "", CIP_WALK_INVALID_ENTRY, CIP_ENDPOINT_MISSING, WHOLE, 0},
    {"by=1;for=\"[::1]\"", OFF, "::1", CIP_WALK_NOT_RECURSIVE, 0, "", 0},
};

static void test_walk_fixed(void)
{
    size_t c;
    for (c = 0; c < sizeof walk_cases / sizeof walk_cases[0]; c++) {
        const struct walk_case *wc = &walk_cases[c];
        parse_run r;
        struct exp_walk want;
        size_t len = strlen(wc->value);
        CIP_CONTEXT("walk %s '%s'", wc->recursive ? "On" : "Off", wc->value);
        run_parse(&r, wc->value, len);
        if (!CHECKF(r.st == CIP_FWD_OK, "status %d (%s)", (int)r.st, cip_fwd_status_text(r.st))) {
            end_parse(&r);
            continue;
        }
        strcpy(want.hops, wc->hops);
        want.hop_count = wc->hops[0] ? 1 : 0;
        {
            const char *p;
            for (p = wc->hops; *p; p++)
                want.hop_count += *p == ' ';
        }
        want.stop = wc->stop;
        want.bad_status = wc->stop == CIP_WALK_INVALID_ENTRY ? wc->bad_status : CIP_ENDPOINT_OK;
        want.keep_len = wc->keep == WHOLE ? len : strlen(wc->keep);
        if (wc->keep != WHOLE)
            CHECKF(strncmp(wc->value, wc->keep, strlen(wc->keep)) == 0, "test table: keep");
        want.chosen = (size_t)wc->chosen;
        check_walk(&r, trust, wc->recursive, &want);
        if (wc->stop == CIP_WALK_INVALID_ENTRY)
            CHECK(want.keep_len == len || want.hop_count > 0);
        end_parse(&r);
    }
    CIP_CONTEXT("");
}

/* The chosen element's by/proto/host, seen through cip_forwarded_chosen. */
static void test_chosen(void)
{
    parse_run r;
    cip_walk w;
    const cip_fwd_element *e;
    cip_forwarded empty;

    CIP_CONTEXT("chosen: RFC 7239 7.5, Off");
    run_parse(&r, L("for=192.0.2.43, for=198.51.100.17;by=203.0.113.60;proto=http;host=example.com"));
    if (CHECK_EQ_INT(r.st, CIP_FWD_OK)) {
        cip_forwarded_walk(&r.f, trust, OFF, &w);
        e = cip_forwarded_chosen(&r.f, &w);
        if (CHECK(e != NULL)) {
            check_value(&r, &e->for_node, "for", "198.51.100.17");
            check_value(&r, &e->by, "by", "203.0.113.60");
            check_value(&r, &e->proto, "proto", "http");
            check_value(&r, &e->host, "host", "example.com");
        }
        CIP_CONTEXT("chosen: RFC 7239 7.5, On");
        cip_forwarded_walk(&r.f, trust, ON, &w);
        e = cip_forwarded_chosen(&r.f, &w);
        if (CHECK(e != NULL)) {
            /* the client's own element: the first proxy wrote no proto */
            check_value(&r, &e->for_node, "for", "192.0.2.43");
            check_value(&r, &e->proto, "proto", NULL);
            check_value(&r, &e->host, "host", NULL);
        }
    }
    end_parse(&r);

    CIP_CONTEXT("chosen: nothing taken");
    run_parse(&r, L("for=_hidden;proto=https"));
    if (CHECK_EQ_INT(r.st, CIP_FWD_OK)) {
        cip_forwarded_walk(&r.f, trust, ON, &w);
        CHECK_EQ_UINT(w.hop_count, 0);
        e = cip_forwarded_chosen(&r.f, &w);
        if (CHECK(e == &r.f.elements[0])) {
            check_value(&r, &e->proto, "proto", "https");
            check_value(&r, &e->for_node, "for", "_hidden");
        }
    }
    end_parse(&r);

    CIP_CONTEXT("chosen: nothing taken, several elements");
    run_parse(&r, L("for=192.0.2.1;proto=http, for=unknown;proto=\"https\";host=a.example"));
    if (CHECK_EQ_INT(r.st, CIP_FWD_OK)) {
        cip_forwarded_walk(&r.f, trust, ON, &w);
        e = cip_forwarded_chosen(&r.f, &w);
        if (CHECK(e == &r.f.elements[1])) {
            check_value(&r, &e->proto, "proto", "\"https\"");
            check_value(&r, &e->host, "host", "a.example");
        }
    }
    end_parse(&r);

    CIP_CONTEXT("chosen: stopped after one hop");
    run_parse(&r, L("for=_c;proto=http, for=10.9.9.9;proto=https;by=_lb"));
    if (CHECK_EQ_INT(r.st, CIP_FWD_OK)) {
        cip_forwarded_walk(&r.f, trust, ON, &w);
        CHECK_EQ_UINT(w.hop_count, 1);
        CHECK_EQ_INT(w.stop, CIP_WALK_INVALID_ENTRY);
        CHECK_EQ_INT(w.bad_status, CIP_ENDPOINT_OBFUSCATED);
        e = cip_forwarded_chosen(&r.f, &w);
        if (CHECK(e == &r.f.elements[1])) {
            check_value(&r, &e->proto, "proto", "https");
            check_value(&r, &e->by, "by", "_lb");
        }
    }
    end_parse(&r);

    /* no element at all */
    CIP_CONTEXT("chosen: no element");
    memset(&empty, 0, sizeof empty);
    empty.status = CIP_FWD_OK;
    empty.value = "";
    memset(&w, 0, sizeof w);
    CHECK(cip_forwarded_chosen(&empty, &w) == NULL);
    CIP_CONTEXT("");
}

/* -------------------------------------- several lines, X-Forwarded-For */

static char *join_lines(const char *const *lines, size_t n, size_t *len)
{
    size_t i, total = 0, o = 0;
    char *out;
    for (i = 0; i < n; i++)
        total += strlen(lines[i]) + 2;
    out = malloc(total + 1);
    if (!out)
        abort();
    for (i = 0; i < n; i++) {
        if (i) {
            out[o++] = ',';
            out[o++] = ' ';
        }
        memcpy(out + o, lines[i], strlen(lines[i]));
        o += strlen(lines[i]);
    }
    *len = o;
    return out;
}

/* Same elements, value for value (text as written). */
static void check_same_elements(const parse_run *a, const parse_run *b)
{
    size_t k;
    if (!CHECK_EQ_UINT(a->f.kept, b->f.kept))
        return;
    CHECK_EQ_UINT(a->f.element_count, b->f.element_count);
    for (k = 0; k < a->f.kept; k++) {
        const cip_fwd_value *va[4], *vb[4];
        int i;
        va[0] = &a->f.elements[k].for_node;
        va[1] = &a->f.elements[k].by;
        va[2] = &a->f.elements[k].proto;
        va[3] = &a->f.elements[k].host;
        vb[0] = &b->f.elements[k].for_node;
        vb[1] = &b->f.elements[k].by;
        vb[2] = &b->f.elements[k].proto;
        vb[3] = &b->f.elements[k].host;
        for (i = 0; i < 4; i++) {
            if (!va[i]->text || !vb[i]->text) {
                CHECKF(va[i]->text == vb[i]->text, "element %lu value %d present in one only",
                       (unsigned long)k, i);
                continue;
            }
            CHECKF(va[i]->len == vb[i]->len && va[i]->quoted == vb[i]->quoted &&
                       memcmp(va[i]->text, vb[i]->text, va[i]->len) == 0,
                   "element %lu value %d differs", (unsigned long)k, i);
        }
    }
}

static void test_lines(void)
{
    /* RFC 7239 7.1: these are all equivalent */
    static const char *const one_line_a[] = {"for=192.0.2.43,for=\"[2001:db8:cafe::17]\",for=unknown"};
    static const char *const one_line_b[] = {"for=192.0.2.43, for=\"[2001:db8:cafe::17]\", for=unknown"};
    static const char *const two_lines[] = {"for=192.0.2.43", "for=\"[2001:db8:cafe::17]\", for=unknown"};
    static const char *const three_lines[] = {"for=192.0.2.43", "for=\"[2001:db8:cafe::17]\"", "for=unknown"};
    static const char *const proxies[] = {"for=192.0.2.43;proto=https", "for=198.51.100.17;proto=http",
                                          "for=\"[2001:db8:cafe::1]:8080\""};
    static const char *const bad_line[] = {"for=192.0.2.43", "for=1.2.3.4;;", "for=10.0.0.1"};
    static const char *const comma_line[] = {"for=192.0.2.43,", "for=10.0.0.1"};
    parse_run ra, rb, rc, rd;
    size_t len;
    char *v;

    CIP_CONTEXT("RFC 7239 7.1 equivalents");
    v = join_lines(one_line_a, 1, &len);
    run_parse(&ra, v, len);
    free(v);
    v = join_lines(one_line_b, 1, &len);
    run_parse(&rb, v, len);
    free(v);
    v = join_lines(two_lines, 2, &len);
    run_parse(&rc, v, len);
    free(v);
    v = join_lines(three_lines, 3, &len);
    run_parse(&rd, v, len);
    free(v);
    if (CHECK_EQ_INT(ra.st, CIP_FWD_OK) && CHECK_EQ_INT(rb.st, CIP_FWD_OK) &&
        CHECK_EQ_INT(rc.st, CIP_FWD_OK) && CHECK_EQ_INT(rd.st, CIP_FWD_OK)) {
        CHECK_EQ_UINT(ra.f.element_count, 3);
        check_same_elements(&ra, &rb);
        check_same_elements(&ra, &rc);
        check_same_elements(&ra, &rd);
        CHECK_EQ_UINT(rc.len, rb.len);
        CHECK(memcmp(rc.buf, rb.buf, rb.len) == 0);
    }
    end_parse(&ra);
    end_parse(&rb);
    end_parse(&rc);
    end_parse(&rd);

    CIP_CONTEXT("three proxies, three lines");
    v = join_lines(proxies, 3, &len);
    run_parse(&ra, v, len);
    free(v);
    if (CHECK_EQ_INT(ra.st, CIP_FWD_OK) && CHECK_EQ_UINT(ra.f.element_count, 3)) {
        cip_walk w;
        const cip_fwd_element *e;
        cip_forwarded_walk(&ra.f, trust, ON, &w);
        CHECK_EQ_STR(hops_text(&w), "[2001:db8:cafe::1]:8080 198.51.100.17 192.0.2.43");
        CHECK_EQ_INT(w.stop, CIP_WALK_UNTRUSTED);
        CHECK_EQ_UINT(w.keep_len, 0);
        e = cip_forwarded_chosen(&ra.f, &w);
        if (CHECK(e != NULL))
            check_value(&ra, &e->proto, "proto", "https");
        cip_forwarded_walk(&ra.f, trust, OFF, &w);
        CHECK_EQ_STR(hops_text(&w), "[2001:db8:cafe::1]:8080");
        CHECK_EQ_STRN(ra.buf, w.keep_len, "for=192.0.2.43;proto=https, for=198.51.100.17;proto=http");
    }
    end_parse(&ra);

    CIP_CONTEXT("an invalid line spoils the whole list");
    v = join_lines(bad_line, 3, &len);
    run_parse(&ra, v, len);
    free(v);
    CHECK_EQ_INT(ra.st, CIP_FWD_EMPTY_PAIR);
    end_parse(&ra);
    CIP_CONTEXT("a line ending in a comma makes an empty element");
    v = join_lines(comma_line, 2, &len);
    run_parse(&ra, v, len);
    free(v);
    CHECK_EQ_INT(ra.st, CIP_FWD_EMPTY_PAIR);
    end_parse(&ra);

    /* RFC 7239 7.4: X-Forwarded-For and its Forwarded translation walk alike */
    {
        static const char xff[] = "192.0.2.43, 2001:db8:cafe::17";
        static const char fwd[] = "for=192.0.2.43, for=\"[2001:db8:cafe::17]\"";
        int rec;
        run_parse(&ra, L(fwd));
        for (rec = 0; rec <= 1; rec++) {
            cip_walk wx, wf;
            char hx[CIP_LIST_MAX_HOPS * 64];
            char *xbuf = dup_exact(xff, sizeof xff - 1);
            CIP_CONTEXT("RFC 7239 7.4 translation, recursive %d", rec);
            cip_list_walk(xbuf, sizeof xff - 1, trust, rec, &wx);
            strcpy(hx, hops_text(&wx));
            if (CHECK_EQ_INT(ra.st, CIP_FWD_OK)) {
                cip_forwarded_walk(&ra.f, trust, rec, &wf);
                CHECK_EQ_STR(hops_text(&wf), hx);
                CHECK_EQ_INT(wf.stop, wx.stop);
                CHECK_EQ_UINT(wf.hop_count, wx.hop_count);
                if (rec)
                    CHECK_EQ_UINT(wf.keep_len, 0);
                else
                    CHECK_EQ_STRN(ra.buf, wf.keep_len, "for=192.0.2.43");
            }
            free(xbuf);
        }
        end_parse(&ra);
    }
    CIP_CONTEXT("");
}

/* ------------------------------------------------------- long lists */

typedef const char *(*node_fn)(size_t i, char *buf);

static size_t g_split;

static const char *trusted_node(size_t i, char *buf)
{
    sprintf(buf, "for=10.0.%u.%u", (unsigned)(i / 250), (unsigned)(i % 250 + 1));
    return buf;
}

static const char *untrusted_then_trusted(size_t i, char *buf)
{
    if (i < g_split) {
        sprintf(buf, "for=\"203.0.%u.%u:%u\"", (unsigned)(i / 250), (unsigned)(i % 250 + 1),
                (unsigned)(1000 + i));
        return buf;
    }
    return trusted_node(i, buf);
}

static const char *unknown_then_trusted(size_t i, char *buf)
{
    return i < g_split ? "for=unknown;proto=https" : trusted_node(i, buf);
}

static const char *unknown_at_split(size_t i, char *buf)
{
    return i == g_split ? "for=unknown" : trusted_node(i, buf);
}

/* n elements joined by ", "; offsets[i] is where element i starts. */
static char *build_elements(size_t n, node_fn fn, size_t *len, size_t *offsets)
{
    size_t i, o = 0, cap = n * 40 + 16;
    char *v = malloc(cap);
    if (!v)
        abort();
    for (i = 0; i < n; i++) {
        char tmp[64];
        const char *e = fn(i, tmp);
        if (i) {
            v[o++] = ',';
            v[o++] = ' ';
        }
        offsets[i] = o;
        memcpy(v + o, e, strlen(e));
        o += strlen(e);
    }
    *len = o;
    return v;
}

static void test_long(void)
{
    static size_t offsets[700];
    size_t len;
    char *v, want[CIP_ADDR_TEXT_MAX];
    parse_run r;
    cip_walk w;

    /* 100 trusted: 64 kept, 64 walked */
    v = build_elements(100, trusted_node, &len, offsets);
    run_parse(&r, v, len);
    CIP_CONTEXT("100 trusted elements");
    if (CHECK_EQ_INT(r.st, CIP_FWD_OK)) {
        CHECK_EQ_UINT(r.f.element_count, 100);
        CHECK_EQ_UINT(r.f.kept, 64);
        CHECK_EQ_UINT(r.f.elements[0].start, offsets[36]);
        CHECK_EQ_UINT(r.f.elements[63].start, offsets[99]);
        check_value(&r, &r.f.elements[0].for_node, "for", "10.0.0.37");
        cip_forwarded_walk(&r.f, trust, ON, &w);
        CHECK_EQ_UINT(w.hop_count, 64);
        CHECK_EQ_INT(w.stop, CIP_WALK_HOP_LIMIT);
        CHECK_EQ_UINT(w.keep_len, offsets[36] - 2);
        if (w.hop_count == 64) {
            cip_addr_format(&w.hops[63].endpoint.addr, want);
            CHECK_EQ_STR(want, "10.0.0.37");
        }
        CHECK(cip_forwarded_chosen(&r.f, &w) == &r.f.elements[0]);
        cip_forwarded_walk(&r.f, trust, OFF, &w);
        CHECK_EQ_UINT(w.hop_count, 1);
        CHECK_EQ_INT(w.stop, CIP_WALK_NOT_RECURSIVE);
        CHECK_EQ_UINT(w.keep_len, offsets[99] - 2);
        CHECK(cip_forwarded_chosen(&r.f, &w) == &r.f.elements[63]);
    }
    end_parse(&r);
    free(v);

    /* exactly 64 trusted: all of them */
    v = build_elements(64, trusted_node, &len, offsets);
    run_parse(&r, v, len);
    CIP_CONTEXT("64 trusted elements");
    if (CHECK_EQ_INT(r.st, CIP_FWD_OK)) {
        CHECK_EQ_UINT(r.f.kept, 64);
        cip_forwarded_walk(&r.f, trust, ON, &w);
        CHECK_EQ_UINT(w.hop_count, 64);
        CHECK(w.stop == CIP_WALK_ALL_TRUSTED || w.stop == CIP_WALK_HOP_LIMIT);
        CHECK_EQ_UINT(w.keep_len, 0);
    }
    end_parse(&r);
    free(v);

    /* one untrusted, then 64 trusted: the limit comes first */
    g_split = 1;
    v = build_elements(65, untrusted_then_trusted, &len, offsets);
    run_parse(&r, v, len);
    CIP_CONTEXT("1 untrusted + 64 trusted");
    if (CHECK_EQ_INT(r.st, CIP_FWD_OK)) {
        cip_forwarded_walk(&r.f, trust, ON, &w);
        CHECK_EQ_UINT(w.hop_count, 64);
        CHECK_EQ_INT(w.stop, CIP_WALK_HOP_LIMIT);
        CHECK_EQ_STRN(r.buf, w.keep_len, "for=\"203.0.0.1:1000\"");
    }
    end_parse(&r);
    free(v);

    /* 63 trusted after an untrusted one: it is the client, 64th hop */
    v = build_elements(64, untrusted_then_trusted, &len, offsets);
    run_parse(&r, v, len);
    CIP_CONTEXT("1 untrusted + 63 trusted");
    if (CHECK_EQ_INT(r.st, CIP_FWD_OK)) {
        cip_forwarded_walk(&r.f, trust, ON, &w);
        CHECK_EQ_UINT(w.hop_count, 64);
        CHECK_EQ_INT(w.stop, CIP_WALK_UNTRUSTED);
        CHECK_EQ_UINT(w.keep_len, 0);
        if (w.hop_count == 64) {
            CHECK_EQ_UINT(w.hops[63].endpoint.port, 1000);
            CHECK(w.hops[63].trusted_by == NULL);
        }
        CHECK(cip_forwarded_chosen(&r.f, &w) == &r.f.elements[0]);
    }
    end_parse(&r);
    free(v);

    /* 600 elements, the left 536 unknown: never reached */
    g_split = 536;
    v = build_elements(600, unknown_then_trusted, &len, offsets);
    run_parse(&r, v, len);
    CIP_CONTEXT("536 unknown + 64 trusted");
    if (CHECK_EQ_INT(r.st, CIP_FWD_OK)) {
        CHECK_EQ_UINT(r.f.element_count, 600);
        CHECK_EQ_UINT(r.f.kept, 64);
        cip_forwarded_walk(&r.f, trust, ON, &w);
        CHECK_EQ_UINT(w.hop_count, 64);
        CHECK_EQ_INT(w.stop, CIP_WALK_HOP_LIMIT);
        CHECK_EQ_UINT(w.keep_len, offsets[536] - 2);
    }
    end_parse(&r);
    free(v);

    /* 537 unknown + 63 trusted: the walk reaches the 64th kept, unknown */
    g_split = 537;
    v = build_elements(600, unknown_then_trusted, &len, offsets);
    run_parse(&r, v, len);
    CIP_CONTEXT("537 unknown + 63 trusted");
    if (CHECK_EQ_INT(r.st, CIP_FWD_OK)) {
        cip_forwarded_walk(&r.f, trust, ON, &w);
        CHECK_EQ_UINT(w.hop_count, 63);
        CHECK_EQ_INT(w.stop, CIP_WALK_INVALID_ENTRY);
        CHECK_EQ_INT(w.bad_status, CIP_ENDPOINT_UNKNOWN);
        CHECK_EQ_UINT(w.keep_len, offsets[537] - 2);
        CHECK(cip_forwarded_chosen(&r.f, &w) == &r.f.elements[1]);
    }
    end_parse(&r);
    free(v);

    /* unknown in the middle of 100 */
    g_split = 50;
    v = build_elements(100, unknown_at_split, &len, offsets);
    run_parse(&r, v, len);
    CIP_CONTEXT("unknown at element 50 of 100");
    if (CHECK_EQ_INT(r.st, CIP_FWD_OK)) {
        cip_forwarded_walk(&r.f, trust, ON, &w);
        CHECK_EQ_UINT(w.hop_count, 49);
        CHECK_EQ_INT(w.stop, CIP_WALK_INVALID_ENTRY);
        CHECK_EQ_UINT(w.keep_len, offsets[51] - 2);
    }
    end_parse(&r);
    free(v);

    /* a syntax error far to the left of the last 64 still spoils it all */
    v = build_elements(600, trusted_node, &len, offsets);
    memcpy(v + offsets[3], "for;10.0.0.4", 12);
    run_parse(&r, v, len);
    CIP_CONTEXT("600 elements, element 3 has no '='");
    CHECK_EQ_INT(r.st, CIP_FWD_NO_EQUALS);
    CHECK(r.f.error_offset >= offsets[3] && r.f.error_offset <= offsets[4]);
    end_parse(&r);
    memcpy(v + offsets[3], "for=10.0.0.4", 12);
    v[offsets[5] - 2] = ';';
    memcpy(v + offsets[5], "for", 3);
    run_parse(&r, v, len);
    CIP_CONTEXT("600 elements, elements 4 and 5 joined by ';'");
    CHECK_EQ_INT(r.st, CIP_FWD_DUPLICATE);
    end_parse(&r);
    free(v);
    CIP_CONTEXT("");
}

/* ------------------------------------------------ property: generator */

enum { K_TRUSTED, K_UNTRUSTED, K_STOP };

struct node_piece {
    const char *text; /* as written; NULL: no for= in the element */
    int kind;
    const char *hop; /* endpoint_text, for the address kinds */
    int status;      /* for K_STOP */
};

static const struct node_piece pieces[] = {
    {"198.51.100.17", K_TRUSTED, "198.51.100.17", 0},
    {"\"198.51.100.17:4711\"", K_TRUSTED, "198.51.100.17:4711", 0},
    {"\"[2001:db8:cafe::17]\"", K_TRUSTED, "2001:db8:cafe::17", 0},
    {"\"[2001:db8:cafe::17]:4711\"", K_TRUSTED, "[2001:db8:cafe::17]:4711", 0},
    {"127.0.0.1", K_TRUSTED, "127.0.0.1", 0},
    {"\"10.1.2.3:_obf\"", K_TRUSTED, "10.1.2.3", 0},
    {"\"[::ffff:10.0.0.2]:80\"", K_TRUSTED, "10.0.0.2:80", 0},
    {"\"\\1\\0.0.0.1\"", K_TRUSTED, "10.0.0.1", 0},
    {"\"\\[2001:db8:cafe::1\\]:\\4\\4\\3\"", K_TRUSTED, "[2001:db8:cafe::1]:443", 0},
    {"10.255.255.255", K_TRUSTED, "10.255.255.255", 0},
    {"\"[2001:db8:cafe::9]:_x-Y.z\"", K_TRUSTED, "2001:db8:cafe::9", 0},
    {"192.0.2.43", K_UNTRUSTED, "192.0.2.43", 0},
    {"\"192.0.2.43:47011\"", K_UNTRUSTED, "192.0.2.43:47011", 0},
    {"\"[2001:db8::1]\"", K_UNTRUSTED, "2001:db8::1", 0},
    {"\"[2001:db8::1]:443\"", K_UNTRUSTED, "[2001:db8::1]:443", 0},
    {"203.0.113.7", K_UNTRUSTED, "203.0.113.7", 0},
    {"\"[2001:db8:cafe:1::1]\"", K_UNTRUSTED, "2001:db8:cafe:1::1", 0},
    {"127.0.0.2", K_UNTRUSTED, "127.0.0.2", 0},
    {"\"203.0.113.9:_p\"", K_UNTRUSTED, "203.0.113.9", 0},
    {"unknown", K_STOP, NULL, CIP_ENDPOINT_UNKNOWN},
    {"UnKnown", K_STOP, NULL, CIP_ENDPOINT_UNKNOWN},
    {"\"unknown\"", K_STOP, NULL, CIP_ENDPOINT_UNKNOWN},
    {"_hidden", K_STOP, NULL, CIP_ENDPOINT_OBFUSCATED},
    {"_SEVKISEK", K_STOP, NULL, CIP_ENDPOINT_OBFUSCATED},
    {"\"_gazonk\"", K_STOP, NULL, CIP_ENDPOINT_OBFUSCATED},
    {"\"_x.y-z_1\"", K_STOP, NULL, CIP_ENDPOINT_OBFUSCATED},
    {NULL, K_STOP, NULL, CIP_ENDPOINT_MISSING},
    {"example.com", K_STOP, NULL, CIP_ENDPOINT_BAD_ADDR},
    {"\"192.0.2.1:0\"", K_STOP, NULL, CIP_ENDPOINT_BAD_PORT},
    {"\"2001:db8::1\"", K_STOP, NULL, CIP_ENDPOINT_BAD_ADDR},
    {"\"[1.2.3.4]\"", K_STOP, NULL, CIP_ENDPOINT_BAD_ADDR},
    {"_", K_STOP, NULL, CIP_ENDPOINT_BAD_ADDR},
    {"\"192.0.2.1:\"", K_STOP, NULL, CIP_ENDPOINT_BAD_PORT},
    {"\"[fe80::1%eth0]\"", K_STOP, NULL, CIP_ENDPOINT_BAD_ADDR},
    {"1.2.3", K_STOP, NULL, CIP_ENDPOINT_BAD_ADDR},
    {"\"192.0.2.1:080\"", K_STOP, NULL, CIP_ENDPOINT_BAD_PORT},
};
enum { NPIECES = sizeof pieces / sizeof pieces[0] };

static const struct node_piece *pick_piece(void)
{
    uint32_t r = cip_rand_below(100);
    int kind = r < 60 ? K_TRUSTED : r < 85 ? K_UNTRUSTED : K_STOP;
    for (;;) {
        const struct node_piece *p = &pieces[cip_rand_below(NPIECES)];
        if (p->kind == kind)
            return p;
    }
}

static const char *const by_values[] = {"203.0.113.60", "\"[2001:db8::2]:8080\"", "_proxy1",
                                        "unknown"};
static const char *const proto_values[] = {"http", "https", "\"https\"", "HTTPS", "\"ht\\tp\""};
static const char *const host_values[] = {"example.com", "\"example.com:8443\"",
                                          "\"[2001:db8::1]:443\"", "\"a\\\"b\""};
static const char *const ext_names[] = {"secret", "x-trace", "Sig", "ext_1", "forwarded",
                                        "fore", "bye", "hosts", "protocol", "f"};
static const char *const ext_values[] = {"abc", "\"a, b; c=d\"", "\"\\\"q\\\"\"",
                                         "\"tab\there\"", "!#$%&'*+-.^_`|~09AZaz",
                                         "\"for=1.2.3.4, for=5.6.7.8\""};

typedef struct {
    char *p;
    size_t len, cap;
} sbuf;

static void sb_add(sbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->len + n > b->cap)
        abort();
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void sb_name(sbuf *b, const char *name)
{
    size_t i;
    for (i = 0; name[i]; i++) {
        char c = name[i];
        if (c >= 'a' && c <= 'z' && cip_rand_below(2))
            c = (char)(c - 'a' + 'A');
        if (b->len == b->cap)
            abort();
        b->p[b->len++] = c;
    }
}

/* Append a value, recording where its text lies. */
static void sb_value(sbuf *b, const char *v, struct ref_val *rec)
{
    size_t n = strlen(v);
    rec->present = 1;
    rec->quoted = v[0] == '"';
    rec->off = b->len + (size_t)rec->quoted;
    rec->len = n - (rec->quoted ? 2 : 0);
    sb_add(b, v);
}

static const char *pick(const char *const *list, size_t n)
{
    return list[cip_rand_below((uint32_t)n)];
}
#define PICK(list) pick(list, sizeof list / sizeof list[0])

static const char *const semi_before[] = {"", "", "", " ", "\t"};
static const char *const semi_after[] = {"", "", " ", "  ", "\t", " \t"};
static const char *const comma_before[] = {"", "", " ", "\t"};
static const char *const comma_after[] = {"", " ", " ", "  ", "\t"};

struct gen_elem {
    struct ref_elem want;
    const struct node_piece *node;
};

/* One element: for (or not), maybe by/proto/host, maybe extensions, in a
 * random order with random blanks around ";". */
static void gen_element(sbuf *b, struct gen_elem *g)
{
    int order[8], n = 0, i, used_ext[10] = {0};
    memset(&g->want, 0, sizeof g->want);
    g->want.start = b->len;
    g->node = pick_piece();
    if (g->node->text)
        order[n++] = 0;
    if (cip_rand_below(10) < 3)
        order[n++] = 1;
    if (cip_rand_below(10) < 3)
        order[n++] = 2;
    if (cip_rand_below(10) < 3)
        order[n++] = 3;
    while (n == 0 || (n < 6 && cip_rand_below(10) < 2))
        order[n++] = 4;
    for (i = n - 1; i > 0; i--) {
        int j = (int)cip_rand_below((uint32_t)i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (i = 0; i < n; i++) {
        if (i) {
            sb_add(b, PICK(semi_before));
            sb_add(b, ";");
            sb_add(b, PICK(semi_after));
        }
        switch (order[i]) {
        case 0:
            sb_name(b, "for");
            sb_add(b, "=");
            sb_value(b, g->node->text, &g->want.v[V_FOR]);
            break;
        case 1:
            sb_name(b, "by");
            sb_add(b, "=");
            sb_value(b, PICK(by_values), &g->want.v[V_BY]);
            break;
        case 2:
            sb_name(b, "proto");
            sb_add(b, "=");
            sb_value(b, PICK(proto_values), &g->want.v[V_PROTO]);
            break;
        case 3:
            sb_name(b, "host");
            sb_add(b, "=");
            sb_value(b, PICK(host_values), &g->want.v[V_HOST]);
            break;
        default: {
            struct ref_val ignored;
            uint32_t k;
            do
                k = cip_rand_below(10);
            while (used_ext[k]);
            used_ext[k] = 1;
            sb_name(b, ext_names[k]);
            sb_add(b, "=");
            sb_value(b, PICK(ext_values), &ignored);
        }
        }
    }
}

static size_t gen_header(sbuf *b, struct gen_elem *g, size_t max)
{
    size_t n = 1 + cip_rand_below(cip_rand_below(8) ? 8 : (uint32_t)max), i;
    b->len = 0;
    for (i = 0; i < n; i++) {
        if (i) {
            sb_add(b, PICK(comma_before));
            sb_add(b, ",");
            sb_add(b, PICK(comma_after));
        }
        gen_element(b, &g[i]);
        g[i].want.end = b->len;
    }
    return n;
}

static void gen_expect(const struct gen_elem *g, size_t n, const char *value, size_t len,
                       int recursive, struct exp_walk *out)
{
    static struct ref_hop h[CIP_LIST_MAX_HOPS];
    size_t starts[CIP_LIST_MAX_HOPS], kept = n < CIP_LIST_MAX_HOPS ? n : CIP_LIST_MAX_HOPS, k;
    for (k = 0; k < kept; k++) {
        const struct gen_elem *e = &g[n - kept + k];
        starts[k] = e->want.start;
        h[k].trusted = e->node->kind == K_TRUSTED;
        h[k].status = e->node->kind == K_STOP ? e->node->status : CIP_ENDPOINT_OK;
        strcpy(h[k].text, e->node->hop ? e->node->hop : "");
    }
    ref_walk(h, starts, kept, value, len, recursive, out);
}

static int same_ref_elem(const struct ref_elem *a, const struct ref_elem *b)
{
    int i;
    if (a->start != b->start || a->end != b->end)
        return 0;
    for (i = 0; i < 4; i++) {
        if (a->v[i].present != b->v[i].present)
            return 0;
        if (a->v[i].present && (a->v[i].off != b->v[i].off || a->v[i].len != b->v[i].len ||
                                a->v[i].quoted != b->v[i].quoted))
            return 0;
    }
    return 1;
}

static void test_property(void)
{
    enum { ROUNDS = 6000, MAXN = 90 };
    static struct gen_elem g[MAXN];
    sbuf b;
    unsigned long walks = 0;
    int round;
    b.cap = MAXN * 400;
    b.p = malloc(b.cap);
    if (!b.p)
        abort();
    cip_rand_seed(0x7239);
    for (round = 0; round < ROUNDS; round++) {
        size_t n = gen_header(&b, g, MAXN), k;
        parse_run r;
        int rec, ref;
        run_parse(&r, b.p, b.len);
        CIP_CONTEXT("property round %d, %lu elements: '%.*s%s'", round, (unsigned long)n,
                    (int)(b.len < 200 ? b.len : 200), b.p, b.len > 200 ? "..." : "");
        /* the reference parser sees what the generator wrote */
        ref = ref_parse(r.buf, r.len);
        if (CHECKF(ref == REF_OK && ref_count == n, "reference: %d, %lu elements", ref,
                   (unsigned long)ref_count))
            for (k = 0; k < n; k++)
                CHECKF(same_ref_elem(&ref_elems[k], &g[k].want),
                       "reference element %lu differs from the generator", (unsigned long)k);
        compare_with_ref(&r, ref);
        if (r.st == CIP_FWD_OK) {
            /* node answers match the pieces */
            for (k = 0; k < r.f.kept; k++) {
                const struct node_piece *p = g[n - r.f.kept + k].node;
                cip_endpoint ep;
                if (!r.f.elements[k].for_node.text)
                    continue;
                if (p->kind == K_STOP) {
                    CHECKF((int)cip_forwarded_node(&r.f.elements[k].for_node, &ep) == p->status,
                           "node %s: expected status %d", p->text, p->status);
                } else if (CHECKF(cip_forwarded_node(&r.f.elements[k].for_node, &ep) ==
                                      CIP_ENDPOINT_OK,
                                  "node %s: not OK", p->text)) {
                    char t[64];
                    endpoint_text(&ep, t);
                    CHECK_EQ_STR(t, p->hop);
                }
            }
            for (rec = 0; rec <= 1; rec++) {
                struct exp_walk want;
                gen_expect(g, n, r.buf, r.len, rec, &want);
                check_walk(&r, trust, rec, &want);
                walks++;
            }
        }
        end_parse(&r);
    }
    CIP_CONTEXT("");
    free(b.p);
    fprintf(stderr, "info: test_forwarded property: %lu walks compared with the reference\n",
            walks);
}

/* ------------------------------------------------ property: mutations */

static void mutate(sbuf *b)
{
    static const char inserts[] = "\";,\\= \t";
    int m, count = 1 + (int)cip_rand_below(3);
    for (m = 0; m < count; m++) {
        uint32_t op = cip_rand_below(10);
        size_t pos = b->len ? cip_rand_below((uint32_t)b->len + 1) : 0;
        char c;
        if (op <= 6) { /* insert one of " ; , \ = SP HTAB */
            c = inserts[op];
        } else if (op == 7) { /* delete */
            if (pos < b->len) {
                memmove(b->p + pos, b->p + pos + 1, b->len - pos - 1);
                b->len--;
            }
            continue;
        } else if (op == 8) { /* overwrite with any byte */
            if (pos < b->len)
                b->p[pos] = (char)cip_rand_below(256);
            continue;
        } else { /* truncate */
            b->len = pos;
            continue;
        }
        if (b->len == b->cap)
            continue;
        memmove(b->p + pos + 1, b->p + pos, b->len - pos);
        b->p[pos] = c;
        b->len++;
    }
}

static void test_mutations(void)
{
    enum { ROUNDS = 30000, MAXN = 12 };
    static struct gen_elem g[MAXN];
    sbuf b;
    unsigned long ok = 0, bad = 0;
    int round;
    b.cap = MAXN * 400 + 16;
    b.p = malloc(b.cap);
    if (!b.p)
        abort();
    cip_rand_seed(0xbadc0de);
    for (round = 0; round < ROUNDS; round++) {
        parse_run r;
        int ref;
        gen_header(&b, g, MAXN);
        mutate(&b);
        run_parse(&r, b.p, b.len);
        CIP_CONTEXT("mutation round %d: '%.*s%s'", round, (int)(b.len < 200 ? b.len : 200), b.p,
                    b.len > 200 ? "..." : "");
        ref = ref_parse(r.buf, r.len);
        compare_with_ref(&r, ref);
        if (r.st == CIP_FWD_OK) {
            ok++;
            if (r.f.kept > 0) {
                struct exp_walk want;
                expect_from_nodes(&r, trust, ON, &want);
                check_walk(&r, trust, ON, &want);
                expect_from_nodes(&r, trust, OFF, &want);
                check_walk(&r, trust, OFF, &want);
            }
        } else {
            bad++;
        }
        end_parse(&r);
    }
    CIP_CONTEXT("");
    free(b.p);
    fprintf(stderr, "info: test_forwarded mutations: %lu parsed OK, %lu rejected\n", ok, bad);
}

/* ---------------------------------------------------- cip_list_rightmost */

static void test_rightmost(void)
{
    static const struct {
        const char *value;
        const char *want;
    } cases[] = {
        {"https, http", "http"},
        {"http,https", "https"},
        {"https", "https"},
        {" a ", "a"},
        {"\thttps\t", "https"},
        {"a,\tb\t", "b"},
        {"a , b ,c", "c"},
        {"a, b c", "b c"},
        {"", ""},
        {"a,", ""},
        {"a, ", ""},
        {",", ""},
        {" \t ", ""},
        {",https", "https"},
    };
    size_t c;
    for (c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t len = strlen(cases[c].value), out_len = 12345;
        char *buf = dup_exact(cases[c].value, len);
        const char *start = NULL;
        CIP_CONTEXT("rightmost '%s'", cases[c].value);
        cip_list_rightmost(buf, len, &start, &out_len);
        if (CHECK(start != NULL && start >= buf && out_len <= len && start + out_len <= buf + len))
            CHECK_EQ_STRN(start, out_len, cases[c].want);
        free(buf);
    }
    CIP_CONTEXT("");
}

int main(void)
{
    static const char *const specs[] = {"198.51.100.0/24", "127.0.0.1", "10.0.0.0/8",
                                        "2001:db8:cafe::/64"};
    size_t i;
    trust = cip_trust_new();
    if (!trust)
        abort();
    for (i = 0; i < sizeof specs / sizeof specs[0]; i++)
        CHECK_EQ_INT(cip_trust_add_spec(trust, specs[i], strlen(specs[i])), CIP_SPEC_OK);
    CHECK_EQ_INT(cip_trust_build(trust), 0);

    test_parse_fixed();
    test_errors();
    test_prefixes();
    test_nodes();
    test_copy();
    test_texts();
    test_walk_fixed();
    test_chosen();
    test_lines();
    test_long();
    test_property();
    test_mutations();
    test_rightmost();

    cip_trust_free(trust);
    return cip_test_finish("test_forwarded");
}
