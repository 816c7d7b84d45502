/* cip_trust: trusted networks, frozen at startup into a crit-bit trie.
 *
 * Why this shape: after sorting, networks covered by a wider one are
 * dropped, so the ones left are disjoint. Disjoint prefixes can be indexed
 * by a crit-bit trie: each inner node names the first bit at which its
 * subtrees differ, a lookup follows the address's bits down to one leaf
 * and then does a single masked compare. Bit positions strictly increase on
 * the way down, so a lookup visits at most 32 (IPv4) or 128 (IPv6) nodes
 * whatever the table's size, typically log2(n). IPv4 and IPv6 get separate
 * tries so that an IPv6 entry such as ::/0 never matches an IPv4 peer. */
#include "cip_trust.h"

#include "cip_text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LEAF_FLAG 0x80000000u
#define NO_CHILD 0xffffffffu
#define V4_BASE_LEN 96 /* an IPv4 prefix length n is stored as 96 + n */
/* From this many IPv4 networks on, a 65,536-slot index on the top 16 bits
 * of the address skips the first levels of the IPv4 trie (256 KiB). */
#define V4_INDEX_MIN_COUNT 1024
#define V4_INDEX_BIT (V4_BASE_LEN + 16)

typedef struct trie_node {
    uint32_t child[2]; /* inner node index, or leaf index | LEAF_FLAG */
    uint8_t bit;       /* 0 = most significant bit of the 128-bit address */
} trie_node;

struct cip_trust {
    cip_prefix *prefixes; /* staging list; after build: sorted, disjoint leaves */
    size_t count;
    size_t capacity;
    trie_node *nodes;
    size_t node_count;
    uint32_t root[2]; /* [0] IPv4, [1] IPv6 */
    uint32_t *v4_index; /* NULL, or where a lookup of a.b.x.y lands after bits 96..111 */
    int built;
};

/* The address as two host-order words, so a bit test is a shift. */
typedef struct key128 {
    uint64_t hi, lo;
} key128;

static uint64_t load_be64(const uint8_t *b)
{
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    memcpy(&v, b, 8);
    return __builtin_bswap64(v);
#else
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return v;
#endif
}

static key128 key_of(const cip_addr *a)
{
    key128 k = {load_be64(a->bytes), load_be64(a->bytes + 8)};
    return k;
}

static unsigned key_bit(const key128 *k, unsigned bit)
{
    return bit < 64 ? (unsigned)(k->hi >> (63 - bit)) & 1 : (unsigned)(k->lo >> (127 - bit)) & 1;
}

static int prefix_is_v4(const cip_prefix *p)
{
    return p->prefix_len >= V4_BASE_LEN && cip_addr_is_v4(&p->addr);
}

/* Clear the bits below prefix_len; answer whether any was set. */
static int mask_host_bits(cip_addr *a, unsigned prefix_len)
{
    int changed = 0;
    for (unsigned byte = 0; byte < 16; byte++) {
        unsigned first_bit = byte * 8;
        uint8_t keep;
        if (first_bit + 8 <= prefix_len)
            keep = 0xff;
        else if (first_bit >= prefix_len)
            keep = 0;
        else
            keep = (uint8_t)(0xff << (8 - (prefix_len - first_bit)));
        if (a->bytes[byte] & (uint8_t)~keep)
            changed = 1;
        a->bytes[byte] &= keep;
    }
    return changed;
}

