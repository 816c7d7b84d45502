/* Unit tests of the fast paths in src/cip_proxy.c against the code they
 * replaced: randomized property tests, with fixed seeds.
 *
 * Three implementations side by side:
 *   - the library as linked (cip_proxy_*): on x86-64 the CRC32C instruction
 *     and the SSE2 paths;
 *   - the same source built again here with CIP_PROXY_PORTABLE
 *     (portable_cip_proxy_*): no CRC32C instruction, no SSE2, the paths any
 *     other CPU takes;
 *   - the frozen reference (ref_cip_proxy_*, proxy_reference.h): the code
 *     before the fast paths, byte for byte.
 * For every generated input the three must agree on everything a caller
 * can see: parse status and every result field (error, offset, value,
 * need, header_len, addresses, ports, the TLV block's place), the TLVs a
 * walk yields, each TLV's view (name, variable name, form, data, number),
 * and the rendered bytes and returned lengths of text and hex for every
 * buffer size around the one needed (the rest of the buffer untouched).
 *
 * The inputs are built to reach every fast path: v2 headers PROXY TCP4 and
 * others, TLV blocks with a CRC32C TLV at every byte alignment, near the end
 * of the header and far from it, in headers short and long (the word loop),
 * correct and wrong CRCs, SSL TLVs with sub-TLVs, overruns and tails; then
 * the same with bytes flipped, cut and extended; v1 lines; values to render
 * that are all plain, plain with one escape at each position, and random.
 * Counters make sure each of those cases was reached. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "cip_proxy.h"
#include "cip_test.h"
#include "proxy_reference.h"

/* The library's source once more, without its CPU-specific paths, under
 * other names. */
#define CIP_PROXY_PORTABLE 1
#define cip_proxy_parse portable_cip_proxy_parse
#define cip_proxy_error_text portable_cip_proxy_error_text
#define cip_proxy_error_format portable_cip_proxy_error_format
#define cip_proxy_kind_text portable_cip_proxy_kind_text
#define cip_proxy_tlv_begin portable_cip_proxy_tlv_begin
#define cip_proxy_tlv_next portable_cip_proxy_tlv_next
#define cip_proxy_tlv_find portable_cip_proxy_tlv_find
#define cip_proxy_tlv_ssl portable_cip_proxy_tlv_ssl
#define cip_proxy_tlv_crc32c portable_cip_proxy_tlv_crc32c
#define cip_proxy_tlv_unique_id portable_cip_proxy_tlv_unique_id
#define cip_proxy_tlv_aws_vpce_id portable_cip_proxy_tlv_aws_vpce_id
#define cip_proxy_tlv_azure_linkid portable_cip_proxy_tlv_azure_linkid
#define cip_proxy_tlv_gcp_psc_id portable_cip_proxy_tlv_gcp_psc_id
#define cip_proxy_tlv_describe portable_cip_proxy_tlv_describe
#define cip_proxy_render_text portable_cip_proxy_render_text
#define cip_proxy_render_hex portable_cip_proxy_render_hex
#define cip_proxy_crc32c portable_cip_proxy_crc32c
#define cip_proxy_crc32c_portable portable_cip_proxy_crc32c_portable
#include "../../src/cip_proxy.c"
#undef cip_proxy_parse
#undef cip_proxy_error_text
#undef cip_proxy_error_format
#undef cip_proxy_kind_text
#undef cip_proxy_tlv_begin
#undef cip_proxy_tlv_next
#undef cip_proxy_tlv_find
#undef cip_proxy_tlv_ssl
#undef cip_proxy_tlv_crc32c
#undef cip_proxy_tlv_unique_id
#undef cip_proxy_tlv_aws_vpce_id
#undef cip_proxy_tlv_azure_linkid
#undef cip_proxy_tlv_gcp_psc_id
#undef cip_proxy_tlv_describe
#undef cip_proxy_render_text
#undef cip_proxy_render_hex
#undef cip_proxy_crc32c
#undef cip_proxy_crc32c_portable

typedef cip_proxy_status (*parse_fn)(const unsigned char *, size_t, cip_proxy_result *);
typedef void (*begin_fn)(cip_proxy_tlv_iter *, const unsigned char *, size_t);
typedef int (*next_fn)(cip_proxy_tlv_iter *, cip_proxy_tlv *);
typedef void (*describe_fn)(const cip_proxy_tlv *, int, cip_proxy_tlv_view *);
typedef size_t (*render_fn)(const unsigned char *, size_t, char *, size_t);

