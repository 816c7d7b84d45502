/* Unit tests of src/cip_origin.c: the scheme, host and port a trusted proxy
 * reports (SPEC "ClientIPForwardedProto", "ClientIPForwardedHost").
 *
 * The contract is include/cip_origin.h. Values are exact: the caller trims
 * and picks the rightmost list value (cip_list_rightmost), so "https " or
 * " on" are invalid here. A host is a DNS-style name (ASCII letters, digits,
 * '-', '.', '_'), an IPv4 address or a bracketed IPv6 literal, at most 255
 * bytes, then optionally ":port" with a port of 1-65535 without a leading
 * zero. Every input is read from an exactly-sized heap copy with no NUL
 * after it, so reading past len shows up under ASan/valgrind. */
#define _POSIX_C_SOURCE 200112L
#include <stdlib.h>
#include <string.h>

#include "cip_origin.h"
#include "cip_test.h"

#define L(s) s, sizeof(s) - 1

static char *dup_exact(const char *s, size_t len)
{
    char *p = malloc(len ? len : 1);
    if (!p)
        abort();
    if (len)
        memcpy(p, s, len);
    return p;
}

/* ------------------------------------------------------------- scheme */

static void test_scheme(void)
{
    static const struct {
        const char *text;
        size_t len;
        cip_scheme want;
    } cases[] = {
        {L("http"), CIP_SCHEME_HTTP},
        {L("HTTP"), CIP_SCHEME_HTTP},
        {L("hTtP"), CIP_SCHEME_HTTP},
        {L("https"), CIP_SCHEME_HTTPS},
        {L("HTTPS"), CIP_SCHEME_HTTPS},
        {L("Https"), CIP_SCHEME_HTTPS},
        {L(""), CIP_SCHEME_NONE},
        {L("ftp"), CIP_SCHEME_NONE},
        {L("ws"), CIP_SCHEME_NONE},
        {L("wss"), CIP_SCHEME_NONE},
        {L("htt"), CIP_SCHEME_NONE},
        {L("h"), CIP_SCHEME_NONE},
        {L("httpss"), CIP_SCHEME_NONE},
        {L("httpx"), CIP_SCHEME_NONE},
        {L("http:"), CIP_SCHEME_NONE},
        {L("https:"), CIP_SCHEME_NONE},
        {L("https://"), CIP_SCHEME_NONE},
        {L("https "), CIP_SCHEME_NONE}, /* the caller trims */
        {L(" https"), CIP_SCHEME_NONE},
        {L("https\t"), CIP_SCHEME_NONE},
        {L("http\0"), CIP_SCHEME_NONE},
        {L("https\0"), CIP_SCHEME_NONE},
        {L("https, http"), CIP_SCHEME_NONE},
        {L("\"https\""), CIP_SCHEME_NONE},
        {L("on"), CIP_SCHEME_NONE},
        {L("https\r\n"), CIP_SCHEME_NONE},
        {L("http\xc2\xa0"), CIP_SCHEME_NONE},
        {L("htps"), CIP_SCHEME_NONE},
        {L("httq"), CIP_SCHEME_NONE},
    };
    size_t c;
    for (c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char *buf = dup_exact(cases[c].text, cases[c].len);
        char shown[100];
        CIP_CONTEXT("scheme %s (len %lu)", cip_t_show(cases[c].text, shown, sizeof shown),
                    (unsigned long)cases[c].len);
        CHECK_EQ_INT(cip_origin_scheme(buf, cases[c].len), cases[c].want);
        free(buf);
    }
    /* every prefix of "https" but the two full words is nothing */
    for (c = 0; c <= 5; c++) {
        char *buf = dup_exact("https", c);
        CIP_CONTEXT("scheme prefix %lu of https", (unsigned long)c);
        CHECK_EQ_INT(cip_origin_scheme(buf, c),
                     c == 4 ? CIP_SCHEME_HTTP : c == 5 ? CIP_SCHEME_HTTPS : CIP_SCHEME_NONE);
        free(buf);
    }
    CIP_CONTEXT("");
}

/* ------------------------------------------------------------- flag */

