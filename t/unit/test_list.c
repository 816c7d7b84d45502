/* Unit tests of src/cip_list.c: the right-to-left walk of an
 * X-Forwarded-For-style list (SPEC "ClientIPRecursive", "ClientIPHeader").
 *
 * keep_len, as read from cip_list.h and the SPEC ("consumed entries are
 * removed ... what remains is the untrusted, left part; the header is unset
 * when nothing remains"):
 *   - hop_count == 0 (nothing taken): the value is left as it is, so
 *     keep_len == len;
 *   - otherwise: the value up to the separator left of the leftmost taken
 *     entry, with that trailing ", " trimmed; 0 when nothing is left of it.
 *     For an INVALID_ENTRY stop, the invalid entry and everything left of
 *     it remain.
 * Where the trimming could reasonably go further (an empty entry just left
 * of the cut, as in "a,,10.0.0.1"), either stopping after one separator or
 * trimming all trailing ',', ' ', '\t' is accepted. */
#define _POSIX_C_SOURCE 200112L
#include <stdlib.h>
#include <string.h>

#include "cip_list.h"
#include "cip_test.h"

static cip_trust *trust; /* {127.0.0.1, 10.0.0.0/8} */

/* --------------------------------------------------------------- helpers */

/* One walk over an exactly-sized heap copy of value (no NUL after it). */
typedef struct {
    char *buf;
    size_t len;
    cip_walk w;
} walk_run;

static void run_walk(walk_run *r, const char *value, size_t len, const cip_trust *t, int recursive)
{
    r->buf = malloc(len ? len : 1);
    if (!r->buf)
        abort();
    memcpy(r->buf, value, len);
    r->len = len;
    memset(&r->w, 0xa5, sizeof r->w); /* garbage in: every field must be written */
    cip_list_walk(r->buf, len, t, recursive, &r->w);
}

static void end_walk(walk_run *r)
{
    free(r->buf);
    r->buf = NULL;
}

/* The hops as text, right to left: "10.1.2.3 [2001:db8::2]:443 1.2.3.4:80". */
static const char *hops_text(const cip_walk *w)
{
    static char out[64 * 64];
    size_t i, o = 0;
    out[0] = '\0';
    for (i = 0; i < w->hop_count && i < CIP_LIST_MAX_HOPS; i++) {
        char a[CIP_ADDR_TEXT_MAX];
        const cip_endpoint *e = &w->hops[i].endpoint;
        cip_addr_format(&e->addr, a);
        if (i)
            out[o++] = ' ';
        if (e->port && !cip_addr_is_v4(&e->addr))
            o += (size_t)sprintf(out + o, "[%s]:%u", a, (unsigned)e->port);
        else if (e->port)
            o += (size_t)sprintf(out + o, "%s:%u", a, (unsigned)e->port);
        else
            o += (size_t)sprintf(out + o, "%s", a);
    }
    return out;
}

static int same_prefix(const cip_prefix *a, const cip_prefix *b)
{
    if (!a || !b)
        return a == b;
    return a->prefix_len == b->prefix_len && memcmp(a->addr.bytes, b->addr.bytes, 16) == 0;
}

/* trusted_by of every hop: in recursive mode it is exactly what the table
 * says; with recursion off the one hop may not have been looked up (NULL),
 * but if it is set it must be right. */
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

static int is_sep(char c)
{
    return c == ' ' || c == '\t' || c == ',';
}

/* keep_len bounds for a cut at `cut` (start of the leftmost taken entry's
 * segment, i.e. just after its left comma, or 0): [lo, hi]. */
static void keep_bounds(const char *v, size_t cut, size_t *lo, size_t *hi)
{
    size_t n = cut;
    if (n > 0 && v[n - 1] == ',')
        n--;
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    *hi = n;
    while (n > 0 && is_sep(v[n - 1]))
        n--;
    *lo = n;
}

/* ------------------------------------------------------- fixed cases */

enum { OFF = 0, ON = 1 };
#define NOCHECK ((const char *)-1)

struct walk_case {
    const char *value;
    int recursive;
    const char *hops;   /* hops_text */
    cip_walk_stop stop;
    int bad_status;     /* when INVALID_ENTRY */
    const char *bad;    /* bad entry text when INVALID_ENTRY */
    const char *keep;   /* the value's first keep_len bytes; NOCHECK: bounds only */
};