typedef struct impl {
    const char *name;
    parse_fn parse;
    begin_fn begin;
    next_fn next;
    describe_fn describe;
    render_fn text, hex;
} impl;

static const impl impls[2] = {
    {"library", cip_proxy_parse, cip_proxy_tlv_begin, cip_proxy_tlv_next, cip_proxy_tlv_describe,
     cip_proxy_render_text, cip_proxy_render_hex},
    {"portable", portable_cip_proxy_parse, portable_cip_proxy_tlv_begin,
     portable_cip_proxy_tlv_next, portable_cip_proxy_tlv_describe, portable_cip_proxy_render_text,
     portable_cip_proxy_render_hex},
};
static const impl ref = {"reference", ref_cip_proxy_parse, ref_cip_proxy_tlv_begin,
                         ref_cip_proxy_tlv_next, ref_cip_proxy_tlv_describe,
                         ref_cip_proxy_render_text, ref_cip_proxy_render_hex};

/* What was reached (checked at the end, so no case is silently skipped). */
static unsigned long seen_status[4], seen_crc_ok, seen_crc_bad, seen_crc_align[8], seen_crc_far,
    seen_crc_near, seen_crc_long, seen_ssl, seen_tcp4, seen_other_v2, seen_v1_done,
    seen_text_plain, seen_text_escaped, seen_text_cut, seen_hex_long, seen_hex_cut;

/* ------------------------------------------------------------ renders */

/* Render data with f and the reference into buffers of size, both filled
 * with the same canary first: same return, same bytes everywhere. */
static int same_render(render_fn f, render_fn r, const unsigned char *data, size_t len, size_t size,
                       const char *what, const char *who)
{
    static char a[4 * 1024 + 64], b[4 * 1024 + 64];
    if (size > sizeof a - 16)
        size = sizeof a - 16;
    memset(a, 0x5a, size + 16);
    memset(b, 0x5a, size + 16);
    size_t na = f(data, len, size ? a : NULL, size);
    size_t nb = r(data, len, size ? b : NULL, size);
    return CHECKF(na == nb && memcmp(a, b, size + 16) == 0,
                  "%s %s: len %lu size %lu: returned %lu, reference %lu, %s", who, what,
                  (unsigned long)len, (unsigned long)size, (unsigned long)na, (unsigned long)nb,
                  memcmp(a, b, size + 16) == 0 ? "same bytes" : "different bytes");
}

/* Every size from 0 to need + 2 when short, else a spread around need. */
static void renders_all_sizes(const unsigned char *data, size_t len)
{
    size_t need_text = ref_cip_proxy_render_text(data, len, NULL, 0);
    size_t need_hex = 2 * len;
    for (int i = 0; i < 2; i++) {
        const impl *f = &impls[i];
        if (need_text < 80) {
            for (size_t size = 0; size <= need_text + 2; size++)
                same_render(f->text, ref.text, data, len, size, "text", f->name);
        } else {
            size_t sizes[] = {0, 1, 2, 5, need_text / 2, need_text - 1, need_text, need_text + 1,
                              need_text + 7, 1 + cip_rand_below((uint32_t)need_text + 8)};
            for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
                same_render(f->text, ref.text, data, len, sizes[k], "text", f->name);
        }
        if (need_hex < 80) {
            for (size_t size = 0; size <= need_hex + 2; size++)
                same_render(f->hex, ref.hex, data, len, size, "hex", f->name);
        } else {
            size_t sizes[] = {0, 1, 2, 3, need_hex / 2, need_hex / 2 + 1, need_hex - 1, need_hex,
                              need_hex + 1, need_hex + 9, 1 + cip_rand_below((uint32_t)need_hex + 8)};
            for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
                same_render(f->hex, ref.hex, data, len, sizes[k], "hex", f->name);
        }
    }
}

static unsigned char plain_char(void)
{
    unsigned char c;
    do
        c = (unsigned char)(0x20 + cip_rand_below(0x5f));
    while (c == '\\');
    return c;
}

static unsigned char unplain_char(void)
{
    static const unsigned char some[] = {0x00, 0x01, 0x09, 0x0a, 0x0d, 0x1f, 0x7f, 0x80,
                                         0x81, 0xc3, 0xfe, 0xff, '\\', 0x1b};
    if (cip_rand_below(2))
        return some[cip_rand_below(sizeof some)];
    unsigned char c;
    do
        c = (unsigned char)cip_rand64();
    while (c >= 0x20 && c < 0x7f && c != '\\');
    return c;
}