static int prefix_contains(const cip_prefix *p, const cip_addr *a)
{
    unsigned full = p->prefix_len >> 3, rest = p->prefix_len & 7;
    if (memcmp(p->addr.bytes, a->bytes, full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return ((p->addr.bytes[full] ^ a->bytes[full]) & mask) == 0;
}

cip_trust *cip_trust_new(void)
{
    cip_trust *t = calloc(1, sizeof *t);
    if (t != NULL)
        t->root[0] = t->root[1] = NO_CHILD;
    return t;
}

void cip_trust_free(cip_trust *trust)
{
    if (trust == NULL)
        return;
    free(trust->prefixes);
    free(trust->nodes);
    free(trust->v4_index);
    free(trust);
}

static cip_spec_status add_prefix(cip_trust *t, const cip_addr *addr, unsigned prefix_len,
                                  int *masked)
{
    if (t->built)
        return CIP_SPEC_FROZEN;
    if (t->count == t->capacity) {
        size_t capacity = t->capacity ? t->capacity * 2 : 16;
        cip_prefix *grown = realloc(t->prefixes, capacity * sizeof *grown);
        if (grown == NULL)
            return CIP_SPEC_NO_MEMORY;
        t->prefixes = grown;
        t->capacity = capacity;
    }
    cip_prefix *p = &t->prefixes[t->count++];
    p->addr = *addr;
    p->prefix_len = (unsigned char)prefix_len;
    if (mask_host_bits(&p->addr, prefix_len))
        *masked = 1;
    return CIP_SPEC_OK;
}

/* Keyword networks, written as specs so they go through the one parser. */
static const struct {
    const char *name;
    const char *specs[4];
} keywords[] = {
    {"loopback", {"127.0.0.0/8", "::1/128"}},
    {"private", {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"}},
    {"linklocal", {"169.254.0.0/16", "fe80::/10"}},
    {"all", {"0.0.0.0/0", "::/0"}},
};

/* Prefix length: decimal without a leading zero, at most max. */
static int parse_prefix_len(const char *p, const char *end, unsigned max, unsigned *out)
{
    size_t n = (size_t)(end - p);
    if (n == 0 || n > 3 || (n > 1 && p[0] == '0'))
        return 0;
    unsigned value = 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        value = value * 10 + (unsigned)(*p - '0');
    }
    if (value > max)
        return 0;
    *out = value;
    return 1;
}

cip_spec_status cip_trust_add_spec(cip_trust *trust, const char *text, size_t len)
{
    if (trust->built)
        return CIP_SPEC_FROZEN;
    for (size_t k = 0; k < sizeof keywords / sizeof keywords[0]; k++) {
        if (!cip_equals_word(text, len, keywords[k].name))
            continue;
        for (size_t s = 0; s < 4 && keywords[k].specs[s] != NULL; s++) {
            cip_spec_status st =
                cip_trust_add_spec(trust, keywords[k].specs[s], strlen(keywords[k].specs[s]));
            if (st != CIP_SPEC_OK)
                return st;
        }
        return CIP_SPEC_OK;
    }

    const char *slash = memchr(text, '/', len);
    size_t addr_len = slash ? (size_t)(slash - text) : len;
    cip_addr addr;
    if (!cip_addr_parse(text, addr_len, &addr))
        return CIP_SPEC_BAD_ADDRESS;

    /* An IPv4 text counts prefix bits of 32, an IPv6 text of 128. */
    int v4_text = memchr(text, ':', addr_len) == NULL;
    unsigned max_len = v4_text ? 32 : 128;
    unsigned prefix_len = max_len;
    if (slash != NULL && !parse_prefix_len(slash + 1, text + len, max_len, &prefix_len))
        return CIP_SPEC_BAD_PREFIX;
    if (v4_text)
        prefix_len += V4_BASE_LEN;

    int masked = 0;
    cip_spec_status st = add_prefix(trust, &addr, prefix_len, &masked);
    if (st != CIP_SPEC_OK)
        return st;
    return masked ? CIP_SPEC_HOST_BITS_MASKED : CIP_SPEC_OK;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

cip_spec_status cip_trust_add_line(cip_trust *trust, const char *line, size_t len)
{
    const char *hash = memchr(line, '#', len);
    const char *end = hash ? hash : line + len;
    const char *p = line;
    while (p < end && is_blank(*p))
        p++;
    while (end > p && is_blank(end[-1]))
        end--;
    if (p == end)
        return CIP_SPEC_EMPTY_LINE;
    for (const char *q = p; q < end; q++)
        if (is_blank(*q))
            return CIP_SPEC_TRAILING_TEXT;
    return cip_trust_add_spec(trust, p, (size_t)(end - p));
}

/* Order: IPv4 before IPv6, then by address, then wider first, so that a
 * network covering others comes right before them. */
static int compare_prefixes(const void *a, const void *b)
{
    const cip_prefix *pa = a, *pb = b;
    int fa = !prefix_is_v4(pa), fb = !prefix_is_v4(pb);
    if (fa != fb)
        return fa - fb;
    int c = memcmp(pa->addr.bytes, pb->addr.bytes, 16);
    if (c != 0)
        return c;
    return (int)pa->prefix_len - (int)pb->prefix_len;
}

static unsigned first_differing_bit(const cip_addr *a, const cip_addr *b)
{
    unsigned byte = 0;
    while (byte < 15 && a->bytes[byte] == b->bytes[byte])
        byte++;
    uint8_t diff = a->bytes[byte] ^ b->bytes[byte];
    unsigned bit = 0;
    while (bit < 7 && !(diff & (0x80 >> bit)))
        bit++;
    return byte * 8 + bit;
}

/* Index the sorted, disjoint leaves [lo, hi): the members all share the
 * bits before the first one where the outermost two differ, and, being
 * sorted, those with a 0 there come first. */
static uint32_t build_subtrie(cip_trust *t, size_t lo, size_t hi)
{
    if (hi - lo == 1)
        return (uint32_t)lo | LEAF_FLAG;
    unsigned bit = first_differing_bit(&t->prefixes[lo].addr, &t->prefixes[hi - 1].addr);
    size_t left = lo, right = hi - 1; /* find the first member with that bit set */
    while (left < right) {
        size_t mid = left + (right - left) / 2;
        key128 key = key_of(&t->prefixes[mid].addr);
        if (key_bit(&key, bit))
            right = mid;
        else
            left = mid + 1;
    }
    uint32_t index = (uint32_t)t->node_count++;
    t->nodes[index].bit = (uint8_t)bit;
    uint32_t zero = build_subtrie(t, lo, left);
    uint32_t one = build_subtrie(t, left, hi);
    t->nodes[index].child[0] = zero;
    t->nodes[index].child[1] = one;
    return index;
}

/* For each value of an IPv4 address's first 16 bits, descend as a lookup
 * would until a node tests a later bit: every lookup with those 16 bits
 * takes the same path that far, so it may start there. */
static int build_v4_index(cip_trust *t)
{
    t->v4_index = malloc(65536 * sizeof *t->v4_index);
    if (t->v4_index == NULL)
        return -1;
    for (uint32_t top = 0; top < 65536; top++) {
        uint32_t at = t->root[0];
        while (!(at & LEAF_FLAG) && t->nodes[at].bit < V4_INDEX_BIT) {
            unsigned bit = t->nodes[at].bit - V4_BASE_LEN; /* 0..15 of the IPv4 address */
            at = t->nodes[at].child[(top >> (15 - bit)) & 1];
        }
        t->v4_index[top] = at;
    }
    return 0;
}

int cip_trust_build(cip_trust *trust)
{
    if (trust->built)
        return 0;
    if (trust->count > 0) {
        qsort(trust->prefixes, trust->count, sizeof *trust->prefixes, compare_prefixes);
        /* Drop networks inside the last kept one: with this order, a covered
         * network always follows the network that covers it. */
        size_t kept = 0;
        for (size_t i = 0; i < trust->count; i++) {
            const cip_prefix *p = &trust->prefixes[i];
            if (kept > 0) {
                const cip_prefix *last = &trust->prefixes[kept - 1];
                if (prefix_is_v4(last) == prefix_is_v4(p) && last->prefix_len <= p->prefix_len &&
                    prefix_contains(last, &p->addr))
                    continue;
            }
            trust->prefixes[kept++] = *p;
        }
        trust->count = kept;
        cip_prefix *fitted = realloc(trust->prefixes, kept * sizeof *trust->prefixes);
        if (fitted != NULL) { /* give back the growth slack; keeping it is fine too */
            trust->prefixes = fitted;
            trust->capacity = kept;
        }
        trust->nodes = malloc(kept * sizeof *trust->nodes);
        if (trust->nodes == NULL)
            return -1;
        size_t v4_count = 0;
        while (v4_count < kept && prefix_is_v4(&trust->prefixes[v4_count]))
            v4_count++;
        if (v4_count > 0)
            trust->root[0] = build_subtrie(trust, 0, v4_count);
        if (kept > v4_count)
            trust->root[1] = build_subtrie(trust, v4_count, kept);
        if (v4_count >= V4_INDEX_MIN_COUNT && build_v4_index(trust) != 0)
            return -1;
    }
    trust->built = 1;
    return 0;
}

static uint32_t load_be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* IPv4 has a lookup of its own on a 32-bit key: every request walks IPv4
 * entries, and a 32-bit shift and compare is half the work of 128. */
const cip_prefix *cip_trust_lookup_v4(const cip_trust *trust, uint32_t v4)
{
    uint32_t at;
    if (trust == NULL || !trust->built)
        return NULL;
    if (trust->v4_index != NULL)
        at = trust->v4_index[v4 >> 16];
    else if ((at = trust->root[0]) == NO_CHILD)
        return NULL;
    while (!(at & LEAF_FLAG)) {
        const trie_node *node = &trust->nodes[at];
        /* bit 96 of the 128-bit key is bit 31 of the IPv4 address */
        at = node->child[(v4 >> (127 - node->bit)) & 1];
    }
    const cip_prefix *leaf = &trust->prefixes[at & ~LEAF_FLAG];
    unsigned len = leaf->prefix_len - V4_BASE_LEN;
    uint32_t mask = len == 0 ? 0 : ~(uint32_t)0 << (32 - len);
    return ((v4 ^ load_be32(leaf->addr.bytes + 12)) & mask) == 0 ? leaf : NULL;
}

const cip_prefix *cip_trust_lookup(const cip_trust *trust, const cip_addr *addr)
{
    if (trust == NULL || !trust->built)
        return NULL;
    key128 key = key_of(addr);
    if (key.hi == 0 && (key.lo >> 32) == 0xffff)
        return cip_trust_lookup_v4(trust, (uint32_t)key.lo);
    uint32_t at = trust->root[1];
    if (at == NO_CHILD)
        return NULL;
    while (!(at & LEAF_FLAG)) {
        const trie_node *node = &trust->nodes[at];
        at = node->child[key_bit(&key, node->bit)];
    }
    /* The one masked compare, on the words already loaded. */
    const cip_prefix *leaf = &trust->prefixes[at & ~LEAF_FLAG];
    key128 net = key_of(&leaf->addr);
    unsigned len = leaf->prefix_len;
    uint64_t hi_mask = len >= 64 ? ~(uint64_t)0 : len == 0 ? 0 : ~(uint64_t)0 << (64 - len);
    uint64_t lo_mask = len <= 64 ? 0 : len == 128 ? ~(uint64_t)0 : ~(uint64_t)0 << (128 - len);
    return ((key.hi ^ net.hi) & hi_mask) == 0 && ((key.lo ^ net.lo) & lo_mask) == 0 ? leaf : NULL;
}

size_t cip_trust_count(const cip_trust *trust)
{
    return trust ? trust->count : 0;
}

const cip_prefix *cip_trust_prefix_at(const cip_trust *trust, size_t i)
{
    if (trust == NULL || !trust->built || i >= trust->count)
        return NULL;
    return &trust->prefixes[i];
}

size_t cip_trust_memory_bytes(const cip_trust *trust)
{
    if (trust == NULL)
        return 0;
    return sizeof *trust + trust->capacity * sizeof *trust->prefixes +
           (trust->built ? trust->count * sizeof *trust->nodes : 0) +
           (trust->v4_index ? 65536 * sizeof *trust->v4_index : 0);
}

size_t cip_prefix_format(const cip_prefix *prefix, char *buf)
{
    size_t n;
    unsigned len = prefix->prefix_len;
    if (prefix_is_v4(prefix)) {
        n = cip_addr_format(&prefix->addr, buf);
        len -= V4_BASE_LEN;
    } else if (cip_addr_is_v4(&prefix->addr)) {
        /* An IPv6 network shorter than /96 inside ::ffff:0:0 (rare): keep
         * it in IPv6 text so it doesn't read as an IPv4 network. */
        static const char hex[] = "0123456789abcdef";
        const uint8_t *b = prefix->addr.bytes + 12;
        char *p = buf;
        memcpy(p, "::ffff:", 7);
        p += 7;
        for (int i = 0; i < 4; i++) {
            if (i == 2)
                *p++ = ':';
            *p++ = hex[b[i] >> 4];
            *p++ = hex[b[i] & 15];
        }
        n = (size_t)(p - buf);
    } else {
        n = cip_addr_format(&prefix->addr, buf);
    }
    buf[n++] = '/';
    if (len >= 100)
        buf[n++] = (char)('0' + len / 100);
    if (len >= 10)
        buf[n++] = (char)('0' + len / 10 % 10);
    buf[n++] = (char)('0' + len % 10);
    buf[n] = '\0';
    return n;
}

const char *cip_spec_status_text(cip_spec_status status)
{
    switch (status) {
    case CIP_SPEC_OK:
        return "ok";
    case CIP_SPEC_HOST_BITS_MASKED:
        return "host bits set below the prefix length were cleared";
    case CIP_SPEC_EMPTY_LINE:
        return "blank line";
    case CIP_SPEC_BAD_ADDRESS:
        return "is not an IP address, CIDR or keyword (loopback, private, linklocal, all); "
               "host names are refused because the module never uses DNS";
    case CIP_SPEC_BAD_PREFIX:
        return "has a bad prefix length (IPv4: /0 to /32, IPv6: /0 to /128, decimal, no "
               "leading zero)";
    case CIP_SPEC_TRAILING_TEXT:
        return "holds more than one spec (one per line)";
    case CIP_SPEC_FROZEN:
        return "the trusted list is already built";
    case CIP_SPEC_NO_MEMORY:
        return "out of memory";
    }
    return "unknown status";
}