static void test_flag(void)
{
    static const struct {
        const char *text;
        size_t len;
        int want;
    } cases[] = {
        {L("on"), 1},
        {L("ON"), 1},
        {L("On"), 1},
        {L("oN"), 1},
        {L(""), 0},
        {L("o"), 0},
        {L("off"), 0},
        {L("OFF"), 0},
        {L("onn"), 0},
        {L("on "), 0},
        {L(" on"), 0},
        {L("on\0"), 0},
        {L("1"), 0},
        {L("yes"), 0},
        {L("true"), 0},
        {L("https"), 0},
        {L("no"), 0},
        {L("on,on"), 0},
    };
    size_t c;
    for (c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char *buf = dup_exact(cases[c].text, cases[c].len);
        char shown[100];
        CIP_CONTEXT("flag %s (len %lu)", cip_t_show(cases[c].text, shown, sizeof shown),
                    (unsigned long)cases[c].len);
        CHECK_EQ_INT(!!cip_origin_flag_on(buf, cases[c].len), cases[c].want);
        free(buf);
    }
    CIP_CONTEXT("");
}

/* ------------------------------------------------------------- host */

struct host_case {
    const char *text;
    size_t len;
    int ok;
    size_t host_len; /* when ok */
    unsigned port;   /* when ok */
};

static const struct host_case host_cases[] = {
    /* names */
    {L("example.com"), 1, 11, 0},
    {L("example.com:8443"), 1, 11, 8443},
    {L("EXAMPLE.com"), 1, 11, 0},
    {L("Example.COM:80"), 1, 11, 80},
    {L("localhost"), 1, 9, 0},
    {L("a"), 1, 1, 0},
    {L("a:1"), 1, 1, 1},
    {L("a:65535"), 1, 1, 65535},
    {L("my_host.example"), 1, 15, 0},
    {L("xn--bcher-kva.example"), 1, 21, 0},
    {L("a-b.c-d.e"), 1, 9, 0},
    {L("www.example.com:443"), 1, 15, 443},
    /* IPv4 */
    {L("192.0.2.1"), 1, 9, 0},
    {L("192.0.2.1:80"), 1, 9, 80},
    {L("203.0.113.7:8080"), 1, 11, 8080},
    /* bracketed IPv6 */
    {L("[2001:db8::1]"), 1, 13, 0},
    {L("[2001:db8::1]:443"), 1, 13, 443},
    {L("[::1]"), 1, 5, 0},
    {L("[::1]:8080"), 1, 5, 8080},
    {L("[::ffff:192.0.2.1]:80"), 1, 18, 80},
    {L("[2001:DB8::ABCD]"), 1, 16, 0},

    /* illegal characters */
    {L("exa mple.com"), 0, 0, 0},
    {L("a/b"), 0, 0, 0},
    {L("a@b"), 0, 0, 0},
    {L("user@example.com"), 0, 0, 0},
    {L("a,b"), 0, 0, 0},
    {L("a;b"), 0, 0, 0},
    {L("a\\b"), 0, 0, 0},
    {L("a?b"), 0, 0, 0},
    {L("a#b"), 0, 0, 0},
    {L("a%b"), 0, 0, 0},
    {L("a\"b"), 0, 0, 0},
    {L("a<b>"), 0, 0, 0},
    {L("example.com\r\nX-Evil: 1"), 0, 0, 0},
    {L("example.com\n"), 0, 0, 0},
    {L("exa\0mple.com"), 0, 0, 0},
    {L("\xc3\xa9xample.com"), 0, 0, 0},
    {L("example.com "), 0, 0, 0},
    {L(" example.com"), 0, 0, 0},
    {L("example.com\t"), 0, 0, 0},
    /* empty */
    {L(""), 0, 0, 0},
    {L(":443"), 0, 0, 0},
    /* ports */
    {L("example.com:"), 0, 0, 0},
    {L("example.com:0"), 0, 0, 0},
    {L("example.com:00"), 0, 0, 0},
    {L("example.com:08"), 0, 0, 0},
    {L("example.com:080"), 0, 0, 0},
    {L("example.com:65536"), 0, 0, 0},
    {L("example.com:99999"), 0, 0, 0},
    {L("example.com:100000"), 0, 0, 0},
    {L("example.com:4294967377"), 0, 0, 0},
    {L("example.com:18446744073709551697"), 0, 0, 0},
    {L("example.com:+80"), 0, 0, 0},
    {L("example.com:-1"), 0, 0, 0},
    {L("example.com: 80"), 0, 0, 0},
    {L("example.com:80 "), 0, 0, 0},
    {L("example.com:8a"), 0, 0, 0},
    {L("example.com:0x50"), 0, 0, 0},
    {L("example.com:80:80"), 0, 0, 0},
    {L("example.com::80"), 0, 0, 0},
    /* brackets */
    {L("[::1"), 0, 0, 0},
    {L("::1]"), 0, 0, 0},
    {L("[zz::]"), 0, 0, 0},
    {L("[]"), 0, 0, 0},
    {L("[]:80"), 0, 0, 0},
    {L("[::1]:"), 0, 0, 0},
    {L("[::1]:0"), 0, 0, 0},
    {L("[::1]:65536"), 0, 0, 0},
    {L("[::1]x"), 0, 0, 0},
    {L("[::1]:443x"), 0, 0, 0},
    {L("[::1]]"), 0, 0, 0},
    {L("[[::1]]"), 0, 0, 0},
    {L("[1.2.3.4]"), 0, 0, 0},
    {L("[example.com]"), 0, 0, 0},
    {L("[fe80::1%eth0]"), 0, 0, 0},
    {L("[fe80::1%25eth0]:80"), 0, 0, 0},
    {L("[ ::1]"), 0, 0, 0},
    {L("a[::1]"), 0, 0, 0},
    /* an unbracketed IPv6 address is no host */
    {L("2001:db8::1"), 0, 0, 0},
    {L("::1"), 0, 0, 0},
};

