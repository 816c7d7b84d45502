/* libFuzzer target: cip_trust_add_line / cip_trust_add_spec, build, lookup.
 *
 * The input is a trust file: each line goes to cip_trust_add_line of one
 * table and, as a raw spec, to cip_trust_add_spec of a second. Both are
 * built, then looked up with addresses derived from the input (every line
 * that is a plain address, and 16-byte windows of the raw input).
 * Checks: statuses in range; a line that is exactly an address and was
 * accepted is found by lookup; every prefix lookup answers contains the
 * address and formats within CIP_PREFIX_TEXT_MAX; a built table refuses
 * further specs (CIP_SPEC_FROZEN); building twice is harmless. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cip_trust.h"

static int prefix_contains(const cip_prefix *p, const cip_addr *a)
{
    unsigned bits = p->prefix_len, i;
    if (bits > 128)
        return 0;
    for (i = 0; i < bits / 8; i++)
        if (p->addr.bytes[i] != a->bytes[i])
            return 0;
    if (bits % 8) {
        uint8_t mask = (uint8_t)(0xff << (8 - bits % 8));
        if ((p->addr.bytes[i] & mask) != (a->bytes[i] & mask))
            return 0;
    }
    return 1;
}

static const cip_prefix *checked_lookup(const cip_trust *t, const cip_addr *a)
{
    const cip_prefix *p = cip_trust_lookup(t, a);
    if (p != NULL) {
        char text[CIP_PREFIX_TEXT_MAX];
        size_t n;
        if (!prefix_contains(p, a))
            abort();
        n = cip_prefix_format(p, text);
        if (n >= CIP_PREFIX_TEXT_MAX || strlen(text) != n)
            abort();
    }
    return p;
}

#define MAX_PLAIN 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data, *end = text + size, *line = text;
    cip_trust *lines = cip_trust_new(), *specs = cip_trust_new();
    cip_addr plain[MAX_PLAIN];
    size_t nplain = 0, i;

    if (lines == NULL || specs == NULL)
        abort();
    while (line < end) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        size_t len = nl ? (size_t)(nl - line) + 1 : (size_t)(end - line);
        size_t bare = len;
        cip_spec_status s;
        cip_addr a;

        while (bare > 0 && (line[bare - 1] == '\n' || line[bare - 1] == '\r'))
            bare--;
        s = cip_trust_add_line(lines, line, len);
        if ((int)s < CIP_SPEC_OK || s > CIP_SPEC_NO_MEMORY || s == CIP_SPEC_FROZEN ||
            cip_spec_status_text(s) == NULL)
            abort();
        if (cip_addr_parse(line, bare, &a)) {
            if (s != CIP_SPEC_OK) /* a bare address is always a good line */
                abort();
            if (nplain < MAX_PLAIN)
                plain[nplain++] = a;
        }
        s = cip_trust_add_spec(specs, line, bare);
        if ((int)s < CIP_SPEC_OK || s > CIP_SPEC_NO_MEMORY || s == CIP_SPEC_EMPTY_LINE ||
            s == CIP_SPEC_TRAILING_TEXT || s == CIP_SPEC_FROZEN)
            abort();
        line += len;
    }
    if (cip_trust_build(lines) != 0 || cip_trust_build(specs) != 0)
        abort();
    if (cip_trust_build(lines) != 0) /* idempotent */
        abort();
    if (cip_trust_add_spec(lines, "10.0.0.1", 8) != CIP_SPEC_FROZEN ||
        cip_trust_add_line(specs, "10.0.0.1\n", 9) != CIP_SPEC_FROZEN)
        abort();
    (void)cip_trust_count(lines);
    (void)cip_trust_memory_bytes(lines);

    for (i = 0; i < nplain; i++) {
        if (checked_lookup(lines, &plain[i]) == NULL)
            abort();
        if (checked_lookup(specs, &plain[i]) == NULL)
            abort();
    }
    for (i = 0; i + 16 <= size && i < 512; i += 7) {
        cip_addr a;
        memcpy(a.bytes, data + i, 16);
        checked_lookup(lines, &a);
        checked_lookup(specs, &a);
        /* the same low bytes as an IPv4 peer */
        memset(a.bytes, 0, 10);
        a.bytes[10] = a.bytes[11] = 0xff;
        checked_lookup(lines, &a);
    }
    if (cip_trust_lookup(NULL, &plain[0]) != NULL)
        abort();
    cip_trust_free(lines);
    cip_trust_free(specs);
    return 0;
}