static const struct walk_case walk_cases[] = {
    /* recursion Off: the rightmost entry, trusted or not */
    {"203.0.113.7, 10.1.2.3", OFF, "10.1.2.3", CIP_WALK_NOT_RECURSIVE, 0, NULL, "203.0.113.7"},
    {"203.0.113.7", OFF, "203.0.113.7", CIP_WALK_NOT_RECURSIVE, 0, NULL, ""},
    {"10.1.2.3, 203.0.113.7", OFF, "203.0.113.7", CIP_WALK_NOT_RECURSIVE, 0, NULL, "10.1.2.3"},
    {"a, b, 10.1.2.3", OFF, "10.1.2.3", CIP_WALK_NOT_RECURSIVE, 0, NULL, "a, b"},
    {"10.0.0.1, 127.0.0.1", OFF, "127.0.0.1", CIP_WALK_NOT_RECURSIVE, 0, NULL, "10.0.0.1"},
    {"[2001:db8::1]:443", OFF, "[2001:db8::1]:443", CIP_WALK_NOT_RECURSIVE, 0, NULL, ""},
    {"garbage, 2001:db8::1 ", OFF, "2001:db8::1", CIP_WALK_NOT_RECURSIVE, 0, NULL, "garbage"},
    {"x,1.2.3.4:8080", OFF, "1.2.3.4:8080", CIP_WALK_NOT_RECURSIVE, 0, NULL, "x"},
    {"1.1.1.1, garbage", OFF, "", CIP_WALK_INVALID_ENTRY, CIP_ENDPOINT_BAD_ADDR, "garbage",
     "1.1.1.1, garbage"},
    {"1.1.1.1, 1.2.3.4:0", OFF, "", CIP_WALK_INVALID_ENTRY, CIP_ENDPOINT_BAD_PORT, "1.2.3.4:0",
     "1.1.1.1, 1.2.3.4:0"},
    {"1.1.1.1,", OFF, "", CIP_WALK_INVALID_ENTRY, CIP_ENDPOINT_EMPTY, "", "1.1.1.1,"},
    {"", OFF, "", CIP_WALK_INVALID_ENTRY, CIP_ENDPOINT_EMPTY, "", ""},
    {"unknown", OFF, "", CIP_WALK_INVALID_ENTRY, CIP_ENDPOINT_BAD_ADDR, "unknown", "unknown"},
    /* recursion On */
    {"203.0.113.7, 10.1.2.3", ON, "10.1.2.3 203.0.113.7", CIP_WALK_UNTRUSTED, 0, NULL, ""},
    {"1.1.1.1, 2.2.2.2, 10.0.0.1, 127.0.0.1", ON, "127.0.0.1 10.0.0.1 2.2.2.2",
     CIP_WALK_UNTRUSTED, 0, NULL, "1.1.1.1"},
    {"10.0.0.1, 127.0.0.1", ON, "127.0.0.1 10.0.0.1", CIP_WALK_ALL_TRUSTED, 0, NULL, ""},
    {"127.0.0.1", ON, "127.0.0.1", CIP_WALK_ALL_TRUSTED, 0, NULL, ""},
    {"203.0.113.7", ON, "203.0.113.7", CIP_WALK_UNTRUSTED, 0, NULL, ""},
    {"1.1.1.1, garbage, 10.0.0.1", ON, "10.0.0.1", CIP_WALK_INVALID_ENTRY,
     CIP_ENDPOINT_BAD_ADDR, "garbage", "1.1.1.1, garbage"},
    {"1.1.1.1, garbage", ON, "", CIP_WALK_INVALID_ENTRY, CIP_ENDPOINT_BAD_ADDR, "garbage",
     "1.1.1.1, garbage"},
    {"garbage, 1.1.1.1, 10.0.0.1", ON, "10.0.0.1 1.1.1.1", CIP_WALK_UNTRUSTED, 0, NULL,
     "garbage"},
    {" 1.1.1.1 ,\t10.0.0.1\t", ON, "10.0.0.1 1.1.1.1", CIP_WALK_UNTRUSTED, 0, NULL, ""},
    {"9.9.9.9,  bogus\t , 10.0.0.1", ON, "10.0.0.1", CIP_WALK_INVALID_ENTRY,
     CIP_ENDPOINT_BAD_ADDR, "bogus", "9.9.9.9,  bogus"},
    {"x, 9.9.9.9 \t,\t 10.0.0.1", ON, "10.0.0.1 9.9.9.9", CIP_WALK_UNTRUSTED, 0, NULL, "x"},
    {",,,", ON, "", CIP_WALK_INVALID_ENTRY, CIP_ENDPOINT_EMPTY, "", ",,,"},
    {" \t ", ON, "", CIP_WALK_INVALID_ENTRY, CIP_ENDPOINT_EMPTY, "", " \t "},
    {",10.0.0.1", ON, "10.0.0.1", CIP_WALK_INVALID_ENTRY, CIP_ENDPOINT_EMPTY, "", ""},
    {"1.1.1.1,,10.0.0.1", ON, "10.0.0.1", CIP_WALK_INVALID_ENTRY, CIP_ENDPOINT_EMPTY, "",
     NOCHECK},
    {"1.1.1.1 , 10.0.0.1 ,", ON, "", CIP_WALK_INVALID_ENTRY, CIP_ENDPOINT_EMPTY, "",
     "1.1.1.1 , 10.0.0.1 ,"},
    {"1.1.1.1,10.0.0.1", ON, "10.0.0.1 1.1.1.1", CIP_WALK_UNTRUSTED, 0, NULL, ""},
    {"[2001:db8::1]:443, 10.0.0.1:8080", ON, "10.0.0.1:8080 [2001:db8::1]:443",
     CIP_WALK_UNTRUSTED, 0, NULL, ""},
    {"1.1.1.1, [::ffff:10.0.0.1]:80", ON, "10.0.0.1:80 1.1.1.1", CIP_WALK_UNTRUSTED, 0, NULL,
     ""},
    {"10.0.0.1:80, 127.0.0.1", ON, "127.0.0.1 10.0.0.1:80", CIP_WALK_ALL_TRUSTED, 0, NULL, ""},
    {"unknown, 10.0.0.1", ON, "10.0.0.1", CIP_WALK_INVALID_ENTRY, CIP_ENDPOINT_BAD_ADDR,
     "unknown", "unknown"},
    {"_hidden, 127.0.0.1", ON, "127.0.0.1", CIP_WALK_INVALID_ENTRY, CIP_ENDPOINT_BAD_ADDR,
     "_hidden", "_hidden"},
    {"example.com, 10.0.0.1:0", ON, "", CIP_WALK_INVALID_ENTRY, CIP_ENDPOINT_BAD_PORT,
     "10.0.0.1:0", "example.com, 10.0.0.1:0"},
    {"2001:db8::1, 10.0.0.1", ON, "10.0.0.1 2001:db8::1", CIP_WALK_UNTRUSTED, 0, NULL, ""},
    {"fe80::1%eth0, 10.0.0.1", ON, "10.0.0.1", CIP_WALK_INVALID_ENTRY, CIP_ENDPOINT_BAD_ADDR,
     "fe80::1%eth0", "fe80::1%eth0"},
    {"1.1.1.1, 127.0.0.2, 127.0.0.1", ON, "127.0.0.1 127.0.0.2", CIP_WALK_UNTRUSTED, 0, NULL,
     "1.1.1.1"},
    {"1.1.1.1, 10.0.0.1:65536", ON, "", CIP_WALK_INVALID_ENTRY, CIP_ENDPOINT_BAD_PORT,
     "10.0.0.1:65536", "1.1.1.1, 10.0.0.1:65536"},
    {"1.1.1.1, [1.2.3.4], 10.0.0.1", ON, "10.0.0.1", CIP_WALK_INVALID_ENTRY,
     CIP_ENDPOINT_BAD_ADDR, "[1.2.3.4]", "1.1.1.1, [1.2.3.4]"},
    {"1.1.1.1, 127.1, 10.0.0.1", ON, "10.0.0.1", CIP_WALK_INVALID_ENTRY, CIP_ENDPOINT_BAD_ADDR,
     "127.1", "1.1.1.1, 127.1"},
};