static void check_host(const char *text, size_t len, int ok, size_t host_len, unsigned port)
{
    char *buf = dup_exact(text, len);
    size_t got_len = 12345;
    uint16_t got_port = 4321;
    int r = cip_origin_host(buf, len, &got_len, &got_port);
    if (!ok) {
        CHECKF(!r, "accepted (host_len %lu, port %u), expected refused", (unsigned long)got_len,
               (unsigned)got_port);
    } else if (CHECKF(r == 1, "refused, expected host_len %lu port %u", (unsigned long)host_len,
                      port)) {
        CHECK_EQ_UINT(got_len, host_len);
        CHECK_EQ_UINT(got_port, port);
    }
    free(buf);
}

static void test_host(void)
{
    size_t c;
    char name[300 + 8];
    for (c = 0; c < sizeof host_cases / sizeof host_cases[0]; c++) {
        const struct host_case *hc = &host_cases[c];
        char shown[200];
        CIP_CONTEXT("host %s (len %lu)", cip_t_show(hc->text, shown, sizeof shown),
                    (unsigned long)hc->len);
        check_host(hc->text, hc->len, hc->ok, hc->host_len, hc->port);
    }

    /* at most 255 bytes of host; the port does not count */
    memset(name, 'a', sizeof name);
    for (c = 0; c < 255; c += 64)
        name[c + 63 < 255 ? c + 63 : 254] = '.';
    name[254] = 'z';
    CIP_CONTEXT("host of 255 bytes");
    check_host(name, 255, 1, 255, 0);
    CIP_CONTEXT("host of 256 bytes");
    check_host(name, 256, 0, 0, 0);
    CIP_CONTEXT("host of 300 bytes");
    check_host(name, 300, 0, 0, 0);
    memcpy(name + 255, ":8443", 5);
    CIP_CONTEXT("host of 255 bytes with a port");
    check_host(name, 260, 1, 255, 8443);
    memset(name, 'b', sizeof name);
    memcpy(name + 256, ":80", 3);
    CIP_CONTEXT("host of 256 bytes with a port");
    check_host(name, 259, 0, 0, 0);

    /* every port 1..65535 is taken, and its leading-zero form is not */
    {
        unsigned p;
        unsigned long bad = 0;
        for (p = 0; p <= 70000; p++) {
            char text[32];
            int n = sprintf(text, "example.com:%u", p);
            char *buf = dup_exact(text, (size_t)n);
            size_t hl = 0;
            uint16_t got = 0;
            int r = cip_origin_host(buf, (size_t)n, &hl, &got);
            int want = p >= 1 && p <= 65535;
            if (r != want || (want && (got != p || hl != 11)))
                bad++;
            free(buf);
            if (p >= 1 && p <= 65535 && p % 97 == 0) {
                n = sprintf(text, "example.com:0%u", p);
                buf = dup_exact(text, (size_t)n);
                if (cip_origin_host(buf, (size_t)n, &hl, &got))
                    bad++;
                free(buf);
            }
        }
        CIP_CONTEXT("host ports 0..70000");
        CHECKF(bad == 0, "%lu ports answered wrongly", bad);
    }

    /* every single byte as a one-byte host, and in the middle of a name */
    {
        unsigned b;
        for (b = 0; b < 256; b++) {
            char one[1], mid[3];
            int legal = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') ||
                        (b >= '0' && b <= '9') || b == '-' || b == '.' || b == '_';
            one[0] = (char)b;
            mid[0] = 'a';
            mid[1] = (char)b;
            mid[2] = 'b';
            CIP_CONTEXT("host 'a\\x%02x' 'b'", b);
            if (legal) {
                check_host(mid, 3, 1, 3, 0);
            } else {
                check_host(mid, 3, 0, 0, 0);
                check_host(one, 1, 0, 0, 0);
            }
        }
    }
    CIP_CONTEXT("");
}

