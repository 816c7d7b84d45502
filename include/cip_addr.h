/* cip_addr: numeric IP address parsing and formatting. Pure C, libc only.
 *
 * Never performs DNS: only numeric text is accepted, and strictly so
 * (SPEC "ClientIPTrustedProxies": IPv4 is exactly four decimal parts, no
 * leading zeros, no octal/hex/short forms; IPv6 without zone ids). */
#ifndef CIP_ADDR_H
#define CIP_ADDR_H

#include <stddef.h>
#include <stdint.h>

/* One 16-byte form for both families: IPv6 as is, IPv4 as its IPv4-mapped
 * IPv6 form ::ffff:a.b.c.d. One comparison then serves both families, and a
 * mapped IPv6 peer is the same value as the IPv4 address it carries. */
typedef struct cip_addr {
    uint8_t bytes[16];
} cip_addr;

/* Longest text cip_addr_format writes, with its NUL (INET6_ADDRSTRLEN). */
#define CIP_ADDR_TEXT_MAX 46

/* 1 when the address is IPv4 (stored IPv4-mapped), else 0. */
int cip_addr_is_v4(const cip_addr *addr);

/* Build from raw network-order bytes (struct in_addr / in6_addr content). */
void cip_addr_from_v4_bytes(cip_addr *out, const uint8_t bytes[4]);
void cip_addr_from_v6_bytes(cip_addr *out, const uint8_t bytes[16]);

/* Build from an IPv4 address as a host-order value (192.0.2.1 is
 * 0xc0000201). Inline: the list walk does it for every entry. */
static inline void cip_addr_from_v4_value(cip_addr *out, uint32_t v4)
{
    for (int i = 0; i < 10; i++)
        out->bytes[i] = 0;
    out->bytes[10] = out->bytes[11] = 0xff;
    out->bytes[12] = (uint8_t)(v4 >> 24);
    out->bytes[13] = (uint8_t)(v4 >> 16);
    out->bytes[14] = (uint8_t)(v4 >> 8);
    out->bytes[15] = (uint8_t)v4;
}

/* Parse exactly the text [text, text+len) as an IPv4 or IPv6 address.
 * Returns 1 and fills *out on success, 0 on anything else (no partial
 * matches, no surrounding spaces, no brackets, no zone id). */
int cip_addr_parse(const char *text, size_t len, cip_addr *out);

/* Write the canonical text (dotted quad for IPv4 and IPv4-mapped IPv6,
 * RFC 5952 for IPv6) plus NUL into buf, which holds CIP_ADDR_TEXT_MAX
 * bytes. Returns the text length (without the NUL). */
size_t cip_addr_format(const cip_addr *addr, char *buf);

/* A list entry as proxies write them: "ip", "ip:port", "[v6]", "[v6]:port".
 * A bare IPv6 address (two or more colons, no brackets) carries no port.
 * A port is decimal 1-65535 without leading zeros. The caller trims
 * surrounding spaces and tabs. */
typedef enum cip_endpoint_status {
    CIP_ENDPOINT_OK = 0,
    CIP_ENDPOINT_EMPTY,    /* nothing between the separators */
    CIP_ENDPOINT_BAD_ADDR, /* not a numeric address: garbage, host name, unknown, zone id */
    CIP_ENDPOINT_BAD_PORT, /* port missing after ':', not decimal, leading zero, 0 or > 65535 */
    /* Forwarded (RFC 7239) nodes that are valid syntax but no address: */
    CIP_ENDPOINT_UNKNOWN,    /* for=unknown */
    CIP_ENDPOINT_OBFUSCATED, /* for=_identifier */
    CIP_ENDPOINT_MISSING     /* an element without for= */
} cip_endpoint_status;

typedef struct cip_endpoint {
    cip_addr addr;
    uint16_t port;         /* 0 when the entry carried none */
    uint8_t canonical_len; /* > 0: the entry's first canonical_len bytes are the
                              address in canonical text (an IPv4 dotted quad),
                              so it can be copied instead of formatted */
} cip_endpoint;

cip_endpoint_status cip_endpoint_parse(const char *text, size_t len, cip_endpoint *out);

/* A predicate for logs: "'x' <text>", e.g. "is not an IP address". */
const char *cip_endpoint_status_text(cip_endpoint_status status);

#endif
