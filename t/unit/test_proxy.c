/* Unit tests of src/cip_proxy.c: the PROXY protocol v1/v2 parser, its TLV
 * decoders and renderers, and CRC32C (SPEC "ClientIPProxyProtocol", the
 * PROXY_PROTOCOL_* variables; rules in the shared PROXY-PROTOCOL.md).
 *
 * Every input is parsed from an exactly-sized heap copy, so a read past the
 * end is caught under -fsanitize=address and valgrind. Besides the
 * table-driven rules, every input is also fed as every one of its prefixes
 * (the parser is called on "the bytes so far"): the answer for a prefix is
 * NEED_MORE with need > prefix length, or exactly the final answer, and a
 * NEED_MORE for n bytes promises NEED_MORE up to need - 1 bytes.
 *
 * The corpus under t/unit/proxy-corpus/ (made by make-corpus.pl there) is
 * read relative to the working directory, the repository root under
 * `make unit`; CIP_PROXY_CORPUS overrides the directory. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "cip_proxy.h"
#include "cip_test.h"

/* --------------------------------------------------------------- helpers */

/* One parse over an exactly-sized heap copy; the copy lives until run_end
 * because the result points into it. */
typedef struct {
    unsigned char *buf;
    size_t len;
    cip_proxy_status status;
    cip_proxy_result r;
} run;

static void run_parse(run *x, const void *data, size_t len)
{
    x->buf = malloc(len ? len : 1);
    if (!x->buf)
        abort();
    if (len)
        memcpy(x->buf, data, len);
    x->len = len;
    memset(&x->r, 0xa5, sizeof x->r); /* garbage in: the parser must set every field */
    x->status = cip_proxy_parse(x->buf, len, &x->r);
}

static void run_end(run *x)
{
    free(x->buf);
    x->buf = NULL;
}

static const char *status_name(cip_proxy_status s)
{
    switch (s) {
    case CIP_PROXY_DONE:
        return "DONE";
    case CIP_PROXY_NEED_MORE:
        return "NEED_MORE";
    case CIP_PROXY_NOT_PROXY:
        return "NOT_PROXY";
    case CIP_PROXY_MALFORMED:
        return "MALFORMED";
    }
    return "(bad status)";
}

static const char *addr_text(const cip_addr *a)
{
    static char buf[4][CIP_ADDR_TEXT_MAX];
    static int i;
    i = (i + 1) % 4;
    cip_addr_format(a, buf[i]);
    return buf[i];
}

/* Walk a TLV block the way the glue will; returns 1 when the walk covers the
 * block exactly (and every SSL TLV's sub-TLVs cover it exactly) and every
 * TLV describes and renders without trouble. */
static int walk_all(const unsigned char *block, size_t len, int in_ssl, size_t *count)
{
    cip_proxy_tlv_iter it;
    cip_proxy_tlv tlv;
    size_t covered = 0;
    cip_proxy_tlv_begin(&it, block, len);
    while (cip_proxy_tlv_next(&it, &tlv)) {
        cip_proxy_tlv_view v;
        char small[9];
        covered += 3 + tlv.len;
        if (count)
            (*count)++;
        if (tlv.value < block || tlv.value + tlv.len > block + len)
            return 0;
        cip_proxy_tlv_describe(&tlv, in_ssl, &v);
        if (strlen(v.name) == 0 || strlen(v.name) >= sizeof v.name)
            return 0;
        if (v.form == CIP_PROXY_FORM_TEXT &&
            cip_proxy_render_text(v.data, v.len, small, sizeof small) < v.len)
            return 0;
        if (v.form == CIP_PROXY_FORM_HEX &&
            cip_proxy_render_hex(v.data, v.len, small, sizeof small) != 2 * v.len)
            return 0;
        if (v.form == CIP_PROXY_FORM_SSL) {
            cip_proxy_ssl ssl;
            if (in_ssl || !cip_proxy_tlv_ssl(&tlv, &ssl) ||
                !walk_all(ssl.sub_tlvs, ssl.sub_tlvs_len, 1, count))
                return 0;
        }
    }
    return covered == len;
}

/* What must hold for any answer to any input. */
static void check_sane(const unsigned char *buf, size_t len, cip_proxy_status st,
                       const cip_proxy_result *r)
{
    switch (st) {
    case CIP_PROXY_NEED_MORE:
        CHECKF(r->need > len && r->need <= CIP_PROXY_V2_MAX,
               "NEED_MORE need %lu for %lu bytes", (unsigned long)r->need, (unsigned long)len);
        CHECK_EQ_INT(r->error, CIP_PROXY_OK);
        break;
    case CIP_PROXY_DONE:
        CHECKF(r->header_len >= 15 && r->header_len <= len &&
                   r->header_len <= CIP_PROXY_V2_MAX,
               "DONE header_len %lu for %lu bytes", (unsigned long)r->header_len,
               (unsigned long)len);
        CHECK(r->version == 1 || r->version == 2);
        CHECK_EQ_INT(r->error, CIP_PROXY_OK);
        CHECK(r->kind != CIP_PROXY_KIND_NONE);
        CHECK_EQ_INT(r->has_addresses,
                     r->kind == CIP_PROXY_KIND_TCP4 || r->kind == CIP_PROXY_KIND_TCP6);
        if (r->version == 1) {
            CHECK(r->header_len <= CIP_PROXY_V1_MAX);
            CHECK(r->tlvs == NULL && r->tlvs_len == 0);
        } else {
            CHECK(r->tlvs >= buf + CIP_PROXY_V2_FIXED &&
                  r->tlvs + r->tlvs_len == buf + r->header_len);
            CHECKF(walk_all(r->tlvs, r->tlvs_len, 0, NULL), "TLV walk of a DONE header");
        }
        break;
    case CIP_PROXY_MALFORMED:
        CHECK(r->error != CIP_PROXY_OK);
        CHECK(strcmp(cip_proxy_error_text(r->error), "unknown error") != 0);
        CHECKF(r->error_offset <= len, "error_offset %lu for %lu bytes",
               (unsigned long)r->error_offset, (unsigned long)len);
        CHECK(r->version == 1 || r->version == 2);
        break;
    case CIP_PROXY_NOT_PROXY:
        CHECK_EQ_INT(r->error, CIP_PROXY_OK);
        CHECK_EQ_INT(r->version, 0);
        break;
    default:
        CHECKF(0, "status %d is none of the four", (int)st);
    }
}

static int same_answer(cip_proxy_status sa, const cip_proxy_result *a, cip_proxy_status sb,
                       const cip_proxy_result *b)
{
    if (sa != sb)
        return 0;
    if (sa == CIP_PROXY_DONE)
        return a->header_len == b->header_len && a->kind == b->kind &&
               a->has_addresses == b->has_addresses &&
               memcmp(&a->src, &b->src, sizeof a->src) == 0 &&
               memcmp(&a->dst, &b->dst, sizeof a->dst) == 0 && a->src_port == b->src_port &&
               a->dst_port == b->dst_port && a->tlvs_len == b->tlvs_len;
    if (sa == CIP_PROXY_MALFORMED)
        return a->error == b->error && a->error_offset == b->error_offset &&
               a->error_value == b->error_value;
    return 1;
}

static unsigned long prefix_parses;

/* Feed every prefix of data (see the top of the file), then simulate a
 * reader that receives random-sized segments and only parses again once it
 * holds need bytes: it must reach the same answer. Inputs above 2 KB get
 * exactly-sized copies only for their first and last 300 prefixes and the
 * points where the answer changes; the rest share one buffer. */
static void check_prefixes(const unsigned char *data, size_t len, const char *name)
{
    run full;
    size_t k, wait_until = 0;
    unsigned char *shared;
    char ctx[200];

    snprintf(ctx, sizeof ctx, "prefixes of %s", name);
    CIP_CONTEXT("%s", ctx);
    run_parse(&full, data, len);
    check_sane(full.buf, len, full.status, &full.r);
    shared = malloc(len ? len : 1);
    if (!shared)
        abort();
    if (len)
        memcpy(shared, data, len);

    for (k = 0; k <= len; k++) {
        cip_proxy_status st;
        cip_proxy_result r;
        run x;
        int exact = len <= 2048 || k < 300 || len - k < 300 || k == wait_until;
        prefix_parses++;
        if (exact) {
            run_parse(&x, data, k);
            st = x.status;
            r = x.r;
            check_sane(x.buf, k, st, &r);
            run_end(&x);
        } else {
            st = cip_proxy_parse(shared, k, &r);
        }
        if (k < wait_until) {
            if (!CHECKF(st == CIP_PROXY_NEED_MORE, "%s: %lu bytes answer %s, but a shorter "
                        "prefix promised NEED_MORE up to %lu", name, (unsigned long)k,
                        status_name(st), (unsigned long)wait_until))
                break;
            continue;
        }
        if (st == CIP_PROXY_NEED_MORE) {
            if (k < len && !CHECKF(r.need > k, "need %lu <= %lu", (unsigned long)r.need,
                                   (unsigned long)k))
                break;
            wait_until = r.need;
            continue;
        }
        if (!CHECKF(same_answer(st, &r, full.status, &full.r),
                    "%s: %lu of %lu bytes answer %s (error %d at %lu), all of them %s "
                    "(error %d at %lu)",
                    name, (unsigned long)k, (unsigned long)len, status_name(st), (int)r.error,
                    (unsigned long)r.error_offset, status_name(full.status), (int)full.r.error,
                    (unsigned long)full.r.error_offset))
            break;
        if (st == CIP_PROXY_DONE && !CHECK(r.header_len <= k))
            break;
        /* Decided: the answer holds for every longer prefix. Check the
         * rest sparsely, as the decision can no longer change. */
        if (len - k > 64) {
            size_t j;
            for (j = k + 1; j < len; j += 1 + (len - k) / 16) {
                st = cip_proxy_parse(shared, j, &r);
                CHECKF(same_answer(st, &r, full.status, &full.r), "%s: %lu bytes disagree",
                       name, (unsigned long)j);
            }
            break;
        }
    }

    /* A reader that honours need. */
    for (int round = 0; round < 4; round++) {
        size_t have = 0, calls = 0;
        size_t need = 1;
        cip_proxy_status st = CIP_PROXY_NEED_MORE;
        cip_proxy_result r;
        memset(&r, 0, sizeof r);
        while (have < len) {
            size_t max_seg = round == 0 ? 1 : round == 1 ? 7 : round == 2 ? 1460 : 70000;
            size_t seg = 1 + cip_rand_below((uint32_t)max_seg);
            have = have + seg > len ? len : have + seg;
            if (have < need)
                continue;
            st = cip_proxy_parse(shared, have, &r);
            calls++;
            if (st != CIP_PROXY_NEED_MORE)
                break;
            need = r.need;
        }
        if (st == CIP_PROXY_NEED_MORE && have == len && calls == 0) {
            st = cip_proxy_parse(shared, have, &r);
            calls++;
        }
        CHECKF(same_answer(st, &r, full.status, &full.r),
               "%s: reader with segments up to %d bytes got %s, expected %s", name, round,
               status_name(st), status_name(full.status));
        /* A v2 header costs at most 16 byte-sized calls for its fixed part
         * and one more for the rest, whatever its length. */
        if (full.r.version == 2 && round == 0)
            CHECKF(calls <= CIP_PROXY_V2_FIXED + 2, "%s: %lu parse calls byte by byte", name,
                   (unsigned long)calls);
    }

    free(shared);
    run_end(&full);
    CIP_CONTEXT("");
}

/* Expect one answer for data, then check its prefixes. */
static void expect(const void *data, size_t len, cip_proxy_status status, cip_proxy_error error,
                   const char *name, cip_proxy_result *out)
{
    run x;
    CIP_CONTEXT("%s", name);
    run_parse(&x, data, len);
    CHECKF(x.status == status, "%s: status %s, expected %s (error: %s)", name,
           status_name(x.status), status_name(status), cip_proxy_error_text(x.r.error));
    CHECKF(x.r.error == error, "%s: error \"%s\", expected \"%s\"", name,
           cip_proxy_error_text(x.r.error), cip_proxy_error_text(error));
    check_sane(x.buf, len, x.status, &x.r);
    if (out)
        *out = x.r;
    run_end(&x);
    check_prefixes(data, len, name);
}

/* ------------------------------------------------------ v2 header builder */

