/* cip_addr: strict numeric IP address parsing and canonical formatting.
 * No DNS, no locale, no allocation: everything works on caller memory. */
#include "cip_addr.h"

#include <string.h>

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int cip_addr_is_v4(const cip_addr *addr)
{
    /* Two word compares: this runs for every address on the hot path. */
    uint64_t head, want_head;
    uint32_t mid, want_mid;
    memcpy(&head, addr->bytes, 8);
    memcpy(&mid, addr->bytes + 8, 4);
    memcpy(&want_head, v4_mapped_prefix, 8);
    memcpy(&want_mid, v4_mapped_prefix + 8, 4);
    return head == want_head && mid == want_mid;
}

void cip_addr_from_v4_bytes(cip_addr *out, const uint8_t bytes[4])
{
    memcpy(out->bytes, v4_mapped_prefix, sizeof v4_mapped_prefix);
    memcpy(out->bytes + 12, bytes, 4);
}

void cip_addr_from_v6_bytes(cip_addr *out, const uint8_t bytes[16])
{
    memcpy(out->bytes, bytes, 16);
}

/* Four decimal parts 0-255, no leading zeros (so "010" can never be read as
 * octal by anyone downstream), no signs, no short forms like "127.1".
 * One pass over the text: this runs for every list entry. Returns where
 * the address ends (end, ':' or anything else for the caller to judge), or
 * NULL when no IPv4 address starts at p. */
static const char *scan_v4(const char *p, const char *end, uint8_t out[4])
{
    for (int part = 0;; part++) {
        if (p == end)
            return NULL;
        unsigned digit = (unsigned)(unsigned char)*p - '0';
        if (digit > 9)
            return NULL;
        unsigned value = digit;
        if (++p < end && (digit = (unsigned)(unsigned char)*p - '0') <= 9) {
            if (value == 0)
                return NULL; /* leading zero */
            value = value * 10 + digit;
            if (++p < end && (digit = (unsigned)(unsigned char)*p - '0') <= 9) {
                value = value * 10 + digit;
                if (value > 255)
                    return NULL;
                p++;
            }
        }
        out[part] = (uint8_t)value;
        if (part == 3)
            return p;
        if (p == end || *p != '.')
            return NULL;
        p++;
    }
}

static int parse_v4(const char *p, const char *end, uint8_t out[4])
{
    return scan_v4(p, end, out) == end;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* RFC 4291 section 2.2 text forms: eight groups of 1-4 hex digits, one "::"
 * for a run of zero groups, and an optional dotted IPv4 tail in the last 32
 * bits. Zone ids ("%eth0") are not addresses and are refused. */
static int parse_v6(const char *p, const char *end, uint8_t out[16])
{
    uint8_t groups[16];
    int ngroup_bytes = 0; /* bytes written to groups */
    int gap_at = -1;      /* byte offset where "::" stands, -1 if none */

    if (p == end)
        return 0;
    if (*p == ':') {
        /* A leading colon is only legal as the start of "::". */
        if (end - p < 2 || p[1] != ':')
            return 0;
        gap_at = 0;
        p += 2;
        if (p == end) {
            memset(out, 0, 16);
            return 1;
        }
    }
    for (;;) {
        const char *group = p;
        unsigned value = 0;
        while (p < end && p - group < 5) {
            int h = hex_value(*p);
            if (h < 0)
                break;
            value = (value << 4) | (unsigned)h;
            p++;
        }
        size_t ndigits = (size_t)(p - group);
        if (p < end && *p == '.') {
            /* Dotted IPv4 tail: must be the last thing, with room for 4 bytes. */
            if (ngroup_bytes > 12 || parse_v4(group, end, groups + ngroup_bytes) != 1)
                return 0;
            ngroup_bytes += 4;
            break;
        }
        if (ndigits == 0 || ndigits > 4 || ngroup_bytes == 16)
            return 0;
        groups[ngroup_bytes++] = (uint8_t)(value >> 8);
        groups[ngroup_bytes++] = (uint8_t)(value & 0xff);
        if (p == end)
            break;
        if (*p != ':')
            return 0;
        p++;
        if (p < end && *p == ':') {
            if (gap_at >= 0)
                return 0; /* a second "::" */
            gap_at = ngroup_bytes;
            p++;
            if (p == end)
                break;
        } else if (p == end) {
            return 0; /* a trailing single colon */
        }
    }

    if (gap_at < 0) {
        if (ngroup_bytes != 16)
            return 0;
        memcpy(out, groups, 16);
        return 1;
    }
    /* "::" stands for at least one zero group (RFC 5952 4.2.2 asks writers
     * not to compress a single group, but RFC 4291 lets readers accept it). */
    if (ngroup_bytes > 14)
        return 0;
    int tail = ngroup_bytes - gap_at;
    memset(out, 0, 16);
    memcpy(out, groups, (size_t)gap_at);
    memcpy(out + 16 - tail, groups + gap_at, (size_t)tail);
    return 1;
}

int cip_addr_parse(const char *text, size_t len, cip_addr *out)
{
    const char *end = text + len;
    if (len == 0 || len >= CIP_ADDR_TEXT_MAX)
        return 0;
    if (memchr(text, ':', len) == NULL) {
        uint8_t v4[4];
        if (!parse_v4(text, end, v4))
            return 0;
        cip_addr_from_v4_bytes(out, v4);
        return 1;
    }
    return parse_v6(text, end, out->bytes);
}

/* 0-255 in decimal: divisions by constants, no loop (every PROXY
 * connection formats two addresses). */
static char *write_octet(char *p, unsigned v)
{
    if (v >= 100) {
        unsigned hundreds = v / 100;
        *p++ = (char)('0' + hundreds);
        v -= hundreds * 100;
        *p++ = (char)('0' + v / 10);
    } else if (v >= 10) {
        *p++ = (char)('0' + v / 10);
    }
    *p++ = (char)('0' + v % 10);
    return p;
}

static char *write_v4(char *p, const uint8_t b[4])
{
    p = write_octet(p, b[0]);
    for (int i = 1; i < 4; i++) {
        *p++ = '.';
        p = write_octet(p, b[i]);
    }
    return p;
}

/* IPv6 text, kept apart from cip_addr_format so that the IPv4 case, the
 * common one, runs without this function's arrays (and their stack
 * guard). */
static __attribute__((noinline)) size_t format_v6(const uint8_t *b, char *buf)
{
    static const char hex[] = "0123456789abcdef";
    char *p = buf;

    /* RFC 5952 4.2: compress the longest run of two or more zero groups,
     * the first one when runs tie. */
    unsigned group[8];
    for (int i = 0; i < 8; i++)
        group[i] = (unsigned)b[2 * i] << 8 | b[2 * i + 1];
    int best_start = -1, best_len = 1;
    for (int i = 0; i < 8;) {
        if (group[i] != 0) {
            i++;
            continue;
        }
        int j = i;
        while (j < 8 && group[j] == 0)
            j++;
        if (j - i > best_len) {
            best_start = i;
            best_len = j - i;
        }
        i = j;
    }

    for (int i = 0; i < 8; i++) {
        if (i == best_start) {
            *p++ = ':';
            if (i == 0)
                *p++ = ':';
            i += best_len - 1;
            continue;
        }
        unsigned g = group[i];
        int started = 0;
        for (int shift = 12; shift >= 0; shift -= 4) {
            unsigned nibble = (g >> shift) & 0xf;
            if (nibble != 0 || started || shift == 0) {
                *p++ = hex[nibble];
                started = 1;
            }
        }
        if (i < 7)
            *p++ = ':';
    }
    *p = '\0';
    return (size_t)(p - buf);
}

size_t cip_addr_format(const cip_addr *addr, char *buf)
{
    if (!cip_addr_is_v4(addr))
        return format_v6(addr->bytes, buf);
    char *p = write_v4(buf, addr->bytes + 12);
    *p = '\0';
    return (size_t)(p - buf);
}

/* Port: decimal 1-65535, no sign, no leading zero. */
static int parse_port(const char *p, const char *end, uint16_t *port)
{
    size_t n = (size_t)(end - p);
    if (n == 0 || n > 5 || p[0] == '0')
        return 0;
    unsigned value = 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        value = value * 10 + (unsigned)(*p - '0');
    }
    if (value > 65535)
        return 0;
    *port = (uint16_t)value;
    return 1;
}

