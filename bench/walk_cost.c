/* The core's cost for the benchmark's walk, for callgrind.
 *
 *   walk_cost                 # trusts 10.0.0.0/8 and 127.0.0.0/8
 *   walk_cost TRUST_FILE      # trusts the file's networks
 *   walk_cost --random N      # those two plus N random networks (fixed seed),
 *                             # half IPv4 /16-/32, half IPv6 /32-/128
 *
 * Fills a cip_trust as the module does (cip_trust_add_line), then walks
 * WALKS times, recursively,
 *
 *   X-Forwarded-For: 203.0.113.7, 10.1.2.3, 127.0.0.5
 *
 * and checks every walk ends at 203.0.113.7 after two trusted hops. Run it
 * under `valgrind --tool=callgrind --toggle-collect=cip_list_walk
 * --collect-atstart=no`: the total divided by WALKS is the core's
 * instructions per request (scripts/perf-guard does, with a budget). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cip_addr.h"
#include "cip_list.h"
#include "cip_trust.h"

#define WALKS 1000

static int add(cip_trust *trust, const char *line)
{
    return cip_trust_add_line(trust, line, strlen(line)) == CIP_SPEC_OK ? 0 : 1;
}

static uint32_t rand_state = 0x2545f491;
static uint32_t next_rand(void)
{
    rand_state ^= rand_state << 13;
    rand_state ^= rand_state >> 17;
    rand_state ^= rand_state << 5;
    return rand_state;
}

/* n random networks, none covering 203.0.113.7 (nor inside 10/8 or 127/8,
 * where they would merely be dropped as covered). */
static int add_random(cip_trust *trust, long n)
{
    char line[64];
    for (long i = 0; i < n; i++) {
        if (i % 2 == 0) {
            uint32_t a = next_rand();
            unsigned top = a >> 24, len = 16 + next_rand() % 17;
            if (top == 10 || top == 127 || top == 203 || top == 0)
                a ^= 0x40000000u;
            snprintf(line, sizeof line, "%u.%u.%u.%u/%u", a >> 24, (a >> 16) & 255,
                     (a >> 8) & 255, a & 255, len);
        } else {
            snprintf(line, sizeof line, "2001:%x:%x:%x:%x::/%u", next_rand() & 0xffff,
                     next_rand() & 0xffff, next_rand() & 0xffff, next_rand() & 0xffff,
                     32 + next_rand() % 97);
        }
        cip_spec_status st = cip_trust_add_line(trust, line, strlen(line));
        if (st != CIP_SPEC_OK && st != CIP_SPEC_HOST_BITS_MASKED) {
            fprintf(stderr, "walk_cost: cannot add %s (%d)\n", line, (int)st);
            return 1;
        }
    }
    return 0;
}

static int load(cip_trust *trust, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--random") == 0)
        return add(trust, "10.0.0.0/8") || add(trust, "127.0.0.0/8") ||
               (argc > 2 && add_random(trust, atol(argv[2])));
    const char *path = argv[1];
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        perror(path);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        cip_spec_status st = cip_trust_add_line(trust, line, (size_t)n);
        if (st != CIP_SPEC_OK && st != CIP_SPEC_EMPTY_LINE && st != CIP_SPEC_HOST_BITS_MASKED) {
            fprintf(stderr, "%s: bad line: %.*s\n", path, (int)n, line);
            return 1;
        }
    }
    free(line);
    fclose(f);
    return 0;
}

int main(int argc, char **argv)
{
    /* --memo: walk with one memo kept across the walks, as one keep-alive
     * connection does behind a fixed chain of proxies (cip_list.h). */
    int use_memo = argc > 1 && strcmp(argv[1], "--memo") == 0;
    if (use_memo) {
        argv[1] = argv[0];
        argc--, argv++;
    }
    cip_trust *trust = cip_trust_new();
    if (trust == NULL || load(trust, argc, argv) != 0 || cip_trust_build(trust) != 0)
        return 2;

    static const char header[] = "203.0.113.7, 10.1.2.3, 127.0.0.5";
    cip_addr want;
    if (!cip_addr_parse("203.0.113.7", 11, &want))
        return 2;
    static cip_walk walk;
    static cip_walk_memo memo;
    for (int i = 0; i < WALKS; i++) {
        cip_list_walk_memo(header, sizeof header - 1, trust, 1, use_memo ? &memo : NULL, &walk);
        const cip_hop *client = &walk.hops[walk.hop_count - 1];
        if (walk.hop_count != 3 || walk.stop != CIP_WALK_UNTRUSTED ||
            memcmp(&client->endpoint.addr, &want, sizeof want) != 0) {
            fprintf(stderr, "walk_cost: wrong walk (hops %zu, stop %d)\n", walk.hop_count,
                    (int)walk.stop);
            return 1;
        }
    }
    printf("walks %d%s, networks %zu\n", WALKS, use_memo ? " with a memo" : "",
           cip_trust_count(trust));
    cip_trust_free(trust);
    return 0;
}
