/* Unit tests of src/cip_trust.c: the trusted-network table
 * (SPEC "ClientIPTrustedProxies", "ClientIPTrustedProxiesFile").
 *
 * Every table is released with cip_trust_free, so the binary runs clean
 * under valgrind --leak-check=full. */
#define _POSIX_C_SOURCE 200112L
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cip_trust.h"
#include "cip_test.h"

#define ANY_BAD (-1) /* any status that is an error (not OK, MASKED, EMPTY_LINE) */

/* ------------------------------------------------------------- helpers */

static cip_spec_status add_exact(cip_trust *t, const char *text, size_t len, int line)
{
    char *copy = malloc(len ? len : 1); /* no NUL after it: overreads show under valgrind */
    cip_spec_status st;
    if (!copy)
        abort();
    memcpy(copy, text, len);
    st = line ? cip_trust_add_line(t, copy, len) : cip_trust_add_spec(t, copy, len);
    free(copy);
    return st;
}

static cip_spec_status add(cip_trust *t, const char *spec)
{
    return add_exact(t, spec, strlen(spec), 0);
}

static cip_addr A(const char *text)
{
    cip_addr a;
    if (!cip_addr_parse(text, strlen(text), &a)) {
        fprintf(stderr, "test bug: cannot parse \"%s\"\n", text);
        abort();
    }
    return a;
}

/* The text of the network that trusts addr, or NULL; kept in a static
 * buffer so it can be compared with CHECK_EQ_STR. */
static const char *trusted_by(const cip_trust *t, const char *addr)
{
    static char buf[CIP_PREFIX_TEXT_MAX];
    cip_addr a = A(addr);
    const cip_prefix *p = cip_trust_lookup(t, &a);
    size_t n;
    if (!p)
        return NULL;
    n = cip_prefix_format(p, buf);
    if (n != strlen(buf))
        return "(cip_prefix_format returned a wrong length)";
    return buf;
}

/* A built table from a NULL-terminated list of specs, all expected to add. */
static cip_trust *table_of(const char *const *specs)
{
    cip_trust *t = cip_trust_new();
    CHECK(t != NULL);
    if (!t)
        abort();
    for (; *specs; specs++) {
        cip_spec_status st = add(t, *specs);
        CHECKF(st == CIP_SPEC_OK || st == CIP_SPEC_HOST_BITS_MASKED, "add \"%s\": status %d",
               *specs, (int)st);
    }
    CHECK_EQ_INT(cip_trust_build(t), 0);
    return t;
}

/* 128-bit values for the naive reference matcher. */
typedef struct {
    uint64_t hi, lo;
} u128;

static u128 u128_from(const uint8_t b[16])
{
    u128 v = {0, 0};
    int i;
    for (i = 0; i < 8; i++) {
        v.hi = v.hi << 8 | b[i];
        v.lo = v.lo << 8 | b[8 + i];
    }
    return v;
}

static void u128_to(u128 v, uint8_t b[16])
{
    int i;
    for (i = 7; i >= 0; i--) {
        b[i] = (uint8_t)v.hi;
        b[8 + i] = (uint8_t)v.lo;
        v.hi >>= 8;
        v.lo >>= 8;
    }
}

static u128 u128_mask(int len)
{
    u128 m;
    m.hi = len <= 0 ? 0 : len >= 64 ? ~0ULL : ~0ULL << (64 - len);
    m.lo = len <= 64 ? 0 : len >= 128 ? ~0ULL : ~0ULL << (128 - len);
    return m;
}

static u128 u128_and(u128 a, u128 m)
{
    a.hi &= m.hi;
    a.lo &= m.lo;
    return a;
}

static u128 u128_last(u128 net, int len)
{
    u128 m = u128_mask(len);
    net.hi |= ~m.hi;
    net.lo |= ~m.lo;
    return net;
}

static u128 u128_inc(u128 v)
{
    if (++v.lo == 0)
        v.hi++;
    return v;
}

static u128 u128_dec(u128 v)
{
    if (v.lo-- == 0)
        v.hi--;
    return v;
}

static int u128_is_v4(u128 v)
{
    return v.hi == 0 && (v.lo >> 32) == 0xffff;
}

static cip_addr addr_of(u128 v)
{
    uint8_t b[16];
    cip_addr a;
    u128_to(v, b);
    cip_addr_from_v6_bytes(&a, b);
    return a;
}

static void u128_text(u128 v, char *buf)
{
    cip_addr a = addr_of(v);
    cip_addr_format(&a, buf);
}

/* --------------------------------------------------------- spec syntax */

struct spec_case {
    const char *spec;
    int status;          /* cip_spec_status or ANY_BAD */
    const char *network; /* cip_prefix_format of what was stored (single-network specs) */
};

