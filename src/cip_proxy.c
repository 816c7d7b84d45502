/* cip_proxy: PROXY protocol v1/v2 incremental parser, TLV decoding, CRC32C.
 * One pass over the bytes received so far, no copies, no allocation: the
 * result points into the caller's buffer. The rules and the choices made
 * where the protocol leaves room are in cip_proxy.h. */
#include "cip_proxy.h"

#include <stdio.h>
#include <string.h>
#if defined(__SSE2__) && !defined(CIP_PROXY_PORTABLE)
#include <emmintrin.h>
#endif

/* parse_v1 and parse_v2 stay out of cip_proxy_parse, which then saves no
 * registers on its way to either; the v2 steps after the fixed part go into
 * each of their callers, with what is constant there. */
#if defined(__GNUC__)
#define CIP_NOINLINE __attribute__((noinline))
#define CIP_ALWAYS_INLINE __attribute__((always_inline)) inline
#else
#define CIP_NOINLINE
#define CIP_ALWAYS_INLINE inline
#endif

static const unsigned char v1_prefix[6] = {'P', 'R', 'O', 'X', 'Y', ' '};
static const unsigned char v2_signature[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                               0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

/* ------------------------------------------------------------- CRC32C */

/* Byte-at-a-time table of the reflected Castagnoli polynomial 0x82F63B78:
 * entry n is n shifted through the polynomial eight times. Generated once
 * by a throw-away program; the unit test recomputes every entry bit by bit. */
static const uint32_t crc32c_table[256] = {
    0x00000000, 0xf26b8303, 0xe13b70f7, 0x1350f3f4, 0xc79a971f, 0x35f1141c,
    0x26a1e7e8, 0xd4ca64eb, 0x8ad958cf, 0x78b2dbcc, 0x6be22838, 0x9989ab3b,
    0x4d43cfd0, 0xbf284cd3, 0xac78bf27, 0x5e133c24, 0x105ec76f, 0xe235446c,
    0xf165b798, 0x030e349b, 0xd7c45070, 0x25afd373, 0x36ff2087, 0xc494a384,
    0x9a879fa0, 0x68ec1ca3, 0x7bbcef57, 0x89d76c54, 0x5d1d08bf, 0xaf768bbc,
    0xbc267848, 0x4e4dfb4b, 0x20bd8ede, 0xd2d60ddd, 0xc186fe29, 0x33ed7d2a,
    0xe72719c1, 0x154c9ac2, 0x061c6936, 0xf477ea35, 0xaa64d611, 0x580f5512,
    0x4b5fa6e6, 0xb93425e5, 0x6dfe410e, 0x9f95c20d, 0x8cc531f9, 0x7eaeb2fa,
    0x30e349b1, 0xc288cab2, 0xd1d83946, 0x23b3ba45, 0xf779deae, 0x05125dad,
    0x1642ae59, 0xe4292d5a, 0xba3a117e, 0x4851927d, 0x5b016189, 0xa96ae28a,
    0x7da08661, 0x8fcb0562, 0x9c9bf696, 0x6ef07595, 0x417b1dbc, 0xb3109ebf,
    0xa0406d4b, 0x522bee48, 0x86e18aa3, 0x748a09a0, 0x67dafa54, 0x95b17957,
    0xcba24573, 0x39c9c670, 0x2a993584, 0xd8f2b687, 0x0c38d26c, 0xfe53516f,
    0xed03a29b, 0x1f682198, 0x5125dad3, 0xa34e59d0, 0xb01eaa24, 0x42752927,
    0x96bf4dcc, 0x64d4cecf, 0x77843d3b, 0x85efbe38, 0xdbfc821c, 0x2997011f,
    0x3ac7f2eb, 0xc8ac71e8, 0x1c661503, 0xee0d9600, 0xfd5d65f4, 0x0f36e6f7,
    0x61c69362, 0x93ad1061, 0x80fde395, 0x72966096, 0xa65c047d, 0x5437877e,
    0x4767748a, 0xb50cf789, 0xeb1fcbad, 0x197448ae, 0x0a24bb5a, 0xf84f3859,
    0x2c855cb2, 0xdeeedfb1, 0xcdbe2c45, 0x3fd5af46, 0x7198540d, 0x83f3d70e,
    0x90a324fa, 0x62c8a7f9, 0xb602c312, 0x44694011, 0x5739b3e5, 0xa55230e6,
    0xfb410cc2, 0x092a8fc1, 0x1a7a7c35, 0xe811ff36, 0x3cdb9bdd, 0xceb018de,
    0xdde0eb2a, 0x2f8b6829, 0x82f63b78, 0x709db87b, 0x63cd4b8f, 0x91a6c88c,
    0x456cac67, 0xb7072f64, 0xa457dc90, 0x563c5f93, 0x082f63b7, 0xfa44e0b4,
    0xe9141340, 0x1b7f9043, 0xcfb5f4a8, 0x3dde77ab, 0x2e8e845f, 0xdce5075c,
    0x92a8fc17, 0x60c37f14, 0x73938ce0, 0x81f80fe3, 0x55326b08, 0xa759e80b,
    0xb4091bff, 0x466298fc, 0x1871a4d8, 0xea1a27db, 0xf94ad42f, 0x0b21572c,
    0xdfeb33c7, 0x2d80b0c4, 0x3ed04330, 0xccbbc033, 0xa24bb5a6, 0x502036a5,
    0x4370c551, 0xb11b4652, 0x65d122b9, 0x97baa1ba, 0x84ea524e, 0x7681d14d,
    0x2892ed69, 0xdaf96e6a, 0xc9a99d9e, 0x3bc21e9d, 0xef087a76, 0x1d63f975,
    0x0e330a81, 0xfc588982, 0xb21572c9, 0x407ef1ca, 0x532e023e, 0xa145813d,
    0x758fe5d6, 0x87e466d5, 0x94b49521, 0x66df1622, 0x38cc2a06, 0xcaa7a905,
    0xd9f75af1, 0x2b9cd9f2, 0xff56bd19, 0x0d3d3e1a, 0x1e6dcdee, 0xec064eed,
    0xc38d26c4, 0x31e6a5c7, 0x22b65633, 0xd0ddd530, 0x0417b1db, 0xf67c32d8,
    0xe52cc12c, 0x1747422f, 0x49547e0b, 0xbb3ffd08, 0xa86f0efc, 0x5a048dff,
    0x8ecee914, 0x7ca56a17, 0x6ff599e3, 0x9d9e1ae0, 0xd3d3e1ab, 0x21b862a8,
    0x32e8915c, 0xc083125f, 0x144976b4, 0xe622f5b7, 0xf5720643, 0x07198540,
    0x590ab964, 0xab613a67, 0xb831c993, 0x4a5a4a90, 0x9e902e7b, 0x6cfbad78,
    0x7fab5e8c, 0x8dc0dd8f, 0xe330a81a, 0x115b2b19, 0x020bd8ed, 0xf0605bee,
    0x24aa3f05, 0xd6c1bc06, 0xc5914ff2, 0x37faccf1, 0x69e9f0d5, 0x9b8273d6,
    0x88d28022, 0x7ab90321, 0xae7367ca, 0x5c18e4c9, 0x4f48173d, 0xbd23943e,
    0xf36e6f75, 0x0105ec76, 0x12551f82, 0xe03e9c81, 0x34f4f86a, 0xc69f7b69,
    0xd5cf889d, 0x27a40b9e, 0x79b737ba, 0x8bdcb4b9, 0x988c474d, 0x6ae7c44e,
    0xbe2da0a5, 0x4c4623a6, 0x5f16d052, 0xad7d5351,
};

static uint32_t crc32c_by_table(uint32_t crc, const unsigned char *data, size_t len)
{
    for (size_t i = 0; i < len; i++)
        crc = crc32c_table[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
    return crc;
}

/* An 8-byte load in the machine's byte order, alignment-free (a crc32
 * takes it as its memory operand). */
static inline uint64_t load64(const unsigned char *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}

/* x86-64 since 2008 (SSE4.2) has an instruction for exactly this CRC,
 * 8 bytes at a time: about 1 instruction per 8 bytes instead of 9 per
 * byte. Used when the CPU says it has it; the table otherwise. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(CIP_PROXY_PORTABLE)
#define CRC32C_HARDWARE 1

/* The CRC of n whole 8-byte words, four per round while four are left
 * (the loop's own instructions spread over four crc32s), then one by one. */
__attribute__((target("sse4.2"), always_inline)) static inline uint64_t
crc32c_words(uint64_t wide, const unsigned char *data, size_t n)
{
    for (; n >= 4; data += 32, n -= 4) {
        wide = __builtin_ia32_crc32di(wide, load64(data));
        wide = __builtin_ia32_crc32di(wide, load64(data + 8));
        wide = __builtin_ia32_crc32di(wide, load64(data + 16));
        wide = __builtin_ia32_crc32di(wide, load64(data + 24));
    }
    for (; n > 0; data += 8, n--)
        wide = __builtin_ia32_crc32di(wide, load64(data));
    return wide;
}

/* Any run: whole words, then the 0-7 bytes left as 4, 2 and 1, in order. */
__attribute__((target("sse4.2"), always_inline)) static inline uint32_t
crc32c_run(uint32_t crc, const unsigned char *data, size_t len)
{
    uint32_t c = (uint32_t)crc32c_words(crc, data, len / 8);
    const unsigned char *p = data + (len & ~(size_t)7);
    if (len & 4) {
        uint32_t w;
        memcpy(&w, p, 4);
        c = __builtin_ia32_crc32si(c, w);
        p += 4;
    }
    if (len & 2) {
        uint16_t h;
        memcpy(&h, p, 2);
        c = __builtin_ia32_crc32hi(c, h);
        p += 2;
    }
    if (len & 1)
        c = __builtin_ia32_crc32qi(c, p[0]);
    return c;
}

__attribute__((target("sse4.2"))) static uint32_t crc32c_by_instruction(uint32_t crc,
                                                                        const unsigned char *data,
                                                                        size_t len)
{
    return crc32c_run(crc, data, len);
}

/* The PROXY header's CRC: b[0, total) with the 4 bytes at crc_at as zeros.
 * The whole words before the one that holds the CRC's first byte go through
 * as they are; that word and the next are taken with the CRC's bytes
 * masked to zero (x86 is little-endian: byte k of a loaded word is bits
 * 8k..8k+7); the rest goes through as it is. No run is split at the field,
 * so only the header's own end can have a partial word. A header that ends
 * less than 16 bytes after that word is done in three runs: before, 4 zero
 * bytes, after. */
__attribute__((target("sse4.2"), always_inline)) static inline uint32_t
crc32c_header_inline(const unsigned char *b, size_t total, size_t crc_at)
{
    /* keep[r]: the bytes of the two words that are not the CRC's when it
     * starts at byte r of the first. */
    static const uint64_t keep[8][2] = {
        {0xffffffff00000000ull, ~0ull}, {0xffffff00000000ffull, ~0ull},
        {0xffff00000000ffffull, ~0ull}, {0xff00000000ffffffull, ~0ull},
        {0x00000000ffffffffull, ~0ull}, {0x000000ffffffffffull, ~0xffull},
        {0x0000ffffffffffffull, ~0xffffull}, {0x00ffffffffffffffull, ~0xffffffull}};
    size_t word = crc_at & ~(size_t)7, rest = total - word;
    if (rest < 16) {
        uint32_t crc = crc32c_run(0xffffffffu, b, crc_at);
        crc = __builtin_ia32_crc32si(crc, 0);
        return ~crc32c_run(crc, b + crc_at + 4, total - crc_at - 4);
    }
    const uint64_t *k = keep[crc_at & 7];
    uint64_t wide = crc32c_words(0xffffffffu, b, word / 8);
    wide = __builtin_ia32_crc32di(wide, load64(b + word) & k[0]);
    wide = __builtin_ia32_crc32di(wide, load64(b + word + 8) & k[1]);
    return ~crc32c_run((uint32_t)wide, b + word + 16, rest - 16);
}

__attribute__((target("sse4.2"))) static uint32_t crc32c_header_by_instruction(
    const unsigned char *b, size_t total, size_t crc_at)
{
    return crc32c_header_inline(b, total, crc_at);
}

static int cpu_has_crc32c(void)
{
    static int known = -1; /* every thread computes the same answer */
    if (known < 0) {
        __builtin_cpu_init();
        known = __builtin_cpu_supports("sse4.2") ? 1 : 0;
    }
    return known;
}
#endif

uint32_t cip_proxy_crc32c(uint32_t crc, const unsigned char *data, size_t len)
{
#ifdef CRC32C_HARDWARE
    if (cpu_has_crc32c())
        return ~crc32c_by_instruction(~crc, data, len);
#endif
    return ~crc32c_by_table(~crc, data, len);
}

uint32_t cip_proxy_crc32c_portable(uint32_t crc, const unsigned char *data, size_t len)
{
    return ~crc32c_by_table(~crc, data, len);
}

/* The CRC32C a v2 header must carry: the whole header, b[0, total), with
 * the CRC32C TLV's value (4 bytes at crc_at) taken as zeros. */
static uint32_t crc32c_header(const unsigned char *b, size_t total, size_t crc_at)
{
    static const unsigned char zeros[4] = {0, 0, 0, 0};
#ifdef CRC32C_HARDWARE
    if (cpu_has_crc32c())
        return crc32c_header_by_instruction(b, total, crc_at);
#endif
    uint32_t crc = crc32c_by_table(0xffffffffu, b, crc_at);
    crc = crc32c_by_table(crc, zeros, 4);
    return ~crc32c_by_table(crc, b + crc_at + 4, total - crc_at - 4);
}

/* ------------------------------------------------------------ results */

static cip_proxy_status need_more(cip_proxy_result *out, size_t need)
{
    out->need = need;
    return CIP_PROXY_NEED_MORE;
}

static cip_proxy_status malformed(cip_proxy_result *out, cip_proxy_error error, size_t offset,
                                  unsigned long value)
{
    out->error = error;
    out->error_offset = offset;
    out->error_value = value;
    return CIP_PROXY_MALFORMED;
}

static cip_proxy_status done(cip_proxy_result *out, size_t header_len)
{
    out->header_len = header_len;
    out->need = header_len;
    return CIP_PROXY_DONE;
}

/* ----------------------------------------------------------------- v1 */

/* The v1 line is read field by field, left to right. A field is checked as
 * soon as its terminator (SP, CR or LF) is in; a field still arriving is
 * checked for what can already be wrong with it (a character no address or
 * port has, too many characters, a leading zero). Every such early verdict
 * is one the complete field would get too, which is what makes the answer
 * independent of how the line was split. */

enum v1_field { F_PROTOCOL, F_SRC_ADDR, F_DST_ADDR, F_SRC_PORT, F_DST_PORT };
enum v1_protocol { P_TCP4, P_TCP6, P_UNKNOWN, P_NONE, P_PARTIAL };

static const struct {
    const char *text;
    size_t len;
} v1_protocols[] = {{"TCP4", 4}, {"TCP6", 4}, {"UNKNOWN", 7}};

/* complete: the keyword it is, or P_NONE. Partial: P_PARTIAL when tok is
 * the start of some keyword (case-sensitive), else P_NONE. */
static enum v1_protocol v1_protocol(const unsigned char *tok, size_t n, int complete)
{
    for (int p = P_TCP4; p <= P_UNKNOWN; p++) {
        if (complete ? n == v1_protocols[p].len : n <= v1_protocols[p].len) {
            if (memcmp(tok, v1_protocols[p].text, n) == 0)
                return complete ? (enum v1_protocol)p : P_PARTIAL;
        }
    }
    return P_NONE;
}

static int is_address_char(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
           c == ':' || c == '.';
}

/* TCP4 wants dotted-quad text, TCP6 IPv6 text: cip_addr_parse reads text
 * without ':' as IPv4, so the family is the presence of a colon. An address
 * still arriving can only be refused for a character or a length no address
 * text has (cip_addr_parse refuses both too, so the verdict is the same). */
static cip_proxy_error v1_address(const unsigned char *tok, size_t n, int complete, int tcp6,
                                  cip_addr *out)
{
    if (n >= CIP_ADDR_TEXT_MAX)
        return CIP_PROXY_V1_BAD_ADDRESS;
    if (!complete) {
        for (size_t i = 0; i < n; i++)
            if (!is_address_char(tok[i]))
                return CIP_PROXY_V1_BAD_ADDRESS;
        return CIP_PROXY_OK;
    }
    if (!cip_addr_parse((const char *)tok, n, out))
        return CIP_PROXY_V1_BAD_ADDRESS;
    if ((memchr(tok, ':', n) != NULL) != tcp6)
        return CIP_PROXY_V1_FAMILY_MISMATCH;
    return CIP_PROXY_OK;
}

/* 1-5 digits, no leading zero except "0" itself, at most 65535. The same
 * test serves a port still arriving: each rule only gets worse with more
 * digits. */
static int v1_port(const unsigned char *tok, size_t n, uint16_t *port)
{
    unsigned value = 0;
    if (n > 5 || (n > 1 && tok[0] == '0'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (tok[i] < '0' || tok[i] > '9')
            return 0;
        value = value * 10 + (unsigned)(tok[i] - '0');
    }
    if (value > 65535)
        return 0;
    *port = (uint16_t)value;
    return 1;
}

/* Nothing of the line is read past 107 bytes: limit = min(len, 107). */
static cip_proxy_status v1_out_of_bytes(size_t len, size_t limit, cip_proxy_result *out)
{
    if (limit == CIP_PROXY_V1_MAX)
        return malformed(out, CIP_PROXY_V1_TOO_LONG, limit, 0);
    return need_more(out, len + 1);
}

/* b[pos] is CR or LF, the first one of the line: it must be CRLF. */
static cip_proxy_status v1_line_end(const unsigned char *b, size_t len, size_t limit, size_t pos,
                                    cip_proxy_result *out)
{
    if (b[pos] == '\n')
        return malformed(out, CIP_PROXY_V1_BARE_LF, pos, 0);
    if (pos + 1 >= limit) /* at the limit, the LF would be byte 108 */
        return v1_out_of_bytes(len, limit, out);
    if (b[pos + 1] != '\n')
        return malformed(out, CIP_PROXY_V1_BARE_CR, pos, 0);
    return done(out, pos + 2);
}

CIP_NOINLINE static cip_proxy_status parse_v1(const unsigned char *b, size_t len,
                                              cip_proxy_result *out)
{
    size_t limit = len < CIP_PROXY_V1_MAX ? len : CIP_PROXY_V1_MAX;
    size_t pos = sizeof v1_prefix;
    enum v1_protocol protocol = P_NONE;

    out->version = 1;
    for (int field = F_PROTOCOL; field <= F_DST_PORT; field++) {
        size_t start = pos;
        while (pos < limit && b[pos] != ' ' && b[pos] != '\r' && b[pos] != '\n')
            pos++;
        const unsigned char *tok = b + start;
        size_t n = pos - start;
        int complete = pos < limit;
        cip_proxy_error error = CIP_PROXY_OK;

        if (complete && n == 0)
            return malformed(out,
                             b[pos] == ' ' ? CIP_PROXY_V1_EXTRA_SPACE : CIP_PROXY_V1_MISSING_FIELD,
                             pos, 0);
        switch (field) {
        case F_PROTOCOL:
            protocol = v1_protocol(tok, n, complete);
            if (protocol == P_NONE)
                error = CIP_PROXY_V1_BAD_PROTOCOL;
            break;
        case F_SRC_ADDR:
            error = v1_address(tok, n, complete, protocol == P_TCP6, &out->src);
            break;
        case F_DST_ADDR:
            error = v1_address(tok, n, complete, protocol == P_TCP6, &out->dst);
            break;
        case F_SRC_PORT:
            if (!v1_port(tok, n, &out->src_port))
                error = CIP_PROXY_V1_BAD_PORT;
            break;
        default:
            if (!v1_port(tok, n, &out->dst_port))
                error = CIP_PROXY_V1_BAD_PORT;
            break;
        }
        if (error != CIP_PROXY_OK)
            return malformed(out, error, start, 0);
        if (!complete)
            return v1_out_of_bytes(len, limit, out);

        if (field == F_PROTOCOL && protocol == P_UNKNOWN) {
            /* "PROXY UNKNOWN" then CRLF, or SP and anything up to CRLF. */
            out->kind = CIP_PROXY_KIND_UNKNOWN;
            if (b[pos] == ' ') {
                pos++;
                while (pos < limit && b[pos] != '\r' && b[pos] != '\n')
                    pos++;
                if (pos == limit)
                    return v1_out_of_bytes(len, limit, out);
            }
            return v1_line_end(b, len, limit, pos, out);
        }
        if (field != F_DST_PORT) {
            if (b[pos] != ' ')
                return malformed(out, CIP_PROXY_V1_MISSING_FIELD, pos, 0);
            pos++;
            continue;
        }
        if (b[pos] == ' ')
            return malformed(out, CIP_PROXY_V1_TRAILING_DATA, pos, 0);
        out->kind = protocol == P_TCP6 ? CIP_PROXY_KIND_TCP6 : CIP_PROXY_KIND_TCP4;
        out->has_addresses = 1;
        return v1_line_end(b, len, limit, pos, out);
    }
    return malformed(out, CIP_PROXY_V1_MISSING_FIELD, pos, 0); /* not reached */
}

/* ----------------------------------------------------------------- v2 */

static unsigned be16(const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Bytes of the address block per family: UNSPEC, INET, INET6, UNIX. */
static const unsigned short v2_address_len[4] = {0, 12, 36, 216};

/* The TLV types parse looks inside: CRC32C and SSL. */
static const unsigned char tlv_checked[256] = {[CIP_PROXY_TLV_CRC32C] = 1, [CIP_PROXY_TLV_SSL] = 1};

/* Check the TLVs in b[pos, total): framing only (see cip_proxy.h), plus the
 * CRC32C when one is present, by header_crc: a constant where this is
 * inlined, crc32c_header, or crc32c_header_inline inside the function built
 * for SSE4.2 (v2_tcp4_by_instruction), where it is inlined too. */
typedef uint32_t (*header_crc_fn)(const unsigned char *b, size_t total, size_t crc_at);

static CIP_ALWAYS_INLINE cip_proxy_status
v2_tlvs(const unsigned char *b, size_t pos, size_t total, cip_proxy_result *out,
        header_crc_fn header_crc)
{
    size_t crc_at = 0; /* offset of the CRC32C value; 0: none (it is never at 0) */
    size_t start = pos, last = total - 3; /* total >= 16: the fixed part is in */

    /* While a type and a length are there. A TLV that runs past the end
     * stops the walk (pos > total after it) and is found again after the
     * loop, unless its type needs a look inside first: those check it right
     * away. */
    while (pos <= last) {
        unsigned type = b[pos];
        size_t vlen = be16(b + pos + 1);
        size_t next = pos + 3 + vlen;
        if (tlv_checked[type]) {
            if (next > total)
                return malformed(out, CIP_PROXY_V2_TLV_OVERRUN, pos, type);
            if (type == CIP_PROXY_TLV_CRC32C) {
                if (vlen != 4)
                    return malformed(out, CIP_PROXY_V2_CRC_LENGTH, pos, vlen);
                if (crc_at != 0)
                    return malformed(out, CIP_PROXY_V2_CRC_DUPLICATE, pos, type);
                crc_at = pos + 3;
            } else {
                if (vlen < 5)
                    return malformed(out, CIP_PROXY_V2_SSL_TOO_SHORT, pos, vlen);
                size_t sub = pos + 3 + 5;
                while (sub < next) {
                    if (next - sub < 3 || be16(b + sub + 1) > next - sub - 3)
                        return malformed(out, CIP_PROXY_V2_SSL_SUB_OVERRUN, sub, b[sub]);
                    sub += 3 + be16(b + sub + 1);
                }
            }
        }
        pos = next;
    }
    if (pos != total) {
        if (pos < total) /* a 1- or 2-byte tail */
            return malformed(out, CIP_PROXY_V2_TLV_OVERRUN, pos, b[pos]);
        /* Some TLV runs past the end: the walk again, to its start. */
        for (pos = start; pos + 3 + be16(b + pos + 1) <= total;)
            pos += 3 + be16(b + pos + 1);
        return malformed(out, CIP_PROXY_V2_TLV_OVERRUN, pos, b[pos]);
    }

    if (crc_at != 0) {
        uint32_t crc = header_crc(b, total, crc_at);
        uint32_t received = be32(b + crc_at);
        if (crc != received)
            return malformed(out, CIP_PROXY_V2_CRC_MISMATCH, crc_at, received);
        out->has_crc32c = 1;
    }
    return CIP_PROXY_DONE;
}

/* An IPv4 address stored IPv4-mapped, as cip_addr_from_v4_bytes does,
 * into an address the caller has zeroed: ::ffff:a.b.c.d. */
static void v4_mapped(cip_addr *zeroed, const unsigned char *v4)
{
    zeroed->bytes[10] = 0xff;
    zeroed->bytes[11] = 0xff;
    memcpy(zeroed->bytes + 12, v4, 4);
}

/* After a valid fixed part (in, and its fields stored): the length, the
 * TLVs, the addresses. Inlined twice: for the usual header, where command,
 * family and transport are constants, and for any other. */
static CIP_ALWAYS_INLINE cip_proxy_status
v2_after_fixed(const unsigned char *b, size_t len, cip_proxy_result *out, unsigned command,
               unsigned family, unsigned transport, header_crc_fn header_crc)
{
    size_t body = be16(b + 14);
    if (body < v2_address_len[family])
        return malformed(out, CIP_PROXY_V2_SHORT_ADDRESS, 14, body);
    size_t total = CIP_PROXY_V2_FIXED + body;
    if (len < total)
        return need_more(out, total);

    size_t tlv_start = CIP_PROXY_V2_FIXED + v2_address_len[family];
    cip_proxy_status status = v2_tlvs(b, tlv_start, total, out, header_crc);
    if (status != CIP_PROXY_DONE)
        return status;
    out->tlvs = b + tlv_start;
    out->tlvs_len = total - tlv_start;

    const unsigned char *a = b + CIP_PROXY_V2_FIXED;
    if (command == CIP_PROXY_CMD_LOCAL) {
        out->kind = CIP_PROXY_KIND_LOCAL;
    } else if (transport != CIP_PROXY_TRANSPORT_STREAM ||
               (family != CIP_PROXY_FAM_INET && family != CIP_PROXY_FAM_INET6)) {
        out->kind = CIP_PROXY_KIND_UNSUPPORTED;
    } else if (family == CIP_PROXY_FAM_INET) {
        v4_mapped(&out->src, a); /* *out was zeroed by cip_proxy_parse */
        v4_mapped(&out->dst, a + 4);
        out->src_port = (uint16_t)be16(a + 8);
        out->dst_port = (uint16_t)be16(a + 10);
        out->kind = CIP_PROXY_KIND_TCP4;
        out->has_addresses = 1;
    } else {
        cip_addr_from_v6_bytes(&out->src, a);
        cip_addr_from_v6_bytes(&out->dst, a + 16);
        out->src_port = (uint16_t)be16(a + 32);
        out->dst_port = (uint16_t)be16(a + 34);
        out->kind = CIP_PROXY_KIND_TCP6;
        out->has_addresses = 1;
    }
    return done(out, total);
}

#ifdef CRC32C_HARDWARE
/* The usual header on a CPU with the CRC32C instruction: one function, the
 * CRC inlined, no call on the way. */
__attribute__((target("sse4.2"), noinline)) static cip_proxy_status
v2_tcp4_by_instruction(const unsigned char *b, size_t len, cip_proxy_result *out)
{
    return v2_after_fixed(b, len, out, CIP_PROXY_CMD_PROXY, CIP_PROXY_FAM_INET,
                          CIP_PROXY_TRANSPORT_STREAM, crc32c_header_inline);
}
#endif

/* b starts with the 12-byte signature. The fixed part is checked byte by
 * byte as it arrives; after it, nothing is looked at until the whole header
 * (16 + len bytes) is in, so a large header is read once. */
CIP_NOINLINE static cip_proxy_status parse_v2(const unsigned char *b, size_t len,
                                              cip_proxy_result *out)
{
    out->version = 2;
    if (len >= CIP_PROXY_V2_FIXED && be16(b + 12) == 0x2111) {
        /* The usual header, PROXY over TCP/IPv4, its fixed part in: bytes
         * 12 and 13 in one test, the verdict of the steps below. */
        out->v2_command = CIP_PROXY_CMD_PROXY;
        out->v2_family = CIP_PROXY_FAM_INET;
        out->v2_transport = CIP_PROXY_TRANSPORT_STREAM;
        return v2_after_fixed(b, len, out, CIP_PROXY_CMD_PROXY, CIP_PROXY_FAM_INET,
                              CIP_PROXY_TRANSPORT_STREAM, crc32c_header);
    }
    if (len < 13)
        return need_more(out, 13);
    unsigned version = b[12] >> 4, command = b[12] & 0x0f;
    if (version != 2)
        return malformed(out, CIP_PROXY_V2_BAD_VERSION, 12, version);
    if (command > CIP_PROXY_CMD_PROXY)
        return malformed(out, CIP_PROXY_V2_BAD_COMMAND, 12, command);
    out->v2_command = (unsigned char)command;
    if (len < 14)
        return need_more(out, 14);
    unsigned family = b[13] >> 4, transport = b[13] & 0x0f;
    if (family > CIP_PROXY_FAM_UNIX)
        return malformed(out, CIP_PROXY_V2_BAD_FAMILY, 13, family);
    if (transport > CIP_PROXY_TRANSPORT_DGRAM)
        return malformed(out, CIP_PROXY_V2_BAD_TRANSPORT, 13, transport);
    out->v2_family = (unsigned char)family;
    out->v2_transport = (unsigned char)transport;
    if (len < CIP_PROXY_V2_FIXED)
        return need_more(out, CIP_PROXY_V2_FIXED);
    return v2_after_fixed(b, len, out, command, family, transport, crc32c_header);
}

/* ------------------------------------------------------------- entry */

/* Every byte of *out to zero: eight 16-byte stores where SSE2 is there and
 * the result is 113-128 bytes (it is 120 on LP64), else memset. */
static void clear_result(cip_proxy_result *out)
{
#if defined(__SSE2__) && !defined(CIP_PROXY_PORTABLE)
    /* Spelt out: a loop here is turned back into memset's rep stos. */
    if (sizeof *out > 112 && sizeof *out <= 128) {
        unsigned char *p = (unsigned char *)out;
        const __m128i zero = _mm_setzero_si128();
        _mm_storeu_si128((__m128i *)(void *)p, zero);
        _mm_storeu_si128((__m128i *)(void *)(p + 16), zero);
        _mm_storeu_si128((__m128i *)(void *)(p + 32), zero);
        _mm_storeu_si128((__m128i *)(void *)(p + 48), zero);
        _mm_storeu_si128((__m128i *)(void *)(p + 64), zero);
        _mm_storeu_si128((__m128i *)(void *)(p + 80), zero);
        _mm_storeu_si128((__m128i *)(void *)(p + 96), zero);
        _mm_storeu_si128((__m128i *)(void *)(p + sizeof *out - 16), zero);
        return;
    }
#endif
    memset(out, 0, sizeof *out);
}

/* buf[0, n) equals sig[0, n), n <= 12; whole 8- and 4-byte words when all
 * 12 bytes are there. */
static int same_start(const unsigned char *buf, const unsigned char *sig, size_t n)
{
    if (n >= 12) {
        uint64_t a8, b8;
        uint32_t a4, b4;
        memcpy(&a8, buf, 8);
        memcpy(&b8, sig, 8);
        memcpy(&a4, buf + 8, 4);
        memcpy(&b4, sig + 8, 4);
        return ((a8 ^ b8) | (a4 ^ b4)) == 0;
    }
    for (size_t i = 0; i < n; i++)
        if (buf[i] != sig[i])
            return 0;
    return 1;
}

cip_proxy_status cip_proxy_parse(const unsigned char *buf, size_t len, cip_proxy_result *out)
{
    clear_result(out);
    if (len == 0)
        return need_more(out, 1);
    /* Detection: decided at the first byte that differs from both
     * signatures, so a plain connection is told apart after one byte (or a
     * few for "PRI * HTTP/2.0" and a leading CRLF). */
    if (buf[0] == 'P') {
        if (!same_start(buf, v1_prefix, len < sizeof v1_prefix ? len : sizeof v1_prefix))
            return CIP_PROXY_NOT_PROXY;
        if (len < sizeof v1_prefix)
            return need_more(out, len + 1);
        return parse_v1(buf, len, out);
    }
    if (buf[0] == v2_signature[0]) {
        if (!same_start(buf, v2_signature, len < sizeof v2_signature ? len : sizeof v2_signature))
            return CIP_PROXY_NOT_PROXY;
        if (len < sizeof v2_signature)
            return need_more(out, len + 1);
#ifdef CRC32C_HARDWARE
        /* The usual header (PROXY over TCP/IPv4, the fixed part in) where
         * the CPU has the CRC32C instruction: straight to its own function,
         * as parse_v2's first branch would do. */
        if (len >= CIP_PROXY_V2_FIXED && be16(buf + 12) == 0x2111 && cpu_has_crc32c()) {
            out->version = 2;
            out->v2_command = CIP_PROXY_CMD_PROXY;
            out->v2_family = CIP_PROXY_FAM_INET;
            out->v2_transport = CIP_PROXY_TRANSPORT_STREAM;
            return v2_tcp4_by_instruction(buf, len, out);
        }
#endif
        return parse_v2(buf, len, out);
    }
    return CIP_PROXY_NOT_PROXY;
}

/* -------------------------------------------------------------- texts */

const char *cip_proxy_error_text(cip_proxy_error error)
{
    switch (error) {
    case CIP_PROXY_OK:
        return "no error";
    case CIP_PROXY_V1_TOO_LONG:
        return "v1: no CRLF within 107 bytes";
    case CIP_PROXY_V1_BARE_LF:
        return "v1: LF without CR before it";
    case CIP_PROXY_V1_BARE_CR:
        return "v1: CR not followed by LF";
    case CIP_PROXY_V1_EXTRA_SPACE:
        return "v1: more than one space";
    case CIP_PROXY_V1_BAD_PROTOCOL:
        return "v1: protocol is not TCP4, TCP6 or UNKNOWN";
    case CIP_PROXY_V1_MISSING_FIELD:
        return "v1: line ends before the destination port";
    case CIP_PROXY_V1_BAD_ADDRESS:
        return "v1: address is not numeric IPv4/IPv6 text";
    case CIP_PROXY_V1_FAMILY_MISMATCH:
        return "v1: address family does not match TCP4/TCP6";
    case CIP_PROXY_V1_BAD_PORT:
        return "v1: port is not decimal 0-65535 without leading zeros";
    case CIP_PROXY_V1_TRAILING_DATA:
        return "v1: data after the destination port";
    case CIP_PROXY_V2_BAD_VERSION:
        return "v2: version is not 2";
    case CIP_PROXY_V2_BAD_COMMAND:
        return "v2: unknown command";
    case CIP_PROXY_V2_BAD_FAMILY:
        return "v2: unknown address family";
    case CIP_PROXY_V2_BAD_TRANSPORT:
        return "v2: unknown transport";
    case CIP_PROXY_V2_SHORT_ADDRESS:
        return "v2: length shorter than the address block";
    case CIP_PROXY_V2_TLV_OVERRUN:
        return "v2: TLV runs past the header";
    case CIP_PROXY_V2_SSL_TOO_SHORT:
        return "v2: SSL TLV shorter than 5 bytes";
    case CIP_PROXY_V2_SSL_SUB_OVERRUN:
        return "v2: SSL sub-TLV runs past the SSL TLV";
    case CIP_PROXY_V2_CRC_LENGTH:
        return "v2: CRC32C TLV length is not 4";
    case CIP_PROXY_V2_CRC_DUPLICATE:
        return "v2: more than one CRC32C TLV";
    case CIP_PROXY_V2_CRC_MISMATCH:
        return "v2: CRC32C mismatch";
    }
    return "unknown error";
}

size_t cip_proxy_error_format(const cip_proxy_result *r, char *buf, size_t size)
{
    const char *text = cip_proxy_error_text(r->error);
    unsigned long offset = (unsigned long)r->error_offset, value = r->error_value;
    int n;

    switch (r->error) {
    case CIP_PROXY_OK:
        n = snprintf(buf, size, "%s", text);
        break;
    case CIP_PROXY_V2_BAD_VERSION:
    case CIP_PROXY_V2_BAD_COMMAND:
    case CIP_PROXY_V2_BAD_FAMILY:
    case CIP_PROXY_V2_BAD_TRANSPORT:
        n = snprintf(buf, size, "%s 0x%lx (offset %lu)", text, value, offset);
        break;
    case CIP_PROXY_V2_SHORT_ADDRESS:
        n = snprintf(buf, size, "%s (len %lu)", text, value);
        break;
    case CIP_PROXY_V2_TLV_OVERRUN:
    case CIP_PROXY_V2_SSL_SUB_OVERRUN:
    case CIP_PROXY_V2_CRC_DUPLICATE:
        n = snprintf(buf, size, "%s (type 0x%02lx at offset %lu)", text, value, offset);
        break;
    case CIP_PROXY_V2_SSL_TOO_SHORT:
    case CIP_PROXY_V2_CRC_LENGTH:
        n = snprintf(buf, size, "%s (length %lu at offset %lu)", text, value, offset);
        break;
    case CIP_PROXY_V2_CRC_MISMATCH:
        n = snprintf(buf, size, "%s (received 0x%08lx)", text, value);
        break;
    default:
        n = snprintf(buf, size, "%s (offset %lu)", text, offset);
        break;
    }
    return n < 0 ? 0 : (size_t)n;
}

const char *cip_proxy_kind_text(cip_proxy_kind kind)
{
    switch (kind) {
    case CIP_PROXY_KIND_NONE:
        return "none";
    case CIP_PROXY_KIND_TCP4:
        return "TCP4";
    case CIP_PROXY_KIND_TCP6:
        return "TCP6";
    case CIP_PROXY_KIND_UNKNOWN:
        return "UNKNOWN";
    case CIP_PROXY_KIND_LOCAL:
        return "LOCAL";
    case CIP_PROXY_KIND_UNSUPPORTED:
        return "unsupported";
    }
    return "unknown kind";
}

/* --------------------------------------------------------------- TLVs */

void cip_proxy_tlv_begin(cip_proxy_tlv_iter *it, const unsigned char *block, size_t len)
{
    it->next = block;
    it->end = block ? block + len : block;
}

int cip_proxy_tlv_next(cip_proxy_tlv_iter *it, cip_proxy_tlv *tlv)
{
    const unsigned char *p = it->next;
    if (p == NULL || it->end - p < 3)
        return 0;
    size_t vlen = be16(p + 1);
    if (vlen > (size_t)(it->end - p - 3)) {
        it->next = it->end;
        return 0;
    }
    tlv->type = p[0];
    tlv->value = p + 3;
    tlv->len = vlen;
    it->next = p + 3 + vlen;
    return 1;
}

int cip_proxy_tlv_find(const unsigned char *block, size_t len, uint8_t type, cip_proxy_tlv *tlv)
{
    cip_proxy_tlv_iter it;
    cip_proxy_tlv_begin(&it, block, len);
    while (cip_proxy_tlv_next(&it, tlv))
        if (tlv->type == type)
            return 1;
    return 0;
}

int cip_proxy_tlv_ssl(const cip_proxy_tlv *tlv, cip_proxy_ssl *out)
{
    if (tlv->type != CIP_PROXY_TLV_SSL || tlv->len < 5)
        return 0;
    out->client = tlv->value[0];
    out->verify = be32(tlv->value + 1);
    out->sub_tlvs = tlv->value + 5;
    out->sub_tlvs_len = tlv->len - 5;
    return 1;
}

int cip_proxy_tlv_crc32c(const cip_proxy_tlv *tlv, uint32_t *out)
{
    if (tlv->type != CIP_PROXY_TLV_CRC32C || tlv->len != 4)
        return 0;
    *out = be32(tlv->value);
    return 1;
}

int cip_proxy_tlv_unique_id(const cip_proxy_tlv *tlv)
{
    return tlv->type == CIP_PROXY_TLV_UNIQUE_ID && tlv->len <= CIP_PROXY_UNIQUE_ID_MAX;
}

int cip_proxy_tlv_aws_vpce_id(const cip_proxy_tlv *tlv, const unsigned char **id, size_t *id_len)
{
    if (tlv->type != CIP_PROXY_TLV_AWS || tlv->len < 2 || tlv->value[0] != 0x01)
        return 0;
    *id = tlv->value + 1;
    *id_len = tlv->len - 1;
    return 1;
}

int cip_proxy_tlv_azure_linkid(const cip_proxy_tlv *tlv, uint32_t *out)
{
    const unsigned char *v = tlv->value;
    if (tlv->type != CIP_PROXY_TLV_AZURE || tlv->len != 5 || v[0] != 0x01)
        return 0;
    *out = (uint32_t)v[1] | (uint32_t)v[2] << 8 | (uint32_t)v[3] << 16 | (uint32_t)v[4] << 24;
    return 1;
}

int cip_proxy_tlv_gcp_psc_id(const cip_proxy_tlv *tlv, uint64_t *out)
{
    if (tlv->type != CIP_PROXY_TLV_GCP || tlv->len != 8)
        return 0;
    *out = (uint64_t)be32(tlv->value) << 32 | be32(tlv->value + 4);
    return 1;
}

/* The named views: name, variable name (one static string each, so the
 * glue can compare pointers), form. Copied whole: 16 bytes of name. */
enum {
    V_NONE = 0, /* numbered: "0xNN" / "SSL_0xNN" */
    /* Named when the value decodes: */
    V_SSL,
    V_AWS_VPCE_ID,
    V_AZURE_LINKID,
    V_GCP_PSC_ID,
    V_UNIQUE_ID, /* (up to 128 bytes) */
    /* Named whatever the value: */
    V_ALPN,
    V_AUTHORITY,
    V_NETNS,
    V_CRC32C,
    V_NOOP,
    V_SSL_VERSION,
    V_SSL_CN,
    V_SSL_CIPHER,
    V_SSL_SIG_ALG,
    V_SSL_KEY_ALG,
    V_SSL_GROUP,
    V_SSL_SIG_SCHEME,
    V_SSL_CLIENT_CERT,
    V_COUNT
};

static const struct tlv_name {
    char name[16];
    const char *env_name;
    cip_proxy_tlv_form form;
} tlv_names[V_COUNT] = {
#define NAMED(v, name, form) [v] = {name, "PROXY_PROTOCOL_TLV_" name, form}
    NAMED(V_ALPN, "ALPN", CIP_PROXY_FORM_TEXT),
    NAMED(V_AUTHORITY, "AUTHORITY", CIP_PROXY_FORM_TEXT),
    NAMED(V_NETNS, "NETNS", CIP_PROXY_FORM_TEXT),
    NAMED(V_CRC32C, "CRC32C", CIP_PROXY_FORM_IGNORE),
    NAMED(V_NOOP, "NOOP", CIP_PROXY_FORM_IGNORE),
    NAMED(V_UNIQUE_ID, "UNIQUE_ID", CIP_PROXY_FORM_HEX),
    NAMED(V_SSL, "SSL", CIP_PROXY_FORM_SSL),
    NAMED(V_AWS_VPCE_ID, "AWS_VPCE_ID", CIP_PROXY_FORM_TEXT),
    NAMED(V_AZURE_LINKID, "AZURE_LINKID", CIP_PROXY_FORM_NUMBER),
    NAMED(V_GCP_PSC_ID, "GCP_PSC_ID", CIP_PROXY_FORM_NUMBER),
    NAMED(V_SSL_VERSION, "SSL_VERSION", CIP_PROXY_FORM_TEXT),
    NAMED(V_SSL_CN, "SSL_CN", CIP_PROXY_FORM_TEXT),
    NAMED(V_SSL_CIPHER, "SSL_CIPHER", CIP_PROXY_FORM_TEXT),
    NAMED(V_SSL_SIG_ALG, "SSL_SIG_ALG", CIP_PROXY_FORM_TEXT),
    NAMED(V_SSL_KEY_ALG, "SSL_KEY_ALG", CIP_PROXY_FORM_TEXT),
    NAMED(V_SSL_GROUP, "SSL_GROUP", CIP_PROXY_FORM_TEXT),
    NAMED(V_SSL_SIG_SCHEME, "SSL_SIG_SCHEME", CIP_PROXY_FORM_TEXT),
    NAMED(V_SSL_CLIENT_CERT, "SSL_CLIENT_CERT", CIP_PROXY_FORM_HEX),
#undef NAMED
};

/* Type to view, for top-level TLVs and for SSL sub-TLVs (0: numbered). */
static const unsigned char top_views[256] = {
    [CIP_PROXY_TLV_ALPN] = V_ALPN,           [CIP_PROXY_TLV_AUTHORITY] = V_AUTHORITY,
    [CIP_PROXY_TLV_NETNS] = V_NETNS,         [CIP_PROXY_TLV_CRC32C] = V_CRC32C,
    [CIP_PROXY_TLV_NOOP] = V_NOOP,           [CIP_PROXY_TLV_UNIQUE_ID] = V_UNIQUE_ID,
    [CIP_PROXY_TLV_SSL] = V_SSL,             [CIP_PROXY_TLV_AWS] = V_AWS_VPCE_ID,
    [CIP_PROXY_TLV_AZURE] = V_AZURE_LINKID,  [CIP_PROXY_TLV_GCP] = V_GCP_PSC_ID,
};
static const unsigned char ssl_views[256] = {
    [CIP_PROXY_SSL_VERSION] = V_SSL_VERSION,     [CIP_PROXY_SSL_CN] = V_SSL_CN,
    [CIP_PROXY_SSL_CIPHER] = V_SSL_CIPHER,       [CIP_PROXY_SSL_SIG_ALG] = V_SSL_SIG_ALG,
    [CIP_PROXY_SSL_KEY_ALG] = V_SSL_KEY_ALG,     [CIP_PROXY_SSL_GROUP] = V_SSL_GROUP,
    [CIP_PROXY_SSL_SIG_SCHEME] = V_SSL_SIG_SCHEME, [CIP_PROXY_SSL_CLIENT_CERT] = V_SSL_CLIENT_CERT,
};

static void view_set(cip_proxy_tlv_view *out, unsigned v)
{
    const struct tlv_name *n = &tlv_names[v];
    memcpy(out->name, n->name, sizeof out->name);
    out->env_name = n->env_name;
    out->form = n->form;
}

/* "0xNN" or "SSL_0xNN", lower-case. */
static void view_set_numbered(cip_proxy_tlv_view *out, int in_ssl, uint8_t type)
{
    static const char hex[] = "0123456789abcdef";
    char *p = out->name;
    out->env_name = NULL;
    if (in_ssl) {
        memcpy(p, "SSL_", 4);
        p += 4;
    }
    p[0] = '0';
    p[1] = 'x';
    p[2] = hex[type >> 4];
    p[3] = hex[type & 0x0f];
    p[4] = '\0';
    out->form = CIP_PROXY_FORM_HEX;
}

/* The views that depend on the value, and the numbered ones. */
CIP_NOINLINE static void describe_decoded(const cip_proxy_tlv *tlv, int in_ssl, unsigned v,
                                          cip_proxy_tlv_view *out)
{
    uint32_t u32;
    switch (v) {
    case V_UNIQUE_ID:
        if (tlv->len > CIP_PROXY_UNIQUE_ID_MAX)
            break;
        view_set(out, v);
        return;
    case V_SSL:
        if (tlv->len < 5)
            break;
        view_set(out, v);
        out->number = tlv->value[0]; /* the client flags (cip_proxy_tlv_ssl) */
        return;
    case V_AWS_VPCE_ID:
        if (!cip_proxy_tlv_aws_vpce_id(tlv, &out->data, &out->len))
            break;
        view_set(out, v);
        return;
    case V_AZURE_LINKID:
        if (!cip_proxy_tlv_azure_linkid(tlv, &u32))
            break;
        view_set(out, v);
        out->number = u32;
        return;
    case V_GCP_PSC_ID:
        if (!cip_proxy_tlv_gcp_psc_id(tlv, &out->number))
            break;
        view_set(out, v);
        return;
    default:
        break;
    }
    view_set_numbered(out, in_ssl, tlv->type);
}

void cip_proxy_tlv_describe(const cip_proxy_tlv *tlv, int in_ssl, cip_proxy_tlv_view *out)
{
    unsigned v = (in_ssl ? ssl_views : top_views)[tlv->type];
    out->data = tlv->value;
    out->len = tlv->len;
    out->number = 0;
    if (v > V_UNIQUE_ID || (v == V_UNIQUE_ID && tlv->len <= CIP_PROXY_UNIQUE_ID_MAX))
        view_set(out, v); /* the usual case */
    else
        describe_decoded(tlv, in_ssl, v, out);
}

/* ---------------------------------------------------------- renderers */

static const char lower_hex[] = "0123456789abcdef";

/* Byte n as its two lower-case hex digits, at 2n. */
static const char hex_pairs[513] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
    "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

static int plain_byte(unsigned char c)
{
    return c >= 0x20 && c < 0x7f && c != '\\';
}

/* The high bit of some byte of the result is set when some byte of w is
 * not plain: below 0x20 (w - 0x20 borrows into a byte's high bit only
 * from a byte below 0x20), 0x7f or above (w + 1 sets it there, or it was
 * set), or '\' (w ^ '\' has a zero byte). Bits above the first byte found
 * may be set wrongly, so the answer is only "some" or "none", which is all
 * that is asked. Same tests on 4 bytes below. */
static uint64_t not_plain64(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ull;
    uint64_t bs = w ^ (ones * '\\');
    return (((w - ones * 0x20) & ~w) | (w + ones) | w | ((bs - ones) & ~bs)) & (ones * 0x80);
}

static uint32_t not_plain32(uint32_t w)
{
    const uint32_t ones = 0x01010101u;
    uint32_t bs = w ^ (ones * '\\');
    return (((w - ones * 0x20) & ~w) | (w + ones) | w | ((bs - ones) & ~bs)) & (ones * 0x80);
}

static uint32_t load32(const unsigned char *p)
{
    uint32_t w;
    memcpy(&w, p, 4);
    return w;
}

/* data[0, len) is all plain: whole words, the last one overlapping the one
 * before when len is not a multiple of 8 (or 4). */
static int all_plain(const unsigned char *data, size_t len)
{
    if (len >= 8) {
        uint64_t bad = not_plain64(load64(data + len - 8));
        for (size_t i = 0; i + 8 < len; i += 8)
            bad |= not_plain64(load64(data + i));
        return bad == 0;
    }
    if (len >= 4)
        return (not_plain32(load32(data)) | not_plain32(load32(data + len - 4))) == 0;
    for (size_t i = 0; i < len; i++)
        if (!plain_byte(data[i]))
            return 0;
    return 1;
}

/* buf[0, len) = data[0, len), by words the same way. */
static void copy_words(char *buf, const unsigned char *data, size_t len)
{
    if (len >= 8) {
        uint64_t last = load64(data + len - 8);
        for (size_t i = 0; i + 8 < len; i += 8) {
            uint64_t w = load64(data + i);
            memcpy(buf + i, &w, 8);
        }
        memcpy(buf + len - 8, &last, 8);
    } else if (len >= 4) {
        uint32_t first = load32(data), last = load32(data + len - 4);
        memcpy(buf, &first, 4);
        memcpy(buf + len - 4, &last, 4);
    } else {
        for (size_t i = 0; i < len; i++)
            buf[i] = (char)data[i];
    }
}

/* A value with something to escape, or one that does not fit: byte by
 * byte. Out of line, so the fast path below keeps its registers. */
CIP_NOINLINE static size_t render_text_bytes(const unsigned char *data, size_t len, char *buf,
                                             size_t size)
{
    size_t need = 0, o = 0;
    int full = 0; /* stop writing at the first piece that does not fit */

    for (size_t i = 0; i < len; i++) {
        unsigned char c = data[i];
        int plain = plain_byte(c);
        size_t w = plain ? 1 : 4;
        need += w;
        if (full || o + w >= size) {
            full = 1;
            continue;
        }
        if (plain) {
            buf[o++] = (char)c;
        } else {
            buf[o++] = '\\';
            buf[o++] = 'x';
            buf[o++] = lower_hex[c >> 4];
            buf[o++] = lower_hex[c & 0x0f];
        }
    }
    if (size > 0)
        buf[o] = '\0';
    return need;
}

#if defined(__SSE2__) && !defined(CIP_PROXY_PORTABLE)
/* 1 when the 16 bytes of v are all plain. As signed bytes, plain is
 * 0x20..0x7e: greater than 0x1f (which also refuses 0x80..0xff, negative)
 * and less than 0x7f; and not '\'. */
static int plain16(__m128i v)
{
    __m128i ok = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(0x1f)),
                               _mm_cmplt_epi8(v, _mm_set1_epi8(0x7f)));
    ok = _mm_andnot_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\\')), ok);
    return _mm_movemask_epi8(ok) == 0xffff;
}
#endif

size_t cip_proxy_render_text(const unsigned char *data, size_t len, char *buf, size_t size)
{
    /* The usual value (an ALPN id, a host name, a cipher) is all plain and
     * fits: a check and a copy by words. */
    if (len >= size)
        return render_text_bytes(data, len, buf, size);
#if defined(__SSE2__) && !defined(CIP_PROXY_PORTABLE)
    /* 16 bytes at a time, the last 16 overlapping; 8-15 bytes as two
     * overlapping 8-byte halves of one register. */
    if (len >= 16) {
        __m128i last = _mm_loadu_si128((const __m128i *)(const void *)(data + len - 16));
        int plain = plain16(last);
        for (size_t i = 0; plain && i + 16 < len; i += 16)
            plain = plain16(_mm_loadu_si128((const __m128i *)(const void *)(data + i)));
        if (!plain)
            return render_text_bytes(data, len, buf, size);
        for (size_t i = 0; i + 16 < len; i += 16)
            _mm_storeu_si128((__m128i *)(void *)(buf + i),
                             _mm_loadu_si128((const __m128i *)(const void *)(data + i)));
        _mm_storeu_si128((__m128i *)(void *)(buf + len - 16), last);
        buf[len] = '\0';
        return len;
    }
    if (len >= 8) {
        __m128i head = _mm_loadl_epi64((const __m128i *)(const void *)data);
        __m128i tail = _mm_loadl_epi64((const __m128i *)(const void *)(data + len - 8));
        if (!plain16(_mm_unpacklo_epi64(head, tail)))
            return render_text_bytes(data, len, buf, size);
        _mm_storel_epi64((__m128i *)(void *)buf, head);
        _mm_storel_epi64((__m128i *)(void *)(buf + len - 8), tail);
        buf[len] = '\0';
        return len;
    }
#endif
    if (!all_plain(data, len))
        return render_text_bytes(data, len, buf, size);
    copy_words(buf, data, len);
    buf[len] = '\0';
    return len;
}

#if defined(__SSE2__) && !defined(CIP_PROXY_PORTABLE)
/* Nibbles 0-15 in each byte to '0'-'9', 'a'-'f'. */
static __m128i hex_digits(__m128i nibbles)
{
    __m128i letters = _mm_and_si128(_mm_cmpgt_epi8(nibbles, _mm_set1_epi8(9)),
                                    _mm_set1_epi8('a' - '0' - 10));
    return _mm_add_epi8(_mm_add_epi8(nibbles, _mm_set1_epi8('0')), letters);
}

/* 16 bytes to 32 digits. */
static void hex16(const unsigned char *in, char *out)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)in);
    __m128i low = _mm_set1_epi8(0x0f);
    __m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), low), lo = _mm_and_si128(v, low);
    _mm_storeu_si128((__m128i *)(void *)out, hex_digits(_mm_unpacklo_epi8(hi, lo)));
    _mm_storeu_si128((__m128i *)(void *)(out + 16), hex_digits(_mm_unpackhi_epi8(hi, lo)));
}

