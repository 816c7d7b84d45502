/* The PROXY protocol core's cost for the benchmark's headers, for callgrind.
 *
 *   proxy_cost v2       # cip_proxy_parse on the complete v2 header
 *   proxy_cost v1       # cip_proxy_parse on the complete v1 line
 *   proxy_cost render   # the v2 header's TLVs walked, described, rendered
 *   proxy_cost all      # per connection: v2 parse, then render (perf-guard)
 *
 * The headers are the benchmark's (bench/instances, proxy_v1/proxy_v2):
 *
 *   v1: "PROXY TCP4 203.0.113.7 127.0.0.1 56324 8080\r\n"
 *   v2: PROXY, TCP over IPv4, 203.0.113.7:56324 -> 127.0.0.1:8080, then
 *       exactly 100 bytes of TLVs: ALPN "http/1.1", AUTHORITY
 *       "www.example.com", UNIQUE_ID "0123456789abcdef" x 2, CRC32C (right),
 *       NOOP padding. 128 bytes in all.
 *
 * Each mode repeats its work ROUNDS times and checks every answer (status,
 * addresses, ports, the rendered values), so nothing can be dropped by the
 * compiler. The render loop is the glue's (mod_clientip.c record_proxy and
 * add_tlv_env): every TLV described, TEXT and HEX values rendered into a
 * buffer of the size the glue gives them. Count under
 *
 *   valgrind --tool=callgrind --collect-atstart=no \
 *       --toggle-collect=cip_proxy_parse  (v1, v2)
 *       --toggle-collect='cip_proxy_tlv_*' --toggle-collect='cip_proxy_render_*'  (render)
 *       all three (all)
 *
 * and divide the total by ROUNDS: instructions per connection
 * (scripts/perf-guard does, with a budget). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cip_addr.h"
#include "cip_proxy.h"

#define ROUNDS 1000
#define DST_PORT 8080

static unsigned char v2[256];
static size_t v2_len;
static unsigned char v1[128];
static size_t v1_len;

static size_t put_tlv(unsigned char *p, unsigned type, const void *value, size_t len)
{
    p[0] = (unsigned char)type;
    p[1] = (unsigned char)(len >> 8);
    p[2] = (unsigned char)len;
    if (len > 0)
        memcpy(p + 3, value, len);
    return 3 + len;
}

static void build_headers(void)
{
    static const unsigned char sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                          0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
    static const unsigned char zeros[100];
    unsigned char *p = v2;
    memcpy(p, sig, 12);
    p[12] = 0x21;
    p[13] = 0x11;
    p[14] = 0;
    p[15] = 12 + 100;
    p += 16;
    static const unsigned char addrs[12] = {203, 0, 113, 7, 127, 0, 0, 1,
                                            56324 >> 8, 56324 & 0xff, DST_PORT >> 8,
                                            DST_PORT & 0xff};
    memcpy(p, addrs, 12);
    p += 12;
    unsigned char *tlvs = p;
    p += put_tlv(p, CIP_PROXY_TLV_ALPN, "http/1.1", 8);
    p += put_tlv(p, CIP_PROXY_TLV_AUTHORITY, "www.example.com", 15);
    p += put_tlv(p, CIP_PROXY_TLV_UNIQUE_ID, "0123456789abcdef0123456789abcdef", 32);
    unsigned char *crc_value = p + 3;
    p += put_tlv(p, CIP_PROXY_TLV_CRC32C, zeros, 4);
    p += put_tlv(p, CIP_PROXY_TLV_NOOP, zeros, (size_t)(100 - (p - tlvs) - 3));
    v2_len = (size_t)(p - v2);
    uint32_t crc = cip_proxy_crc32c_portable(0, v2, v2_len);
    crc_value[0] = (unsigned char)(crc >> 24);
    crc_value[1] = (unsigned char)(crc >> 16);
    crc_value[2] = (unsigned char)(crc >> 8);
    crc_value[3] = (unsigned char)crc;

    v1_len = (size_t)snprintf((char *)v1, sizeof v1, "PROXY TCP4 203.0.113.7 127.0.0.1 56324 %u\r\n",
                              DST_PORT);
}

static cip_addr want_src, want_dst;

static int check_parse(cip_proxy_status st, const cip_proxy_result *r, size_t len, int version)
{
    return st == CIP_PROXY_DONE && r->header_len == len && r->version == version &&
           r->kind == CIP_PROXY_KIND_TCP4 && r->has_addresses &&
           memcmp(&r->src, &want_src, sizeof want_src) == 0 &&
           memcmp(&r->dst, &want_dst, sizeof want_dst) == 0 && r->src_port == 56324 &&
           r->dst_port == DST_PORT && (version == 1 || (r->has_crc32c && r->tlvs_len == 100));
}

static int parse_rounds(const unsigned char *b, size_t len, int version)
{
    cip_proxy_result r;
    for (int i = 0; i < ROUNDS; i++) {
        cip_proxy_status st = cip_proxy_parse(b, len, &r);
        if (!check_parse(st, &r, len, version)) {
            fprintf(stderr, "proxy_cost: v%d parse gave status %d, error %d\n", version, (int)st,
                    (int)r.error);
            return 1;
        }
    }
    printf("v%d parse: %d rounds, %zu-byte header, DONE, TCP4 203.0.113.7:56324\n", version,
           ROUNDS, len);
    return 0;
}

/* What the glue shows for the benchmark's header, in order. */
static const char *const expected[][2] = {
    {"PROXY_PROTOCOL_TLV_ALPN", "http/1.1"},
    {"PROXY_PROTOCOL_TLV_AUTHORITY", "www.example.com"},
    {"PROXY_PROTOCOL_TLV_UNIQUE_ID",
     "3031323334353637383961626364656630313233343536373839616263646566"},
};