/* ------------------------------------------------------------- port */

static void test_port(void)
{
    static const struct {
        const char *text;
        size_t len;
        int ok;
        unsigned port;
    } cases[] = {
        {L("1"), 1, 1},
        {L("80"), 1, 80},
        {L("443"), 1, 443},
        {L("8443"), 1, 8443},
        {L("65535"), 1, 65535},
        {L("0"), 0, 0},
        {L("00"), 0, 0},
        {L("65536"), 0, 0},
        {L("99999"), 0, 0},
        {L("100000"), 0, 0},
        {L("4294967297"), 0, 0},
        {L("4294967377"), 0, 0},
        {L("18446744073709551697"), 0, 0},
        {L("080"), 0, 0},
        {L("01"), 0, 0},
        {L(""), 0, 0},
        {L("+80"), 0, 0},
        {L("-80"), 0, 0},
        {L(" 80"), 0, 0},
        {L("80 "), 0, 0},
        {L("8 0"), 0, 0},
        {L("80a"), 0, 0},
        {L("0x50"), 0, 0},
        {L("80\0"), 0, 0},
        {L(":80"), 0, 0},
        {L("80,443"), 0, 0},
        {L("1e3"), 0, 0},
    };
    size_t c;
    unsigned p;
    unsigned long bad = 0;
    for (c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char *buf = dup_exact(cases[c].text, cases[c].len);
        char shown[100];
        uint16_t got = 4321;
        int r;
        CIP_CONTEXT("port %s (len %lu)", cip_t_show(cases[c].text, shown, sizeof shown),
                    (unsigned long)cases[c].len);
        r = cip_origin_port(buf, cases[c].len, &got);
        if (!cases[c].ok)
            CHECKF(!r, "accepted as %u", (unsigned)got);
        else if (CHECKF(r == 1, "refused"))
            CHECK_EQ_UINT(got, cases[c].port);
        free(buf);
    }
    for (p = 0; p <= 100000; p++) {
        char text[16];
        int n = sprintf(text, "%u", p);
        char *buf = dup_exact(text, (size_t)n);
        uint16_t got = 0;
        int r = cip_origin_port(buf, (size_t)n, &got);
        int want = p >= 1 && p <= 65535;
        if (r != want || (want && got != p))
            bad++;
        free(buf);
    }
    CIP_CONTEXT("ports 0..100000");
    CHECKF(bad == 0, "%lu ports answered wrongly", bad);
    CIP_CONTEXT("");
}

/* ------------------------------------------------ no crash on garbage */

static void test_random(void)
{
    static const char alphabet[] = "aZ09-._:[]%@/ \t\"\\,;x\0\x80\xff";
    int round;
    unsigned long accepted = 0;
    cip_rand_seed(0x0419);
    for (round = 0; round < 50000; round++) {
        size_t len = cip_rand_below(cip_rand_below(10) ? 24 : 300), i, hl = 0;
        char *buf = malloc(len ? len : 1);
        uint16_t port = 0;
        if (!buf)
            abort();
        for (i = 0; i < len; i++)
            buf[i] = alphabet[cip_rand_below(sizeof alphabet - 1)];
        CIP_CONTEXT("random round %d", round);
        (void)cip_origin_scheme(buf, len);
        (void)cip_origin_flag_on(buf, len);
        (void)cip_origin_port(buf, len, &port);
        if (cip_origin_host(buf, len, &hl, &port)) {
            accepted++;
            /* what was accepted is what the header describes */
            CHECK(hl >= 1 && hl <= 255 && hl <= len);
            if (hl < len)
                CHECK(buf[hl] == ':' && port >= 1);
            else
                CHECK(port == 0);
            for (i = 0; i < hl; i++)
                if (buf[0] != '[')
                    CHECKF(buf[i] != ':' && buf[i] != ' ' && buf[i] != '%' && buf[i] != '@' &&
                               buf[i] != '/' && (unsigned char)buf[i] < 0x80 && buf[i] != '\0',
                           "accepted byte 0x%02x", (unsigned char)buf[i]);
        }
        free(buf);
    }
    CIP_CONTEXT("");
    fprintf(stderr, "info: test_origin random: %lu of 50000 hosts accepted\n", accepted);
}

int main(void)
{
    test_scheme();
    test_flag();
    test_host();
    test_port();
    test_random();
    return cip_test_finish("test_origin");
}