/* 8 bytes to 16 digits. */
static void hex8(const unsigned char *in, char *out)
{
    __m128i v = _mm_loadl_epi64((const __m128i *)(const void *)in);
    __m128i low = _mm_set1_epi8(0x0f);
    __m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), low), lo = _mm_and_si128(v, low);
    _mm_storeu_si128((__m128i *)(void *)out, hex_digits(_mm_unpacklo_epi8(hi, lo)));
}
#endif

size_t cip_proxy_render_hex(const unsigned char *data, size_t len, char *buf, size_t size)
{
    size_t o = 0;
    if (2 * len < size) { /* room for all: no check per byte */
#if defined(__SSE2__) && !defined(CIP_PROXY_PORTABLE)
        /* 16 bytes at a time, the last 16 overlapping the ones before when
         * len is not a multiple of 16 (the same digits written twice);
         * 8-15 bytes as two overlapping 8s. */
        if (len >= 16) {
            for (size_t i = 0; i + 16 < len; i += 16)
                hex16(data + i, buf + 2 * i);
            hex16(data + len - 16, buf + 2 * len - 32);
            buf[2 * len] = '\0';
            return 2 * len;
        }
        if (len >= 8) {
            hex8(data, buf);
            hex8(data + len - 8, buf + 2 * len - 16);
            buf[2 * len] = '\0';
            return 2 * len;
        }
#endif
        for (size_t i = 0; i < len; i++, o += 2)
            memcpy(buf + o, hex_pairs + 2 * data[i], 2);
        buf[o] = '\0';
        return 2 * len;
    }
    for (size_t i = 0; i < len && o + 2 < size; i++) {
        buf[o++] = lower_hex[data[i] >> 4];
        buf[o++] = lower_hex[data[i] & 0x0f];
    }
    if (size > 0)
        buf[o] = '\0';
    return 2 * len;
}
