/* cip_origin: the scheme, host and port the client asked for, as a trusted
 * proxy reports them (SPEC "ClientIPForwardedProto", "ClientIPForwardedHost").
 * Pure C, libc only. Values are checked before use: whatever a proxy
 * forwards ends up in redirects and SERVER_NAME. */
#ifndef CIP_ORIGIN_H
#define CIP_ORIGIN_H

#include <stddef.h>
#include <stdint.h>

typedef enum cip_scheme {
    CIP_SCHEME_NONE = 0, /* absent or invalid: not forwarded */
    CIP_SCHEME_HTTP,
    CIP_SCHEME_HTTPS
} cip_scheme;

/* "http" or "https", case-insensitive, nothing else. */
cip_scheme cip_origin_scheme(const char *text, size_t len);

/* "on" (case-insensitive) for X-Forwarded-Ssl / Front-End-Https. */
int cip_origin_flag_on(const char *text, size_t len);

/* A host as in a Host header: a DNS-style name (letters, digits, '-', '.',
 * '_'), an IPv4 address or a bracketed IPv6 literal, at most 255 bytes,
 * optionally followed by ":port" (1-65535, no leading zero). On success
 * returns 1, *host_len is the length without the port and *port the port
 * (0 when none). */
int cip_origin_host(const char *text, size_t len, size_t *host_len, uint16_t *port);

/* A port alone (X-Forwarded-Port): decimal 1-65535, no leading zero. */
int cip_origin_port(const char *text, size_t len, uint16_t *port);

#endif