static const struct spec_case spec_cases[] = {
    {"192.0.2.7", CIP_SPEC_OK, "192.0.2.7/32"},
    {"2001:db8::1", CIP_SPEC_OK, "2001:db8::1/128"},
    {"10.0.0.0/8", CIP_SPEC_OK, "10.0.0.0/8"},
    {"2001:db8::/32", CIP_SPEC_OK, "2001:db8::/32"},
    {"2001:DB8::/32", CIP_SPEC_OK, "2001:db8::/32"},
    {"0.0.0.0/0", CIP_SPEC_OK, "0.0.0.0/0"},
    {"::/0", CIP_SPEC_OK, "::/0"},
    {"10.0.0.1/32", CIP_SPEC_OK, "10.0.0.1/32"},
    {"0.0.0.0/32", CIP_SPEC_OK, "0.0.0.0/32"},
    {"255.255.255.255/32", CIP_SPEC_OK, "255.255.255.255/32"},
    {"10.0.0.2/31", CIP_SPEC_OK, "10.0.0.2/31"},
    {"10.0.0.3/31", CIP_SPEC_HOST_BITS_MASKED, "10.0.0.2/31"},
    {"10.0.0.1/32", CIP_SPEC_OK, "10.0.0.1/32"},
    {"128.0.0.0/1", CIP_SPEC_OK, "128.0.0.0/1"},
    {"2001:db8::1/128", CIP_SPEC_OK, "2001:db8::1/128"},
    {"2001:db8::2/127", CIP_SPEC_OK, "2001:db8::2/127"},
    {"2001:db8::3/127", CIP_SPEC_HOST_BITS_MASKED, "2001:db8::2/127"},
    {"10.1.2.3/8", CIP_SPEC_HOST_BITS_MASKED, "10.0.0.0/8"},
    {"172.17.0.0/12", CIP_SPEC_HOST_BITS_MASKED, "172.16.0.0/12"},
    {"192.168.1.1/24", CIP_SPEC_HOST_BITS_MASKED, "192.168.1.0/24"},
    {"2001:db8::1/32", CIP_SPEC_HOST_BITS_MASKED, "2001:db8::/32"},
    {"255.255.255.255/0", CIP_SPEC_HOST_BITS_MASKED, "0.0.0.0/0"},
    {"::1/0", CIP_SPEC_HOST_BITS_MASKED, "::/0"},
    {"8000::/1", CIP_SPEC_OK, "8000::/1"},
    {"ffff::/1", CIP_SPEC_HOST_BITS_MASKED, "8000::/1"},
    /* IPv4-mapped entries of at least /96 are IPv4 entries */
    {"::ffff:10.0.0.0/104", CIP_SPEC_OK, "10.0.0.0/8"},
    {"::ffff:10.1.2.3/104", CIP_SPEC_HOST_BITS_MASKED, "10.0.0.0/8"},
    {"::ffff:10.1.2.3", CIP_SPEC_OK, "10.1.2.3/32"},
    {"::FFFF:10.1.2.3/128", CIP_SPEC_OK, "10.1.2.3/32"},
    {"::ffff:0.0.0.0/96", CIP_SPEC_OK, "0.0.0.0/0"},
    {"::ffff:0:0/96", CIP_SPEC_OK, "0.0.0.0/0"},
    {"::ffff:10.0.0.0/96", CIP_SPEC_HOST_BITS_MASKED, "0.0.0.0/0"},
    /* ... and below /96 they are IPv6 entries */
    {"::ffff:10.0.0.0/33", CIP_SPEC_HOST_BITS_MASKED, "::/33"},
    {"::ffff:0:0/95", CIP_SPEC_HOST_BITS_MASKED, "::fffe:0:0/95"},
    {"::fffe:0:0/95", CIP_SPEC_OK, "::fffe:0:0/95"},
    /* keywords, case-insensitive */
    {"loopback", CIP_SPEC_OK, NULL},
    {"LOOPBACK", CIP_SPEC_OK, NULL},
    {"LoopBack", CIP_SPEC_OK, NULL},
    {"private", CIP_SPEC_OK, NULL},
    {"PRIVATE", CIP_SPEC_OK, NULL},
    {"linklocal", CIP_SPEC_OK, NULL},
    {"LinkLocal", CIP_SPEC_OK, NULL},
    {"all", CIP_SPEC_OK, NULL},
    {"ALL", CIP_SPEC_OK, NULL},
    {"aLl", CIP_SPEC_OK, NULL},
    /* prefixes */
    {"10.0.0.0/33", CIP_SPEC_BAD_PREFIX, NULL},
    {"10.0.0.0/100", CIP_SPEC_BAD_PREFIX, NULL},
    {"10.0.0.0/104", CIP_SPEC_BAD_PREFIX, NULL}, /* v4 lengths are v4 lengths */
    {"::/129", CIP_SPEC_BAD_PREFIX, NULL},
    {"::/1280", CIP_SPEC_BAD_PREFIX, NULL},
    {"::ffff:10.0.0.0/129", CIP_SPEC_BAD_PREFIX, NULL},
    {"10.0.0.0/-1", CIP_SPEC_BAD_PREFIX, NULL},
    {"10.0.0.0/", CIP_SPEC_BAD_PREFIX, NULL},
    {"::/", CIP_SPEC_BAD_PREFIX, NULL},
    {"10.0.0.0/08", CIP_SPEC_BAD_PREFIX, NULL}, /* stricter reading: no leading zeros */
    {"10.0.0.0/00", CIP_SPEC_BAD_PREFIX, NULL},
    {"2001:db8::/032", CIP_SPEC_BAD_PREFIX, NULL},
    {"10.0.0.0/+8", CIP_SPEC_BAD_PREFIX, NULL},
    {"10.0.0.0/ 8", CIP_SPEC_BAD_PREFIX, NULL},
    {"10.0.0.0/8 ", CIP_SPEC_BAD_PREFIX, NULL},
    {"10.0.0.0/8/8", CIP_SPEC_BAD_PREFIX, NULL},
    {"10.0.0.0/0x8", CIP_SPEC_BAD_PREFIX, NULL},
    {"10.0.0.0/8a", CIP_SPEC_BAD_PREFIX, NULL},
    {"10.0.0.0/4294967304", CIP_SPEC_BAD_PREFIX, NULL},     /* 2^32 + 8 */
    {"10.0.0.0/18446744073709551624", CIP_SPEC_BAD_PREFIX, NULL}, /* 2^64 + 8 */
    {"10.0.0.0/255.0.0.0", CIP_SPEC_BAD_PREFIX, NULL},
    {"10.0.0.0/8,192.168.0.0/16", ANY_BAD, NULL},
    /* not addresses */
    {"", CIP_SPEC_BAD_ADDRESS, NULL},
    {"example.com", CIP_SPEC_BAD_ADDRESS, NULL},
    {"localhost", CIP_SPEC_BAD_ADDRESS, NULL},
    {"proxy.example.com/24", CIP_SPEC_BAD_ADDRESS, NULL},
    {"127.1", CIP_SPEC_BAD_ADDRESS, NULL},
    {"127.1/8", CIP_SPEC_BAD_ADDRESS, NULL},
    {"010.0.0.0/8", CIP_SPEC_BAD_ADDRESS, NULL},
    {"0x0a.0.0.0/8", CIP_SPEC_BAD_ADDRESS, NULL},
    {" 10.0.0.1", CIP_SPEC_BAD_ADDRESS, NULL},
    {"10.0.0.1 ", CIP_SPEC_BAD_ADDRESS, NULL},
    {"/8", CIP_SPEC_BAD_ADDRESS, NULL},
    {"/", CIP_SPEC_BAD_ADDRESS, NULL},
    {"loopbacks", CIP_SPEC_BAD_ADDRESS, NULL},
    {"loop", CIP_SPEC_BAD_ADDRESS, NULL},
    {"local", CIP_SPEC_BAD_ADDRESS, NULL},
    {"any", CIP_SPEC_BAD_ADDRESS, NULL},
    {"*", CIP_SPEC_BAD_ADDRESS, NULL},
    {"unknown", CIP_SPEC_BAD_ADDRESS, NULL},
    {"all/0", ANY_BAD, NULL},
    {"fe80::1%eth0", CIP_SPEC_BAD_ADDRESS, NULL},
    {"fe80::%eth0/64", CIP_SPEC_BAD_ADDRESS, NULL},
    {"[::1]", CIP_SPEC_BAD_ADDRESS, NULL},
    {"[::1]/128", CIP_SPEC_BAD_ADDRESS, NULL},
    {"[2001:db8::]/32", CIP_SPEC_BAD_ADDRESS, NULL},
    {"10.0.0.0-10.0.0.255", CIP_SPEC_BAD_ADDRESS, NULL},
    {"10.0.0.1:80", CIP_SPEC_BAD_ADDRESS, NULL},
    {"# comment", CIP_SPEC_BAD_ADDRESS, NULL}, /* comments are add_line's business */
};