static void test_renders(void)
{
    unsigned char data[1200];
    cip_rand_seed(0x7e47c0de11ULL);
    CIP_CONTEXT("renders");

    /* All plain, every length to 300 (the word loops and their tails),
     * then one byte that is not plain at every position. */
    for (size_t len = 0; len <= 300; len++) {
        for (size_t i = 0; i < len; i++)
            data[i] = plain_char();
        renders_all_sizes(data, len);
        seen_text_plain++;
        if (len <= 70) {
            for (size_t at = 0; at < len; at++) {
                unsigned char keep = data[at];
                data[at] = unplain_char();
                renders_all_sizes(data, len);
                data[at] = keep;
                seen_text_escaped++;
            }
        }
    }
    /* Every byte value alone, and next to each boundary of the word test
     * (0x1f/0x20, 0x7e/0x7f, '\' and its neighbours) in every lane. */
    for (unsigned v = 0; v < 256; v++) {
        data[0] = (unsigned char)v;
        renders_all_sizes(data, 1);
        for (size_t lane = 0; lane < 16; lane++) {
            for (size_t i = 0; i < 16; i++)
                data[i] = 'a';
            data[lane] = (unsigned char)v;
            renders_all_sizes(data, 16);
        }
    }
    /* Random: lengths to 1100, alphabets from all plain to all random. */
    for (int round = 0; round < 4000; round++) {
        size_t len = round % 10 == 0 ? cip_rand_below(1100) : cip_rand_below(90);
        unsigned mix = cip_rand_below(4);
        for (size_t i = 0; i < len; i++) {
            switch (mix) {
            case 0:
                data[i] = plain_char();
                break;
            case 1:
                data[i] = cip_rand_below(20) ? plain_char() : unplain_char();
                break;
            case 2:
                data[i] = cip_rand_below(2) ? plain_char() : unplain_char();
                break;
            default:
                data[i] = (unsigned char)cip_rand64();
                break;
            }
        }
        renders_all_sizes(data, len);
        if (len > 64)
            seen_hex_long++;
        if (len > 0)
            seen_text_cut++, seen_hex_cut++;
    }
    /* Exact-size heap copies, so a read past the data shows under ASan and
     * valgrind. */
    for (size_t len = 0; len <= 40; len++) {
        unsigned char *copy = malloc(len ? len : 1);
        if (!copy)
            abort();
        for (size_t i = 0; i < len; i++)
            copy[i] = cip_rand_below(8) ? plain_char() : unplain_char();
        renders_all_sizes(copy, len);
        for (size_t i = 0; i < len; i++)
            copy[i] = plain_char();
        renders_all_sizes(copy, len);
        free(copy);
    }
    CIP_CONTEXT("");
}

/* ------------------------------------------------------------ views */

static int same_view(const cip_proxy_tlv_view *a, const cip_proxy_tlv_view *b)
{
    return strcmp(a->name, b->name) == 0 && (a->env_name == NULL) == (b->env_name == NULL) &&
           (a->env_name == NULL || strcmp(a->env_name, b->env_name) == 0) && a->form == b->form &&
           a->data == b->data && a->len == b->len && a->number == b->number;
}

/* Walk block with f and the reference, side by side: same TLVs; each
 * described (as top-level and as SSL sub-TLV) the same, and rendered the
 * same; SSL TLVs walked inside. */
static void same_walk(const impl *f, const unsigned char *block, size_t len, int depth)
{
    cip_proxy_tlv_iter ia, ib;
    cip_proxy_tlv ta, tb;
    f->begin(&ia, block, len);
    ref.begin(&ib, block, len);
    for (int n = 0;; n++) {
        int ra = f->next(&ia, &ta), rb = ref.next(&ib, &tb);
        if (!CHECKF(ra == rb, "%s walk: TLV %d: next %d, reference %d", f->name, n, ra, rb))
            return;
        if (!ra)
            break;
        if (!CHECKF(ta.type == tb.type && ta.value == tb.value && ta.len == tb.len,
                    "%s walk: TLV %d differs (type 0x%02x len %lu, reference 0x%02x len %lu)",
                    f->name, n, ta.type, (unsigned long)ta.len, tb.type, (unsigned long)tb.len))
            return;
        for (int in_ssl = 0; in_ssl < 2; in_ssl++) {
            cip_proxy_tlv_view va, vb;
            memset(&va, 0x33, sizeof va);
            memset(&vb, 0x44, sizeof vb);
            f->describe(&ta, in_ssl, &va);
            ref.describe(&tb, in_ssl, &vb);
            CHECKF(same_view(&va, &vb),
                   "%s describe type 0x%02x len %lu in_ssl %d: %s/%s form %d number %llu, "
                   "reference %s/%s form %d number %llu",
                   f->name, ta.type, (unsigned long)ta.len, in_ssl, va.name,
                   va.env_name ? va.env_name : "(null)", (int)va.form,
                   (unsigned long long)va.number, vb.name, vb.env_name ? vb.env_name : "(null)",
                   (int)vb.form, (unsigned long long)vb.number);
            if (va.form == CIP_PROXY_FORM_TEXT || va.form == CIP_PROXY_FORM_HEX) {
                size_t size = cip_rand_below(4) ? 4 * va.len + 1 : cip_rand_below(12);
                same_render(f->text, ref.text, va.data, va.len, size, "text of a TLV", f->name);
                same_render(f->hex, ref.hex, va.data, va.len, 2 * va.len + 1, "hex of a TLV",
                            f->name);
            }
        }
        cip_proxy_ssl ssl;
        if (depth == 0 && ref_cip_proxy_tlv_ssl(&tb, &ssl)) {
            seen_ssl++;
            same_walk(f, ssl.sub_tlvs, ssl.sub_tlvs_len, 1);
        }
    }
}

