/* libFuzzer target: cip_addr_parse, cip_endpoint_parse, cip_addr_format.
 *
 * Checks:
 *   - differential against glibc inet_pton: for input without NUL bytes,
 *     text without ':' is compared with inet_pton(AF_INET) and text with ':'
 *     with inet_pton(AF_INET6); both must accept or both reject, with the
 *     same 16 bytes (IPv4 as IPv4-mapped). t/unit/test_addr.c documents why
 *     there is no intended difference in parsing.
 *   - round trip: format(parse(x)) parses back to the same bytes, and the
 *     canonical text is a fixed point of format.
 *   - cip_endpoint_parse: status in range; on OK, canonical_len bytes of the
 *     entry are the formatted address; the address parses alone. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cip_addr.h"

static void check_round_trip(const cip_addr *a)
{
    char text[CIP_ADDR_TEXT_MAX], text2[CIP_ADDR_TEXT_MAX];
    cip_addr b;
    size_t n = cip_addr_format(a, text);
    if (n >= CIP_ADDR_TEXT_MAX || text[n] != '\0' || strlen(text) != n)
        abort();
    if (!cip_addr_parse(text, n, &b) || memcmp(a->bytes, b.bytes, 16) != 0)
        abort();
    if (cip_addr_format(&b, text2) != n || memcmp(text, text2, n + 1) != 0)
        abort();
    if (cip_addr_is_v4(a) != (strchr(text, ':') == NULL))
        abort();
}

static void check_pton(const char *text, size_t len, int ours, const cip_addr *a)
{
    char buf[256];
    uint8_t ref[16];
    int theirs;
    if (len >= sizeof buf || memchr(text, '\0', len) != NULL)
        return;
    memcpy(buf, text, len);
    buf[len] = '\0';
    if (memchr(text, ':', len) == NULL) {
        uint8_t v4[4];
        theirs = inet_pton(AF_INET, buf, v4) == 1;
        if (theirs) {
            memset(ref, 0, 10);
            ref[10] = ref[11] = 0xff;
            memcpy(ref + 12, v4, 4);
        }
    } else {
        theirs = inet_pton(AF_INET6, buf, ref) == 1;
    }
    if (ours != theirs)
        abort();
    if (ours && memcmp(ref, a->bytes, 16) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    cip_addr a;
    cip_endpoint ep;
    cip_endpoint_status st;
    int ok;

    ok = cip_addr_parse(text, size, &a);
    check_pton(text, size, ok, &a);
    if (ok)
        check_round_trip(&a);

    /* Raw bytes as an address: formatting never overflows and round-trips. */
    if (size >= 16) {
        cip_addr raw;
        memcpy(raw.bytes, data, 16);
        check_round_trip(&raw);
    }

    st = cip_endpoint_parse(text, size, &ep);
    if ((int)st < CIP_ENDPOINT_OK || st > CIP_ENDPOINT_MISSING)
        abort();
    if (cip_endpoint_status_text(st) == NULL)
        abort();
    if (st == CIP_ENDPOINT_OK) {
        check_round_trip(&ep.addr);
        if (ep.canonical_len > 0) {
            char canon[CIP_ADDR_TEXT_MAX];
            size_t n = cip_addr_format(&ep.addr, canon);
            if (ep.canonical_len > size || ep.canonical_len != n ||
                memcmp(canon, text, n) != 0)
                abort();
        }
        /* A bare address is an endpoint with no port and the same bytes. */
        if (ok && (ep.port != 0 || memcmp(ep.addr.bytes, a.bytes, 16) != 0))
            abort();
    } else if (ok) {
        abort(); /* a valid address is always a valid entry */
    }
    return 0;
}