static void test_spec_table(void)
{
    size_t i;
    for (i = 0; i < sizeof spec_cases / sizeof spec_cases[0]; i++) {
        const struct spec_case *c = &spec_cases[i];
        cip_trust *t = cip_trust_new();
        cip_spec_status st;
        CIP_CONTEXT("add_spec \"%s\"", c->spec);
        if (!CHECK(t != NULL))
            continue;
        st = add(t, c->spec);
        if (c->status == ANY_BAD)
            CHECKF(st >= CIP_SPEC_BAD_ADDRESS && st != CIP_SPEC_FROZEN,
                   "status %d (%s), expected an error", (int)st, cip_spec_status_text(st));
        else
            CHECKF(st == (cip_spec_status)c->status, "status %d (%s), expected %d (%s)", (int)st,
                   cip_spec_status_text(st), c->status,
                   cip_spec_status_text((cip_spec_status)c->status));
        CHECK_EQ_INT(cip_trust_build(t), 0);
        if (c->status == CIP_SPEC_OK || c->status == CIP_SPEC_HOST_BITS_MASKED) {
            CHECK(cip_trust_count(t) >= 1);
            if (c->network) {
                /* look up the network's own first address */
                char net[CIP_PREFIX_TEXT_MAX];
                const char *slash = strchr(c->network, '/');
                memcpy(net, c->network, (size_t)(slash - c->network));
                net[slash - c->network] = '\0';
                CHECK_EQ_UINT(cip_trust_count(t), 1);
                CHECK_EQ_STR(trusted_by(t, net), c->network);
            }
        } else {
            CHECK_EQ_UINT(cip_trust_count(t), 0); /* a refused spec adds nothing */
            CHECK(trusted_by(t, "10.0.0.1") == NULL);
            CHECK(trusted_by(t, "2001:db8::1") == NULL);
        }
        cip_trust_free(t);
    }
    CIP_CONTEXT("");
}

/* -------------------------------------------------------- boundaries */

static const char *const boundary_cidrs[] = {
    "0.0.0.0/0", "0.0.0.0/1", "128.0.0.0/1", "10.0.0.0/8", "172.16.0.0/12",
    "192.168.1.0/24", "192.0.2.128/25", "10.0.0.2/31", "10.0.0.7/32", "0.0.0.0/32",
    "255.255.255.255/32", "255.255.255.254/31", "100.64.0.0/10", "::ffff:10.0.0.0/104",
    "::/0", "::/1", "8000::/1", "2001:db8::/32", "2001:db8::2/127", "2001:db8::1/128",
    "fe80::/10", "fc00::/7", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127", "::/128", "::1/128", "2001:db8::/96",
    "2001:db8:1234:5678:8000::/65", "2001:db8::/64", "::/80", "::/96", "::fffe:0:0/95",
    "::1:0:0:0/80",
};

/* Parse "net/len" into a 128-bit network and mapped-space length. */
static int cidr_parse(const char *cidr, u128 *net, int *len)
{
    char buf[64];
    const char *slash = strchr(cidr, '/');
    cip_addr a;
    size_t n = (size_t)(slash - cidr);
    memcpy(buf, cidr, n);
    buf[n] = '\0';
    a = A(buf);
    *net = u128_from(a.bytes);
    *len = atoi(slash + 1);
    if (strchr(buf, '.') && strncmp(buf, "::ffff:", 7) != 0)
        *len += 96;
    return 1;
}

static void test_boundaries(void)
{
    size_t i;
    for (i = 0; i < sizeof boundary_cidrs / sizeof boundary_cidrs[0]; i++) {
        const char *cidr = boundary_cidrs[i];
        const char *list[2];
        cip_trust *t;
        u128 net, last, m;
        int len, v4, k;
        char expect[CIP_PREFIX_TEXT_MAX], txt[CIP_ADDR_TEXT_MAX];
        cip_addr a;
        const cip_prefix *p;

        list[0] = cidr;
        list[1] = NULL;
        t = table_of(list);
        cidr_parse(cidr, &net, &len);
        v4 = len >= 96 && u128_is_v4(net);
        last = u128_last(net, len);
        m = u128_mask(len);
        /* what cip_prefix_format should say: the family's own length */
        u128_text(net, txt);
        sprintf(expect, "%s/%d", txt, v4 ? len - 96 : len);

        /* first and last address inside, and random ones between */
        for (k = 0; k < 34; k++) {
            u128 x = k == 0 ? net : k == 1 ? last : net;
            if (k >= 2) {
                x.hi = net.hi | (cip_rand64() & ~m.hi);
                x.lo = net.lo | (cip_rand64() & ~m.lo);
            }
            u128_text(x, txt);
            CIP_CONTEXT("%s: inside %s", cidr, txt);
            a = addr_of(x);
            p = cip_trust_lookup(t, &a);
            /* an IPv6 entry never matches an IPv4 address, even bytewise inside */
            if (!v4 && u128_is_v4(x)) {
                CHECK(p == NULL);
                continue;
            }
            if (CHECK(p != NULL)) {
                char got[CIP_PREFIX_TEXT_MAX];
                cip_prefix_format(p, got);
                CHECK_EQ_STR(got, expect);
                CHECK_EQ_INT(p->prefix_len, len);
                CHECK_EQ_MEM(p->addr.bytes, addr_of(net).bytes, 16);
            }
        }
        /* just outside both ends (in the 128-bit space) */
        if (net.hi || net.lo) {
            u128 x = u128_dec(net);
            u128_text(x, txt);
            CIP_CONTEXT("%s: just below, %s", cidr, txt);
            a = addr_of(x);
            CHECK(cip_trust_lookup(t, &a) == NULL);
        }
        if (~last.hi || ~last.lo) {
            u128 x = u128_inc(last);
            u128_text(x, txt);
            CIP_CONTEXT("%s: just above, %s", cidr, txt);
            a = addr_of(x);
            CHECK(cip_trust_lookup(t, &a) == NULL);
        }
        cip_trust_free(t);
    }
    CIP_CONTEXT("");
}

/* ------------------------------------------------------ family rules */