/* Every TLV type, with values each decoder takes and values it refuses,
 * described the same as by the reference. */
static void test_views(void)
{
    unsigned char value[300];
    cip_rand_seed(0x0de5c41beULL);
    CIP_CONTEXT("views");
    for (unsigned type = 0; type < 256; type++) {
        for (size_t len = 0; len <= 140; len += (len < 12 ? 1 : 7)) {
            for (int v = 0; v < 3; v++) {
                for (size_t i = 0; i < len; i++)
                    value[i] = (unsigned char)cip_rand64();
                if (len > 0 && v == 0)
                    value[0] = 0x01; /* the AWS and Azure subtype */
                cip_proxy_tlv t = {(uint8_t)type, value, len};
                for (int i = 0; i < 2; i++) {
                    for (int in_ssl = 0; in_ssl < 2; in_ssl++) {
                        cip_proxy_tlv_view va, vb;
                        memset(&va, 0x33, sizeof va);
                        memset(&vb, 0x44, sizeof vb);
                        impls[i].describe(&t, in_ssl, &va);
                        ref.describe(&t, in_ssl, &vb);
                        CHECKF(same_view(&va, &vb),
                               "%s describe type 0x%02x len %lu in_ssl %d: %s form %d, "
                               "reference %s form %d",
                               impls[i].name, type, (unsigned long)len, in_ssl, va.name,
                               (int)va.form, vb.name, (int)vb.form);
                    }
                }
            }
        }
    }
    /* Blocks of random bytes (not validated by a parse): the walks end at
     * the same TLV. */
    for (int round = 0; round < 20000; round++) {
        size_t len = cip_rand_below(60);
        unsigned char *block = malloc(len ? len : 1);
        if (!block)
            abort();
        for (size_t i = 0; i < len; i++)
            block[i] = cip_rand_below(3) ? (unsigned char)cip_rand_below(8)
                                         : (unsigned char)cip_rand64();
        for (int i = 0; i < 2; i++)
            same_walk(&impls[i], block, len, 0);
        free(block);
    }
    for (int i = 0; i < 2; i++)
        same_walk(&impls[i], NULL, 0, 0);
    CIP_CONTEXT("");
}

/* ------------------------------------------------------------ parses */

static void describe_result(char *out, size_t size, cip_proxy_status st, const cip_proxy_result *r,
                            const unsigned char *buf)
{
    snprintf(out, size,
             "status %d need %lu header_len %lu error %d offset %lu value %lu version %d kind %d "
             "addr %d ports %u/%u v2 %u/%u/%u tlvs %ld+%lu crc %d",
             (int)st, (unsigned long)r->need, (unsigned long)r->header_len, (int)r->error,
             (unsigned long)r->error_offset, r->error_value, r->version, (int)r->kind,
             r->has_addresses, r->src_port, r->dst_port, r->v2_command, r->v2_family,
             r->v2_transport, r->tlvs ? (long)(r->tlvs - buf) : -1L, (unsigned long)r->tlvs_len,
             r->has_crc32c);
}