static void check_case(const struct walk_case *c)
{
    walk_run r;
    const cip_walk *w = &r.w;
    size_t len = strlen(c->value);
    run_walk(&r, c->value, len, trust, c->recursive);
    CIP_CONTEXT("walk \"%s\" recursive %s", c->value, c->recursive ? "On" : "Off");
    CHECK_EQ_STR(hops_text(w), c->hops);
    CHECK_EQ_INT(w->stop, c->stop);
    CHECK(w->hop_count <= CIP_LIST_MAX_HOPS);
    check_trusted_by(w, trust, c->recursive);
    if (c->stop == CIP_WALK_INVALID_ENTRY && w->stop == CIP_WALK_INVALID_ENTRY) {
        CHECK_EQ_INT(w->bad_status, c->bad_status);
        if (CHECK(w->bad_entry != NULL && w->bad_entry >= r.buf &&
                  w->bad_entry + w->bad_entry_len <= r.buf + len)) {
            CHECK_EQ_STRN(w->bad_entry, w->bad_entry_len, c->bad);
        }
    }
    CHECK(w->keep_len <= len);
    if (w->hop_count == 0)
        CHECK_EQ_UINT(w->keep_len, len);
    if (c->keep != NOCHECK && w->keep_len <= len)
        CHECK_EQ_STRN(r.buf, w->keep_len, c->keep);
    end_walk(&r);
    CIP_CONTEXT("");
}

static void test_fixed(void)
{
    size_t i;
    for (i = 0; i < sizeof walk_cases / sizeof walk_cases[0]; i++)
        check_case(&walk_cases[i]);

    /* "1.1.1.1,,10.0.0.1": the cut is at the empty entry; keep "1.1.1.1" or
     * "1.1.1.1," (see the top comment). */
    {
        walk_run r;
        run_walk(&r, "1.1.1.1,,10.0.0.1", 17, trust, ON);
        CIP_CONTEXT("walk \"1.1.1.1,,10.0.0.1\" keep_len");
        CHECKF(r.w.keep_len == 7 || r.w.keep_len == 8, "keep_len %lu, expected 7 or 8",
               (unsigned long)r.w.keep_len);
        CHECK(r.w.bad_entry == r.buf + 8 && r.w.bad_entry_len == 0);
        end_walk(&r);
        CIP_CONTEXT("");
    }

    /* bad_entry points into the value at the trimmed entry. */
    {
        walk_run r;
        const char *v = "9.9.9.9,  bogus\t , 10.0.0.1";
        run_walk(&r, v, strlen(v), trust, ON);
        CHECK(r.w.bad_entry == r.buf + 10);
        CHECK_EQ_UINT(r.w.bad_entry_len, 5);
        end_walk(&r);
    }

    /* A NULL table trusts nothing. */
    {
        walk_run r;
        const char *v = "1.1.1.1, 10.0.0.1";
        run_walk(&r, v, strlen(v), NULL, ON);
        CIP_CONTEXT("NULL table");
        CHECK_EQ_STR(hops_text(&r.w), "10.0.0.1");
        CHECK_EQ_INT(r.w.stop, CIP_WALK_UNTRUSTED);
        CHECK(r.w.hop_count == 1 && r.w.hops[0].trusted_by == NULL);
        CHECK_EQ_STRN(r.buf, r.w.keep_len, "1.1.1.1");
        end_walk(&r);
        CIP_CONTEXT("");
    }

    /* Exact length: what follows value+len is not part of the list. */
    {
        cip_walk w;
        const char *v = "1.1.1.1, 10.0.0.1, 2.2.2.2";
        cip_list_walk(v, 17, trust, ON, &w); /* "1.1.1.1, 10.0.0.1" */
        CIP_CONTEXT("prefix of a longer buffer");
        CHECK_EQ_STR(hops_text(&w), "10.0.0.1 1.1.1.1");
        CHECK_EQ_INT(w.stop, CIP_WALK_UNTRUSTED);
        CHECK_EQ_UINT(w.keep_len, 0);
        cip_list_walk(v, 16, trust, ON, &w); /* "1.1.1.1, 10.0.0." */
        CHECK_EQ_INT(w.stop, CIP_WALK_INVALID_ENTRY);
        CHECK_EQ_UINT(w.hop_count, 0);
        CIP_CONTEXT("");
    }

    /* Every stop has a text. */
    {
        int s;
        for (s = CIP_WALK_NOT_RECURSIVE; s <= CIP_WALK_HOP_LIMIT; s++) {
            const char *t = cip_walk_stop_text((cip_walk_stop)s);
            CIP_CONTEXT("cip_walk_stop_text(%d)", s);
            CHECK(t != NULL && t[0] != '\0');
        }
        CIP_CONTEXT("");
    }
}