typedef struct {
    unsigned char b[CIP_PROXY_V2_MAX + 256];
    size_t len;
} hdr;

static const unsigned char sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                      0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

static hdr *h_new(unsigned vercmd, unsigned famtr)
{
    hdr *h = malloc(sizeof *h);
    if (!h)
        abort();
    memcpy(h->b, sig, 12);
    h->b[12] = (unsigned char)vercmd;
    h->b[13] = (unsigned char)famtr;
    h->b[14] = h->b[15] = 0;
    h->len = 16;
    return h;
}

static void h_put(hdr *h, const void *p, size_t n)
{
    if (h->len + n > sizeof h->b)
        abort();
    if (n)
        memcpy(h->b + h->len, p, n);
    h->len += n;
}

static void h_fill(hdr *h, unsigned char c, size_t n)
{
    if (h->len + n > sizeof h->b)
        abort();
    memset(h->b + h->len, c, n);
    h->len += n;
}

static const unsigned char inet_block[12] = {192, 0, 2, 1, 198, 51, 100, 2, 0xdc, 0x04, 0x01, 0xbb};
static const unsigned char inet6_block[36] = {
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,
    0xdc, 0x04, 0x01, 0xbb};

/* A TLV; returns the offset of its value. */
static size_t h_tlv(hdr *h, unsigned type, const void *value, size_t n)
{
    unsigned char t[3] = {(unsigned char)type, (unsigned char)(n >> 8), (unsigned char)n};
    h_put(h, t, 3);
    h_put(h, value, n);
    return h->len - n;
}

static size_t h_tlv_str(hdr *h, unsigned type, const char *s)
{
    return h_tlv(h, type, s, strlen(s));
}

/* Open a TLV whose value follows (SSL), close it once its value is in. */
static size_t h_open(hdr *h, unsigned type)
{
    unsigned char t[3] = {(unsigned char)type, 0, 0};
    h_put(h, t, 3);
    return h->len - 3;
}

static void h_close(hdr *h, size_t at)
{
    size_t n = h->len - at - 3;
    h->b[at + 1] = (unsigned char)(n >> 8);
    h->b[at + 2] = (unsigned char)n;
}

/* Set the length field from what was written. */
static void h_end(hdr *h)
{
    size_t n = h->len - 16;
    h->b[14] = (unsigned char)(n >> 8);
    h->b[15] = (unsigned char)n;
}

/* Write the right CRC32C into the CRC TLV value at offset at. */
static void h_crc(hdr *h, size_t at)
{
    uint32_t crc;
    memset(h->b + at, 0, 4);
    crc = cip_proxy_crc32c(0, h->b, h->len);
    h->b[at] = (unsigned char)(crc >> 24);
    h->b[at + 1] = (unsigned char)(crc >> 16);
    h->b[at + 2] = (unsigned char)(crc >> 8);
    h->b[at + 3] = (unsigned char)crc;
}

static size_t h_crc_tlv(hdr *h)
{
    static const unsigned char zero[4] = {0, 0, 0, 0};
    return h_tlv(h, CIP_PROXY_TLV_CRC32C, zero, 4);
}

static void h_ssl_fixed(hdr *h, unsigned client, uint32_t verify)
{
    unsigned char f[5] = {(unsigned char)client, (unsigned char)(verify >> 24),
                          (unsigned char)(verify >> 16), (unsigned char)(verify >> 8),
                          (unsigned char)verify};
    h_put(h, f, 5);
}

/* ---------------------------------------------------------------- CRC32C */

static uint32_t crc32c_bitwise(const unsigned char *p, size_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ ((crc & 1) ? 0x82F63B78u : 0);
    }
    return ~crc;
}

static void test_crc32c(void)
{
    unsigned char zeros[32], ones[32], inc[32], buf[1000];
    size_t i;
    CIP_CONTEXT("crc32c");
    memset(zeros, 0, sizeof zeros);
    memset(ones, 0xff, sizeof ones);
    for (i = 0; i < 32; i++)
        inc[i] = (unsigned char)i;
    CHECK_EQ_UINT(cip_proxy_crc32c(0, (const unsigned char *)"123456789", 9), 0xE3069283u);
    CHECK_EQ_UINT(cip_proxy_crc32c(0, zeros, 32), 0x8A9136AAu);
    CHECK_EQ_UINT(cip_proxy_crc32c(0, ones, 32), 0x62A8AB43u);  /* RFC 3720 B.4 */
    CHECK_EQ_UINT(cip_proxy_crc32c(0, inc, 32), 0x46DD794Eu);   /* RFC 3720 B.4 */
    CHECK_EQ_UINT(cip_proxy_crc32c(0, NULL, 0), 0u);
    /* Chaining, and the table against the bit-by-bit definition (this
     * exercises every table entry). */
    for (i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)cip_rand64();
    for (i = 0; i < 256; i++) {
        unsigned char one = (unsigned char)i;
        CHECK_EQ_UINT(cip_proxy_crc32c(0, &one, 1), crc32c_bitwise(&one, 1));
    }
    CHECK_EQ_UINT(cip_proxy_crc32c(0, buf, sizeof buf), crc32c_bitwise(buf, sizeof buf));
    for (i = 0; i <= sizeof buf; i += 37)
        CHECK_EQ_UINT(cip_proxy_crc32c(cip_proxy_crc32c(0, buf, i), buf + i, sizeof buf - i),
                      crc32c_bitwise(buf, sizeof buf));
    /* The CPU instruction path (x86-64 with SSE4.2) against the table, at
     * every length and alignment up to 64 bytes. */
    for (i = 0; i < 64; i++)
        for (size_t len = 0; i + len <= 64; len++)
            CHECK_EQ_UINT(cip_proxy_crc32c(0, buf + i, len),
                          cip_proxy_crc32c_portable(0, buf + i, len));
}

/* ----------------------------------------------------------- detection */

static void test_detection(void)
{
    static const struct {
        const char *text;
        size_t len; /* 0: strlen */
        cip_proxy_status status;
    } cases[] = {
        {"", 0, CIP_PROXY_NEED_MORE},
        {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0, CIP_PROXY_NOT_PROXY},
        {"G", 0, CIP_PROXY_NOT_PROXY},
        {"\x16", 0, CIP_PROXY_NOT_PROXY},
        {"\x16\x03\x01\x00\xc8\x01", 0, CIP_PROXY_NOT_PROXY},
        {"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 0, CIP_PROXY_NOT_PROXY},
        {"PRI", 0, CIP_PROXY_NOT_PROXY},
        {"PR", 0, CIP_PROXY_NEED_MORE},
        {"P", 0, CIP_PROXY_NEED_MORE},
        {"PRO", 0, CIP_PROXY_NEED_MORE},
        {"PROX", 0, CIP_PROXY_NEED_MORE},
        {"PROXY", 0, CIP_PROXY_NEED_MORE},
        {"PROXY ", 0, CIP_PROXY_NEED_MORE},
        {"PROXYX", 0, CIP_PROXY_NOT_PROXY},
        {"PROXY\r\n", 0, CIP_PROXY_NOT_PROXY},
        {"POST / HTTP/1.1\r\n", 0, CIP_PROXY_NOT_PROXY},
        {"PUT / HTTP/1.1\r\n", 0, CIP_PROXY_NOT_PROXY},
        {"PATCH / HTTP/1.1\r\n", 0, CIP_PROXY_NOT_PROXY},
        {"proxy TCP4 192.0.2.1 198.51.100.2 1 2\r\n", 0, CIP_PROXY_NOT_PROXY},
        {"Proxy TCP4 192.0.2.1 198.51.100.2 1 2\r\n", 0, CIP_PROXY_NOT_PROXY},
        {" PROXY TCP4 192.0.2.1 198.51.100.2 1 2\r\n", 0, CIP_PROXY_NOT_PROXY},
        {"\r", 0, CIP_PROXY_NEED_MORE},
        {"\r\n", 0, CIP_PROXY_NEED_MORE},
        {"\r\n\r\n", 0, CIP_PROXY_NEED_MORE},
        {"\r\n\r\n\0\r\nQUIT", 11, CIP_PROXY_NEED_MORE},
        {"\r\nGET / HTTP/1.1\r\n", 0, CIP_PROXY_NOT_PROXY},
        {"\r\n\r\nGET", 0, CIP_PROXY_NOT_PROXY},
        {"\n", 0, CIP_PROXY_NOT_PROXY},
        {"\0", 1, CIP_PROXY_NOT_PROXY},
        {"\x0D\x0A\x0D\x0A\x00\x0D\x0A\x51\x55\x49\x54\x0B\x21\x11\x00\x0C", 16,
         CIP_PROXY_NOT_PROXY},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].text);
        char name[80];
        cip_proxy_result r;
        snprintf(name, sizeof name, "detection case %lu", (unsigned long)i);
        expect(cases[i].text, len, cases[i].status, CIP_PROXY_OK, name, &r);
        if (cases[i].status == CIP_PROXY_NEED_MORE)
            CHECK_EQ_UINT(r.need, len + 1);
    }

    /* Each first byte alone: only 'P' and CR can start a header. */
    for (i = 0; i < 256; i++) {
        unsigned char c = (unsigned char)i;
        cip_proxy_result r;
        cip_proxy_status st = cip_proxy_parse(&c, 1, &r);
        CIP_CONTEXT("first byte 0x%02x", (unsigned)i);
        CHECK_EQ_INT(st, (c == 'P' || c == 0x0D) ? CIP_PROXY_NEED_MORE : CIP_PROXY_NOT_PROXY);
    }
    /* One wrong byte anywhere in the v2 signature or in "PROXY ". */
    for (i = 0; i < 12; i++) {
        unsigned char b[12];
        cip_proxy_result r;
        memcpy(b, sig, 12);
        b[i] ^= 0x20;
        CIP_CONTEXT("v2 signature byte %lu altered", (unsigned long)i);
        CHECK_EQ_INT(cip_proxy_parse(b, 12, &r), CIP_PROXY_NOT_PROXY);
        CHECK_EQ_INT(cip_proxy_parse(b, i + 1, &r), CIP_PROXY_NOT_PROXY);
        if (i > 0)
            CHECK_EQ_INT(cip_proxy_parse(b, i, &r), CIP_PROXY_NEED_MORE);
    }
    for (i = 0; i < 6; i++) {
        unsigned char b[7];
        cip_proxy_result r;
        memcpy(b, "PROXY T", 7);
        b[i] ^= 0x20;
        CIP_CONTEXT("\"PROXY \" byte %lu altered", (unsigned long)i);
        CHECK_EQ_INT(cip_proxy_parse(b, 7, &r), CIP_PROXY_NOT_PROXY);
    }
    CIP_CONTEXT("");
}

/* ------------------------------------------------------------------ v1 */

#define V6MAX "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
#define V6MAPPED45 "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"

struct v1_case {
    const char *line;
    cip_proxy_status status;
    cip_proxy_error error;
    cip_proxy_kind kind;        /* DONE */
    const char *src, *dst;      /* DONE with addresses: canonical text */
    unsigned sport, dport;
    long offset;                /* MALFORMED: error_offset, or -1 */
};

#define OK_TCP4(line, s, d, sp, dp) \
    {line, CIP_PROXY_DONE, CIP_PROXY_OK, CIP_PROXY_KIND_TCP4, s, d, sp, dp, -1}
#define OK_TCP6(line, s, d, sp, dp) \
    {line, CIP_PROXY_DONE, CIP_PROXY_OK, CIP_PROXY_KIND_TCP6, s, d, sp, dp, -1}
#define OK_UNKNOWN(line) \
    {line, CIP_PROXY_DONE, CIP_PROXY_OK, CIP_PROXY_KIND_UNKNOWN, NULL, NULL, 0, 0, -1}
