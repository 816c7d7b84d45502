/* Unit tests of src/cip_addr.c: cip_addr_parse, cip_addr_format,
 * cip_endpoint_parse (SPEC "ClientIPTrustedProxies" address syntax,
 * "ClientIPHeader" list entry syntax).
 *
 * The reference for parsing is glibc's inet_pton, which is exactly as
 * strict as the contract asks (verified on glibc 2.36):
 *   - AF_INET takes only four decimal parts 0-255 and rejects leading zeros
 *     ("010.0.0.1", "00.0.0.0"), short forms ("127.1"), hex/octal, a
 *     trailing dot, signs and spaces. So there is NO intended difference for
 *     IPv4: a dotted quad is accepted by cip_addr_parse iff inet_pton
 *     accepts it. (inet_aton, not inet_pton, is the lax one.)
 *   - AF_INET6 rejects ":::", two "::", more than 8 groups, 5-digit groups,
 *     zone ids, brackets, a trailing single colon, a "::" standing for zero
 *     groups ("1:2:3:4:5:6:7::8"), and an embedded IPv4 part that is not
 *     last or has leading zeros.
 * The one intended difference is in FORMATTING: inet_ntop writes
 * ::ffff:a.b.c.d and ::a.b.c.d (IPv4-compatible) in mixed notation, while
 * cip_addr_format writes an IPv4-mapped address as the bare dotted quad
 * (it is IPv4) and every other IPv6 address in plain RFC 5952 hex
 * ("::102:304"). The differential format test compares against a small
 * reference RFC 5952 formatter written here instead, and against inet_ntop
 * only where inet_ntop does not use mixed notation. */
#define _POSIX_C_SOURCE 200112L
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "cip_addr.h"
#include "cip_test.h"

#define ANY_BAD (-1) /* endpoint table: any status other than OK and EMPTY */

/* Parse from an exactly-sized heap copy (no NUL after it), so that reading
 * past len shows up under valgrind or ASan. */
static int parse_exact(const char *text, size_t len, cip_addr *out)
{
    char *copy = malloc(len ? len : 1);
    int r;
    if (!copy)
        abort();
    memcpy(copy, text, len);
    r = cip_addr_parse(copy, len, out);
    free(copy);
    return r;
}

static cip_endpoint_status endpoint_exact(const char *text, size_t len, cip_endpoint *out)
{
    char *copy = malloc(len ? len : 1);
    cip_endpoint_status r;
    if (!copy)
        abort();
    memcpy(copy, text, len);
    r = cip_endpoint_parse(copy, len, out);
    free(copy);
    return r;
}

/* glibc's answer: 1 and the 16-byte mapped form, or 0. */
static int ref_parse(const char *text, size_t len, uint8_t out[16])
{
    char buf[128];
    uint8_t v4[4];
    if (len >= sizeof buf || memchr(text, '\0', len))
        return 0;
    memcpy(buf, text, len);
    buf[len] = '\0';
    if (inet_pton(AF_INET, buf, v4) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, v4, 4);
        return 1;
    }
    return inet_pton(AF_INET6, buf, out) == 1;
}

static int bytes_are_mapped(const uint8_t b[16])
{
    static const uint8_t pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(b, pfx, 12) == 0;
}

/* Reference RFC 5952 text, except IPv4-mapped which is the dotted quad. */
static void ref_format(const uint8_t b[16], char *out)
{
    unsigned w[8];
    int i, best = -1, best_len = 0, cur = -1, cur_len = 0;
    char *p = out;
    if (bytes_are_mapped(b)) {
        sprintf(out, "%u.%u.%u.%u", b[12], b[13], b[14], b[15]);
        return;
    }
    for (i = 0; i < 8; i++)
        w[i] = (unsigned)b[2 * i] << 8 | b[2 * i + 1];
    for (i = 0; i < 8; i++) {
        if (w[i] == 0) {
            if (cur < 0) {
                cur = i;
                cur_len = 0;
            }
            cur_len++;
            if (cur_len > best_len) { /* strictly longer: the first run wins ties */
                best = cur;
                best_len = cur_len;
            }
        } else {
            cur = -1;
        }
    }
    if (best_len < 2) /* a single zero group is not compressed */
        best = -1;
    for (i = 0; i < 8; i++) {
        if (i == best) {
            *p++ = ':';
            if (i == 0)
                *p++ = ':';
            i += best_len - 1;
            continue;
        }
        p += sprintf(p, "%x", w[i]);
        if (i < 7)
            *p++ = ':';
    }
    *p = '\0';
}

/* ---------------------------------------------------------------- parse */

struct addr_case {
    const char *text;
    int ok;
    int is_v4;
    const char *canonical; /* cip_addr_format of the result */
};

