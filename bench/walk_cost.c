/* The core's cost for the benchmark's walk, for callgrind.
 *
 *   walk_cost [TRUST_FILE]
 *
 * Fills a cip_trust as the module does (cip_trust_add_line; without a file:
 * 10.0.0.0/8 and 127.0.0.0/8), then walks WALKS times, recursively,
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

static int load(cip_trust *trust, const char *path)
{
    if (path == NULL) {
        static const char *lines[] = {"10.0.0.0/8", "127.0.0.0/8"};
        for (size_t i = 0; i < 2; i++)
            if (cip_trust_add_line(trust, lines[i], strlen(lines[i])) != CIP_SPEC_OK)
                return 1;
        return 0;
    }
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
        if (st != CIP_SPEC_OK && st != CIP_SPEC_EMPTY_LINE) {
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
    cip_trust *trust = cip_trust_new();
    if (trust == NULL || load(trust, argc > 1 ? argv[1] : NULL) != 0 || cip_trust_build(trust) != 0)
        return 2;

    static const char header[] = "203.0.113.7, 10.1.2.3, 127.0.0.5";
    cip_addr want;
    if (!cip_addr_parse("203.0.113.7", 11, &want))
        return 2;
    static cip_walk walk;
    for (int i = 0; i < WALKS; i++) {
        cip_list_walk(header, sizeof header - 1, trust, 1, &walk);
        const cip_hop *client = &walk.hops[walk.hop_count - 1];
        if (walk.hop_count != 3 || walk.stop != CIP_WALK_UNTRUSTED ||
            memcmp(&client->endpoint.addr, &want, sizeof want) != 0) {
            fprintf(stderr, "walk_cost: wrong walk (hops %zu, stop %d)\n", walk.hop_count,
                    (int)walk.stop);
            return 1;
        }
    }
    printf("walks %d\n", WALKS);
    cip_trust_free(trust);
    return 0;
}