static int same_result(cip_proxy_status sa, const cip_proxy_result *a, const unsigned char *ba,
                       cip_proxy_status sb, const cip_proxy_result *b, const unsigned char *bb)
{
    return sa == sb && a->need == b->need && a->header_len == b->header_len &&
           a->error == b->error && a->error_offset == b->error_offset &&
           a->error_value == b->error_value && a->version == b->version && a->kind == b->kind &&
           a->has_addresses == b->has_addresses && memcmp(&a->src, &b->src, sizeof a->src) == 0 &&
           memcmp(&a->dst, &b->dst, sizeof a->dst) == 0 && a->src_port == b->src_port &&
           a->dst_port == b->dst_port && a->v2_command == b->v2_command &&
           a->v2_family == b->v2_family && a->v2_transport == b->v2_transport &&
           (a->tlvs == NULL) == (b->tlvs == NULL) && (a->tlvs == NULL || a->tlvs - ba == b->tlvs - bb) &&
           a->tlvs_len == b->tlvs_len && a->has_crc32c == b->has_crc32c;
}

/* Parse the first len bytes with each implementation, each from its own
 * exact-size heap copy, filled result structs: all the same. DONE
 * results are walked, described and rendered too (walk: 1). */
static void same_parse(const unsigned char *data, size_t len, int walk)
{
    unsigned char *rb = malloc(len ? len : 1);
    cip_proxy_result rr;
    if (!rb)
        abort();
    memcpy(rb, data, len);
    memset(&rr, 0xa5, sizeof rr);
    cip_proxy_status rs = ref.parse(rb, len, &rr);
    if ((unsigned)rs < 4)
        seen_status[rs]++;
    for (int i = 0; i < 2; i++) {
        unsigned char *b = malloc(len ? len : 1);
        cip_proxy_result r;
        if (!b)
            abort();
        memcpy(b, data, len);
        memset(&r, 0x5a, sizeof r);
        cip_proxy_status s = impls[i].parse(b, len, &r);
        if (!same_result(s, &r, b, rs, &rr, rb)) {
            char got[400], want[400];
            describe_result(got, sizeof got, s, &r, b);
            describe_result(want, sizeof want, rs, &rr, rb);
            CHECKF(0, "%s parse of %lu bytes: %s; reference: %s", impls[i].name,
                   (unsigned long)len, got, want);
        } else {
            CHECK(1);
            if (walk && s == CIP_PROXY_DONE && r.version == 2)
                same_walk(&impls[i], r.tlvs, r.tlvs_len, 0);
        }
        free(b);
    }
    free(rb);
}

static size_t put_tlv_head(unsigned char *p, unsigned type, size_t len)
{
    p[0] = (unsigned char)type;
    p[1] = (unsigned char)(len >> 8);
    p[2] = (unsigned char)len;
    return 3;
}

static size_t random_value(unsigned char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        p[i] = cip_rand_below(3) ? plain_char() : (unsigned char)cip_rand64();
    return len;
}

/* One TLV of a random kind at p (room: at least 700 bytes); *crc_value is
 * set to its value when it is a 4-byte CRC32C TLV. */
static size_t random_tlv(unsigned char *p, unsigned char **crc_value)
{
    static const unsigned types[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x20, 0x30, 0xEA, 0xEE, 0xE0};
    unsigned type = cip_rand_below(8) ? types[cip_rand_below(sizeof types / sizeof types[0])]
                                      : (unsigned)cip_rand_below(256);
    size_t len = cip_rand_below(10) ? cip_rand_below(40) : cip_rand_below(600);
    size_t o = 0;
    switch (type) {
    case 0x03:
        len = cip_rand_below(10) ? 4 : cip_rand_below(8);
        o = put_tlv_head(p, type, len);
        if (len == 4)
            *crc_value = p + o;
        o += random_value(p + o, len);
        return o;
    case 0x20: {
        unsigned char *head = p;
        o = 3;
        size_t fixed = cip_rand_below(8) ? 5 : cip_rand_below(5);
        o += random_value(p + o, fixed);
        if (fixed == 5) {
            int subs = (int)cip_rand_below(5);
            for (int i = 0; i < subs; i++) {
                unsigned st = cip_rand_below(6) ? 0x21 + cip_rand_below(8) : cip_rand_below(256);
                size_t sl = cip_rand_below(30);
                o += put_tlv_head(p + o, st, sl);
                o += random_value(p + o, sl);
            }
            if (cip_rand_below(10) == 0) /* a broken sub-TLV */
                o += put_tlv_head(p + o, 0x22, 50);
        }
        put_tlv_head(head, type, o - 3);
        return o;
    }
    case 0xEA:
        o = put_tlv_head(p, type, len + 1);
        p[o++] = cip_rand_below(4) ? 0x01 : 0x02;
        return o + random_value(p + o, len);
    case 0xEE:
        len = cip_rand_below(4) ? 5 : cip_rand_below(8);
        o = put_tlv_head(p, type, len);
        o += random_value(p + o, len);
        if (len > 0 && cip_rand_below(4))
            p[3] = 0x01;
        return o;
    case 0xE0:
        len = cip_rand_below(4) ? 8 : cip_rand_below(12);
        break;
    case 0x05:
        if (cip_rand_below(4) == 0)
            len = 120 + cip_rand_below(20); /* around the 128-byte limit */
        break;
    default:
        break;
    }
    o = put_tlv_head(p, type, len);
    return o + random_value(p + o, len);
}