/* ------------------------------------------------------- long lists */

/* "p0, p1, ..." with n entries produced by name(i). */
static char *build_list(size_t n, const char *(*name)(size_t, char *), size_t *len_out,
                        size_t *offsets)
{
    char *v = malloc(n * 40 + 1);
    size_t i, o = 0;
    char tmp[40];
    if (!v)
        abort();
    for (i = 0; i < n; i++) {
        if (i) {
            memcpy(v + o, ", ", 2);
            o += 2;
        }
        if (offsets)
            offsets[i] = o;
        o += (size_t)sprintf(v + o, "%s", name(i, tmp));
    }
    v[o] = '\0';
    *len_out = o;
    return v;
}

static const char *trusted_name(size_t i, char *buf)
{
    sprintf(buf, "10.%u.%u.%u", (unsigned)(i >> 16) & 255, (unsigned)(i >> 8) & 255,
            (unsigned)i & 255);
    return buf;
}

static size_t g_split;
static const char *garbage_then_trusted(size_t i, char *buf)
{
    if (i < g_split)
        return "garbage";
    return trusted_name(i, buf);
}

static const char *untrusted_then_trusted(size_t i, char *buf)
{
    if (i < g_split) {
        sprintf(buf, "203.0.113.%u", (unsigned)(i % 250) + 1);
        return buf;
    }
    return trusted_name(i, buf);
}

static void test_long(void)
{
    size_t offsets[600], len, i;
    char *v, want[CIP_ADDR_TEXT_MAX];
    walk_run r;

    /* 70 trusted: 64 hops taken from the right, HOP_LIMIT, 6 remain. */
    v = build_list(70, trusted_name, &len, offsets);
    run_walk(&r, v, len, trust, ON);
    CIP_CONTEXT("70 trusted");
    CHECK_EQ_UINT(r.w.hop_count, 64);
    CHECK_EQ_INT(r.w.stop, CIP_WALK_HOP_LIMIT);
    for (i = 0; i < 64 && i < r.w.hop_count; i++) {
        char got[CIP_ADDR_TEXT_MAX];
        trusted_name(69 - i, want);
        cip_addr_format(&r.w.hops[i].endpoint.addr, got);
        CHECK_EQ_STR(got, want);
        CHECK(r.w.hops[i].trusted_by != NULL);
    }
    CHECK_EQ_UINT(r.w.keep_len, offsets[6] - 2);
    end_walk(&r);
    free(v);

    /* Exactly 64 trusted: all taken, nothing remains. Whether that is
     * ALL_TRUSTED (the list ended) or HOP_LIMIT is not fixed by the header;
     * ALL_TRUSTED is the more precise answer. */
    v = build_list(64, trusted_name, &len, offsets);
    run_walk(&r, v, len, trust, ON);
    CIP_CONTEXT("64 trusted");
    CHECK_EQ_UINT(r.w.hop_count, 64);
    CHECK(r.w.stop == CIP_WALK_ALL_TRUSTED || r.w.stop == CIP_WALK_HOP_LIMIT);
    CHECK_EQ_UINT(r.w.keep_len, 0);
    end_walk(&r);
    free(v);

    /* 63 trusted after an untrusted one: the untrusted one is the 64th hop. */
    g_split = 1;
    v = build_list(64, untrusted_then_trusted, &len, offsets);
    run_walk(&r, v, len, trust, ON);
    CIP_CONTEXT("1 untrusted + 63 trusted");
    CHECK_EQ_UINT(r.w.hop_count, 64);
    CHECK_EQ_INT(r.w.stop, CIP_WALK_UNTRUSTED);
    CHECK_EQ_UINT(r.w.keep_len, 0);
    if (r.w.hop_count == 64) {
        cip_addr_format(&r.w.hops[63].endpoint.addr, want);
        CHECK_EQ_STR(want, "203.0.113.1");
        CHECK(r.w.hops[63].trusted_by == NULL);
    }
    end_walk(&r);
    free(v);

    /* 64 trusted after an untrusted one: the limit comes first. */
    v = build_list(65, untrusted_then_trusted, &len, offsets);
    run_walk(&r, v, len, trust, ON);
    CIP_CONTEXT("1 untrusted + 64 trusted");
    CHECK_EQ_UINT(r.w.hop_count, 64);
    CHECK_EQ_INT(r.w.stop, CIP_WALK_HOP_LIMIT);
    CHECK_EQ_STRN(r.buf, r.w.keep_len, "203.0.113.1");
    end_walk(&r);
    free(v);

    /* 600 entries, 536 of garbage on the left: never reached. */
    g_split = 536;
    v = build_list(600, garbage_then_trusted, &len, offsets);
    run_walk(&r, v, len, trust, ON);
    CIP_CONTEXT("536 garbage + 64 trusted");
    CHECK_EQ_UINT(r.w.hop_count, 64);
    CHECK_EQ_INT(r.w.stop, CIP_WALK_HOP_LIMIT);
    CHECK_EQ_UINT(r.w.keep_len, offsets[536] - 2);
    end_walk(&r);
    run_walk(&r, v, len, trust, OFF);
    CIP_CONTEXT("536 garbage + 64 trusted, Off");
    CHECK_EQ_UINT(r.w.hop_count, 1);
    CHECK_EQ_INT(r.w.stop, CIP_WALK_NOT_RECURSIVE);
    CHECK_EQ_UINT(r.w.keep_len, offsets[599] - 2);
    end_walk(&r);
    free(v);

    /* 600 trusted. */
    v = build_list(600, trusted_name, &len, offsets);
    run_walk(&r, v, len, trust, ON);
    CIP_CONTEXT("600 trusted");
    CHECK_EQ_UINT(r.w.hop_count, 64);
    CHECK_EQ_INT(r.w.stop, CIP_WALK_HOP_LIMIT);
    CHECK_EQ_UINT(r.w.keep_len, offsets[536] - 2);
    if (r.w.hop_count == 64) {
        cip_addr_format(&r.w.hops[63].endpoint.addr, want);
        CHECK_EQ_STR(want, "10.0.2.24"); /* entry 536 */
    }
    end_walk(&r);
    free(v);

    /* 600 untrusted-then-trusted with the client far left of the limit. */
    g_split = 590;
    v = build_list(600, untrusted_then_trusted, &len, offsets);
    run_walk(&r, v, len, trust, ON);
    CIP_CONTEXT("590 untrusted + 10 trusted");
    CHECK_EQ_UINT(r.w.hop_count, 11);
    CHECK_EQ_INT(r.w.stop, CIP_WALK_UNTRUSTED);
    CHECK_EQ_UINT(r.w.keep_len, offsets[589] - 2);
    end_walk(&r);
    free(v);
    CIP_CONTEXT("");
}