#define BAD(line, err, off) \
    {line, CIP_PROXY_MALFORMED, CIP_PROXY_V1_##err, CIP_PROXY_KIND_NONE, NULL, NULL, 0, 0, off}
#define MORE(line) \
    {line, CIP_PROXY_NEED_MORE, CIP_PROXY_OK, CIP_PROXY_KIND_NONE, NULL, NULL, 0, 0, -1}

static const struct v1_case v1_cases[] = {
    /* valid TCP4 / TCP6 / UNKNOWN, short and long */
    OK_TCP4("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n", "192.0.2.1", "198.51.100.2",
            56324, 443),
    OK_TCP4("PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n", "0.0.0.0", "255.255.255.255", 0,
            65535),
    OK_TCP4("PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n", "255.255.255.255",
            "255.255.255.255", 65535, 65535),
    OK_TCP4("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n", "1.2.3.4", "5.6.7.8", 1, 2),
    OK_TCP6("PROXY TCP6 2001:db8::1 2001:db8::2 56324 443\r\n", "2001:db8::1", "2001:db8::2",
            56324, 443),
    OK_TCP6("PROXY TCP6 ::1 :: 0 0\r\n", "::1", "::", 0, 0),
    OK_TCP6("PROXY TCP6 2001:DB8:0:0:0:0:0:1 fe80::1 10 20\r\n", "2001:db8::1", "fe80::1", 10,
            20),
    /* IPv4-mapped IPv6 text is IPv6 text: accepted, reads as the IPv4 client */
    OK_TCP6("PROXY TCP6 ::ffff:192.0.2.1 ::1 1 2\r\n", "192.0.2.1", "::1", 1, 2),
    OK_TCP6("PROXY TCP6 ::ffff:c000:201 ::1 1 2\r\n", "192.0.2.1", "::1", 1, 2),
    OK_TCP6("PROXY TCP6 " V6MAX " " V6MAX " 65535 65535\r\n", V6MAX, V6MAX, 65535, 65535),
    /* TCP6 exactly 107 bytes, mapped text (checked below with strlen) */
    OK_TCP6("PROXY TCP6 " V6MAPPED45 " fff:ffff:ffff:ffff:ffff:ffff:1.2.3.4 65535 65535\r\n",
            V6MAX, "fff:ffff:ffff:ffff:ffff:ffff:102:304",
            65535, 65535),
    OK_UNKNOWN("PROXY UNKNOWN\r\n"),
    OK_UNKNOWN("PROXY UNKNOWN " V6MAX " " V6MAX " 65535 65535\r\n"), /* 107 bytes */
    OK_UNKNOWN("PROXY UNKNOWN 192.0.2.1 198.51.100.2 56324 443\r\n"),
    OK_UNKNOWN("PROXY UNKNOWN \r\n"),
    OK_UNKNOWN("PROXY UNKNOWN  garbage\x01\x7f\xff\t  TCP4\r\n"),

    /* single spaces */
    BAD("PROXY  TCP4 192.0.2.1 198.51.100.2 56324 443\r\n", EXTRA_SPACE, 6),
    BAD("PROXY TCP4  192.0.2.1 198.51.100.2 56324 443\r\n", EXTRA_SPACE, 11),
    BAD("PROXY TCP4 192.0.2.1  198.51.100.2 56324 443\r\n", EXTRA_SPACE, 21),
    BAD("PROXY TCP4 192.0.2.1 198.51.100.2  56324 443\r\n", EXTRA_SPACE, 34),
    BAD("PROXY TCP4 192.0.2.1 198.51.100.2 56324  443\r\n", EXTRA_SPACE, 40),
    BAD("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443 \r\n", TRAILING_DATA, 43),
    BAD("PROXY TCP4\t192.0.2.1 198.51.100.2 56324 443\r\n", BAD_PROTOCOL, 6),
    BAD("PROXY TCP4 192.0.2.1\t198.51.100.2 56324 443\r\n", BAD_ADDRESS, 11),
    BAD("PROXY TCP4 192.0.2.1 198.51.100.2 56324\t443\r\n", BAD_PORT, 34),
    /* addresses: no leading zeros, no short/octal/hex forms, no names */
    BAD("PROXY TCP4 192.0.2.01 198.51.100.2 56324 443\r\n", BAD_ADDRESS, 11),
    BAD("PROXY TCP4 192.0.2.1 198.051.100.2 56324 443\r\n", BAD_ADDRESS, 21),
    BAD("PROXY TCP4 010.0.0.1 198.51.100.2 56324 443\r\n", BAD_ADDRESS, 11),
    BAD("PROXY TCP4 00.0.0.1 198.51.100.2 56324 443\r\n", BAD_ADDRESS, 11),
    BAD("PROXY TCP4 127.1 198.51.100.2 56324 443\r\n", BAD_ADDRESS, 11),
    BAD("PROXY TCP4 0x7f.0.0.1 198.51.100.2 56324 443\r\n", BAD_ADDRESS, 11),
    BAD("PROXY TCP4 256.0.0.1 198.51.100.2 56324 443\r\n", BAD_ADDRESS, 11),
    BAD("PROXY TCP4 1.2.3.4.5 198.51.100.2 56324 443\r\n", BAD_ADDRESS, 11),
    BAD("PROXY TCP4 localhost 198.51.100.2 56324 443\r\n", BAD_ADDRESS, 11),
    BAD("PROXY TCP6 fe80::1%eth0 ::1 56324 443\r\n", BAD_ADDRESS, 11),
    BAD("PROXY TCP6 [::1] ::1 56324 443\r\n", BAD_ADDRESS, 11),
    BAD("PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 56324 443\r\n", BAD_ADDRESS, 11),
    BAD("PROXY TCP6 ::1 ::g 56324 443\r\n", BAD_ADDRESS, 15),
    /* the family must match the keyword */
    BAD("PROXY TCP4 2001:db8::1 198.51.100.2 56324 443\r\n", FAMILY_MISMATCH, 11),
    BAD("PROXY TCP4 192.0.2.1 ::1 56324 443\r\n", FAMILY_MISMATCH, 21),
    BAD("PROXY TCP4 ::ffff:192.0.2.1 198.51.100.2 56324 443\r\n", FAMILY_MISMATCH, 11),
    BAD("PROXY TCP6 192.0.2.1 2001:db8::2 56324 443\r\n", FAMILY_MISMATCH, 11),
    BAD("PROXY TCP6 2001:db8::1 198.51.100.2 56324 443\r\n", FAMILY_MISMATCH, 23),
    /* ports: decimal 0-65535, no leading zeros */
    BAD("PROXY TCP4 192.0.2.1 198.51.100.2 056324 443\r\n", BAD_PORT, 34),
    BAD("PROXY TCP4 192.0.2.1 198.51.100.2 56324 0443\r\n", BAD_PORT, 40),
    BAD("PROXY TCP4 192.0.2.1 198.51.100.2 00 443\r\n", BAD_PORT, 34),
    BAD("PROXY TCP4 192.0.2.1 198.51.100.2 65536 443\r\n", BAD_PORT, 34),
    BAD("PROXY TCP4 192.0.2.1 198.51.100.2 56324 65536\r\n", BAD_PORT, 40),
    BAD("PROXY TCP4 192.0.2.1 198.51.100.2 99999 443\r\n", BAD_PORT, 34),
    BAD("PROXY TCP4 192.0.2.1 198.51.100.2 100000 443\r\n", BAD_PORT, 34),
    BAD("PROXY TCP4 192.0.2.1 198.51.100.2 +1 443\r\n", BAD_PORT, 34),
    BAD("PROXY TCP4 192.0.2.1 198.51.100.2 -1 443\r\n", BAD_PORT, 34),
    BAD("PROXY TCP4 192.0.2.1 198.51.100.2 0x50 443\r\n", BAD_PORT, 34),
    BAD("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443x\r\n", BAD_PORT, 40),
    /* CRLF only */
    BAD("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\n", BARE_LF, 43),
    BAD("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\rX", BARE_CR, 43),
    BAD("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\r\n", BARE_CR, 43),
    BAD("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\n\r", BARE_LF, 43),
    BAD("PROXY UNKNOWN\n", BARE_LF, 13),
    BAD("PROXY UNKNOWN\rGET", BARE_CR, 13),
    BAD("PROXY UNKNOWN 1.2.3.4\n5.6.7.8\r\n", BARE_LF, 21),
    BAD("PROXY UNKNOWN 1.2.3.4\r5.6.7.8\r\n", BARE_CR, 21),
    /* 107 bytes at most: at it (above) and over it */
    BAD("PROXY UNKNOWN " V6MAX " " V6MAX " 65535 655355\r\n", TOO_LONG, 107),
    BAD("PROXY UNKNOWN " V6MAX " " V6MAX " 65535 6553555\r\n", TOO_LONG, 107),
    BAD("PROXY TCP6 " V6MAPPED45 " ffff:ffff:ffff:ffff:ffff:ffff:1.2.3.4 65535 65535\r\n",
        TOO_LONG, 107),
    BAD("PROXY TCP6 " V6MAPPED45 " " V6MAPPED45 " 65535 65535\r\n", TOO_LONG, 107),
    BAD("PROXY UNKNOWN xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        TOO_LONG, 107),
    /* keywords: exact and case-sensitive */
    BAD("PROXY tcp4 192.0.2.1 198.51.100.2 56324 443\r\n", BAD_PROTOCOL, 6),
    BAD("PROXY TCP5 192.0.2.1 198.51.100.2 56324 443\r\n", BAD_PROTOCOL, 6),
    BAD("PROXY TCP 192.0.2.1 198.51.100.2 56324 443\r\n", BAD_PROTOCOL, 6),
    BAD("PROXY TCP44 192.0.2.1 198.51.100.2 56324 443\r\n", BAD_PROTOCOL, 6),
    BAD("PROXY UNKNOWNx\r\n", BAD_PROTOCOL, 6),
    BAD("PROXY unknown\r\n", BAD_PROTOCOL, 6),
    BAD("PROXY UDP4 192.0.2.1 198.51.100.2 56324 443\r\n", BAD_PROTOCOL, 6),
    /* missing fields */
    BAD("PROXY \r\n", MISSING_FIELD, 6),
    BAD("PROXY TCP4\r\n", MISSING_FIELD, 10),
    BAD("PROXY TCP4 \r\n", MISSING_FIELD, 11),
    BAD("PROXY TCP4 192.0.2.1\r\n", MISSING_FIELD, 20),
    BAD("PROXY TCP4 192.0.2.1 198.51.100.2\r\n", MISSING_FIELD, 33),
    BAD("PROXY TCP4 192.0.2.1 198.51.100.2 56324\r\n", MISSING_FIELD, 39),
    BAD("PROXY TCP4 192.0.2.1 198.51.100.2 56324\n", MISSING_FIELD, 39),
    BAD("PROXY TCP4 192.0.2.1 198.51.100.2 56324 \r\n", MISSING_FIELD, 40),
    /* trailing garbage before CRLF */
    BAD("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443 x\r\n", TRAILING_DATA, 43),
    BAD("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443 443\r\n", TRAILING_DATA, 43),
    /* verdicts before the line is complete */
    BAD("PROXY X", BAD_PROTOCOL, 6),
    BAD("PROXY TCP4 1.2.3.4x", BAD_ADDRESS, 11),
    BAD("PROXY TCP6 1111:2222:3333:4444:5555:6666:7777:8888:9999:a", BAD_ADDRESS, 11), /* > 45 */
    MORE("PROXY TCP6 1111:2222:3333:4444:5555:6666:7777:8888:9999"), /* 44 */
    BAD("PROXY TCP4 1.2.3.4 5.6.7.8 01", BAD_PORT, 27),
    BAD("PROXY TCP4 1.2.3.4 5.6.7.8 65536", BAD_PORT, 27),
    BAD("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 ", TRAILING_DATA, 30),
    BAD("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", BARE_LF, 30),
    MORE("PROXY TCP4 1.2.3.4 5.6.7.8 1 2"),
    MORE("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r"),
    MORE("PROXY TCP4 1.2.3.4 5.6.7.8 0"),
    MORE("PROXY TCP4 1.2.3.4 5.6.7.8 6553"),
    MORE("PROXY TCP6 ::ffff:"),
    MORE("PROXY TCP4 ::"), /* might still be FAMILY_MISMATCH or BAD_ADDRESS */
    MORE("PROXY UNKNOWN"),
    MORE("PROXY UNKNOWN\r"),
    MORE("PROXY UNKNOWN "),
    MORE("PROXY UNKN"),
};

static void test_v1(void)
{
    size_t i;
    for (i = 0; i < sizeof v1_cases / sizeof v1_cases[0]; i++) {
        const struct v1_case *c = &v1_cases[i];
        size_t len = strlen(c->line);
        char name[160];
        cip_proxy_result r;
        run x;

        snprintf(name, sizeof name, "v1 case %lu: %.60s", (unsigned long)i, c->line);
        expect(c->line, len, c->status, c->error, name, &r);
        CIP_CONTEXT("%s", name);
        if (c->status == CIP_PROXY_DONE) {
            CHECK_EQ_UINT(r.header_len, len);
            CHECK_EQ_INT(r.version, 1);
            CHECK_EQ_INT(r.kind, c->kind);
            CHECK(r.tlvs == NULL && r.tlvs_len == 0);
            if (c->src) {
                CHECK_EQ_INT(r.has_addresses, 1);
                CHECK_EQ_STR(addr_text(&r.src), c->src);
                CHECK_EQ_STR(addr_text(&r.dst), c->dst);
                CHECK_EQ_UINT(r.src_port, c->sport);
                CHECK_EQ_UINT(r.dst_port, c->dport);
            } else {
                CHECK_EQ_INT(r.has_addresses, 0);
            }
        } else if (c->status == CIP_PROXY_MALFORMED) {
            CHECK_EQ_INT(r.version, 1);
            if (c->offset >= 0)
                CHECK_EQ_UINT(r.error_offset, (unsigned long)c->offset);
        } else if (c->status == CIP_PROXY_NEED_MORE) {
            CHECK_EQ_UINT(r.need, len + 1);
        }

        /* What follows the header (the next protocol) changes nothing. */
        if (c->status == CIP_PROXY_DONE || c->status == CIP_PROXY_MALFORMED) {
            static const char more[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
            char *ext = malloc(len + sizeof more);
            cip_proxy_result r2;
            if (!ext)
                abort();
            memcpy(ext, c->line, len);
            memcpy(ext + len, more, sizeof more);
            run_parse(&x, ext, len + sizeof more - 1);
            r2 = x.r;
            CHECKF(same_answer(x.status, &r2, c->status, &r), "with data after it: %s",
                   status_name(x.status));
            run_end(&x);
            free(ext);
        }
    }

    /* The lengths the cases above rely on. */
    CIP_CONTEXT("v1 lengths");
    CHECK_EQ_UINT(strlen("PROXY UNKNOWN " V6MAX " " V6MAX " 65535 65535\r\n"), 107);
    CHECK_EQ_UINT(strlen("PROXY TCP6 " V6MAPPED45
                         " fff:ffff:ffff:ffff:ffff:ffff:1.2.3.4 65535 65535\r\n"),
                  107);
    CHECK_EQ_UINT(strlen("PROXY TCP6 " V6MAPPED45
                         " ffff:ffff:ffff:ffff:ffff:ffff:1.2.3.4 65535 65535\r\n"),
                  108);

    /* A NUL or other control byte inside a field. */
    {
        static const char nul_addr[] = "PROXY TCP4 192.0.2.1\0 198.51.100.2 1 2\r\n";
        static const char nul_port[] = "PROXY TCP4 192.0.2.1 198.51.100.2 1\0 2\r\n";
        static const char nul_kw[] = "PROXY TCP4\0 192.0.2.1 198.51.100.2 1 2\r\n";
        expect(nul_addr, sizeof nul_addr - 1, CIP_PROXY_MALFORMED, CIP_PROXY_V1_BAD_ADDRESS,
               "v1 NUL in address", NULL);
        expect(nul_port, sizeof nul_port - 1, CIP_PROXY_MALFORMED, CIP_PROXY_V1_BAD_PORT,
               "v1 NUL in port", NULL);
        expect(nul_kw, sizeof nul_kw - 1, CIP_PROXY_MALFORMED, CIP_PROXY_V1_BAD_PROTOCOL,
               "v1 NUL in keyword", NULL);
    }

    /* Every port 0-65535 round-trips; every 6-digit one is refused. */
    {
        unsigned long ok = 0;
        char line[64];
        for (unsigned port = 0; port <= 70000; port += (port < 1100 ? 1 : 7)) {
            cip_proxy_result r;
            int n = snprintf(line, sizeof line, "PROXY TCP4 1.2.3.4 5.6.7.8 %u 80\r\n", port);
            cip_proxy_status st = cip_proxy_parse((const unsigned char *)line, (size_t)n, &r);
            if (port <= 65535)
                ok += st == CIP_PROXY_DONE && r.src_port == port;
            else
                ok += st == CIP_PROXY_MALFORMED && r.error == CIP_PROXY_V1_BAD_PORT;
        }
        CIP_CONTEXT("v1 port sweep");
        CHECK_EQ_UINT(ok, 1100 + (70000 - 1100) / 7 + 1);
    }
    CIP_CONTEXT("");
}

/* ------------------------------------------------------------------ v2 */

static void expect_h(const hdr *h, cip_proxy_status status, cip_proxy_error error,
                     const char *name, cip_proxy_result *out)
{
    expect(h->b, h->len, status, error, name, out);
}

static void test_v2_fixed(void)
{
    cip_proxy_result r;
    hdr *h;
    char name[80];
    unsigned v;

    /* The plain cases. */
    h = h_new(0x21, 0x11);
    h_put(h, inet_block, 12);
    h_end(h);
    expect_h(h, CIP_PROXY_DONE, CIP_PROXY_OK, "v2 INET", &r);
    CHECK_EQ_UINT(r.header_len, 28);
    CHECK_EQ_INT(r.version, 2);
    CHECK_EQ_INT(r.kind, CIP_PROXY_KIND_TCP4);
    CHECK_EQ_INT(r.has_addresses, 1);
    CHECK_EQ_STR(addr_text(&r.src), "192.0.2.1");
    CHECK_EQ_STR(addr_text(&r.dst), "198.51.100.2");
    CHECK_EQ_UINT(r.src_port, 56324);
    CHECK_EQ_UINT(r.dst_port, 443);
    CHECK_EQ_UINT(r.tlvs_len, 0);
    CHECK_EQ_INT(r.v2_command, 1);
    CHECK_EQ_INT(r.v2_family, 1);
    CHECK_EQ_INT(r.v2_transport, 1);
    CHECK_EQ_INT(r.has_crc32c, 0);
    /* ... followed by a TLS ClientHello */
    h_put(h, "\x16\x03\x01\x00\x05hello", 10);
    expect_h(h, CIP_PROXY_DONE, CIP_PROXY_OK, "v2 INET then TLS", &r);
    CHECK_EQ_UINT(r.header_len, 28);
    free(h);

    h = h_new(0x21, 0x21);
    h_put(h, inet6_block, 36);
    h_end(h);
    expect_h(h, CIP_PROXY_DONE, CIP_PROXY_OK, "v2 INET6", &r);
    CHECK_EQ_UINT(r.header_len, 52);
    CHECK_EQ_INT(r.kind, CIP_PROXY_KIND_TCP6);
    CHECK_EQ_STR(addr_text(&r.src), "2001:db8::1");
    CHECK_EQ_STR(addr_text(&r.dst), "2001:db8::2");
    CHECK_EQ_UINT(r.src_port, 56324);
    CHECK_EQ_UINT(r.dst_port, 443);
    free(h);

    /* Version nibble: only 2. Decided at byte 13. */
    for (v = 0; v < 16; v++) {
        if (v == 2)
            continue;
        h = h_new(v << 4 | 1, 0x11);
        h_put(h, inet_block, 12);
        h_end(h);
        snprintf(name, sizeof name, "v2 version %u", v);
        expect_h(h, CIP_PROXY_MALFORMED, CIP_PROXY_V2_BAD_VERSION, name, &r);
        CHECK_EQ_UINT(r.error_offset, 12);
        CHECK_EQ_UINT(r.error_value, v);
        CHECK_EQ_INT(cip_proxy_parse(h->b, 13, &r), CIP_PROXY_MALFORMED);
        free(h);
    }
    /* Command: LOCAL or PROXY only. */
    for (v = 2; v < 16; v++) {
        h = h_new(0x20 | v, 0x11);
        h_put(h, inet_block, 12);
        h_end(h);
        snprintf(name, sizeof name, "v2 command %u", v);
        expect_h(h, CIP_PROXY_MALFORMED, CIP_PROXY_V2_BAD_COMMAND, name, &r);
        CHECK_EQ_UINT(r.error_value, v);
        CHECK_EQ_INT(cip_proxy_parse(h->b, 13, &r), CIP_PROXY_MALFORMED);
        free(h);
    }
    {
        char text[100];
        h = h_new(0x23, 0x11);
        h_end(h);
        cip_proxy_parse(h->b, h->len, &r);
        cip_proxy_error_format(&r, text, sizeof text);
        CIP_CONTEXT("error format");
        CHECK_EQ_STR(text, "v2: unknown command 0x3 (offset 12)");
        CHECK_EQ_UINT(cip_proxy_error_format(&r, text, 5), strlen("v2: unknown command 0x3 (offset 12)"));
        CHECK_EQ_STR(text, "v2: ");
        free(h);
    }
    /* Every family/transport byte, for both commands: families 0-3 and
     * transports 0-2 pass the fixed part, all else is refused at byte 14. */
    for (unsigned cmd = 0; cmd < 2; cmd++) {
        for (v = 0; v < 256; v++) {
            unsigned fam = v >> 4, tr = v & 15;
            static const unsigned block[4] = {0, 12, 36, 216};
            cip_proxy_status st;
            h = h_new(0x20 | cmd, v);
            h_fill(h, 0x11, fam < 4 ? block[fam] : 12);
            h_end(h);
            snprintf(name, sizeof name, "v2 command %u family/transport 0x%02x", cmd, v);
            CIP_CONTEXT("%s", name);
            st = cip_proxy_parse(h->b, h->len, &r);
            if (fam > 3) {
                CHECK_EQ_INT(st, CIP_PROXY_MALFORMED);
                CHECK_EQ_INT(r.error, CIP_PROXY_V2_BAD_FAMILY);
                CHECK_EQ_INT(cip_proxy_parse(h->b, 14, &r), CIP_PROXY_MALFORMED);
            } else if (tr > 2) {
                CHECK_EQ_INT(st, CIP_PROXY_MALFORMED);
                CHECK_EQ_INT(r.error, CIP_PROXY_V2_BAD_TRANSPORT);
                CHECK_EQ_INT(cip_proxy_parse(h->b, 14, &r), CIP_PROXY_MALFORMED);
            } else {
                cip_proxy_kind want;
                CHECK_EQ_INT(st, CIP_PROXY_DONE);
                if (cmd == 0)
                    want = CIP_PROXY_KIND_LOCAL;
                else if (tr == 1 && fam == 1)
                    want = CIP_PROXY_KIND_TCP4;
                else if (tr == 1 && fam == 2)
                    want = CIP_PROXY_KIND_TCP6;
                else
                    want = CIP_PROXY_KIND_UNSUPPORTED;
                CHECK_EQ_INT(r.kind, want);
                CHECK_EQ_INT(r.has_addresses,
                             want == CIP_PROXY_KIND_TCP4 || want == CIP_PROXY_KIND_TCP6);
                CHECK_EQ_INT(r.v2_family, fam);
                CHECK_EQ_INT(r.v2_transport, tr);
                CHECK_EQ_INT(r.v2_command, cmd);
                CHECK_EQ_INT(cip_proxy_parse(h->b, 14, &r), CIP_PROXY_NEED_MORE);
                CHECK_EQ_UINT(r.need, 16);
            }
            free(h);
        }
    }
    CIP_CONTEXT("");

    /* len shorter than the family's address block, for both commands; at
     * the block exactly it is fine. */
    {
        static const struct {
            unsigned famtr, block;
        } fams[] = {{0x11, 12}, {0x21, 36}, {0x31, 216}, {0x12, 12}, {0x10, 12}};
        for (unsigned i = 0; i < sizeof fams / sizeof fams[0]; i++) {
            for (unsigned cmd = 0; cmd < 2; cmd++) {
                h = h_new(0x20 | cmd, fams[i].famtr);
                h_fill(h, 0x42, fams[i].block - 1);
                h_end(h);
                snprintf(name, sizeof name, "v2 cmd %u family 0x%02x len %u", cmd,
                         fams[i].famtr, fams[i].block - 1);
                expect_h(h, CIP_PROXY_MALFORMED, CIP_PROXY_V2_SHORT_ADDRESS, name, &r);
                CHECK_EQ_UINT(r.error_value, fams[i].block - 1);
                CHECK_EQ_INT(cip_proxy_parse(h->b, 16, &r), CIP_PROXY_MALFORMED);
                h_fill(h, 0x42, 1);
                h_end(h);
                snprintf(name, sizeof name, "v2 cmd %u family 0x%02x len %u", cmd,
                         fams[i].famtr, fams[i].block);
                expect_h(h, CIP_PROXY_DONE, CIP_PROXY_OK, name, &r);
                CHECK_EQ_UINT(r.tlvs_len, 0);
                free(h);
            }
        }
        h = h_new(0x20, 0x11); /* LOCAL INET with len 0: the block is still required */
        h_end(h);
        expect_h(h, CIP_PROXY_MALFORMED, CIP_PROXY_V2_SHORT_ADDRESS, "v2 LOCAL INET len 0", &r);
        free(h);
    }

    /* need: 13, 14, 16, then the whole header. */
    h = h_new(0x21, 0x11);
    h_put(h, inet_block, 12);
    h_fill(h, 0, 1000);
    h_end(h);
    CIP_CONTEXT("v2 need");
    CHECK_EQ_INT(cip_proxy_parse(h->b, 12, &r), CIP_PROXY_NEED_MORE);
    CHECK_EQ_UINT(r.need, 13);
    CHECK_EQ_INT(cip_proxy_parse(h->b, 13, &r), CIP_PROXY_NEED_MORE);
    CHECK_EQ_UINT(r.need, 14);
    CHECK_EQ_INT(cip_proxy_parse(h->b, 14, &r), CIP_PROXY_NEED_MORE);
    CHECK_EQ_UINT(r.need, 16);
    CHECK_EQ_INT(cip_proxy_parse(h->b, 15, &r), CIP_PROXY_NEED_MORE);
    CHECK_EQ_UINT(r.need, 16);
    CHECK_EQ_INT(cip_proxy_parse(h->b, 16, &r), CIP_PROXY_NEED_MORE);
    CHECK_EQ_UINT(r.need, 1028);
    CHECK_EQ_INT(cip_proxy_parse(h->b, 1027, &r), CIP_PROXY_NEED_MORE);
    CHECK_EQ_UINT(r.need, 1028);
    free(h);
    CIP_CONTEXT("");
}

static void test_v2_local_unsupported(void)
{
    cip_proxy_result r;
    cip_proxy_tlv tlv;
    hdr *h;

    /* LOCAL, len 0. */
    h = h_new(0x20, 0x00);
    h_end(h);
    expect_h(h, CIP_PROXY_DONE, CIP_PROXY_OK, "v2 LOCAL empty", &r);
    CHECK_EQ_UINT(r.header_len, 16);
    CHECK_EQ_INT(r.kind, CIP_PROXY_KIND_LOCAL);
    CHECK_EQ_INT(r.has_addresses, 0);
    free(h);

    /* LOCAL with len > 0 and TLVs: all of len is consumed, TLVs kept. */
    h = h_new(0x20, 0x00);
    h_fill(h, 0, 0);
    h_tlv(h, CIP_PROXY_TLV_NOOP, "\0\0\0\0\0\0\0\0", 8);
    h_tlv_str(h, CIP_PROXY_TLV_AUTHORITY, "health.example");
    h_end(h);
    expect_h(h, CIP_PROXY_DONE, CIP_PROXY_OK, "v2 LOCAL with TLVs", &r);
    CHECK_EQ_UINT(r.header_len, h->len);
    CHECK_EQ_INT(r.kind, CIP_PROXY_KIND_LOCAL);
    CHECK_EQ_INT(r.has_addresses, 0);
    CHECK_EQ_UINT(r.tlvs_len, h->len - 16);
    {
        run x;
        run_parse(&x, h->b, h->len);
        CHECK(cip_proxy_tlv_find(x.r.tlvs, x.r.tlvs_len, CIP_PROXY_TLV_AUTHORITY, &tlv));
        CHECK_EQ_STRN((const char *)tlv.value, tlv.len, "health.example");
        run_end(&x);
    }
    free(h);

    /* LOCAL with an INET block (not used) and TLVs after it. */
    h = h_new(0x20, 0x11);
    h_put(h, inet_block, 12);
    h_tlv_str(h, CIP_PROXY_TLV_UNIQUE_ID, "id-1");
    h_end(h);
    expect_h(h, CIP_PROXY_DONE, CIP_PROXY_OK, "v2 LOCAL INET with TLVs", &r);
    CHECK_EQ_INT(r.kind, CIP_PROXY_KIND_LOCAL);
    CHECK_EQ_INT(r.has_addresses, 0);
    CHECK_EQ_UINT(r.tlvs_len, 7);
    free(h);

    /* LOCAL TLVs are validated too. */
    h = h_new(0x20, 0x00);
    h_put(h, "\x04\x00\x05zz", 5);
    h_end(h);
    expect_h(h, CIP_PROXY_MALFORMED, CIP_PROXY_V2_TLV_OVERRUN, "v2 LOCAL TLV overrun", NULL);
    free(h);

    /* PROXY + UNSPEC family: accepted, no address taken. */
    h = h_new(0x21, 0x00);
    h_end(h);
    expect_h(h, CIP_PROXY_DONE, CIP_PROXY_OK, "v2 PROXY UNSPEC", &r);
    CHECK_EQ_INT(r.kind, CIP_PROXY_KIND_UNSUPPORTED);
    CHECK_EQ_INT(r.has_addresses, 0);
    free(h);
    h = h_new(0x21, 0x01);
    h_tlv_str(h, CIP_PROXY_TLV_AUTHORITY, "x.example");
    h_end(h);
    expect_h(h, CIP_PROXY_DONE, CIP_PROXY_OK, "v2 PROXY UNSPEC STREAM with TLVs", &r);
    CHECK_EQ_INT(r.kind, CIP_PROXY_KIND_UNSUPPORTED);
    CHECK_EQ_UINT(r.tlvs_len, 12);
    free(h);

    /* PROXY + UNIX: 216-byte block skipped, TLVs after it, no address. */
    h = h_new(0x21, 0x31);
    h_put(h, "/run/a.sock", 11);
    h_fill(h, 0, 97);
    h_put(h, "/run/b.sock", 11);
    h_fill(h, 0, 97);
    h_tlv_str(h, CIP_PROXY_TLV_ALPN, "h2");
    h_end(h);
    expect_h(h, CIP_PROXY_DONE, CIP_PROXY_OK, "v2 PROXY UNIX", &r);
    CHECK_EQ_INT(r.kind, CIP_PROXY_KIND_UNSUPPORTED);
    CHECK_EQ_INT(r.has_addresses, 0);
    CHECK_EQ_UINT(r.header_len, 16 + 216 + 5);
    CHECK_EQ_UINT(r.tlvs_len, 5);
    free(h);

    /* PROXY + DGRAM over INET and INET6: no address. */
    h = h_new(0x21, 0x12);
    h_put(h, inet_block, 12);
    h_end(h);
    expect_h(h, CIP_PROXY_DONE, CIP_PROXY_OK, "v2 PROXY INET DGRAM", &r);
    CHECK_EQ_INT(r.kind, CIP_PROXY_KIND_UNSUPPORTED);
    CHECK_EQ_INT(r.has_addresses, 0);
    CHECK_EQ_UINT(r.src_port, 0);
    free(h);
    h = h_new(0x21, 0x22);
    h_put(h, inet6_block, 36);
    h_end(h);
    expect_h(h, CIP_PROXY_DONE, CIP_PROXY_OK, "v2 PROXY INET6 DGRAM", &r);
    CHECK_EQ_INT(r.kind, CIP_PROXY_KIND_UNSUPPORTED);
    free(h);
    /* ... and with the transport unspecified. */
    h = h_new(0x21, 0x10);
    h_put(h, inet_block, 12);
    h_end(h);
    expect_h(h, CIP_PROXY_DONE, CIP_PROXY_OK, "v2 PROXY INET transport UNSPEC", &r);
    CHECK_EQ_INT(r.kind, CIP_PROXY_KIND_UNSUPPORTED);
    free(h);

    CIP_CONTEXT("kind text");
    CHECK_EQ_STR(cip_proxy_kind_text(CIP_PROXY_KIND_TCP4), "TCP4");
    CHECK_EQ_STR(cip_proxy_kind_text(CIP_PROXY_KIND_LOCAL), "LOCAL");
    CHECK_EQ_STR(cip_proxy_kind_text(CIP_PROXY_KIND_UNSUPPORTED), "unsupported");
    CIP_CONTEXT("");
}

static void test_v2_tlv_framing(void)
{
    cip_proxy_result r;
    hdr *h;
    size_t at;

    /* A TLV one byte longer than what is left. */
    h = h_new(0x21, 0x11);
    h_put(h, inet_block, 12);
    h_tlv_str(h, CIP_PROXY_TLV_ALPN, "h2");
    at = h_tlv_str(h, CIP_PROXY_TLV_AUTHORITY, "example.com") - 3;
    h->b[at + 2]++;
    h_end(h);
    expect_h(h, CIP_PROXY_MALFORMED, CIP_PROXY_V2_TLV_OVERRUN, "v2 TLV overrun by 1", &r);
    CHECK_EQ_UINT(r.error_offset, at);
    CHECK_EQ_UINT(r.error_value, CIP_PROXY_TLV_AUTHORITY);
    /* ... and one that says 65535 */
    h->b[at + 1] = h->b[at + 2] = 0xff;
    expect_h(h, CIP_PROXY_MALFORMED, CIP_PROXY_V2_TLV_OVERRUN, "v2 TLV length 65535", NULL);
    free(h);

    /* 1- and 2-byte tails that are no TLV header. */
    for (int tail = 1; tail <= 2; tail++) {
        char name[60];
        h = h_new(0x21, 0x11);
        h_put(h, inet_block, 12);
        h_tlv_str(h, CIP_PROXY_TLV_ALPN, "h2");
        h_fill(h, 0x04, (size_t)tail);
        h_end(h);
        snprintf(name, sizeof name, "v2 %d-byte tail after the TLVs", tail);
        expect_h(h, CIP_PROXY_MALFORMED, CIP_PROXY_V2_TLV_OVERRUN, name, &r);
        CHECK_EQ_UINT(r.error_offset, 33);
        free(h);
    }

    /* Zero-length values are fine, and an empty TLV block too. */
    h = h_new(0x21, 0x11);
    h_put(h, inet_block, 12);
    h_tlv(h, CIP_PROXY_TLV_ALPN, "", 0);
    h_tlv(h, 0xF7, "", 0);
    h_tlv(h, CIP_PROXY_TLV_NOOP, "", 0);
    h_end(h);
    expect_h(h, CIP_PROXY_DONE, CIP_PROXY_OK, "v2 zero-length TLVs", &r);
    CHECK_EQ_UINT(r.tlvs_len, 9);
    free(h);

    /* SSL: fixed part of 5 bytes required; sub-TLVs must fit inside it,
     * even when the header has room after it. */
    for (unsigned n = 0; n < 5; n++) {
        char name[60];
        h = h_new(0x21, 0x11);
        h_put(h, inet_block, 12);
        h_tlv(h, CIP_PROXY_TLV_SSL, "\x01\0\0\0", n);
        h_end(h);
        snprintf(name, sizeof name, "v2 SSL TLV of %u bytes", n);
        expect_h(h, CIP_PROXY_MALFORMED, CIP_PROXY_V2_SSL_TOO_SHORT, name, &r);
        CHECK_EQ_UINT(r.error_value, n);
        free(h);
    }
    h = h_new(0x21, 0x11);
    h_put(h, inet_block, 12);
    at = h_open(h, CIP_PROXY_TLV_SSL);
    h_ssl_fixed(h, 1, 0);
    h_close(h, at);
    h_end(h);
    expect_h(h, CIP_PROXY_DONE, CIP_PROXY_OK, "v2 SSL TLV of 5 bytes", &r);
    free(h);

    h = h_new(0x21, 0x11);
    h_put(h, inet_block, 12);
    at = h_open(h, CIP_PROXY_TLV_SSL);
    h_ssl_fixed(h, 1, 0);
    h_tlv_str(h, CIP_PROXY_SSL_VERSION, "TLSv1.3");
    {
        size_t cn = h_tlv_str(h, CIP_PROXY_SSL_CN, "cn") - 3;
        h_close(h, at);
        h->b[cn + 2] = 9; /* runs past the SSL TLV into the next one */
        h_tlv_str(h, CIP_PROXY_TLV_AUTHORITY, "abcdefghijk");
        h_end(h);
        expect_h(h, CIP_PROXY_MALFORMED, CIP_PROXY_V2_SSL_SUB_OVERRUN, "v2 SSL sub-TLV overrun",
                 &r);
        CHECK_EQ_UINT(r.error_offset, cn);
        CHECK_EQ_UINT(r.error_value, CIP_PROXY_SSL_CN);
    }
    free(h);
    for (int tail = 1; tail <= 2; tail++) {
        h = h_new(0x21, 0x11);
        h_put(h, inet_block, 12);
        at = h_open(h, CIP_PROXY_TLV_SSL);
        h_ssl_fixed(h, 1, 0);
        h_fill(h, CIP_PROXY_SSL_CN, (size_t)tail);
        h_close(h, at);
        h_end(h);
        expect_h(h, CIP_PROXY_MALFORMED, CIP_PROXY_V2_SSL_SUB_OVERRUN, "v2 SSL sub-TLV tail",
                 NULL);
        free(h);
    }

    /* A 0x03 inside the SSL TLV is a sub-TLV, not a CRC32C: not checked. */
    h = h_new(0x21, 0x11);
    h_put(h, inet_block, 12);
    at = h_open(h, CIP_PROXY_TLV_SSL);
    h_ssl_fixed(h, 1, 0);
    h_tlv(h, 0x03, "\x01\x02", 2);
    h_close(h, at);
    h_end(h);
    expect_h(h, CIP_PROXY_DONE, CIP_PROXY_OK, "v2 0x03 as an SSL sub-TLV", &r);
    CHECK_EQ_INT(r.has_crc32c, 0);
    free(h);
}

static void test_v2_crc(void)
{
    cip_proxy_result r;
    hdr *h;
    size_t at;
    char name[80];

    /* Good, as first and as last TLV. */
    h = h_new(0x21, 0x11);
    h_put(h, inet_block, 12);
    at = h_crc_tlv(h);
    h_tlv_str(h, CIP_PROXY_TLV_AUTHORITY, "example.com");
    h_end(h);
    h_crc(h, at);
    expect_h(h, CIP_PROXY_DONE, CIP_PROXY_OK, "v2 CRC32C first", &r);
    CHECK_EQ_INT(r.has_crc32c, 1);
    /* Any one bit flipped past the signature and fixed fields (which would
     * fail earlier), or in the CRC itself: mismatch. */
    for (size_t i = 16; i < h->len; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            cip_proxy_status st;
            h->b[i] ^= (unsigned char)(1u << bit);
            st = cip_proxy_parse(h->b, h->len, &r);
            snprintf(name, sizeof name, "v2 CRC32C with byte %lu bit %d flipped",
                     (unsigned long)i, bit);
            CIP_CONTEXT("%s", name);
            /* A flipped CRC TLV type leaves no CRC to check; a flip in a
             * TLV header may break the framing first; any other flip is a
             * mismatch. */
            if (i == at - 3)
                CHECK(st == CIP_PROXY_MALFORMED || (st == CIP_PROXY_DONE && !r.has_crc32c));
            else if ((i >= at - 2 && i < at) || (i >= at + 4 && i < at + 7))
                CHECK_EQ_INT(st, CIP_PROXY_MALFORMED);
            else
                CHECKF(st == CIP_PROXY_MALFORMED && r.error == CIP_PROXY_V2_CRC_MISMATCH,
                       "status %s error %s", status_name(st), cip_proxy_error_text(r.error));
            h->b[i] ^= (unsigned char)(1u << bit);
        }
    }
    CIP_CONTEXT("");
    h->b[at] ^= 0x80;
    expect_h(h, CIP_PROXY_MALFORMED, CIP_PROXY_V2_CRC_MISMATCH, "v2 CRC32C bad", &r);
    CHECK_EQ_UINT(r.error_offset, at);
    {
        char text[100];
        cip_proxy_error_format(&r, text, sizeof text);
        CHECK(strncmp(text, "v2: CRC32C mismatch (received 0x", 32) == 0);
    }
    free(h);

    h = h_new(0x21, 0x21);
    h_put(h, inet6_block, 36);
    h_tlv_str(h, CIP_PROXY_TLV_AUTHORITY, "example.com");
    h_tlv_str(h, CIP_PROXY_TLV_UNIQUE_ID, "abc");
    at = h_crc_tlv(h);
    h_end(h);
    h_crc(h, at);
    expect_h(h, CIP_PROXY_DONE, CIP_PROXY_OK, "v2 CRC32C last", &r);
    CHECK_EQ_INT(r.has_crc32c, 1);
    {
        run x;
        cip_proxy_tlv tlv;
        uint32_t crc = 0;
        run_parse(&x, h->b, h->len);
        CHECK(cip_proxy_tlv_find(x.r.tlvs, x.r.tlvs_len, CIP_PROXY_TLV_CRC32C, &tlv));
        CHECK(cip_proxy_tlv_crc32c(&tlv, &crc));
        CHECK_EQ_UINT(crc, (uint32_t)h->b[at] << 24 | (uint32_t)h->b[at + 1] << 16 |
                               (uint32_t)h->b[at + 2] << 8 | h->b[at + 3]);
        run_end(&x);
    }
    free(h);

    /* In a LOCAL header. */
    h = h_new(0x20, 0x00);
    at = h_crc_tlv(h);
    h_end(h);
    h_crc(h, at);
    expect_h(h, CIP_PROXY_DONE, CIP_PROXY_OK, "v2 LOCAL CRC32C good", &r);
    CHECK_EQ_INT(r.has_crc32c, 1);
    h->b[at + 3] ^= 1;
    expect_h(h, CIP_PROXY_MALFORMED, CIP_PROXY_V2_CRC_MISMATCH, "v2 LOCAL CRC32C bad", NULL);
    free(h);

    /* Lengths other than 4. */
    for (unsigned n = 0; n < 9; n++) {
        if (n == 4)
            continue;
        h = h_new(0x21, 0x11);
        h_put(h, inet_block, 12);
        h_tlv(h, CIP_PROXY_TLV_CRC32C, "\0\0\0\0\0\0\0\0", n);
        h_end(h);
        snprintf(name, sizeof name, "v2 CRC32C TLV of %u bytes", n);
        expect_h(h, CIP_PROXY_MALFORMED, CIP_PROXY_V2_CRC_LENGTH, name, &r);
        CHECK_EQ_UINT(r.error_value, n);
        free(h);
    }

    /* Twice, even with both correct-looking. */
    h = h_new(0x21, 0x11);
    h_put(h, inet_block, 12);
    at = h_crc_tlv(h);
    h_crc_tlv(h);
    h_end(h);
    h_crc(h, at);
    expect_h(h, CIP_PROXY_MALFORMED, CIP_PROXY_V2_CRC_DUPLICATE, "v2 CRC32C twice", NULL);
    free(h);
}

static void test_v2_large(void)
{
    cip_proxy_result r;
    hdr *h;
    size_t at, count;

    /* The longest header, 16 + 65,535, filled with TLVs, CRC included. */
    h = h_new(0x21, 0x11);
    h_put(h, inet_block, 12);
    h_tlv_str(h, CIP_PROXY_TLV_AUTHORITY, "max.example");
    at = h_crc_tlv(h);
    {
        size_t left = CIP_PROXY_V2_MAX - h->len;
        while (left > 0) {
            size_t n = left - 3 > 60000 ? 60000 : left - 3;
            h_open(h, CIP_PROXY_TLV_NOOP);
            h_fill(h, 0, n);
            h_close(h, h->len - n - 3);
            left -= 3 + n;
        }
    }
    h_end(h);
    h_crc(h, at);
    CIP_CONTEXT("v2 max");
    CHECK_EQ_UINT(h->len, 65551);
    expect_h(h, CIP_PROXY_DONE, CIP_PROXY_OK, "v2 16+65535 with a CRC32C", &r);
    CHECK_EQ_UINT(r.header_len, 65551);
    CHECK_EQ_INT(r.has_crc32c, 1);
    CHECK_EQ_UINT(r.tlvs_len, 65535 - 12);
    free(h);

    /* The same length made of 21,841 empty TLVs. */
    h = h_new(0x20, 0x11);
    h_put(h, inet_block, 12);
    while (h->len < CIP_PROXY_V2_MAX)
        h_tlv(h, 0xF0, "", 0);
    h_end(h);
    CIP_CONTEXT("v2 max of empty TLVs");
    CHECK_EQ_UINT(h->len, 65551);
    expect_h(h, CIP_PROXY_DONE, CIP_PROXY_OK, "v2 16+65535 of empty TLVs", &r);
    {
        run x;
        run_parse(&x, h->b, h->len);
        count = 0;
        CHECK(walk_all(x.r.tlvs, x.r.tlvs_len, 0, &count));
        CHECK_EQ_UINT(count, (65535 - 12) / 3);
        run_end(&x);
    }
    /* One more byte of body would not fit the 16-bit length: the length
     * field wraps, so the parser sees a short, different header. With a
     * length of 65535 and one byte missing, it waits. */
    CHECK_EQ_INT(cip_proxy_parse(h->b, h->len - 1, &r), CIP_PROXY_NEED_MORE);
    CHECK_EQ_UINT(r.need, 65551);
    free(h);

    /* 16 KB of TLVs, as a client certificate would bring. */
    h = h_new(0x21, 0x21);
    h_put(h, inet6_block, 36);
    h_tlv_str(h, CIP_PROXY_TLV_AUTHORITY, "big.example");
    at = h_open(h, CIP_PROXY_TLV_SSL);
    h_ssl_fixed(h, 0x07, 0);
    h_tlv_str(h, CIP_PROXY_SSL_VERSION, "TLSv1.3");
    h_open(h, CIP_PROXY_SSL_CLIENT_CERT);
    h_fill(h, 0x30, 12000);
    h_close(h, h->len - 12003);
    h_close(h, at);
    h_open(h, CIP_PROXY_TLV_NOOP);
    h_fill(h, 0, 4400);
    h_close(h, h->len - 4403);
    h_end(h);
    CIP_CONTEXT("v2 16 KB");
    CHECK(h->len - 52 >= 16384);
    expect_h(h, CIP_PROXY_DONE, CIP_PROXY_OK, "v2 16 KB of TLVs", &r);
    CHECK_EQ_UINT(r.tlvs_len, h->len - 52);
    free(h);
    CIP_CONTEXT("");
}

/* ---------------------------------------------------- TLV decoding, views */

struct view_want {
    unsigned type;
    const char *name;
    cip_proxy_tlv_form form;
    const char *rendered; /* text/hex rendering, or the number in decimal */
};

static void check_view(const cip_proxy_tlv *tlv, int in_ssl, const struct view_want *w)
{
    cip_proxy_tlv_view v;
    char out[600];
    cip_proxy_tlv_describe(tlv, in_ssl, &v);
    CIP_CONTEXT("view of TLV 0x%02x%s (%s)", tlv->type, in_ssl ? " in SSL" : "", w->name);
    CHECK_EQ_UINT(tlv->type, w->type);
    CHECK_EQ_STR(v.name, w->name);
    CHECK_EQ_INT(v.form, w->form);
    out[0] = '\0';
    if (v.form == CIP_PROXY_FORM_TEXT)
        cip_proxy_render_text(v.data, v.len, out, sizeof out);
    else if (v.form == CIP_PROXY_FORM_HEX)
        cip_proxy_render_hex(v.data, v.len, out, sizeof out);
    else if (v.form == CIP_PROXY_FORM_NUMBER || v.form == CIP_PROXY_FORM_SSL)
        snprintf(out, sizeof out, "%llu", (unsigned long long)v.number);
    if (w->rendered)
        CHECK_EQ_STR(out, w->rendered);
}

static void test_tlv_views(void)
{
    static const unsigned char cert[6] = {0x30, 0x82, 0x01, 0x0a, 0x00, 0xff};
    static const struct view_want top[] = {
        {0x01, "ALPN", CIP_PROXY_FORM_TEXT, "h2"},
        {0x02, "AUTHORITY", CIP_PROXY_FORM_TEXT, "www.example.com"},
        {0x02, "AUTHORITY", CIP_PROXY_FORM_TEXT, "b\\xc3\\xbccher.example\\x00\\x0a\\x5c"},
        {0x05, "UNIQUE_ID", CIP_PROXY_FORM_HEX, "0102feff"},
        {0x20, "SSL", CIP_PROXY_FORM_SSL, "7"},
        {0x30, "NETNS", CIP_PROXY_FORM_TEXT, "blue ns"},
        {0xEA, "AWS_VPCE_ID", CIP_PROXY_FORM_TEXT, "vpce-0123456789abcdef0"},
        {0xEE, "AZURE_LINKID", CIP_PROXY_FORM_NUMBER, "305419896"},
        {0xE0, "GCP_PSC_ID", CIP_PROXY_FORM_NUMBER, "72623859790382856"},
        {0xE0, "GCP_PSC_ID", CIP_PROXY_FORM_NUMBER, "18446744073709551615"},
        {0x04, "NOOP", CIP_PROXY_FORM_IGNORE, ""},
        {0x03, "CRC32C", CIP_PROXY_FORM_IGNORE, ""},
        {0xF0, "0xf0", CIP_PROXY_FORM_HEX, "6578703a01"},
        {0x00, "0x00", CIP_PROXY_FORM_HEX, ""},
        {0xFF, "0xff", CIP_PROXY_FORM_HEX, "ff"},
        /* undecodable vendor values and a too-long UNIQUE_ID: hex, by number */
        {0xEE, "0xee", CIP_PROXY_FORM_HEX, "0178563412ff"},
        {0xEE, "0xee", CIP_PROXY_FORM_HEX, "01785634"},
        {0xEE, "0xee", CIP_PROXY_FORM_HEX, "0278563412"},
        {0xE0, "0xe0", CIP_PROXY_FORM_HEX, "01020304050607"},
        {0xE0, "0xe0", CIP_PROXY_FORM_HEX, "010203040506070809"},
        {0xEA, "0xea", CIP_PROXY_FORM_HEX, "027670"},
        {0xEA, "0xea", CIP_PROXY_FORM_HEX, "01"},
        {0xEA, "0xea", CIP_PROXY_FORM_HEX, ""},
        {0x05, "UNIQUE_ID", CIP_PROXY_FORM_HEX, NULL}, /* 128 bytes */
        {0x05, "0x05", CIP_PROXY_FORM_HEX, NULL},      /* 129 bytes */
    };
    static const struct view_want sub[] = {
        {0x21, "SSL_VERSION", CIP_PROXY_FORM_TEXT, "TLSv1.3"},
        {0x22, "SSL_CN", CIP_PROXY_FORM_TEXT, "client \\x01\\xff"},
        {0x23, "SSL_CIPHER", CIP_PROXY_FORM_TEXT, "TLS_AES_128_GCM_SHA256"},
        {0x24, "SSL_SIG_ALG", CIP_PROXY_FORM_TEXT, "SHA256"},
        {0x25, "SSL_KEY_ALG", CIP_PROXY_FORM_TEXT, "RSA2048"},
        {0x26, "SSL_GROUP", CIP_PROXY_FORM_TEXT, "X25519"},
        {0x27, "SSL_SIG_SCHEME", CIP_PROXY_FORM_TEXT, "rsa_pss_rsae_sha256"},
        {0x28, "SSL_CLIENT_CERT", CIP_PROXY_FORM_HEX, "3082010a00ff"},
        {0x29, "SSL_0x29", CIP_PROXY_FORM_HEX, "7a"},
        {0x02, "SSL_0x02", CIP_PROXY_FORM_HEX, "6162"},
    };
    unsigned char big[129];
    cip_proxy_result r;
    cip_proxy_tlv tlv;
    cip_proxy_tlv_iter it;
    cip_proxy_ssl ssl;
    hdr *h;
    size_t at, i;
    run x;

    memset(big, 0x75, sizeof big);
    h = h_new(0x21, 0x11);
    h_put(h, inet_block, 12);
    h_tlv_str(h, 0x01, "h2");
    h_tlv_str(h, 0x02, "www.example.com");
    h_tlv(h, 0x02, "b\xc3\xbc" "cher.example\0\n\\", 18);
    h_tlv(h, 0x05, "\x01\x02\xfe\xff", 4);
    at = h_open(h, 0x20);
    h_ssl_fixed(h, 0x07, 0x01020304);
    h_tlv_str(h, 0x21, "TLSv1.3");
    h_tlv(h, 0x22, "client \x01\xff", 9);
    h_tlv_str(h, 0x23, "TLS_AES_128_GCM_SHA256");
    h_tlv_str(h, 0x24, "SHA256");
    h_tlv_str(h, 0x25, "RSA2048");
    h_tlv_str(h, 0x26, "X25519");
    h_tlv_str(h, 0x27, "rsa_pss_rsae_sha256");
    h_tlv(h, 0x28, cert, sizeof cert);
    h_tlv_str(h, 0x29, "z");
    h_tlv_str(h, 0x02, "ab");
    h_close(h, at);
    h_tlv_str(h, 0x30, "blue ns");
    h_tlv(h, 0xEA, "\x01vpce-0123456789abcdef0", 23);
    h_tlv(h, 0xEE, "\x01\x78\x56\x34\x12", 5);
    h_tlv(h, 0xE0, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    h_tlv(h, 0xE0, "\xff\xff\xff\xff\xff\xff\xff\xff", 8);
    h_tlv(h, 0x04, "\0\0\0", 3);
    at = h_crc_tlv(h);
    h_tlv(h, 0xF0, "exp:\x01", 5);
    h_tlv(h, 0x00, "", 0);
    h_tlv(h, 0xFF, "\xff", 1);
    h_tlv(h, 0xEE, "\x01\x78\x56\x34\x12\xff", 6);
    h_tlv(h, 0xEE, "\x01\x78\x56\x34", 4);
    h_tlv(h, 0xEE, "\x02\x78\x56\x34\x12", 5);
    h_tlv(h, 0xE0, "\x01\x02\x03\x04\x05\x06\x07", 7);
    h_tlv(h, 0xE0, "\x01\x02\x03\x04\x05\x06\x07\x08\x09", 9);
    h_tlv(h, 0xEA, "\x02vp", 3);
    h_tlv(h, 0xEA, "\x01", 1);
    h_tlv(h, 0xEA, "", 0);
    h_tlv(h, 0x05, big, 128);
    h_tlv(h, 0x05, big, 129);
    h_end(h);
    h_crc(h, at);
    expect_h(h, CIP_PROXY_DONE, CIP_PROXY_OK, "v2 every TLV", &r);

    run_parse(&x, h->b, h->len);
    CHECK_EQ_INT(x.status, CIP_PROXY_DONE);
    cip_proxy_tlv_begin(&it, x.r.tlvs, x.r.tlvs_len);
    for (i = 0; i < sizeof top / sizeof top[0]; i++) {
        if (!CHECKF(cip_proxy_tlv_next(&it, &tlv), "TLV %lu missing", (unsigned long)i))
            break;
        check_view(&tlv, 0, &top[i]);
        if (tlv.type == 0x20) {
            cip_proxy_tlv_iter sit;
            cip_proxy_tlv stlv;
            size_t j;
            CHECK(cip_proxy_tlv_ssl(&tlv, &ssl));
            CHECK_EQ_UINT(ssl.client, 7);
            CHECK_EQ_UINT(ssl.verify, 0x01020304);
            cip_proxy_tlv_begin(&sit, ssl.sub_tlvs, ssl.sub_tlvs_len);
            for (j = 0; j < sizeof sub / sizeof sub[0]; j++) {
                if (!CHECKF(cip_proxy_tlv_next(&sit, &stlv), "sub-TLV %lu missing",
                            (unsigned long)j))
                    break;
                check_view(&stlv, 1, &sub[j]);
            }
            CHECK(!cip_proxy_tlv_next(&sit, &stlv));
        }
    }
    CHECK(!cip_proxy_tlv_next(&it, &tlv));
    CIP_CONTEXT("typed decoders");
    {
        const unsigned char *id;
        size_t id_len;
        uint32_t u32;
        uint64_t u64;
        CHECK(cip_proxy_tlv_find(x.r.tlvs, x.r.tlvs_len, 0xEA, &tlv));
        CHECK(cip_proxy_tlv_aws_vpce_id(&tlv, &id, &id_len));
        CHECK_EQ_STRN((const char *)id, id_len, "vpce-0123456789abcdef0");
        CHECK(cip_proxy_tlv_find(x.r.tlvs, x.r.tlvs_len, 0xEE, &tlv));
        CHECK(cip_proxy_tlv_azure_linkid(&tlv, &u32));
        CHECK_EQ_UINT(u32, 0x12345678u);
        CHECK(cip_proxy_tlv_find(x.r.tlvs, x.r.tlvs_len, 0xE0, &tlv));
        CHECK(cip_proxy_tlv_gcp_psc_id(&tlv, &u64));
        CHECK_EQ_UINT(u64, 0x0102030405060708ull);
        /* the other decoders refuse it */
        CHECK(!cip_proxy_tlv_azure_linkid(&tlv, &u32));
        CHECK(!cip_proxy_tlv_aws_vpce_id(&tlv, &id, &id_len));
        CHECK(!cip_proxy_tlv_ssl(&tlv, &ssl));
        CHECK(!cip_proxy_tlv_crc32c(&tlv, &u32));
        CHECK(!cip_proxy_tlv_unique_id(&tlv));
        CHECK(!cip_proxy_tlv_find(x.r.tlvs, x.r.tlvs_len, 0x31, &tlv));
        CHECK(cip_proxy_tlv_find(x.r.tlvs, x.r.tlvs_len, 0x05, &tlv));
        CHECK(cip_proxy_tlv_unique_id(&tlv));
    }
    run_end(&x);
    free(h);

    /* The iterator on unvalidated blocks: never reads past the block. */
    CIP_CONTEXT("iterator on raw blocks");
    {
        static const unsigned char raw[] = {0x01, 0x00, 0x02, 'h', '2', 0x02, 0x00, 0x09, 'x'};
        unsigned char *copy = malloc(sizeof raw);
        if (!copy)
            abort();
        memcpy(copy, raw, sizeof raw);
        cip_proxy_tlv_begin(&it, copy, sizeof raw);
        CHECK(cip_proxy_tlv_next(&it, &tlv));
        CHECK_EQ_UINT(tlv.type, 1);
        CHECK(!cip_proxy_tlv_next(&it, &tlv));
        CHECK(!cip_proxy_tlv_next(&it, &tlv));
        cip_proxy_tlv_begin(&it, copy, 2);
        CHECK(!cip_proxy_tlv_next(&it, &tlv));
        cip_proxy_tlv_begin(&it, NULL, 0);
        CHECK(!cip_proxy_tlv_next(&it, &tlv));
        CHECK(!cip_proxy_tlv_find(copy, 0, 1, &tlv));
        free(copy);
    }
    CIP_CONTEXT("");
}

static void test_renderers(void)
{
    char buf[64];
    size_t n;
    static const unsigned char all_bad[] = {0x00, 0x1f, 0x7f, 0x80, 0xff, '\\'};

    CIP_CONTEXT("render text");
    n = cip_proxy_render_text((const unsigned char *)"Hello, world ~!", 15, buf, sizeof buf);
    CHECK_EQ_UINT(n, 15);
    CHECK_EQ_STR(buf, "Hello, world ~!");
    n = cip_proxy_render_text(all_bad, sizeof all_bad, buf, sizeof buf);
    CHECK_EQ_UINT(n, 24);
    CHECK_EQ_STR(buf, "\\x00\\x1f\\x7f\\x80\\xff\\x5c");
    n = cip_proxy_render_text((const unsigned char *)"a\tb\r\nc", 6, buf, sizeof buf);
    CHECK_EQ_STR(buf, "a\\x09b\\x0d\\x0ac");
    n = cip_proxy_render_text(NULL, 0, buf, sizeof buf);
    CHECK_EQ_UINT(n, 0);
    CHECK_EQ_STR(buf, "");
    /* Every byte value: printable ASCII but '\' as is, all else escaped,
     * and never a raw control or high byte in the output. */
    {
        unsigned char every[256];
        char out[4 * 256 + 1];
        size_t i, raw_bad = 0;
        for (i = 0; i < 256; i++)
            every[i] = (unsigned char)i;
        n = cip_proxy_render_text(every, 256, out, sizeof out);
        CHECK_EQ_UINT(n, 95 - 1 + 4 * (256 - 95 + 1));
        CHECK_EQ_UINT(strlen(out), n);
        for (i = 0; out[i]; i++)
            raw_bad += (unsigned char)out[i] < 0x20 || (unsigned char)out[i] >= 0x7f;
        CHECK_EQ_UINT(raw_bad, 0);
    }
    /* Truncation: whole pieces only, always NUL-terminated. */
    memset(buf, 'Z', sizeof buf);
    n = cip_proxy_render_text((const unsigned char *)"ab", 2, buf, 0);
    CHECK_EQ_UINT(n, 2);
    CHECK_EQ_INT(buf[0], 'Z');
    n = cip_proxy_render_text((const unsigned char *)"ab", 2, buf, 1);
    CHECK_EQ_STR(buf, "");
    n = cip_proxy_render_text((const unsigned char *)"ab", 2, buf, 2);
    CHECK_EQ_STR(buf, "a");
    n = cip_proxy_render_text((const unsigned char *)"ab", 2, buf, 3);
    CHECK_EQ_UINT(n, 2);
    CHECK_EQ_STR(buf, "ab");
    n = cip_proxy_render_text((const unsigned char *)"a\x01z", 3, buf, 5);
    CHECK_EQ_UINT(n, 6);
    CHECK_EQ_STR(buf, "a"); /* not "a\x0" and not "az" */
    n = cip_proxy_render_text((const unsigned char *)"a\x01z", 3, buf, 6);
    CHECK_EQ_STR(buf, "a\\x01");
    n = cip_proxy_render_text((const unsigned char *)"a\x01z", 3, buf, 7);
    CHECK_EQ_STR(buf, "a\\x01z");

    CIP_CONTEXT("render hex");
    n = cip_proxy_render_hex((const unsigned char *)"\x00\xab\xff\x10", 4, buf, sizeof buf);
    CHECK_EQ_UINT(n, 8);
    CHECK_EQ_STR(buf, "00abff10");
    n = cip_proxy_render_hex((const unsigned char *)"\x00\xab\xff\x10", 4, buf, 4);
    CHECK_EQ_UINT(n, 8);
    CHECK_EQ_STR(buf, "00");
    n = cip_proxy_render_hex((const unsigned char *)"\x00\xab\xff\x10", 4, buf, 5);
    CHECK_EQ_STR(buf, "00ab");
    memset(buf, 'Z', sizeof buf);
    n = cip_proxy_render_hex((const unsigned char *)"\x01", 1, buf, 0);
    CHECK_EQ_UINT(n, 2);
    CHECK_EQ_INT(buf[0], 'Z');
    n = cip_proxy_render_hex(NULL, 0, buf, sizeof buf);
    CHECK_EQ_STR(buf, "");

    CIP_CONTEXT("error texts");
    for (int e = CIP_PROXY_OK; e <= CIP_PROXY_V2_CRC_MISMATCH; e++) {
        const char *t = cip_proxy_error_text((cip_proxy_error)e);
        CHECK(t != NULL && strcmp(t, "unknown error") != 0);
        if (e >= CIP_PROXY_V1_TOO_LONG && e <= CIP_PROXY_V1_TRAILING_DATA)
            CHECK(strncmp(t, "v1: ", 4) == 0);
        if (e >= CIP_PROXY_V2_BAD_VERSION)
            CHECK(strncmp(t, "v2: ", 4) == 0);
    }
    CHECK_EQ_STR(cip_proxy_error_text(CIP_PROXY_V1_EXTRA_SPACE), "v1: more than one space");
    {
        cip_proxy_result r;
        cip_proxy_parse((const unsigned char *)"PROXY TCP4  1", 13, &r);
        cip_proxy_error_format(&r, buf, sizeof buf);
        CHECK_EQ_STR(buf, "v1: more than one space (offset 11)");
    }
    CIP_CONTEXT("");
}

/* ---------------------------------------------------------------- corpus */

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *data = NULL;
    size_t cap = 0, n = 0, got;
    if (!f)
        return NULL;
    do {
        if (n == cap) {
            unsigned char *more;
            cap = cap ? cap * 2 : 4096;
            more = realloc(data, cap);
            if (!more)
                abort();
            data = more;
        }
        got = fread(data + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    fclose(f);
    *len = n;
    return data;
}

static void test_corpus(void)
{
    static const struct {
        const char *sub;
        cip_proxy_status status;
        unsigned min_files;
    } dirs[] = {{"valid", CIP_PROXY_DONE, 20},
                {"invalid", CIP_PROXY_MALFORMED, 30},
                {"not-proxy", CIP_PROXY_NOT_PROXY, 5}};
    const char *root = getenv("CIP_PROXY_CORPUS");
    if (!root)
        root = "t/unit/proxy-corpus";

    for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
        char path[1024];
        unsigned files = 0;
        DIR *dir;
        struct dirent *e;
        snprintf(path, sizeof path, "%s/%s", root, dirs[d].sub);
        CIP_CONTEXT("corpus %s", path);
        dir = opendir(path);
        if (!CHECKF(dir != NULL, "cannot open %s (run from the repository root, or set "
                    "CIP_PROXY_CORPUS)", path))
            continue;
        while ((e = readdir(dir)) != NULL) {
            size_t nlen = strlen(e->d_name), len = 0;
            unsigned char *data;
            char file[1300];
            run x;
            if (nlen < 5 || strcmp(e->d_name + nlen - 4, ".bin") != 0)
                continue;
            snprintf(file, sizeof file, "%s/%s", path, e->d_name);
            data = read_file(file, &len);
            if (!CHECKF(data != NULL, "cannot read %s", file))
                continue;
            files++;
            CIP_CONTEXT("corpus file %s", file);
            run_parse(&x, data, len);
            CHECKF(x.status == dirs[d].status, "%s: %s, expected %s (%s)", file,
                   status_name(x.status), status_name(dirs[d].status),
                   cip_proxy_error_text(x.r.error));
            check_sane(x.buf, len, x.status, &x.r);
            run_end(&x);
            check_prefixes(data, len, file);
            free(data);
        }
        closedir(dir);
        CIP_CONTEXT("corpus %s", path);
        CHECKF(files >= dirs[d].min_files, "%s: %u files, expected at least %u", path, files,
               dirs[d].min_files);
        fprintf(stderr, "info: test_proxy corpus: %u files in %s\n", files, path);
    }
    CIP_CONTEXT("");
}

/* ------------------------------------------------------------ robustness */

/* Random input, biased towards things that look like headers, under a fixed
 * seed: only "no crash, a sane answer", and for some the prefix property.
 * Then mutations of valid headers (flipped bytes, cut or grown lengths). */
static void test_random(void)
{
    static unsigned char buf[1024];
    unsigned long counts[4] = {0, 0, 0, 0};
    unsigned long i;
    hdr *base = h_new(0x21, 0x11);
    size_t at;

    cip_rand_seed(0x9e0c7a11ULL);
    CIP_CONTEXT("random bytes");
    for (i = 0; i < 150000; i++) {
        size_t len = cip_rand_below(300), j, start = 0;
        unsigned kind = cip_rand_below(8);
        run x;
        for (j = 0; j < len; j++)
            buf[j] = (unsigned char)cip_rand64();
        if (kind == 1 || kind == 2) { /* "PROXY " and v1-ish alphabet */
            static const char alpha[] = "TCP46UNKOW 0123456789abcdef:.\r\n";
            memcpy(buf, "PROXY ", len < 6 ? len : 6);
            if (kind == 2)
                memcpy(buf + 6, "TCP4 ", len < 11 ? (len > 6 ? len - 6 : 0) : 5);
            start = kind == 2 ? 11 : 6;
            for (j = start; j < len; j++)
                buf[j] = (unsigned char)alpha[cip_rand_below(sizeof alpha - 1)];
        } else if (kind >= 3) { /* v2 signature, plausible fixed part */
            static const unsigned char vc[] = {0x20, 0x21, 0x21, 0x21, 0x22, 0x11};
            static const unsigned char ft[] = {0x11, 0x21, 0x00, 0x31, 0x12, 0x41, 0x13};
            memcpy(buf, sig, len < 12 ? len : 12);
            if (len > 12)
                buf[12] = vc[cip_rand_below(sizeof vc)];
            if (len > 13)
                buf[13] = ft[cip_rand_below(sizeof ft)];
            if (len > 15 && kind >= 5) { /* length that fits what follows */
                unsigned body = (unsigned)(len - 16 - cip_rand_below(3));
                buf[14] = (unsigned char)(body >> 8);
                buf[15] = (unsigned char)body;
            }
            if (kind == 7 && len > 40) /* sprinkle TLV-ish headers */
                for (j = 28; j + 3 < len; j += 3 + cip_rand_below(8)) {
                    buf[j] = (unsigned char)(cip_rand_below(2) ? 0x20 : cip_rand64());
                    buf[j + 1] = 0;
                    buf[j + 2] = (unsigned char)cip_rand_below(12);
                }
        }
        run_parse(&x, buf, len);
        check_sane(x.buf, len, x.status, &x.r);
        if ((unsigned)x.status < 4)
            counts[x.status]++;
        run_end(&x);
        if (i % 50 == 0)
            check_prefixes(buf, len, "random input");
    }
    fprintf(stderr,
            "info: test_proxy random: %lu DONE, %lu NEED_MORE, %lu NOT_PROXY, %lu MALFORMED\n",
            counts[CIP_PROXY_DONE], counts[CIP_PROXY_NEED_MORE], counts[CIP_PROXY_NOT_PROXY],
            counts[CIP_PROXY_MALFORMED]);
    CHECK(counts[CIP_PROXY_DONE] > 50 && counts[CIP_PROXY_MALFORMED] > 1000);

    /* Mutations of a header with every kind of TLV. */
    h_put(base, inet_block, 12);
    h_tlv_str(base, 0x01, "h2");
    h_tlv_str(base, 0x02, "www.example.com");
    at = h_open(base, 0x20);
    h_ssl_fixed(base, 3, 0);
    h_tlv_str(base, 0x21, "TLSv1.2");
    h_tlv_str(base, 0x22, "cn");
    h_close(base, at);
    h_tlv(base, 0xEA, "\x01vpce-1", 7);
    h_tlv(base, 0xEE, "\x01\x01\x02\x03\x04", 5);
    h_tlv(base, 0xE0, "12345678", 8);
    h_tlv(base, 0x05, "uid", 3);
    h_end(base);
    CIP_CONTEXT("mutations");
    memset(counts, 0, sizeof counts);
    for (i = 0; i < 60000; i++) {
        size_t len = base->len, flips = 1 + cip_rand_below(3), j;
        run x;
        memcpy(buf, base->b, len);
        for (j = 0; j < flips; j++) {
            size_t pos = 12 + cip_rand_below((uint32_t)(len - 12));
            buf[pos] = cip_rand_below(2) ? (unsigned char)cip_rand64()
                                         : (unsigned char)(buf[pos] ^ (1u << cip_rand_below(8)));
        }
        if (cip_rand_below(4) == 0) /* cut or grow */
            len = cip_rand_below(2) ? cip_rand_below((uint32_t)len + 1)
                                    : len + cip_rand_below(40);
        run_parse(&x, buf, len);
        check_sane(x.buf, len, x.status, &x.r);
        if ((unsigned)x.status < 4)
            counts[x.status]++;
        run_end(&x);
        if (i % 100 == 0)
            check_prefixes(buf, len, "mutated header");
    }
    fprintf(stderr,
            "info: test_proxy mutations: %lu DONE, %lu NEED_MORE, %lu NOT_PROXY, %lu MALFORMED\n",
            counts[CIP_PROXY_DONE], counts[CIP_PROXY_NEED_MORE], counts[CIP_PROXY_NOT_PROXY],
            counts[CIP_PROXY_MALFORMED]);
    free(base);
    CIP_CONTEXT("");
}

int main(void)
{
    test_crc32c();
    test_detection();
    test_v1();
    test_v2_fixed();
    test_v2_local_unsupported();
    test_v2_tlv_framing();
    test_v2_crc();
    test_v2_large();
    test_tlv_views();
    test_renderers();
    test_corpus();
    test_random();
    fprintf(stderr, "info: test_proxy: %lu prefixes parsed\n", prefix_parses);
    return cip_test_finish("test_proxy");
}