/* A v2 header into h (room for 8 KB): returns its length. */
static size_t random_v2(unsigned char *h)
{
    static const unsigned char sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                          0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
    static const size_t addr_len[4] = {0, 12, 36, 216};
    memcpy(h, sig, 12);
    unsigned r = cip_rand_below(100);
    h[12] = r < 90 ? 0x21 : r < 95 ? 0x20 : (unsigned char)cip_rand64();
    r = cip_rand_below(100);
    h[13] = r < 60 ? 0x11 : r < 75 ? 0x21 : r < 90 ? (unsigned char)(cip_rand_below(4) << 4 | cip_rand_below(3))
                                                    : (unsigned char)cip_rand64();
    size_t o = 16;
    unsigned family = h[13] >> 4;
    o += random_value(h + o, family < 4 ? addr_len[family] : cip_rand_below(40));
    unsigned char *crc_value = NULL, *crc_try = NULL;
    size_t target = cip_rand_below(10) ? cip_rand_below(200) : cip_rand_below(6000);
    int crc_first = cip_rand_below(3) == 0;
    if (crc_first) {
        o += put_tlv_head(h + o, 0x03, 4);
        crc_value = h + o;
        o += 4;
    }
    while (o < 16 + addr_len[family & 3] + target && o < 7000) {
        crc_try = NULL;
        o += random_tlv(h + o, &crc_try);
        if (crc_try && !crc_value)
            crc_value = crc_try;
    }
    if (!crc_value && cip_rand_below(2)) {
        /* One CRC32C TLV, then 0-70 more bytes of padding: every distance
         * from the end and every alignment. */
        o += put_tlv_head(h + o, 0x03, 4);
        crc_value = h + o;
        o += 4;
        size_t pad = cip_rand_below(72);
        if (pad >= 3) {
            o += put_tlv_head(h + o, 0x04, pad - 3);
            memset(h + o, 0, pad - 3);
            o += pad - 3;
        }
    }
    if (cip_rand_below(15) == 0) /* a 1- or 2-byte tail */
        o += random_value(h + o, 1 + cip_rand_below(2));
    size_t body = o - 16;
    if (cip_rand_below(12) == 0)
        body = cip_rand_below(2) ? cip_rand_below((uint32_t)body + 1) : body + cip_rand_below(20);
    h[14] = (unsigned char)(body >> 8);
    h[15] = (unsigned char)body;
    if (crc_value && body == o - 16 && crc_value + 4 <= h + o) {
        memset(crc_value, 0, 4);
        uint32_t crc = cip_proxy_crc32c_portable(0, h, o);
        if (cip_rand_below(8) == 0)
            crc ^= 1u << cip_rand_below(32);
        crc_value[0] = (unsigned char)(crc >> 24);
        crc_value[1] = (unsigned char)(crc >> 16);
        crc_value[2] = (unsigned char)(crc >> 8);
        crc_value[3] = (unsigned char)crc;
    }
    return o;
}

/* What the reference says about a complete header, for the counters. */
static void count_v2(const unsigned char *h, size_t len)
{
    cip_proxy_result r;
    cip_proxy_status st = ref_cip_proxy_parse(h, len, &r);
    if (st == CIP_PROXY_DONE && r.kind == CIP_PROXY_KIND_TCP4 && h[13] == 0x11)
        seen_tcp4++;
    else if (st == CIP_PROXY_DONE)
        seen_other_v2++;
    if (st == CIP_PROXY_MALFORMED && r.error == CIP_PROXY_V2_CRC_MISMATCH)
        seen_crc_bad++;
    if (st == CIP_PROXY_DONE && r.has_crc32c) {
        cip_proxy_tlv t;
        if (cip_proxy_tlv_find(r.tlvs, r.tlvs_len, CIP_PROXY_TLV_CRC32C, &t)) {
            size_t at = (size_t)(t.value - h), z = r.header_len - at - 4;
            seen_crc_ok++;
            seen_crc_align[at & 7]++;
            if (z > 64)
                seen_crc_far++;
            else if (r.header_len - (at & ~(size_t)7) >= 16)
                seen_crc_near++;
            if (r.header_len > 300)
                seen_crc_long++;
        }
    }
}