/* ------------------------------------------ property test vs reference */

enum { KIND_TRUSTED, KIND_UNTRUSTED, KIND_BAD };

struct token {
    const char *text;
    int kind;
    const char *hop;  /* hops_text of it (valid kinds) */
    int status;       /* cip_endpoint_status (bad kind) */
};

static const struct token tokens[] = {
    {"10.0.0.1", KIND_TRUSTED, "10.0.0.1", 0},
    {"127.0.0.1", KIND_TRUSTED, "127.0.0.1", 0},
    {"10.255.255.255:80", KIND_TRUSTED, "10.255.255.255:80", 0},
    {"[::ffff:10.0.0.2]:1", KIND_TRUSTED, "10.0.0.2:1", 0},
    {"::ffff:127.0.0.1", KIND_TRUSTED, "127.0.0.1", 0},
    {"10.1.2.3:65535", KIND_TRUSTED, "10.1.2.3:65535", 0},
    {"1.2.3.4", KIND_UNTRUSTED, "1.2.3.4", 0},
    {"2001:db8::1", KIND_UNTRUSTED, "2001:db8::1", 0},
    {"[2001:db8::2]:443", KIND_UNTRUSTED, "[2001:db8::2]:443", 0},
    {"11.0.0.0", KIND_UNTRUSTED, "11.0.0.0", 0},
    {"127.0.0.2:8080", KIND_UNTRUSTED, "127.0.0.2:8080", 0},
    {"[::1]", KIND_UNTRUSTED, "::1", 0},
    {"9.255.255.255", KIND_UNTRUSTED, "9.255.255.255", 0},
    {"unknown", KIND_BAD, NULL, CIP_ENDPOINT_BAD_ADDR},
    {"_hidden", KIND_BAD, NULL, CIP_ENDPOINT_BAD_ADDR},
    {"1.2.3.4:0", KIND_BAD, NULL, CIP_ENDPOINT_BAD_PORT},
    {"127.1", KIND_BAD, NULL, CIP_ENDPOINT_BAD_ADDR},
    {"", KIND_BAD, NULL, CIP_ENDPOINT_EMPTY},
    {"[1.2.3.4]", KIND_BAD, NULL, CIP_ENDPOINT_BAD_ADDR},
    {"example.com", KIND_BAD, NULL, CIP_ENDPOINT_BAD_ADDR},
    {"10.0.0.1:65536", KIND_BAD, NULL, CIP_ENDPOINT_BAD_PORT},
    {"fe80::1%eth0", KIND_BAD, NULL, CIP_ENDPOINT_BAD_ADDR},
    {"1.2.3.4:080", KIND_BAD, NULL, CIP_ENDPOINT_BAD_PORT},
    /* Near misses of the IPv4 fast path (read from the right): each must
     * fall through to the general parser and get its answer. */
    {"255.255.255.255", KIND_UNTRUSTED, "255.255.255.255", 0},
    {"0.0.0.0", KIND_UNTRUSTED, "0.0.0.0", 0},
    {"100.10.1.0", KIND_UNTRUSTED, "100.10.1.0", 0},
    {"10.200.100.9", KIND_TRUSTED, "10.200.100.9", 0},
    {"1.2.3.04", KIND_BAD, NULL, CIP_ENDPOINT_BAD_ADDR},
    {"1.2.3.256", KIND_BAD, NULL, CIP_ENDPOINT_BAD_ADDR},
    {"01.2.3.4", KIND_BAD, NULL, CIP_ENDPOINT_BAD_ADDR},
    {"1.2.3.012", KIND_BAD, NULL, CIP_ENDPOINT_BAD_ADDR},
    {"10.012.0.1", KIND_BAD, NULL, CIP_ENDPOINT_BAD_ADDR},
    {"1.2.3", KIND_BAD, NULL, CIP_ENDPOINT_BAD_ADDR},
    {"1234.1.2.3", KIND_BAD, NULL, CIP_ENDPOINT_BAD_ADDR},
    {"1.2.3.4.5", KIND_BAD, NULL, CIP_ENDPOINT_BAD_ADDR},
    {"x10.0.0.1", KIND_BAD, NULL, CIP_ENDPOINT_BAD_ADDR},
    {"10.0.0.1x", KIND_BAD, NULL, CIP_ENDPOINT_BAD_ADDR},
    {"1.2.3.4 10.0.0.1", KIND_BAD, NULL, CIP_ENDPOINT_BAD_ADDR},
    {"::10.0.0.1", KIND_UNTRUSTED, "::a00:1", 0},
    {"10.0.0.1\t10.0.0.2", KIND_BAD, NULL, CIP_ENDPOINT_BAD_ADDR},
};
enum { NTOKENS = sizeof tokens / sizeof tokens[0] };