static const struct addr_case addr_cases[] = {
    /* IPv4, valid */
    {"0.0.0.0", 1, 1, "0.0.0.0"},
    {"255.255.255.255", 1, 1, "255.255.255.255"},
    {"1.2.3.4", 1, 1, "1.2.3.4"},
    {"192.0.2.7", 1, 1, "192.0.2.7"},
    {"10.0.0.1", 1, 1, "10.0.0.1"},
    {"9.99.199.249", 1, 1, "9.99.199.249"},
    {"100.64.0.0", 1, 1, "100.64.0.0"},
    /* IPv4, invalid: the strict four-decimal-parts rule */
    {"127.1", 0, 0, NULL},
    {"127.0.1", 0, 0, NULL},
    {"2130706433", 0, 0, NULL},
    {"010.0.0.1", 0, 0, NULL},
    {"01.2.3.4", 0, 0, NULL},
    {"1.02.3.4", 0, 0, NULL},
    {"1.2.3.04", 0, 0, NULL},
    {"00.0.0.0", 0, 0, NULL},
    {"0x7f.0.0.1", 0, 0, NULL},
    {"0x7f000001", 0, 0, NULL},
    {"1.2.3.256", 0, 0, NULL},
    {"256.0.0.0", 0, 0, NULL},
    {"1.2.3.999", 0, 0, NULL},
    {"1.2.3.4294967300", 0, 0, NULL}, /* 2^32 + 4: an overflowing accumulator */
    {"1.2.3.99999999999999999999", 0, 0, NULL},
    {"1.2.3.4.5", 0, 0, NULL},
    {"1..2.3", 0, 0, NULL},
    {"1.2..3.4", 0, 0, NULL},
    {"", 0, 0, NULL},
    {" ", 0, 0, NULL},
    {" 1.2.3.4", 0, 0, NULL},
    {"1.2.3.4 ", 0, 0, NULL},
    {"1.2. 3.4", 0, 0, NULL},
    {"1.2.3.4\t", 0, 0, NULL},
    {"1.2.3.4\n", 0, 0, NULL},
    {"+1.2.3.4", 0, 0, NULL},
    {"1.+2.3.4", 0, 0, NULL},
    {"-1.2.3.4", 0, 0, NULL},
    {"1.2.3.-4", 0, 0, NULL},
    {"1.2.3.4.", 0, 0, NULL},
    {".1.2.3.4", 0, 0, NULL},
    {"1.2.3.", 0, 0, NULL},
    {"1.2.3", 0, 0, NULL},
    {"1000.2.3.4", 0, 0, NULL},
    {"0001.2.3.4", 0, 0, NULL},
    {"1.2.3.0255", 0, 0, NULL},
    {"1.2.3.4/8", 0, 0, NULL},
    {"1.2.3.4:80", 0, 0, NULL},
    {"1.2.3.4e", 0, 0, NULL},
    {"a.b.c.d", 0, 0, NULL},
    {"localhost", 0, 0, NULL},
    {"example.com", 0, 0, NULL},
    {"unknown", 0, 0, NULL},
    {".", 0, 0, NULL},
    {"...", 0, 0, NULL},
    /* IPv6, valid */
    {"::", 1, 0, "::"},
    {"::1", 1, 0, "::1"},
    {"1::", 1, 0, "1::"},
    {"2001:db8::1", 1, 0, "2001:db8::1"},
    {"2001:0db8:0000:0000:0000:0000:0000:0001", 1, 0, "2001:db8::1"},
    {"1:2:3:4:5:6:7:8", 1, 0, "1:2:3:4:5:6:7:8"},
    {"2001:DB8::ABCD", 1, 0, "2001:db8::abcd"},
    {"2001:Db8::aBcD", 1, 0, "2001:db8::abcd"},
    {"FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF", 1, 0, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
    {"fe80::1", 1, 0, "fe80::1"},
    {"0:0:0:0:0:0:0:0", 1, 0, "::"},
    {"0:0:0:0:0:0:0:1", 1, 0, "::1"},
    {"0::0", 1, 0, "::"},
    {"1:0:0:0:0:0:0:0", 1, 0, "1::"},
    {"1:2:3:4:5:6:7::", 1, 0, "1:2:3:4:5:6:7:0"},   /* "::" for one group, written out */
    {"::2:3:4:5:6:7:8", 1, 0, "0:2:3:4:5:6:7:8"},
    {"1:2:3::5:6:7:8", 1, 0, "1:2:3:0:5:6:7:8"},
    {"2001:db8:0:1:1:1:1:1", 1, 0, "2001:db8:0:1:1:1:1:1"}, /* single zero group: not compressed */
    {"2001:db8:0:0:1:0:0:1", 1, 0, "2001:db8::1:0:0:1"},   /* tie: the first run */
    {"1:0:0:0:2:0:0:3", 1, 0, "1::2:0:0:3"},
    {"1:0:0:2:0:0:0:3", 1, 0, "1:0:0:2::3"},               /* the longest run, not the first */
    {"2001:db8:0:1:0:0:0:1", 1, 0, "2001:db8:0:1::1"},
    {"0:1:0:1:0:1:0:1", 1, 0, "0:1:0:1:0:1:0:1"},
    {"0:0:1:0:0:0:0:0", 1, 0, "0:0:1::"},
    {"2001:db8::0001", 1, 0, "2001:db8::1"},
    /* IPv4-mapped: it is IPv4, and formats as the dotted quad */
    {"::ffff:1.2.3.4", 1, 1, "1.2.3.4"},
    {"::FFFF:1.2.3.4", 1, 1, "1.2.3.4"},
    {"::ffff:102:304", 1, 1, "1.2.3.4"},
    {"0:0:0:0:0:ffff:1.2.3.4", 1, 1, "1.2.3.4"},
    {"0:0:0:0:0:ffff:0102:0304", 1, 1, "1.2.3.4"},
    {"::ffff:0.0.0.0", 1, 1, "0.0.0.0"},
    {"::ffff:0:0", 1, 1, "0.0.0.0"},
    {"::ffff:255.255.255.255", 1, 1, "255.255.255.255"},
    {"::ffff:10.1.2.3", 1, 1, "10.1.2.3"},
    /* embedded IPv4 in other positions: valid IPv6, not IPv4, hex text */
    {"::1.2.3.4", 1, 0, "::102:304"},
    {"::0.0.0.0", 1, 0, "::"},
    {"::0.0.0.1", 1, 0, "::1"},
    {"1::1.2.3.4", 1, 0, "1::102:304"},
    {"64:ff9b::192.0.2.33", 1, 0, "64:ff9b::c000:221"},
    {"1:2:3:4:5:6:1.2.3.4", 1, 0, "1:2:3:4:5:6:102:304"},
    {"::fffe:1.2.3.4", 1, 0, "::fffe:102:304"},
    {"::1:ffff:1.2.3.4", 1, 0, "::1:ffff:102:304"},
    {"ffff::1.2.3.4", 1, 0, "ffff::102:304"},
    /* IPv6, invalid */
    {":::", 0, 0, NULL},
    {"::::", 0, 0, NULL},
    {"1:::2", 0, 0, NULL},
    {"1::2::3", 0, 0, NULL},
    {"::1::", 0, 0, NULL},
    {"::1::2", 0, 0, NULL},
    {"1:2:3:4:5:6:7:8:9", 0, 0, NULL},
    {"1:2:3:4:5:6:7", 0, 0, NULL},
    {"1:2:3:4:5:6:7::8", 0, 0, NULL}, /* "::" must stand for at least one group */
    {"::1:2:3:4:5:6:7:8", 0, 0, NULL},
    {"1:2:3:4:5:6:7:8::", 0, 0, NULL},
    {"12345::1", 0, 0, NULL},
    {"::12345", 0, 0, NULL},
    {"2001:db8::00001", 0, 0, NULL},
    {"fe80::1%eth0", 0, 0, NULL},
    {"fe80::1%1", 0, 0, NULL},
    {"fe80::1%", 0, 0, NULL},
    {"[::1]", 0, 0, NULL},
    {"[::1", 0, 0, NULL},
    {"::1]", 0, 0, NULL},
    {"[2001:db8::1]:443", 0, 0, NULL},
    {"1:2:3:4:5:6:7:8:", 0, 0, NULL},
    {":1:2:3:4:5:6:7:8", 0, 0, NULL},
    {"2001:db8::1:", 0, 0, NULL},
    {"1::2:", 0, 0, NULL},
    {":1::2", 0, 0, NULL},
    {"1:", 0, 0, NULL},
    {":1", 0, 0, NULL},
    {":", 0, 0, NULL},
    {"::1.2.3.4:5", 0, 0, NULL},      /* IPv4 part not last */
    {"1.2.3.4::", 0, 0, NULL},
    {"1.2.3.4::1", 0, 0, NULL},
    {"1::2:1.2.3.4:5", 0, 0, NULL},
    {"::ffff:1.2.3.4:80", 0, 0, NULL},
    {"1:2:3:4:5:6:7:1.2.3.4", 0, 0, NULL}, /* 7 groups + IPv4 = 9 groups */
    {"1:2:3:4:5:6:7:8:1.2.3.4", 0, 0, NULL},
    {"::1.2.3", 0, 0, NULL},
    {"::1.2.3.4.5", 0, 0, NULL},
    {"::01.2.3.4", 0, 0, NULL},
    {"::ffff:01.2.3.4", 0, 0, NULL},
    {"::ffff:1.2.3.256", 0, 0, NULL},
    {"::ffff:1.2.3.4.", 0, 0, NULL},
    {"::ffff:1.2.3", 0, 0, NULL},
    {"::ffff:127.1", 0, 0, NULL},
    {"g::1", 0, 0, NULL},
    {"::g", 0, 0, NULL},
    {":: 1", 0, 0, NULL},
    {" ::1", 0, 0, NULL},
    {"::1 ", 0, 0, NULL},
    {"::-1", 0, 0, NULL},
    {"::+1", 0, 0, NULL},
    {"::1/128", 0, 0, NULL},
    {"0x1::1", 0, 0, NULL},
    {"::x", 0, 0, NULL},
};

static void test_parse_table(void)
{
    size_t i;
    for (i = 0; i < sizeof addr_cases / sizeof addr_cases[0]; i++) {
        const struct addr_case *c = &addr_cases[i];
        cip_addr a;
        uint8_t want[16];
        char buf[CIP_ADDR_TEXT_MAX];
        size_t len = strlen(c->text);
        int r;
        CIP_CONTEXT("parse \"%s\"", c->text);
        memset(&a, 0xa5, sizeof a);
        r = parse_exact(c->text, len, &a);
        CHECK_EQ_INT(r, c->ok);
        /* The table and glibc agree (see the top comment). */
        CHECK_EQ_INT(ref_parse(c->text, len, want), c->ok);
        if (!c->ok || !r)
            continue;
        CHECK_EQ_MEM(a.bytes, want, 16);
        CHECK_EQ_INT(cip_addr_is_v4(&a), c->is_v4);
        CHECK_EQ_UINT(cip_addr_format(&a, buf), strlen(c->canonical));
        CHECK_EQ_STR(buf, c->canonical);
    }
    CIP_CONTEXT("");
}

/* The parser reads exactly [text, text+len): what follows is not looked at,
 * and a NUL inside the range is just a bad character. */
static void test_parse_length(void)
{
    cip_addr a;
    char buf[CIP_ADDR_TEXT_MAX];
    CHECK(cip_addr_parse("1.2.3.4junk", 7, &a) == 1);
    cip_addr_format(&a, buf);
    CHECK_EQ_STR(buf, "1.2.3.4");
    CHECK(cip_addr_parse("1.2.3.45", 7, &a) == 1);
    cip_addr_format(&a, buf);
    CHECK_EQ_STR(buf, "1.2.3.4");
    CHECK(cip_addr_parse("::1:2", 3, &a) == 1);
    cip_addr_format(&a, buf);
    CHECK_EQ_STR(buf, "::1");
    CHECK(cip_addr_parse("2001:db8::1, 10.0.0.1", 11, &a) == 1);
    cip_addr_format(&a, buf);
    CHECK_EQ_STR(buf, "2001:db8::1");
    CHECK(cip_addr_parse("1.2.3.4", 6, &a) == 0); /* "1.2.3." */
    CHECK(cip_addr_parse("1.2.3.4", 0, &a) == 0);
    CHECK(cip_addr_parse("1.2.3.4\0", 8, &a) == 0);
    CHECK(cip_addr_parse("1.2\0.3.4", 8, &a) == 0);
    CHECK(cip_addr_parse("::1\0", 4, &a) == 0);
    CHECK(cip_addr_parse("\0::1", 4, &a) == 0);
    /* Every prefix of a long valid IPv6 text, from an exact-size buffer. */
    {
        const char *full = "2001:0db8:85a3:0000:0000:8a2e:0370:7334";
        size_t n, len = strlen(full);
        for (n = 0; n <= len; n++) {
            uint8_t want[16];
            CIP_CONTEXT("prefix %lu of \"%s\"", (unsigned long)n, full);
            CHECK_EQ_INT(parse_exact(full, n, &a), ref_parse(full, n, want));
        }
        CIP_CONTEXT("");
    }
}

/* --------------------------------------------------------------- format */

static void test_format(void)
{
    static const uint8_t v4[4] = {192, 0, 2, 1};
    static const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1};
    static const uint8_t compat[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 192, 0, 2, 1};
    static const uint8_t loop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static const uint8_t allf[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t upper[16] = {0xab, 0xcd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xef, 0x01};
    cip_addr a, b;
    char buf[CIP_ADDR_TEXT_MAX + 8];

    cip_addr_from_v4_bytes(&a, v4);
    CHECK(cip_addr_is_v4(&a));
    CHECK_EQ_MEM(a.bytes, mapped, 16);
    CHECK_EQ_UINT(cip_addr_format(&a, buf), 9);
    CHECK_EQ_STR(buf, "192.0.2.1");

    cip_addr_from_v6_bytes(&b, mapped); /* a mapped IPv6 peer is the same value */
    CHECK(cip_addr_is_v4(&b));
    CHECK_EQ_MEM(b.bytes, a.bytes, 16);
    cip_addr_format(&b, buf);
    CHECK_EQ_STR(buf, "192.0.2.1");

    cip_addr_from_v6_bytes(&a, compat);
    CHECK(!cip_addr_is_v4(&a));
    cip_addr_format(&a, buf);
    CHECK_EQ_STR(buf, "::c000:201");

    cip_addr_from_v6_bytes(&a, loop6);
    CHECK(!cip_addr_is_v4(&a));
    cip_addr_format(&a, buf);
    CHECK_EQ_STR(buf, "::1");

    cip_addr_from_v6_bytes(&a, upper);
    cip_addr_format(&a, buf);
    CHECK_EQ_STR(buf, "abcd::ef01");

    /* The longest text fits, and nothing is written past CIP_ADDR_TEXT_MAX. */
    memset(buf, 'Z', sizeof buf);
    cip_addr_from_v6_bytes(&a, allf);
    CHECK_EQ_UINT(cip_addr_format(&a, buf), 39);
    CHECK_EQ_STR(buf, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    CHECK(memcmp(buf + CIP_ADDR_TEXT_MAX, "ZZZZZZZZ", 8) == 0);

    memset(buf, 'Z', sizeof buf);
    CHECK(cip_addr_parse("255.255.255.255", 15, &a));
    CHECK_EQ_UINT(cip_addr_format(&a, buf), 15);
    CHECK(memcmp(buf + CIP_ADDR_TEXT_MAX, "ZZZZZZZZ", 8) == 0);

    /* is_v4 looks at the whole 96-bit prefix. */
    {
        uint8_t x[16];
        int i;
        for (i = 0; i < 12; i++) {
            memcpy(x, mapped, 16);
            x[i] ^= 0x01;
            cip_addr_from_v6_bytes(&a, x);
            CIP_CONTEXT("mapped with byte %d flipped", i);
            CHECK(!cip_addr_is_v4(&a));
        }
        CIP_CONTEXT("");
    }
}

/* Random 16-byte values, biased to zero runs and the mapped prefix:
 * format matches the reference RFC 5952 formatter (and inet_ntop where that
 * does not use mixed notation), and parse(format(x)) == x. */
static void test_format_random(void)
{
    int n;
    cip_rand_seed(20240501);
    for (n = 0; n < 50000; n++) {
        uint8_t b[16], back[16];
        char ours[CIP_ADDR_TEXT_MAX], ref[64], glibc[64];
        cip_addr a, p;
        size_t len;
        int i, kind = (int)cip_rand_below(4);
        for (i = 0; i < 8; i++) {
            /* each group: zero, small or random */
            uint32_t g, r = cip_rand_below(8);
            g = r < 4 ? 0 : r < 6 ? cip_rand_below(16) : cip_rand_below(65536);
            b[2 * i] = (uint8_t)(g >> 8);
            b[2 * i + 1] = (uint8_t)g;
        }
        if (kind == 0) { /* IPv4-mapped */
            memset(b, 0, 10);
            b[10] = b[11] = 0xff;
        } else if (kind == 1) { /* IPv4-compatible / near-mapped */
            memset(b, 0, 10);
            b[10] = b[11] = (uint8_t)(cip_rand_below(2) ? 0 : 0xff);
            b[11] ^= (uint8_t)cip_rand_below(2);
        }
        cip_addr_from_v6_bytes(&a, b);
        ref_format(b, ref);
        len = cip_addr_format(&a, ours);
        CIP_CONTEXT("format of random value %d, reference %s", n, ref);
        CHECK_EQ_STR(ours, ref);
        CHECK_EQ_UINT(len, strlen(ours));
        if (inet_ntop(AF_INET6, b, glibc, sizeof glibc) && !strchr(glibc, '.'))
            CHECK_EQ_STR(ref, glibc);
        CHECK(parse_exact(ours, len, &p));
        CHECK_EQ_MEM(p.bytes, b, 16);
        CHECK(ref_parse(ours, len, back));
        CHECK_EQ_MEM(back, b, 16);
    }
    CIP_CONTEXT("");
}

/* ----------------------------------------------------- differential parse */

/* Compare cip_addr_parse with glibc's inet_pton on one input. */
static void diff_one(const char *text, size_t len)
{
    uint8_t want[16];
    cip_addr a;
    int ref = ref_parse(text, len, want);
    int got = parse_exact(text, len, &a);
    char shown[128];
    size_t n = len < sizeof shown - 1 ? len : sizeof shown - 1;
    memcpy(shown, text, n);
    shown[n] = '\0';
    if (!CHECKF(got == ref, "parse \"%s\": got %d, inet_pton says %d", shown, got, ref))
        return;
    if (got)
        CHECKF(memcmp(a.bytes, want, 16) == 0, "parse \"%s\": bytes differ from inet_pton", shown);
}

static const char *const seeds[] = {
    "0.0.0.0", "255.255.255.255", "1.2.3.4", "192.168.100.200", "10.0.0.1",
    "::", "::1", "1::", "2001:db8::1", "1:2:3:4:5:6:7:8", "fe80::abcd:1",
    "::ffff:1.2.3.4", "::1.2.3.4", "1:2:3:4:5:6:1.2.3.4", "64:ff9b::192.0.2.33",
    "2001:db8:0:0:1:0:0:1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "1:2:3::5:6:7:8",
};

static void test_differential(void)
{
    static const char alphabet[] = "0123456789abcdef:.";
    static const char extra[] = "0123456789abcdefABCDEF:.:.%[] /x-+g";
    char s[96];
    int n;
    size_t i;

    for (i = 0; i < sizeof seeds / sizeof seeds[0]; i++)
        diff_one(seeds[i], strlen(seeds[i]));

    cip_rand_seed(0xadd7e55);
    /* Random strings from a small alphabet. Short ones hit the corners;
     * structured ones (groups of 1-5 hex digits joined by ':' with maybe a
     * dotted tail) are valid often enough to compare bytes too. */
    for (n = 0; n < 100000; n++) {
        size_t len = 0;
        if (n % 2 == 0) {
            size_t want = cip_rand_below(16);
            for (len = 0; len < want; len++)
                s[len] = alphabet[cip_rand_below(sizeof alphabet - 1)];
        } else {
            int groups = (int)cip_rand_below(10), g, d;
            int dc = (int)cip_rand_below((uint32_t)groups + 1);
            for (g = 0; g < groups && len < 60; g++) {
                int digits = 1 + (int)cip_rand_below(cip_rand_below(4) ? 4 : 5);
                if (g)
                    s[len++] = ':';
                if (g == dc && cip_rand_below(3) == 0)
                    s[len++] = ':';
                for (d = 0; d < digits; d++)
                    s[len++] = alphabet[cip_rand_below(16)];
            }
            if (cip_rand_below(4) == 0) {
                int parts = 3 + (int)cip_rand_below(3), k;
                if (len)
                    s[len++] = ':';
                for (k = 0; k < parts; k++) {
                    unsigned v = cip_rand_below(8) ? cip_rand_below(256) : cip_rand_below(1000);
                    if (k)
                        s[len++] = '.';
                    len += (size_t)sprintf(s + len, cip_rand_below(20) ? "%u" : "0%u", v);
                }
            }
        }
        diff_one(s, len);
    }

    /* Mutations of valid addresses: replace, insert, delete, duplicate. */
    for (n = 0; n < 100000; n++) {
        const char *seed = seeds[cip_rand_below(sizeof seeds / sizeof seeds[0])];
        size_t len = strlen(seed), pos;
        int m, muts = 1 + (int)cip_rand_below(3);
        memcpy(s, seed, len);
        for (m = 0; m < muts; m++) {
            int op = (int)cip_rand_below(4);
            pos = cip_rand_below((uint32_t)len + 1);
            if (op == 0 && pos < len) {
                s[pos] = extra[cip_rand_below(sizeof extra - 1)];
            } else if (op == 1 && len < sizeof s - 1) {
                memmove(s + pos + 1, s + pos, len - pos);
                s[pos] = cip_rand_below(2) ? alphabet[cip_rand_below(sizeof alphabet - 1)]
                                           : extra[cip_rand_below(sizeof extra - 1)];
                len++;
            } else if (op == 2 && pos < len) {
                memmove(s + pos, s + pos + 1, len - pos - 1);
                len--;
            } else if (op == 3 && pos < len) {
                size_t seg = 1 + cip_rand_below(5);
                if (pos + seg > len)
                    seg = len - pos;
                if (len + seg < sizeof s - 1) {
                    memmove(s + pos + seg, s + pos, len - pos);
                    len += seg;
                }
            }
        }
        diff_one(s, len);
    }
}

/* ------------------------------------------------------------- endpoint */

struct endpoint_case {
    const char *text;
    int status;            /* a cip_endpoint_status, or ANY_BAD */
    const char *addr;      /* canonical text when OK */
    unsigned port;
};

static const struct endpoint_case endpoint_cases[] = {
    {"1.2.3.4", CIP_ENDPOINT_OK, "1.2.3.4", 0},
    {"1.2.3.4:80", CIP_ENDPOINT_OK, "1.2.3.4", 80},
    {"1.2.3.4:1", CIP_ENDPOINT_OK, "1.2.3.4", 1},
    {"1.2.3.4:65535", CIP_ENDPOINT_OK, "1.2.3.4", 65535},
    {"[2001:db8::1]", CIP_ENDPOINT_OK, "2001:db8::1", 0},
    {"[2001:db8::1]:443", CIP_ENDPOINT_OK, "2001:db8::1", 443},
    {"[2001:DB8::1]:65535", CIP_ENDPOINT_OK, "2001:db8::1", 65535},
    {"2001:db8::1", CIP_ENDPOINT_OK, "2001:db8::1", 0},
    {"::1", CIP_ENDPOINT_OK, "::1", 0},
    {"::1:80", CIP_ENDPOINT_OK, "::1:80", 0},  /* bare IPv6: the ":80" is a group, not a port */
    {"::ffff:1.2.3.4", CIP_ENDPOINT_OK, "1.2.3.4", 0},
    {"[::ffff:1.2.3.4]:80", CIP_ENDPOINT_OK, "1.2.3.4", 80},
    {"[::1]", CIP_ENDPOINT_OK, "::1", 0},
    {"[::]:1", CIP_ENDPOINT_OK, "::", 1},
    {"", CIP_ENDPOINT_EMPTY, NULL, 0},
    /* ports */
    {"1.2.3.4:0", CIP_ENDPOINT_BAD_PORT, NULL, 0},
    {"1.2.3.4:65536", CIP_ENDPOINT_BAD_PORT, NULL, 0},
    {"1.2.3.4:99999", CIP_ENDPOINT_BAD_PORT, NULL, 0},
    {"1.2.3.4:4294967376", CIP_ENDPOINT_BAD_PORT, NULL, 0}, /* 2^32 + 80 */
    {"1.2.3.4:18446744073709551696", CIP_ENDPOINT_BAD_PORT, NULL, 0}, /* 2^64 + 80 */
    {"1.2.3.4:080", CIP_ENDPOINT_BAD_PORT, NULL, 0},
    {"1.2.3.4:00", CIP_ENDPOINT_BAD_PORT, NULL, 0},
    {"1.2.3.4:0000000000080", CIP_ENDPOINT_BAD_PORT, NULL, 0},
    {"1.2.3.4:", CIP_ENDPOINT_BAD_PORT, NULL, 0},
    {"1.2.3.4:-1", CIP_ENDPOINT_BAD_PORT, NULL, 0},
    {"1.2.3.4:+80", CIP_ENDPOINT_BAD_PORT, NULL, 0},
    {"1.2.3.4:8o", CIP_ENDPOINT_BAD_PORT, NULL, 0},
    {"1.2.3.4:0x50", CIP_ENDPOINT_BAD_PORT, NULL, 0},
    {"1.2.3.4:http", CIP_ENDPOINT_BAD_PORT, NULL, 0},
    {"1.2.3.4: 80", CIP_ENDPOINT_BAD_PORT, NULL, 0},
    {"1.2.3.4:80 ", CIP_ENDPOINT_BAD_PORT, NULL, 0},
    {"[2001:db8::1]:0", CIP_ENDPOINT_BAD_PORT, NULL, 0},
    {"[2001:db8::1]:65536", CIP_ENDPOINT_BAD_PORT, NULL, 0},
    {"[2001:db8::1]:", CIP_ENDPOINT_BAD_PORT, NULL, 0},
    {"[2001:db8::1]:0443", CIP_ENDPOINT_BAD_PORT, NULL, 0},
    /* addresses */
    {"[1.2.3.4]", CIP_ENDPOINT_BAD_ADDR, NULL, 0}, /* brackets only for IPv6 */
    {"[1.2.3.4]:80", CIP_ENDPOINT_BAD_ADDR, NULL, 0},
    {"[::1", CIP_ENDPOINT_BAD_ADDR, NULL, 0},
    {"[::1:80", CIP_ENDPOINT_BAD_ADDR, NULL, 0},
    {"::1]", CIP_ENDPOINT_BAD_ADDR, NULL, 0},
    {"[]", CIP_ENDPOINT_BAD_ADDR, NULL, 0},
    {"[]:80", CIP_ENDPOINT_BAD_ADDR, NULL, 0},
    {"[[::1]]", CIP_ENDPOINT_BAD_ADDR, NULL, 0},
    {"[::1]x", ANY_BAD, NULL, 0},
    {"[::1] :80", ANY_BAD, NULL, 0},
    {"[::1]80", ANY_BAD, NULL, 0},
    {"unknown", CIP_ENDPOINT_BAD_ADDR, NULL, 0},
    {"UNKNOWN", CIP_ENDPOINT_BAD_ADDR, NULL, 0},
    {"example.com", CIP_ENDPOINT_BAD_ADDR, NULL, 0},
    {"example.com:80", CIP_ENDPOINT_BAD_ADDR, NULL, 0},
    {"localhost", CIP_ENDPOINT_BAD_ADDR, NULL, 0},
    {"_hidden", CIP_ENDPOINT_BAD_ADDR, NULL, 0},
    {"_hidden:80", CIP_ENDPOINT_BAD_ADDR, NULL, 0},
    {"fe80::1%eth0", CIP_ENDPOINT_BAD_ADDR, NULL, 0},
    {"[fe80::1%eth0]", CIP_ENDPOINT_BAD_ADDR, NULL, 0},
    {"[fe80::1%eth0]:80", CIP_ENDPOINT_BAD_ADDR, NULL, 0},
    {"127.1", CIP_ENDPOINT_BAD_ADDR, NULL, 0},
    {"127.1:80", CIP_ENDPOINT_BAD_ADDR, NULL, 0},
    {"010.0.0.1", CIP_ENDPOINT_BAD_ADDR, NULL, 0},
    {"1.2.3.256:80", CIP_ENDPOINT_BAD_ADDR, NULL, 0},
    {":80", CIP_ENDPOINT_BAD_ADDR, NULL, 0},
    {" 1.2.3.4", CIP_ENDPOINT_BAD_ADDR, NULL, 0}, /* the caller trims */
    {"1.2.3.4 ", ANY_BAD, NULL, 0},
    {"1.2.3.4 :80", ANY_BAD, NULL, 0},
    {"1.2.3.4:80:90", ANY_BAD, NULL, 0},
    {":::", CIP_ENDPOINT_BAD_ADDR, NULL, 0},
    {"2001:db8::1::2", CIP_ENDPOINT_BAD_ADDR, NULL, 0},
    {"\"1.2.3.4\"", CIP_ENDPOINT_BAD_ADDR, NULL, 0},
    {"for=1.2.3.4", CIP_ENDPOINT_BAD_ADDR, NULL, 0},
};

static void test_endpoint_table(void)
{
    size_t i;
    for (i = 0; i < sizeof endpoint_cases / sizeof endpoint_cases[0]; i++) {
        const struct endpoint_case *c = &endpoint_cases[i];
        cip_endpoint ep;
        cip_endpoint_status st;
        char buf[CIP_ADDR_TEXT_MAX];
        CIP_CONTEXT("endpoint \"%s\"", c->text);
        memset(&ep, 0xa5, sizeof ep);
        st = endpoint_exact(c->text, strlen(c->text), &ep);
        if (c->status == ANY_BAD) {
            CHECKF(st == CIP_ENDPOINT_BAD_ADDR || st == CIP_ENDPOINT_BAD_PORT,
                   "status %d, expected BAD_ADDR or BAD_PORT", (int)st);
            continue;
        }
        CHECK_EQ_INT(st, c->status);
        if (st != CIP_ENDPOINT_OK || c->status != CIP_ENDPOINT_OK)
            continue;
        cip_addr_format(&ep.addr, buf);
        CHECK_EQ_STR(buf, c->addr);
        CHECK_EQ_UINT(ep.port, c->port);
    }
    CIP_CONTEXT("");

    /* Exact length: the separator after the entry is not part of it. */
    {
        cip_endpoint ep;
        char buf[CIP_ADDR_TEXT_MAX];
        CHECK_EQ_INT(cip_endpoint_parse("1.2.3.4:80, 5.6.7.8", 10, &ep), CIP_ENDPOINT_OK);
        CHECK_EQ_UINT(ep.port, 80);
        CHECK_EQ_INT(cip_endpoint_parse("1.2.3.4:8080", 9, &ep), CIP_ENDPOINT_OK);
        CHECK_EQ_UINT(ep.port, 8);
        CHECK_EQ_INT(cip_endpoint_parse("[::1]:443]", 9, &ep), CIP_ENDPOINT_OK);
        cip_addr_format(&ep.addr, buf);
        CHECK_EQ_STR(buf, "::1");
        CHECK_EQ_UINT(ep.port, 443);
        CHECK_EQ_INT(cip_endpoint_parse("1.2.3.4", 0, &ep), CIP_ENDPOINT_EMPTY);
        CHECK_EQ_INT(cip_endpoint_parse("1.2.3.4:\0", 9, &ep), CIP_ENDPOINT_BAD_PORT);
    }

    /* Every port 1..65535 is accepted and 0 / leading zeros are not. */
    {
        unsigned p;
        unsigned long good = 0, bad = 0;
        char text[32];
        for (p = 0; p <= 70000; p++) {
            cip_endpoint ep;
            int n = sprintf(text, "[::1]:%u", p);
            cip_endpoint_status st = cip_endpoint_parse(text, (size_t)n, &ep);
            if (p >= 1 && p <= 65535)
                good += st == CIP_ENDPOINT_OK && ep.port == p;
            else
                bad += st == CIP_ENDPOINT_BAD_PORT;
        }
        CHECK_EQ_UINT(good, 65535);
        CHECK_EQ_UINT(bad, 70001 - 65535);
        for (p = 0; p < 1000; p++) {
            cip_endpoint ep;
            int n = sprintf(text, "1.2.3.4:0%u", p);
            CIP_CONTEXT("\"%s\"", text);
            CHECK_EQ_INT(cip_endpoint_parse(text, (size_t)n, &ep), CIP_ENDPOINT_BAD_PORT);
        }
        CIP_CONTEXT("");
    }
}

static void test_status_text(void)
{
    int s;
    for (s = CIP_ENDPOINT_OK; s <= CIP_ENDPOINT_BAD_PORT; s++) {
        const char *t = cip_endpoint_status_text((cip_endpoint_status)s);
        CIP_CONTEXT("cip_endpoint_status_text(%d)", s);
        CHECK(t != NULL && t[0] != '\0');
    }
    CIP_CONTEXT("");
}

int main(void)
{
    test_parse_table();
    test_parse_length();
    test_format();
    test_format_random();
    test_differential();
    test_endpoint_table();
    test_status_text();
    return cip_test_finish("test_addr");
}