static void test_families(void)
{
    cip_trust *t;
    {
        static const char *const l[] = {"::/0", NULL};
        t = table_of(l);
        CIP_CONTEXT("::/0");
        CHECK_EQ_STR(trusted_by(t, "2001:db8::1"), "::/0");
        CHECK_EQ_STR(trusted_by(t, "::"), "::/0");
        CHECK_EQ_STR(trusted_by(t, "::1"), "::/0");
        CHECK_EQ_STR(trusted_by(t, "::1.2.3.4"), "::/0"); /* IPv4-compatible is IPv6 */
        CHECK_EQ_STR(trusted_by(t, "::fffe:1.2.3.4"), "::/0");
        CHECK_EQ_STR(trusted_by(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), "::/0");
        CHECK_EQ_STR(trusted_by(t, "10.1.2.3"), NULL);
        CHECK_EQ_STR(trusted_by(t, "::ffff:10.1.2.3"), NULL);
        CHECK_EQ_STR(trusted_by(t, "0.0.0.0"), NULL);
        CHECK_EQ_STR(trusted_by(t, "255.255.255.255"), NULL);
        cip_trust_free(t);
    }
    {
        static const char *const l[] = {"0.0.0.0/0", NULL};
        t = table_of(l);
        CIP_CONTEXT("0.0.0.0/0");
        CHECK_EQ_STR(trusted_by(t, "10.1.2.3"), "0.0.0.0/0");
        CHECK_EQ_STR(trusted_by(t, "::ffff:10.1.2.3"), "0.0.0.0/0");
        CHECK_EQ_STR(trusted_by(t, "0.0.0.0"), "0.0.0.0/0");
        CHECK_EQ_STR(trusted_by(t, "255.255.255.255"), "0.0.0.0/0");
        CHECK_EQ_STR(trusted_by(t, "2001:db8::1"), NULL);
        CHECK_EQ_STR(trusted_by(t, "::"), NULL);
        CHECK_EQ_STR(trusted_by(t, "::1.2.3.4"), NULL);
        CHECK_EQ_STR(trusted_by(t, "::fffe:ffff:ffff"), NULL);
        CHECK_EQ_STR(trusted_by(t, "::1:0:0:0"), NULL);
        cip_trust_free(t);
    }
    {
        static const char *const l[] = {"all", NULL};
        t = table_of(l);
        CIP_CONTEXT("all");
        CHECK_EQ_UINT(cip_trust_count(t), 2);
        CHECK_EQ_STR(trusted_by(t, "10.1.2.3"), "0.0.0.0/0");
        CHECK_EQ_STR(trusted_by(t, "::ffff:10.1.2.3"), "0.0.0.0/0");
        CHECK_EQ_STR(trusted_by(t, "2001:db8::1"), "::/0");
        CHECK_EQ_STR(trusted_by(t, "::"), "::/0");
        cip_trust_free(t);
    }
    {
        static const char *const l[] = {"::/80", NULL};
        t = table_of(l);
        CIP_CONTEXT("::/80");
        CHECK_EQ_STR(trusted_by(t, "::1"), "::/80");
        CHECK_EQ_STR(trusted_by(t, "::1:0:0"), "::/80");
        CHECK_EQ_STR(trusted_by(t, "::fffe:1.2.3.4"), "::/80");
        CHECK_EQ_STR(trusted_by(t, "1.2.3.4"), NULL);
        CHECK_EQ_STR(trusted_by(t, "::ffff:0.0.0.0"), NULL);
        CHECK_EQ_STR(trusted_by(t, "::1:0:0:0"), NULL);
        cip_trust_free(t);
    }
    {
        /* An IPv6 entry that covers the mapped space and an IPv4 entry inside
         * it: neither covers the other, both stay. */
        static const char *const l[] = {"::/0", "10.0.0.0/8", NULL};
        t = table_of(l);
        CIP_CONTEXT("::/0 + 10.0.0.0/8");
        CHECK_EQ_UINT(cip_trust_count(t), 2);
        CHECK_EQ_STR(trusted_by(t, "10.1.2.3"), "10.0.0.0/8");
        CHECK_EQ_STR(trusted_by(t, "::ffff:10.255.255.255"), "10.0.0.0/8");
        CHECK_EQ_STR(trusted_by(t, "11.0.0.0"), NULL);
        CHECK_EQ_STR(trusted_by(t, "9.255.255.255"), NULL);
        CHECK_EQ_STR(trusted_by(t, "2001:db8::1"), "::/0");
        CHECK_EQ_STR(trusted_by(t, "::1"), "::/0");
        cip_trust_free(t);
    }
    {
        static const char *const l[] = {"10.0.0.0/8", "::/0", NULL}; /* other order */
        t = table_of(l);
        CIP_CONTEXT("10.0.0.0/8 + ::/0");
        CHECK_EQ_UINT(cip_trust_count(t), 2);
        CHECK_EQ_STR(trusted_by(t, "10.1.2.3"), "10.0.0.0/8");
        CHECK_EQ_STR(trusted_by(t, "11.0.0.0"), NULL);
        CHECK_EQ_STR(trusted_by(t, "2001:db8::1"), "::/0");
        cip_trust_free(t);
    }
    {
        static const char *const l[] = {"::/80", "::ffff:10.0.0.0/104", "::ffff:0:0/95", NULL};
        t = table_of(l);
        CIP_CONTEXT("::/80 + ::ffff:10.0.0.0/104 + ::ffff:0:0/95");
        CHECK_EQ_UINT(cip_trust_count(t), 2); /* ::fffe:0:0/95 is inside ::/80 */
        CHECK_EQ_STR(trusted_by(t, "10.1.2.3"), "10.0.0.0/8");
        CHECK_EQ_STR(trusted_by(t, "11.1.2.3"), NULL);
        CHECK_EQ_STR(trusted_by(t, "::fffe:1.2.3.4"), "::/80");
        cip_trust_free(t);
    }
    {
        static const char *const l[] = {"0.0.0.0/0", "::/0", "10.0.0.0/8", "2001:db8::/32",
                                        "::1", "127.0.0.1", NULL};
        t = table_of(l);
        CIP_CONTEXT("all, spelled out, + covered entries");
        CHECK_EQ_UINT(cip_trust_count(t), 2);
        CHECK_EQ_STR(trusted_by(t, "10.1.2.3"), "0.0.0.0/0");
        CHECK_EQ_STR(trusted_by(t, "2001:db8::1"), "::/0");
        cip_trust_free(t);
    }
    {
        static const char *const l[] = {"::ffff:0:0/96", "::/0", NULL};
        t = table_of(l);
        CIP_CONTEXT("::ffff:0:0/96 + ::/0");
        CHECK_EQ_UINT(cip_trust_count(t), 2);
        CHECK_EQ_STR(trusted_by(t, "1.2.3.4"), "0.0.0.0/0");
        CHECK_EQ_STR(trusted_by(t, "::1"), "::/0");
        cip_trust_free(t);
    }
    CIP_CONTEXT("");
}

/* ---------------------------------------------------------- keywords */

struct member_case {
    const char *addr;
    const char *network; /* NULL: not trusted */
};

static void check_members(const char *keyword, size_t count, const struct member_case *m, size_t n)
{
    const char *l[2];
    cip_trust *t;
    size_t i;
    l[0] = keyword;
    l[1] = NULL;
    t = table_of(l);
    CIP_CONTEXT("keyword %s", keyword);
    CHECK_EQ_UINT(cip_trust_count(t), count);
    for (i = 0; i < n; i++) {
        CIP_CONTEXT("keyword %s, address %s", keyword, m[i].addr);
        CHECK_EQ_STR(trusted_by(t, m[i].addr), m[i].network);
    }
    cip_trust_free(t);
    CIP_CONTEXT("");
}