static void test_v2(void)
{
    static unsigned char h[8192], m[8300];
    cip_rand_seed(0xc2c32c5eedULL);
    CIP_CONTEXT("v2 headers");
    for (int round = 0; round < 30000; round++) {
        size_t len = random_v2(h);
        count_v2(h, len);
        same_parse(h, len, 1);
        /* Prefixes: all of them for some headers, a few for the rest. */
        if (round % 20 == 0 && len < 400) {
            for (size_t n = 0; n < len; n++)
                same_parse(h, n, 0);
        } else {
            for (int k = 0; k < 4; k++)
                same_parse(h, cip_rand_below((uint32_t)len), 0);
            same_parse(h, len - 1, 0);
        }
        same_parse(h, len, 0);
        /* What follows the header belongs to the next protocol. */
        memcpy(m, h, len);
        size_t extra = cip_rand_below(40);
        random_value(m + len, extra);
        same_parse(m, len + extra, 0);
        /* Flipped bytes (in the signature too, now and then). */
        for (int k = 0; k < 3; k++) {
            memcpy(m, h, len);
            int flips = 1 + (int)cip_rand_below(3);
            for (int f = 0; f < flips; f++) {
                size_t at = (cip_rand_below(20) ? 12 : 0) + cip_rand_below((uint32_t)len - 12);
                m[at] = cip_rand_below(2) ? (unsigned char)cip_rand64()
                                          : (unsigned char)(m[at] ^ (1u << cip_rand_below(8)));
            }
            same_parse(m, len, 1);
        }
    }
    CIP_CONTEXT("");
}

/* The benchmark's header (bench/proxy_cost.c) and its CRC32C TLV moved to
 * every place and alignment the padding allows, with a right and a wrong
 * CRC. */
static void test_v2_crc_places(void)
{
    static unsigned char h[2048];
    CIP_CONTEXT("v2 CRC32C places");
    for (size_t before = 0; before < 80; before++) {
        for (size_t after = 0; after < 80; after++) {
            for (int wrong = 0; wrong < 2; wrong++) {
                static const unsigned char head[16] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                                       0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
                                                       0x21, 0x11, 0, 0};
                size_t o = 0;
                memcpy(h, head, 16);
                o = 16;
                static const unsigned char addrs[12] = {203, 0, 113, 7, 127, 0, 0, 1, 0xdc, 0x04, 0x1f, 0x90};
                memcpy(h + o, addrs, 12);
                o += 12;
                if (before >= 3) { /* NOOP of before bytes in all */
                    o += put_tlv_head(h + o, 0x04, before - 3);
                    memset(h + o, 0, before - 3);
                    o += before - 3;
                }
                o += put_tlv_head(h + o, 0x03, 4);
                size_t at = o;
                o += 4;
                if (after >= 3) {
                    o += put_tlv_head(h + o, 0x02, after - 3);
                    random_value(h + o, after - 3);
                    o += after - 3;
                }
                h[14] = (unsigned char)((o - 16) >> 8);
                h[15] = (unsigned char)(o - 16);
                memset(h + at, 0, 4);
                uint32_t crc = cip_proxy_crc32c_portable(0, h, o) ^ (uint32_t)wrong;
                h[at] = (unsigned char)(crc >> 24);
                h[at + 1] = (unsigned char)(crc >> 16);
                h[at + 2] = (unsigned char)(crc >> 8);
                h[at + 3] = (unsigned char)crc;
                count_v2(h, o);
                same_parse(h, o, 1);
                /* The result itself, not only the agreement: */
                cip_proxy_result r;
                cip_proxy_status st = cip_proxy_parse(h, o, &r);
                if (wrong)
                    CHECKF(st == CIP_PROXY_MALFORMED && r.error == CIP_PROXY_V2_CRC_MISMATCH &&
                               r.error_offset == at && r.error_value == crc,
                           "wrong CRC at %lu of %lu: status %d error %d", (unsigned long)at,
                           (unsigned long)o, (int)st, (int)r.error);
                else
                    CHECKF(st == CIP_PROXY_DONE && r.has_crc32c && r.header_len == o,
                           "right CRC at %lu of %lu: status %d error %d", (unsigned long)at,
                           (unsigned long)o, (int)st, (int)r.error);
            }
        }
    }
    CIP_CONTEXT("");
}