cip_endpoint_status cip_endpoint_parse(const char *text, size_t len, cip_endpoint *out)
{
    const char *end = text + len;
    out->port = 0;
    out->canonical_len = 0;
    if (len == 0)
        return CIP_ENDPOINT_EMPTY;

    /* Most entries are "a.b.c.d" or "a.b.c.d:port": one scan, no search. */
    uint8_t v4[4];
    const char *after = scan_v4(text, end, v4);
    if (after != NULL && (after == end || *after == ':')) {
        if (after != end && !parse_port(after + 1, end, &out->port))
            return CIP_ENDPOINT_BAD_PORT;
        cip_addr_from_v4_bytes(&out->addr, v4);
        out->canonical_len = (uint8_t)(after - text);
        return CIP_ENDPOINT_OK;
    }

    if (text[0] == '[') {
        const char *close = memchr(text, ']', len);
        if (close == NULL || memchr(text + 1, ':', (size_t)(close - text - 1)) == NULL)
            return CIP_ENDPOINT_BAD_ADDR; /* brackets hold IPv6 only */
        if (!parse_v6(text + 1, close, out->addr.bytes) || close - text - 1 >= CIP_ADDR_TEXT_MAX)
            return CIP_ENDPOINT_BAD_ADDR;
        if (close + 1 == end)
            return CIP_ENDPOINT_OK;
        if (close[1] != ':' || !parse_port(close + 2, end, &out->port))
            return CIP_ENDPOINT_BAD_PORT;
        return CIP_ENDPOINT_OK;
    }

    /* Not IPv4 (with or without a port): only a bare IPv6 address, with two
     * or more colons, is left. One colon would have been IPv4 with a port. */
    const char *colon = memchr(text, ':', len);
    if (colon == NULL || memchr(colon + 1, ':', (size_t)(end - colon - 1)) == NULL)
        return CIP_ENDPOINT_BAD_ADDR;
    return cip_addr_parse(text, len, &out->addr) ? CIP_ENDPOINT_OK : CIP_ENDPOINT_BAD_ADDR;
}

const char *cip_endpoint_status_text(cip_endpoint_status status)
{
    switch (status) {
    case CIP_ENDPOINT_OK:
        return "is valid";
    case CIP_ENDPOINT_EMPTY:
        return "is empty";
    case CIP_ENDPOINT_BAD_ADDR:
        return "is not an IP address";
    case CIP_ENDPOINT_BAD_PORT:
        return "has a bad port (decimal 1-65535, no leading zero)";
    case CIP_ENDPOINT_UNKNOWN:
        return "is 'unknown'";
    case CIP_ENDPOINT_OBFUSCATED:
        return "is an obfuscated identifier";
    case CIP_ENDPOINT_MISSING:
        return "has no for= parameter";
    }
    return "unknown status";
}