static void test_keywords(void)
{
    static const struct member_case loopback[] = {
        {"127.0.0.1", "127.0.0.0/8"},       {"127.0.0.0", "127.0.0.0/8"},
        {"127.255.255.255", "127.0.0.0/8"}, {"::ffff:127.0.0.1", "127.0.0.0/8"},
        {"126.255.255.255", NULL},          {"128.0.0.0", NULL},
        {"::1", "::1/128"},                 {"::2", NULL},
        {"::", NULL},                       {"::1:0:0:1", NULL},
    };
    static const struct member_case private_[] = {
        {"10.0.0.0", "10.0.0.0/8"},
        {"10.255.255.255", "10.0.0.0/8"},
        {"9.255.255.255", NULL},
        {"11.0.0.0", NULL},
        {"172.16.0.0", "172.16.0.0/12"},
        {"172.31.255.255", "172.16.0.0/12"},
        {"172.15.255.255", NULL},
        {"172.32.0.0", NULL},
        {"192.168.0.0", "192.168.0.0/16"},
        {"192.168.255.255", "192.168.0.0/16"},
        {"192.167.255.255", NULL},
        {"192.169.0.0", NULL},
        {"fc00::", "fc00::/7"},
        {"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fc00::/7"},
        {"fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL},
        {"fe00::", NULL},
        {"127.0.0.1", NULL},
        {"::ffff:10.0.0.1", "10.0.0.0/8"},
    };
    static const struct member_case linklocal[] = {
        {"169.254.0.0", "169.254.0.0/16"},
        {"169.254.255.255", "169.254.0.0/16"},
        {"169.253.255.255", NULL},
        {"169.255.0.0", NULL},
        {"fe80::", "fe80::/10"},
        {"fe80::1", "fe80::/10"},
        {"febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe80::/10"},
        {"fec0::", NULL},
        {"fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL},
    };
    static const struct member_case all[] = {
        {"0.0.0.0", "0.0.0.0/0"}, {"255.255.255.255", "0.0.0.0/0"},
        {"::", "::/0"},           {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::/0"},
    };
#define N(x) (sizeof(x) / sizeof((x)[0]))
    check_members("loopback", 2, loopback, N(loopback));
    check_members("Loopback", 2, loopback, N(loopback));
    check_members("private", 4, private_, N(private_));
    check_members("PRIVATE", 4, private_, N(private_));
    check_members("linklocal", 2, linklocal, N(linklocal));
    check_members("LINKLOCAL", 2, linklocal, N(linklocal));
    check_members("all", 2, all, N(all));
    check_members("All", 2, all, N(all));
#undef N
    {
        static const char *const l[] = {"loopback", "private", "linklocal", NULL};
        cip_trust *t = table_of(l);
        CHECK_EQ_UINT(cip_trust_count(t), 8);
        cip_trust_free(t);
    }
    {
        static const char *const l[] = {"all", "loopback", "private", "10.0.0.0/8", NULL};
        cip_trust *t = table_of(l);
        CHECK_EQ_UINT(cip_trust_count(t), 2);
        cip_trust_free(t);
    }
}

/* ---------------------------------------------- nesting and duplicates */

static void test_nesting(void)
{
    cip_trust *t;
    {
        static const char *const l[] = {"10.0.0.0/8", "10.1.0.0/16", NULL};
        t = table_of(l);
        CIP_CONTEXT("10/8 + 10.1/16");
        CHECK_EQ_UINT(cip_trust_count(t), 1);
        CHECK_EQ_STR(trusted_by(t, "10.1.2.3"), "10.0.0.0/8");
        CHECK_EQ_STR(trusted_by(t, "10.2.0.0"), "10.0.0.0/8");
        CHECK_EQ_STR(trusted_by(t, "11.0.0.0"), NULL);
        cip_trust_free(t);
    }
    {
        static const char *const l[] = {"10.1.0.0/16", "10.0.0.0/8", NULL};
        t = table_of(l);
        CIP_CONTEXT("10.1/16 + 10/8");
        CHECK_EQ_UINT(cip_trust_count(t), 1);
        CHECK_EQ_STR(trusted_by(t, "10.1.2.3"), "10.0.0.0/8");
        CHECK_EQ_STR(trusted_by(t, "10.255.0.0"), "10.0.0.0/8");
        cip_trust_free(t);
    }
    {
        static const char *const l[] = {"10.0.0.0/8", "10.0.0.0/8", "10.0.0.0/8", NULL};
        t = table_of(l);
        CIP_CONTEXT("10/8 three times");
        CHECK_EQ_UINT(cip_trust_count(t), 1);
        CHECK_EQ_STR(trusted_by(t, "10.0.0.0"), "10.0.0.0/8");
        cip_trust_free(t);
    }
    {
        static const char *const l[] = {"10.1.2.3", "10.1.2.3/32", "::ffff:10.1.2.3", NULL};
        t = table_of(l);
        CIP_CONTEXT("10.1.2.3 three spellings");
        CHECK_EQ_UINT(cip_trust_count(t), 1);
        CHECK_EQ_STR(trusted_by(t, "10.1.2.3"), "10.1.2.3/32");
        CHECK_EQ_STR(trusted_by(t, "10.1.2.2"), NULL);
        CHECK_EQ_STR(trusted_by(t, "10.1.2.4"), NULL);
        cip_trust_free(t);
    }
    {
        static const char *const l[] = {"10.0.0.0/16", "10.1.0.0/16", "10.0.0.0/8", "10.1.2.3/8",
                                        NULL};
        t = table_of(l);
        CIP_CONTEXT("several inside 10/8");
        CHECK_EQ_UINT(cip_trust_count(t), 1);
        CHECK_EQ_STR(trusted_by(t, "10.0.0.1"), "10.0.0.0/8");
        CHECK_EQ_STR(trusted_by(t, "10.1.0.1"), "10.0.0.0/8");
        cip_trust_free(t);
    }
    {
        /* siblings are not covered by each other: both stay, no merging */
        static const char *const l[] = {"192.168.0.0/24", "192.168.1.0/24", NULL};
        t = table_of(l);
        CIP_CONTEXT("two sibling /24s");
        CHECK_EQ_UINT(cip_trust_count(t), 2);
        CHECK_EQ_STR(trusted_by(t, "192.168.0.255"), "192.168.0.0/24");
        CHECK_EQ_STR(trusted_by(t, "192.168.1.0"), "192.168.1.0/24");
        CHECK_EQ_STR(trusted_by(t, "192.168.1.255"), "192.168.1.0/24");
        CHECK_EQ_STR(trusted_by(t, "192.168.2.0"), NULL);
        CHECK_EQ_STR(trusted_by(t, "192.167.255.255"), NULL);
        cip_trust_free(t);
    }
    {
        static const char *const l[] = {"2001:db8:1::/48", "2001:db8::1", "2001:db8::/32", NULL};
        t = table_of(l);
        CIP_CONTEXT("IPv6 nested");
        CHECK_EQ_UINT(cip_trust_count(t), 1);
        CHECK_EQ_STR(trusted_by(t, "2001:db8:1::5"), "2001:db8::/32");
        CHECK_EQ_STR(trusted_by(t, "2001:db9::"), NULL);
        cip_trust_free(t);
    }
    {
        static const char *const l[] = {"::1", "::/0", NULL};
        t = table_of(l);
        CHECK_EQ_UINT(cip_trust_count(t), 1);
        cip_trust_free(t);
    }
    {
        /* Adjacent but disjoint blocks of different sizes. */
        static const char *const l[] = {"10.0.0.0/9", "10.128.0.0/10", "10.192.0.0/32",
                                        "10.192.0.2/31", NULL};
        t = table_of(l);
        CIP_CONTEXT("adjacent blocks");
        CHECK_EQ_UINT(cip_trust_count(t), 4);
        CHECK_EQ_STR(trusted_by(t, "10.127.255.255"), "10.0.0.0/9");
        CHECK_EQ_STR(trusted_by(t, "10.128.0.0"), "10.128.0.0/10");
        CHECK_EQ_STR(trusted_by(t, "10.191.255.255"), "10.128.0.0/10");
        CHECK_EQ_STR(trusted_by(t, "10.192.0.0"), "10.192.0.0/32");
        CHECK_EQ_STR(trusted_by(t, "10.192.0.1"), NULL);
        CHECK_EQ_STR(trusted_by(t, "10.192.0.2"), "10.192.0.2/31");
        CHECK_EQ_STR(trusted_by(t, "10.192.0.3"), "10.192.0.2/31");
        CHECK_EQ_STR(trusted_by(t, "10.192.0.4"), NULL);
        cip_trust_free(t);
    }
    CIP_CONTEXT("");
}

/* ------------------------------------------- lifecycle and NULL table */

static void test_lifecycle(void)
{
    cip_trust *t;
    cip_addr a = A("10.1.2.3"), b = A("11.0.0.1"), c = A("2001:db8::1");
    const cip_prefix *p;

    /* A NULL table trusts nothing; freeing NULL is fine. */
    CHECK(cip_trust_lookup(NULL, &a) == NULL);
    CHECK(cip_trust_lookup(NULL, &c) == NULL);
    cip_trust_free(NULL);

    /* An empty table, built, trusts nothing. */
    t = cip_trust_new();
    CHECK(t != NULL);
    CHECK_EQ_INT(cip_trust_build(t), 0);
    CHECK_EQ_UINT(cip_trust_count(t), 0);
    CHECK(cip_trust_lookup(t, &a) == NULL);
    CHECK(cip_trust_lookup(t, &c) == NULL);
    cip_trust_free(t);

    /* An empty table never built, freed: no leak. */
    cip_trust_free(cip_trust_new());

    t = cip_trust_new();
    CHECK_EQ_INT(add(t, "10.0.0.0/8"), CIP_SPEC_OK);
    /* Before build the header makes lookup a caller error; if it answers at
     * all, it must not trust what is not in the table. (Either NULL or the
     * right network is accepted for 10.1.2.3.) */
    p = cip_trust_lookup(t, &b);
    CHECK(p == NULL);
    p = cip_trust_lookup(t, &a);
    CHECK(p == NULL || p->prefix_len == 104);
    CHECK_EQ_INT(cip_trust_build(t), 0);
    CHECK_EQ_STR(trusted_by(t, "10.1.2.3"), "10.0.0.0/8");
    CHECK_EQ_STR(trusted_by(t, "11.0.0.1"), NULL);
    CHECK(cip_trust_memory_bytes(t) > 0);
    /* Frozen after build. */
    CHECK_EQ_INT(add(t, "11.0.0.0/8"), CIP_SPEC_FROZEN);
    CHECK_EQ_INT(add_exact(t, "11.0.0.0/8\n", 11, 1), CIP_SPEC_FROZEN);
    CHECK_EQ_STR(trusted_by(t, "11.0.0.1"), NULL);
    CHECK_EQ_UINT(cip_trust_count(t), 1);
    /* Build is idempotent. */
    CHECK_EQ_INT(cip_trust_build(t), 0);
    CHECK_EQ_UINT(cip_trust_count(t), 1);
    CHECK_EQ_STR(trusted_by(t, "10.1.2.3"), "10.0.0.0/8");
    /* The lookup result points into the table and stays valid. */
    p = cip_trust_lookup(t, &a);
    CHECK(p != NULL && p == cip_trust_lookup(t, &a));
    cip_trust_free(t);

    /* Status texts exist for every status. */
    {
        int s;
        for (s = CIP_SPEC_OK; s <= CIP_SPEC_NO_MEMORY; s++) {
            const char *txt = cip_spec_status_text((cip_spec_status)s);
            CIP_CONTEXT("cip_spec_status_text(%d)", s);
            CHECK(txt != NULL && txt[0] != '\0');
        }
        CIP_CONTEXT("");
    }
}

/* ---------------------------------------------------------- add_line */

struct line_case {
    const char *line;
    int status;
};

static void test_add_line(void)
{
    static const struct line_case ok_lines[] = {
        {"", CIP_SPEC_EMPTY_LINE},
        {"\n", CIP_SPEC_EMPTY_LINE},
        {"\r\n", CIP_SPEC_EMPTY_LINE},
        {"\r", CIP_SPEC_EMPTY_LINE},
        {"   ", CIP_SPEC_EMPTY_LINE},
        {"\t \t\r\n", CIP_SPEC_EMPTY_LINE},
        {"# comment", CIP_SPEC_EMPTY_LINE},
        {"#", CIP_SPEC_EMPTY_LINE},
        {"   # indented comment\r\n", CIP_SPEC_EMPTY_LINE},
        {"#11.0.0.0/8", CIP_SPEC_EMPTY_LINE}, /* commented out: not added */
        {"# 12.0.0.0/8 13.0.0.0/8", CIP_SPEC_EMPTY_LINE},
        {"10.0.0.0/8", CIP_SPEC_OK},
        {"10.0.0.0/8\n", CIP_SPEC_OK},
        {"172.16.0.0/12\r\n", CIP_SPEC_OK},
        {"  192.168.0.0/16  \n", CIP_SPEC_OK},
        {"\t2001:db8::/32\t# IPv6 proxies\r\n", CIP_SPEC_OK},
        {"127.0.0.1#lo", CIP_SPEC_OK},
        {"LOOPBACK # keyword", CIP_SPEC_OK},
        {"10.1.2.3/24 # masked", CIP_SPEC_HOST_BITS_MASKED},
        {"203.0.113.9\t\t\r\n", CIP_SPEC_OK},
    };
    static const struct line_case bad_lines[] = {
        {"10.0.0.0/8 192.168.0.0/16", CIP_SPEC_TRAILING_TEXT},
        {"10.0.0.0/8\t10.0.0.1", CIP_SPEC_TRAILING_TEXT},
        {"10.0.0.1 10.0.0.2 # two", CIP_SPEC_TRAILING_TEXT},
        {"  loopback private\r\n", CIP_SPEC_TRAILING_TEXT},
        {"10.0.0.1 bogus", ANY_BAD},
        {"bogus 10.0.0.1", ANY_BAD},
        {"bogus", CIP_SPEC_BAD_ADDRESS},
        {"proxy.example.com\n", CIP_SPEC_BAD_ADDRESS},
        {"  127.1  # short form\r\n", CIP_SPEC_BAD_ADDRESS},
        {"10.0.0.0/33\r\n", CIP_SPEC_BAD_PREFIX},
        {"::/129 # too long", CIP_SPEC_BAD_PREFIX},
        {"10.0.0.0/8,192.168.0.0/16", ANY_BAD},
        {"10.0.0.1\r10.0.0.2", ANY_BAD},
        {"10.0.0.1;", ANY_BAD},
    };
    cip_trust *t = cip_trust_new();
    size_t i;
    for (i = 0; i < sizeof ok_lines / sizeof ok_lines[0]; i++) {
        cip_spec_status st = add_exact(t, ok_lines[i].line, strlen(ok_lines[i].line), 1);
        CIP_CONTEXT("add_line \"%s\"", ok_lines[i].line);
        CHECKF(st == (cip_spec_status)ok_lines[i].status, "status %d (%s), expected %d",
               (int)st, cip_spec_status_text(st), ok_lines[i].status);
    }
    CIP_CONTEXT("");
    CHECK_EQ_INT(cip_trust_build(t), 0);
    /* 10/8, 172.16/12, 192.168/16, 2001:db8::/32, 127/8 + ::1 (loopback), 203.0.113.9 */
    CHECK_EQ_UINT(cip_trust_count(t), 7);
    CHECK_EQ_STR(trusted_by(t, "10.1.2.3"), "10.0.0.0/8");
    CHECK_EQ_STR(trusted_by(t, "172.20.0.1"), "172.16.0.0/12");
    CHECK_EQ_STR(trusted_by(t, "192.168.5.5"), "192.168.0.0/16");
    CHECK_EQ_STR(trusted_by(t, "2001:db8::5"), "2001:db8::/32");
    CHECK_EQ_STR(trusted_by(t, "127.0.0.1"), "127.0.0.0/8");
    CHECK_EQ_STR(trusted_by(t, "::1"), "::1/128");
    CHECK_EQ_STR(trusted_by(t, "203.0.113.9"), "203.0.113.9/32");
    CHECK_EQ_STR(trusted_by(t, "11.0.0.1"), NULL);
    CHECK_EQ_STR(trusted_by(t, "12.0.0.1"), NULL);
    cip_trust_free(t);

    for (i = 0; i < sizeof bad_lines / sizeof bad_lines[0]; i++) {
        cip_spec_status st;
        t = cip_trust_new();
        st = add_exact(t, bad_lines[i].line, strlen(bad_lines[i].line), 1);
        CIP_CONTEXT("add_line \"%s\"", bad_lines[i].line);
        if (bad_lines[i].status == ANY_BAD)
            CHECKF(st >= CIP_SPEC_BAD_ADDRESS && st != CIP_SPEC_FROZEN,
                   "status %d (%s), expected an error", (int)st, cip_spec_status_text(st));
        else
            CHECKF(st == (cip_spec_status)bad_lines[i].status, "status %d (%s), expected %d",
                   (int)st, cip_spec_status_text(st), bad_lines[i].status);
        cip_trust_free(t);
    }
    CIP_CONTEXT("");
}

/* ---------------------------------------------------- cip_prefix_format */

static void test_prefix_format(void)
{
    static const struct {
        const char *addr;
        int len;
        const char *text;
    } cases[] = {
        {"10.0.0.0", 104, "10.0.0.0/8"},
        {"0.0.0.0", 96, "0.0.0.0/0"},
        {"255.255.255.255", 128, "255.255.255.255/32"},
        {"192.0.2.0", 120, "192.0.2.0/24"},
        {"2001:db8::", 32, "2001:db8::/32"},
        {"::", 0, "::/0"},
        {"::1", 128, "::1/128"},
        {"fe80::", 10, "fe80::/10"},
        {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 128,
         "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"},
        {"::fffe:0:0", 95, "::fffe:0:0/95"},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cip_prefix p;
        char buf[CIP_PREFIX_TEXT_MAX + 8];
        size_t n;
        memset(buf, 'Z', sizeof buf);
        p.addr = A(cases[i].addr);
        p.prefix_len = (unsigned char)cases[i].len;
        CIP_CONTEXT("cip_prefix_format %s/%d(mapped space)", cases[i].addr, cases[i].len);
        n = cip_prefix_format(&p, buf);
        CHECK_EQ_STR(buf, cases[i].text);
        CHECK_EQ_UINT(n, strlen(cases[i].text));
        CHECK(memcmp(buf + CIP_PREFIX_TEXT_MAX, "ZZZZZZZZ", 8) == 0);
    }
    CIP_CONTEXT("");
}

/* ------------------------------------------------- randomized vs naive */

typedef struct {
    u128 net, mask;
    int len; /* mapped space */
    int v4;
} entry;

static int entry_contains(const entry *e, u128 a)
{
    if (e->v4 != u128_is_v4(a))
        return 0;
    return ((a.hi ^ e->net.hi) & e->mask.hi) == 0 && ((a.lo ^ e->net.lo) & e->mask.lo) == 0;
}

/* Does e cover f (same family, f inside e)? */
static int entry_covers(const entry *e, const entry *f)
{
    return e->v4 == f->v4 && e->len <= f->len && entry_contains(e, f->net);
}

static const uint32_t v4_firsts[] = {0x0a000000, 0xac100000, 0xc0a80000, 0x64400000, 0xcb007100};
static const uint32_t v6_firsts[] = {0x20010db8, 0x20010db9, 0xfe800000, 0xfd000000, 0x00000000};

/* A random entry. Half the bits come from a small set of starts so that
 * entries nest and collide; host bits are left set about a third of the
 * time (the spec text then carries them and add answers MASKED). */
static void random_entry(entry *e, u128 *raw, char *spec)
{
    uint32_t r = cip_rand_below(100);
    u128 v;
    char txt[64];
    uint8_t b[16];
    if (r < 55) { /* IPv4, written dotted or as mapped IPv6 */
        uint32_t x = (uint32_t)cip_rand64(), start = v4_firsts[cip_rand_below(5)];
        uint32_t lr = cip_rand_below(1000);
        int l4 = lr < 995 ? 16 + (int)cip_rand_below(17) : 8 + (int)cip_rand_below(8);
        r = cip_rand_below(10);
        if (r < 5)
            x = start | (x & (r == 0 ? 0x0000ffff : 0x00ffffff));
        v.hi = 0;
        v.lo = 0xffff00000000ULL | x;
        e->len = 96 + l4;
        e->v4 = 1;
    } else { /* IPv6 */
        uint32_t top = cip_rand_below(4) ? v6_firsts[cip_rand_below(5)] : (uint32_t)cip_rand64();
        v.hi = (uint64_t)top << 32 | (cip_rand64() & (cip_rand_below(2) ? 0xffffULL : ~0ULL) & 0xffffffffULL);
        v.lo = cip_rand_below(2) ? cip_rand64() : cip_rand64() & 0xff;
        uint32_t lr = cip_rand_below(1000);
        e->len = lr < 500 ? 40 + (int)cip_rand_below(25)
                 : lr < 995 ? 65 + (int)cip_rand_below(64)
                            : 8 + (int)cip_rand_below(32);
        if (r >= 97) { /* covering or near the mapped space: an IPv6 entry all the same */
            v.hi = 0;
            v.lo = (cip_rand_below(2) ? 0xffff00000000ULL : 0xfffe00000000ULL) | (uint32_t)cip_rand64();
            e->len = 80 + (int)cip_rand_below(16);
        } else if (r >= 95) { /* IPv4-compatible space, IPv6 */
            v.hi = 0;
            v.lo = (uint32_t)cip_rand64();
            e->len = 96 + (int)cip_rand_below(33);
        }
        e->v4 = 0;
    }
    *raw = v;
    e->mask = u128_mask(e->len);
    e->net = u128_and(v, e->mask);
    e->v4 = e->len >= 96 && u128_is_v4(e->net);
    if (cip_rand_below(3) != 0)
        *raw = e->net;
    if (e->v4 && cip_rand_below(5)) {
        u128_to(*raw, b);
        if (e->len == 128 && cip_rand_below(2))
            sprintf(spec, "%u.%u.%u.%u", b[12], b[13], b[14], b[15]);
        else
            sprintf(spec, "%u.%u.%u.%u/%d", b[12], b[13], b[14], b[15], e->len - 96);
    } else {
        u128_to(*raw, b);
        inet_ntop(AF_INET6, b, txt, sizeof txt); /* an independent formatter */
        sprintf(spec, "%s/%d", txt, e->len);
    }
}

/* An address near a random entry: its ends, one off its ends, inside. */
static u128 random_addr(const entry *ents, size_t n)
{
    const entry *e;
    u128 m, v;
    uint32_t r = cip_rand_below(10);
    if (r >= 8) { /* anywhere */
        if (cip_rand_below(2)) {
            v.hi = 0;
            v.lo = 0xffff00000000ULL | (uint32_t)cip_rand64();
        } else {
            v.hi = cip_rand64();
            v.lo = cip_rand64();
        }
        return v;
    }
    e = &ents[cip_rand_below((uint32_t)n)];
    m = u128_mask(e->len);
    switch (cip_rand_below(6)) {
    case 0:
        return e->net;
    case 1:
        return u128_last(e->net, e->len);
    case 2:
        return u128_dec(e->net);
    case 3:
        return u128_inc(u128_last(e->net, e->len));
    default:
        v.hi = e->net.hi | (cip_rand64() & ~m.hi);
        v.lo = e->net.lo | (cip_rand64() & ~m.lo);
        return v;
    }
}

static void test_random_vs_naive(void)
{
    enum { NPREFIX = 5000, NADDR = 100000 };
    entry *ents = malloc(NPREFIX * sizeof *ents);
    cip_trust *t = cip_trust_new();
    size_t i, j, kept = 0;
    unsigned long mismatches = 0, trusted = 0;
    if (!ents || !t)
        abort();
    cip_rand_seed(0x7275737431ULL);
    for (i = 0; i < NPREFIX; i++) {
        u128 raw;
        char spec[96];
        cip_spec_status st, want;
        random_entry(&ents[i], &raw, spec);
        want = (raw.hi == ents[i].net.hi && raw.lo == ents[i].net.lo) ? CIP_SPEC_OK
                                                                       : CIP_SPEC_HOST_BITS_MASKED;
        st = add(t, spec);
        CHECKF(st == want, "add \"%s\": status %d, expected %d", spec, (int)st, (int)want);
    }
    CHECK_EQ_INT(cip_trust_build(t), 0);

    /* count: entries not covered by another (duplicates count once) */
    for (i = 0; i < NPREFIX; i++) {
        int covered = 0;
        for (j = 0; j < NPREFIX && !covered; j++) {
            if (i == j || !entry_covers(&ents[j], &ents[i]))
                continue;
            /* a strictly larger cover, or an equal one earlier in the list */
            covered = ents[j].len < ents[i].len || j < i;
        }
        kept += !covered;
    }
    CHECK_EQ_UINT(cip_trust_count(t), kept);

    for (i = 0; i < NADDR; i++) {
        u128 a = random_addr(ents, NPREFIX);
        cip_addr ca = addr_of(a);
        const cip_prefix *p = cip_trust_lookup(t, &ca);
        const entry *best = NULL;
        for (j = 0; j < NPREFIX; j++)
            if ((!best || ents[j].len < best->len) && entry_contains(&ents[j], a))
                best = &ents[j];
        if (!best) {
            if (p) {
                char at[CIP_ADDR_TEXT_MAX], pt[CIP_PREFIX_TEXT_MAX];
                u128_text(a, at);
                cip_prefix_format(p, pt);
                CHECKF(0, "random: %s trusted by %s, naive matcher finds nothing", at, pt);
                mismatches++;
            }
            continue;
        }
        trusted++;
        {
            uint8_t nb[16];
            u128_to(best->net, nb);
            if (!p || p->prefix_len != best->len || memcmp(p->addr.bytes, nb, 16) != 0) {
                char at[CIP_ADDR_TEXT_MAX], nt[CIP_ADDR_TEXT_MAX], pt[CIP_PREFIX_TEXT_MAX];
                u128_text(a, at);
                u128_text(best->net, nt);
                if (p)
                    cip_prefix_format(p, pt);
                CHECKF(0, "random: %s trusted by %s, naive matcher says %s/%d(mapped space)", at,
                       p ? pt : "nothing", nt, best->len);
                mismatches++;
            }
        }
    }
    CHECKF(mismatches == 0, "random: %lu of %d lookups disagree with the naive matcher",
           mismatches, NADDR);
    /* the bias works: both answers are common */
    CHECKF(trusted > NADDR / 5 && trusted < NADDR - NADDR / 10, "random: %lu of %d trusted",
           trusted, NADDR);
    fprintf(stderr, "info: test_trust random: %lu prefixes kept of %d, %lu of %d addresses trusted\n",
            (unsigned long)kept, NPREFIX, trusted, NADDR);
    cip_trust_free(t);
    free(ents);
}

/* ----------------------------------------------------- 100,000 entries */

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_large(void)
{
    enum { N = 100000 };
    u128 *addrs = malloc(N * sizeof *addrs);
    cip_trust *t = cip_trust_new();
    double t0, t1, t2;
    size_t i;
    unsigned long found = 0, bad = 0;
    char line[96];
    if (!addrs || !t)
        abort();
    cip_rand_seed(100000);
    t0 = now_seconds();
    for (i = 0; i < N; i++) {
        /* as a ClientIPTrustedProxiesFile would be: lines, mixed v4/v6 */
        uint8_t b[16];
        int n;
        char txt[64];
        if (i % 3) {
            uint32_t x = (uint32_t)cip_rand64();
            addrs[i].hi = 0;
            addrs[i].lo = 0xffff00000000ULL | x;
            n = sprintf(line, "%u.%u.%u.%u%s\n", x >> 24, (x >> 16) & 255, (x >> 8) & 255,
                        x & 255, i % 7 == 0 ? "/32" : "");
        } else {
            addrs[i].hi = 0x20010db800000000ULL | (cip_rand64() & 0xffffffffULL);
            addrs[i].lo = cip_rand64();
            u128_to(addrs[i], b);
            inet_ntop(AF_INET6, b, txt, sizeof txt);
            n = sprintf(line, "%s/128\r\n", txt);
        }
        bad += add_exact(t, line, (size_t)n, 1) != CIP_SPEC_OK;
    }
    t1 = now_seconds();
    CHECK_EQ_INT(cip_trust_build(t), 0);
    t2 = now_seconds();
    CHECKF(bad == 0, "large: %lu of %d lines refused", bad, N);
    CHECK(cip_trust_count(t) > N - 100 && cip_trust_count(t) <= N);
    for (i = 0; i < N; i++) {
        cip_addr a = addr_of(addrs[i]);
        const cip_prefix *p = cip_trust_lookup(t, &a);
        found += p && memcmp(p->addr.bytes, a.bytes, 16) == 0 && p->prefix_len == 128;
    }
    CHECKF(found == N, "large: %lu of %d entries found by lookup", found, N);
    /* neighbours of entries are not trusted (unless they are entries too) */
    for (i = 0, found = 0; i < N && found < 10; i++) {
        u128 x = u128_inc(addrs[i]);
        cip_addr a = addr_of(x);
        const cip_prefix *p = cip_trust_lookup(t, &a);
        if (p) {
            size_t j;
            int real = 0;
            for (j = 0; j < N && !real; j++)
                real = addrs[j].hi == x.hi && addrs[j].lo == x.lo;
            found += !real;
        }
    }
    CHECKF(found == 0, "large: %lu neighbours wrongly trusted", found);
    fprintf(stderr, "info: test_trust large: %d lines added in %.3f s, built in %.3f s, %lu entries, "
                    "%lu bytes\n",
            N, t1 - t0, t2 - t1, (unsigned long)cip_trust_count(t),
            (unsigned long)cip_trust_memory_bytes(t));
    cip_trust_free(t);
    free(addrs);
}

int main(void)
{
    test_spec_table();
    test_boundaries();
    test_families();
    test_keywords();
    test_nesting();
    test_lifecycle();
    test_add_line();
    test_prefix_format();
    test_random_vs_naive();
    test_large();
    return cip_test_finish("test_trust");
}