static const struct token *pick_token(void)
{
    uint32_t r = cip_rand_below(100);
    int kind = r < 62 ? KIND_TRUSTED : r < 88 ? KIND_UNTRUSTED : KIND_BAD;
    for (;;) {
        const struct token *t = &tokens[cip_rand_below(NTOKENS)];
        if (t->kind == kind)
            return t;
    }
}

/* Split left to right, then walk the array from the right: the reference. */
struct ref_entry {
    const struct token *tok;
    size_t seg;   /* start of the segment (after the comma before it, or 0) */
    size_t start; /* the trimmed entry */
    size_t end;   /* end of the segment (the comma after it, or len) */
};

struct ref_result {
    char hops[64 * 64];
    size_t hop_count;
    cip_walk_stop stop;
    int bad_status;
    size_t bad_start, bad_len, bad_seg, bad_seg_end;
    size_t cut; /* segment start of the leftmost taken entry; meaningful when hop_count > 0 */
};

static void ref_walk(const struct ref_entry *e, size_t n, int recursive, struct ref_result *out)
{
    size_t i = n, o = 0;
    out->hop_count = 0;
    out->hops[0] = '\0';
    out->cut = 0;
    out->bad_status = 0;
    for (;;) {
        const struct token *t;
        if (i == 0) {
            out->stop = CIP_WALK_ALL_TRUSTED;
            return;
        }
        if (out->hop_count == CIP_LIST_MAX_HOPS) {
            out->stop = CIP_WALK_HOP_LIMIT;
            return;
        }
        i--;
        t = e[i].tok;
        if (t->kind == KIND_BAD) {
            out->stop = CIP_WALK_INVALID_ENTRY;
            out->bad_status = t->status;
            out->bad_start = e[i].start;
            out->bad_len = strlen(t->text);
            out->bad_seg = e[i].seg;
            out->bad_seg_end = e[i].end;
            return;
        }
        o += (size_t)sprintf(out->hops + o, "%s%s", out->hop_count ? " " : "", t->hop);
        out->hop_count++;
        out->cut = e[i].seg;
        if (!recursive) {
            out->stop = CIP_WALK_NOT_RECURSIVE;
            return;
        }
        if (t->kind == KIND_UNTRUSTED) {
            out->stop = CIP_WALK_UNTRUSTED;
            return;
        }
    }
}