/* v1 lines: good ones of each kind, then mutated. */
static void test_v1(void)
{
    static const char *const good[] = {
        "PROXY TCP4 203.0.113.7 127.0.0.1 56324 8080\r\n",
        "PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n",
        "PROXY TCP6 2001:db8::1 ::1 443 80\r\n",
        "PROXY TCP6 ::ffff:192.0.2.1 fe80::1 1 2\r\n",
        "PROXY UNKNOWN\r\n",
        "PROXY UNKNOWN anything at all here\r\n",
    };
    static const char alphabet[] = "PROXYTCP46UNK 0123456789.:abcdef\r\n\\x";
    char line[200];
    cip_rand_seed(0x1e1e1e1eULL);
    CIP_CONTEXT("v1 lines");
    for (size_t g = 0; g < sizeof good / sizeof good[0]; g++) {
        size_t len = strlen(good[g]);
        for (size_t n = 0; n <= len; n++)
            same_parse((const unsigned char *)good[g], n, 0);
        cip_proxy_result r;
        if (cip_proxy_parse((const unsigned char *)good[g], len, &r) == CIP_PROXY_DONE)
            seen_v1_done++;
    }
    for (int round = 0; round < 40000; round++) {
        const char *base = good[cip_rand_below(sizeof good / sizeof good[0])];
        size_t len = strlen(base);
        memcpy(line, base, len);
        int edits = 1 + (int)cip_rand_below(3);
        for (int e = 0; e < edits; e++) {
            size_t at = cip_rand_below((uint32_t)len);
            switch (cip_rand_below(4)) {
            case 0: /* replace */
                line[at] = alphabet[cip_rand_below(sizeof alphabet - 1)];
                break;
            case 1: /* insert */
                if (len < 150) {
                    memmove(line + at + 1, line + at, len - at);
                    line[at] = alphabet[cip_rand_below(sizeof alphabet - 1)];
                    len++;
                }
                break;
            case 2: /* delete */
                if (len > 1) {
                    memmove(line + at, line + at + 1, len - at - 1);
                    len--;
                }
                break;
            default: /* any byte */
                line[at] = (char)cip_rand64();
                break;
            }
        }
        same_parse((const unsigned char *)line, len, 0);
        same_parse((const unsigned char *)line, cip_rand_below((uint32_t)len + 1), 0);
    }
    /* Random first bytes: detection. */
    for (int round = 0; round < 20000; round++) {
        unsigned char b[24];
        size_t len = cip_rand_below(sizeof b + 1);
        for (size_t i = 0; i < len; i++)
            b[i] = cip_rand_below(2) ? "PROXY \r\n\r\n\0\r\nQUIT\n"[cip_rand_below(18)]
                                     : (unsigned char)cip_rand64();
        same_parse(b, len, 0);
    }
    CIP_CONTEXT("");
}

/* Each kind of input was reached: the comparisons above cannot have passed
 * by never getting there. */
static void test_reached(void)
{
    CIP_CONTEXT("cases reached");
    fprintf(stderr,
            "info: test_proxy_fast: DONE %lu, NEED_MORE %lu, NOT_PROXY %lu, MALFORMED %lu; "
            "TCP4 %lu, other v2 %lu, CRC right %lu (far %lu, near %lu, long %lu), CRC wrong %lu, "
            "SSL %lu\n",
            seen_status[0], seen_status[1], seen_status[2], seen_status[3], seen_tcp4,
            seen_other_v2, seen_crc_ok, seen_crc_far, seen_crc_near, seen_crc_long, seen_crc_bad,
            seen_ssl);
    for (int s = 0; s < 4; s++)
        CHECKF(seen_status[s] > 100, "status %d reached %lu times", s, seen_status[s]);
    for (int a = 0; a < 8; a++)
        CHECKF(seen_crc_align[a] > 50, "CRC32C at alignment %d: %lu headers", a, seen_crc_align[a]);
    CHECK(seen_crc_far > 100);
    CHECK(seen_crc_near > 100);
    CHECK(seen_crc_long > 100);
    CHECK(seen_crc_bad > 100);
    CHECK(seen_tcp4 > 1000);
    CHECK(seen_other_v2 > 1000);
    CHECK(seen_ssl > 1000);
    CHECK(seen_v1_done >= 6);
    CHECK(seen_text_plain > 300 && seen_text_escaped > 1000 && seen_text_cut > 1000);
    CHECK(seen_hex_long > 100 && seen_hex_cut > 1000);
    CIP_CONTEXT("");
}

int main(void)
{
    test_renders();
    test_views();
    test_v2_crc_places();
    test_v2();
    test_v1();
    test_reached();
    return cip_test_finish("test_proxy_fast");
}