/* One connection's TLVs, as record_proxy/add_tlv_env handle them (no SSL
 * TLV here, so no sub-TLV walk). Returns the number of values that match. */
static int render_once(const cip_proxy_result *r)
{
    cip_proxy_tlv_iter it;
    cip_proxy_tlv tlv;
    char value[4 * 64 + 1];
    int shown = 0, good = 0;

    cip_proxy_tlv_begin(&it, r->tlvs, r->tlvs_len);
    while (cip_proxy_tlv_next(&it, &tlv)) {
        cip_proxy_tlv_view view;
        size_t size, n;
        cip_proxy_tlv_describe(&tlv, 0, &view);
        switch (view.form) {
        case CIP_PROXY_FORM_TEXT:
            if (view.len > 64)
                return -1; /* not in this header */
            size = 4 * view.len + 1;
            n = cip_proxy_render_text(view.data, view.len, value, size);
            break;
        case CIP_PROXY_FORM_HEX:
            size = 2 * view.len + 1;
            if (size > sizeof value)
                return -1;
            n = cip_proxy_render_hex(view.data, view.len, value, size);
            break;
        default:
            continue;
        }
        if (shown < 3 && view.env_name != NULL && strcmp(view.env_name, expected[shown][0]) == 0 &&
            n == strlen(expected[shown][1]) && strcmp(value, expected[shown][1]) == 0)
            good++;
        shown++;
    }
    return shown == 3 ? good : -1;
}

static int render_rounds(void)
{
    cip_proxy_result r;
    if (cip_proxy_parse(v2, v2_len, &r) != CIP_PROXY_DONE) {
        fprintf(stderr, "proxy_cost: the v2 header does not parse\n");
        return 1;
    }
    long good = 0;
    for (int i = 0; i < ROUNDS; i++) {
        int g = render_once(&r);
        if (g != 3) {
            fprintf(stderr, "proxy_cost: round %d rendered %d of 3 values right\n", i, g);
            return 1;
        }
        good += g;
    }
    printf("render: %d rounds, %ld values right (ALPN, AUTHORITY, UNIQUE_ID)\n", ROUNDS, good);
    return 0;
}

/* What one connection with the v2 header costs the core: the parse, then
 * the TLVs shown. */
static int connection_rounds(void)
{
    cip_proxy_result r;
    for (int i = 0; i < ROUNDS; i++) {
        cip_proxy_status st = cip_proxy_parse(v2, v2_len, &r);
        int g = check_parse(st, &r, v2_len, 2) ? render_once(&r) : -1;
        if (g != 3) {
            fprintf(stderr, "proxy_cost: connection %d: parse status %d, %d of 3 values right\n", i,
                    (int)st, g);
            return 1;
        }
    }
    printf("v2 parse and render: %d rounds, DONE, 3 values right each time\n", ROUNDS);
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "all";
    build_headers();
    if (!cip_addr_parse("203.0.113.7", 11, &want_src) || !cip_addr_parse("127.0.0.1", 9, &want_dst))
        return 2;
    if (strcmp(mode, "v2") == 0)
        return parse_rounds(v2, v2_len, 2);
    if (strcmp(mode, "v1") == 0)
        return parse_rounds(v1, v1_len, 1);
    if (strcmp(mode, "render") == 0)
        return render_rounds();
    if (strcmp(mode, "all") == 0)
        return connection_rounds();
    fprintf(stderr, "usage: proxy_cost [v2|v1|render|all]\n");
    return 2;
}
