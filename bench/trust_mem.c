/* Memory of the trust table for a ClientIPTrustedProxiesFile-style list.
 *
 *   trust_mem FILE...
 *
 * For each file: fills a cip_trust from its lines exactly as the module does
 * (cip_trust_add_line), freezes it (cip_trust_build), and prints one line
 *
 *   FILE <TAB> specs <TAB> kept <TAB> bytes <TAB> build_ms
 *
 * specs: lines that added a network; kept: networks left after covered ones
 * are dropped (cip_trust_count); bytes: cip_trust_memory_bytes; build_ms:
 * wall time of reading, adding and building, for orientation only.
 * Built by bench/run against the cores in src/ (no httpd needed). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cip_trust.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int measure(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        perror(path);
        return 1;
    }
    double t0 = now_ms();
    cip_trust *trust = cip_trust_new();
    if (trust == NULL) {
        fprintf(stderr, "%s: out of memory\n", path);
        fclose(f);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    size_t specs = 0, lineno = 0;
    int rc = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        cip_spec_status st = cip_trust_add_line(trust, line, (size_t)len);
        if (st == CIP_SPEC_OK || st == CIP_SPEC_HOST_BITS_MASKED) {
            specs++;
        } else if (st != CIP_SPEC_EMPTY_LINE) {
            fprintf(stderr, "%s:%zu: %s\n", path, lineno, cip_spec_status_text(st));
            rc = 1;
            break;
        }
    }
    free(line);
    fclose(f);
    if (rc == 0 && cip_trust_build(trust) != 0) {
        fprintf(stderr, "%s: cip_trust_build failed\n", path);
        rc = 1;
    }
    if (rc == 0)
        printf("%s\t%zu\t%zu\t%zu\t%.1f\n", path, specs, cip_trust_count(trust),
               cip_trust_memory_bytes(trust), now_ms() - t0);
    cip_trust_free(trust);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE...\n", argv[0]);
        return 2;
    }
    int rc = 0;
    for (int i = 1; i < argc; i++)
        rc |= measure(argv[i]);
    return rc;
}