static void test_property(void)
{
    static const char *const spaces[] = {"", "", "", " ", " ", "\t", "  ", " \t"};
    enum { ROUNDS = 20000, MAXN = 100 };
    char *value = malloc(MAXN * 48);
    struct ref_entry ents[MAXN];
    unsigned long walks = 0;
    int round;
    if (!value)
        abort();
    cip_rand_seed(0x11575);
    for (round = 0; round < ROUNDS; round++) {
        size_t n = 1 + cip_rand_below(cip_rand_below(10) ? 12 : MAXN), i, len = 0;
        int recursive;
        for (i = 0; i < n; i++) {
            const char *sp;
            if (i)
                value[len++] = ',';
            ents[i].seg = len;
            sp = spaces[cip_rand_below(8)];
            memcpy(value + len, sp, strlen(sp));
            len += strlen(sp);
            ents[i].tok = pick_token();
            ents[i].start = len;
            memcpy(value + len, ents[i].tok->text, strlen(ents[i].tok->text));
            len += strlen(ents[i].tok->text);
            sp = spaces[cip_rand_below(8)];
            memcpy(value + len, sp, strlen(sp));
            len += strlen(sp);
            ents[i].end = len;
        }
        for (recursive = 0; recursive <= 1; recursive++) {
            struct ref_result want;
            walk_run r;
            const cip_walk *w = &r.w;
            char shown[200];
            size_t sl = len < sizeof shown - 1 ? len : sizeof shown - 1;
            memcpy(shown, value, sl);
            shown[sl] = '\0';
            ref_walk(ents, n, recursive, &want);
            run_walk(&r, value, len, trust, recursive);
            walks++;
            CIP_CONTEXT("property round %d, recursive %d, %lu entries: \"%s%s\"", round, recursive,
                        (unsigned long)n, shown, len > sl ? "..." : "");
            CHECK_EQ_STR(hops_text(w), want.hops);
            CHECK_EQ_UINT(w->hop_count, want.hop_count);
            if (want.stop == CIP_WALK_ALL_TRUSTED && want.hop_count == CIP_LIST_MAX_HOPS)
                CHECK(w->stop == CIP_WALK_ALL_TRUSTED || w->stop == CIP_WALK_HOP_LIMIT);
            else
                CHECK_EQ_INT(w->stop, want.stop);
            check_trusted_by(w, trust, recursive);
            if (want.stop == CIP_WALK_INVALID_ENTRY && w->stop == CIP_WALK_INVALID_ENTRY) {
                CHECK_EQ_INT(w->bad_status, want.bad_status);
                /* an empty entry made of blanks has no one position: any in its segment */
                if (want.bad_len == 0)
                    CHECKF(w->bad_entry >= r.buf + want.bad_seg &&
                               w->bad_entry <= r.buf + want.bad_seg_end && w->bad_entry_len == 0,
                           "empty bad_entry at %ld len %lu, expected within [%lu, %lu]",
                           w->bad_entry ? (long)(w->bad_entry - r.buf) : -1L,
                           (unsigned long)w->bad_entry_len, (unsigned long)want.bad_seg,
                           (unsigned long)want.bad_seg_end);
                else
                CHECKF(w->bad_entry == r.buf + want.bad_start && w->bad_entry_len == want.bad_len,
                       "bad_entry at %ld len %lu, expected at %lu len %lu",
                       w->bad_entry ? (long)(w->bad_entry - r.buf) : -1L,
                       (unsigned long)w->bad_entry_len, (unsigned long)want.bad_start,
                       (unsigned long)want.bad_len);
            }
            if (want.hop_count == 0) {
                CHECK_EQ_UINT(w->keep_len, len);
            } else {
                size_t lo, hi;
                keep_bounds(value, want.cut, &lo, &hi);
                CHECKF(w->keep_len >= lo && w->keep_len <= hi,
                       "keep_len %lu, expected %lu (or down to %lu)", (unsigned long)w->keep_len,
                       (unsigned long)hi, (unsigned long)lo);
                if (want.stop == CIP_WALK_INVALID_ENTRY && want.bad_len > 0)
                    CHECK(w->keep_len >= want.bad_start + want.bad_len);
            }
            end_walk(&r);
        }
    }
    CIP_CONTEXT("");
    fprintf(stderr, "info: test_list property: %lu walks compared with the reference\n", walks);
    free(value);
}

/* ------------------------------------------------------ the walk's memo */

/* One connection's sequence of lists: chains of proxies (mostly trusted)
 * that repeat, with changing parts left of them, walked with one memo and
 * without; the two results must agree in every field, under two tables
 * that alternate now and then (name-based virtual hosts on one
 * connection). Each walk gets its own exactly-sized heap copy, freed
 * after it, so a memo that kept a pointer into an earlier value shows as a
 * difference (and under ASan as a use after free). */
static void append_token(char *value, size_t *len, const struct token *t, int comma)
{
    static const char *const spaces[] = {"", "", "", " ", " ", "\t", "  "};
    const char *sp = spaces[cip_rand_below(7)];
    if (comma)
        value[(*len)++] = ',';
    memcpy(value + *len, sp, strlen(sp));
    *len += strlen(sp);
    memcpy(value + *len, t->text, strlen(t->text));
    *len += strlen(t->text);
    sp = spaces[cip_rand_below(7)];
    memcpy(value + *len, sp, strlen(sp));
    *len += strlen(sp);
}

static void check_same_walk(const cip_walk *got, const char *got_buf, const cip_walk *want,
                            const char *want_buf)
{
    CHECK_EQ_UINT(got->hop_count, want->hop_count);
    CHECK_EQ_INT(got->stop, want->stop);
    CHECK_EQ_UINT(got->keep_len, want->keep_len);
    CHECK_EQ_INT(got->bad_status, want->bad_status);
    CHECK_EQ_UINT(got->bad_entry_len, want->bad_entry_len);
    CHECK((got->bad_entry == NULL) == (want->bad_entry == NULL));
    if (got->bad_entry != NULL && want->bad_entry != NULL)
        CHECK_EQ_INT((int)(got->bad_entry - got_buf), (int)(want->bad_entry - want_buf));
    for (size_t i = 0; i < got->hop_count && i < want->hop_count; i++) {
        const cip_hop *g = &got->hops[i], *w = &want->hops[i];
        CHECK(memcmp(&g->endpoint.addr, &w->endpoint.addr, sizeof g->endpoint.addr) == 0);
        CHECK_EQ_UINT(g->endpoint.port, w->endpoint.port);
        CHECK_EQ_UINT(g->endpoint.canonical_len, w->endpoint.canonical_len);
        CHECK(g->trusted_by == w->trusted_by);
        CHECK_EQ_INT((int)(g->text - got_buf), (int)(w->text - want_buf));
        CHECK_EQ_UINT(g->text_len, w->text_len);
    }
}

static void test_memo(void)
{
    enum { CHAINS = 6, WALKS = 40000 };
    static const char *const other_specs[] = {"10.0.0.0/9", "127.0.0.0/8", "2001:db8::/32"};
    cip_trust *other = cip_trust_new();
    if (!other)
        abort();
    for (size_t i = 0; i < 3; i++)
        CHECK_EQ_INT(cip_trust_add_spec(other, other_specs[i], strlen(other_specs[i])), CIP_SPEC_OK);
    CHECK_EQ_INT(cip_trust_build(other), 0);

    cip_rand_seed(0x3e30);
    cip_walk_memo memo;
    memset(&memo, 0, sizeof memo);
    unsigned long hits = 0, stores = 0;
    char chains[CHAINS][400], value[2000];
    size_t chain_len[CHAINS];
    static walk_run with, without;
    for (int walk = 0; walk < WALKS; walk++) {
        /* Now and then a new chain: 1 to 6 entries, mostly trusted. */
        if (walk % 500 == 0)
            for (int c = 0; c < CHAINS; c++) {
                size_t n = 1 + cip_rand_below(6);
                chain_len[c] = 0;
                for (size_t i = 0; i < n; i++)
                    append_token(chains[c], &chain_len[c], pick_token(), i > 0);
            }
        const cip_trust *t = cip_rand_below(50) ? trust : other;
        int c = (int)cip_rand_below(cip_rand_below(4) ? 2 : CHAINS);
        size_t len = 0, left = cip_rand_below(4);
        for (size_t i = 0; i < left; i++)
            append_token(value, &len, pick_token(), i > 0);
        if (left > 0 || cip_rand_below(4) == 0)
            value[len++] = ',';
        memcpy(value + len, chains[c], chain_len[c]);
        len += chain_len[c];

        int hit = memo.hop_count > 0 && memo.trust == t && memo.text_len <= len &&
                  memcmp(value + len - memo.text_len, memo.text, memo.text_len) == 0;
        size_t memo_hops_before = memo.hop_count, memo_len_before = memo.text_len;
        with.buf = malloc(len ? len : 1);
        if (!with.buf)
            abort();
        memcpy(with.buf, value, len);
        memset(&with.w, 0xa5, sizeof with.w);
        cip_list_walk_memo(with.buf, len, t, 1, &memo, &with.w);
        run_walk(&without, value, len, t, 1);
        hits += hit;
        stores += memo.hop_count != memo_hops_before || memo.text_len != memo_len_before;
        char shown[120];
        size_t sl = len < sizeof shown - 1 ? len : sizeof shown - 1;
        memcpy(shown, value, sl);
        shown[sl] = '\0';
        CIP_CONTEXT("memo walk %d (%s, %s table): \"%s\"", walk, hit ? "memo hit" : "no hit",
                    t == trust ? "first" : "second", shown);
        check_same_walk(&with.w, with.buf, &without.w, without.buf);
        CHECK_EQ_UINT(with.w.memo_hops, hit ? memo_hops_before : 0);
        CHECK_EQ_UINT(without.w.memo_hops, 0);
        /* The memo holds only trusted, non-leftmost hops, read from its own bytes. */
        for (size_t i = 0; i < memo.hop_count; i++)
            CHECK(memo.hops[i].trusted_by != NULL && memo.text_from_end[i] <= memo.text_len);
        CHECK(memo.hop_count == 0 || memo.text[0] == ',');
        end_walk(&with);
        end_walk(&without);

        /* Without recursion the memo is neither used nor changed. */
        if (walk % 97 == 0) {
            cip_walk_memo before = memo;
            run_walk(&without, value, len, t, 0);
            with.buf = malloc(len ? len : 1);
            if (!with.buf)
                abort();
            memcpy(with.buf, value, len);
            cip_list_walk_memo(with.buf, len, t, 0, &memo, &with.w);
            check_same_walk(&with.w, with.buf, &without.w, without.buf);
            CHECK(memcmp(&before, &memo, sizeof memo) == 0);
            end_walk(&with);
            end_walk(&without);
        }
    }
    CIP_CONTEXT("");
    /* Not vacuous: the memo was taken often, and replaced often. */
    CHECKF(hits > WALKS / 5, "memo hits %lu of %d walks", hits, WALKS);
    CHECKF(stores > WALKS / 50, "memo replaced %lu times in %d walks", stores, WALKS);
    fprintf(stderr, "info: test_list memo: %d walks compared with and without, %lu memo hits, "
                    "%lu replacements\n", WALKS, hits, stores);
    cip_trust_free(other);
}

int main(void)
{
    static const char *const specs[] = {"127.0.0.1", "10.0.0.0/8"};
    size_t i;
    trust = cip_trust_new();
    if (!trust)
        abort();
    for (i = 0; i < 2; i++)
        CHECK_EQ_INT(cip_trust_add_spec(trust, specs[i], strlen(specs[i])), CIP_SPEC_OK);
    CHECK_EQ_INT(cip_trust_build(trust), 0);

    test_fixed();
    test_long();
    test_property();
    test_memo();

    cip_trust_free(trust);
    return cip_test_finish("test_list");
}
