/* cip_test.h: a tiny header-only test framework for the unit tests of src/.
 *
 * Every CHECK* counts as one check. A failing check prints file:line, the
 * expression and the values, plus the current context (CIP_CONTEXT), so a
 * failure inside a table-driven loop names the row. cip_test_finish prints
 * the one summary line CI reads:
 *
 *     unit test_addr: N passed, M failed
 *
 * and returns the exit status (non-zero when anything failed). Deterministic
 * pseudo-random numbers (cip_rand_*) come from a fixed-seed splitmix64, so
 * every run tests the same inputs. */
#ifndef CIP_TEST_H
#define CIP_TEST_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* After this many printed failures the rest are only counted, so that a
 * systematic bug under a randomized loop does not print 100,000 lines. */
#define CIP_TEST_MAX_REPORTS 200

static unsigned long cip_t_passed;
static unsigned long cip_t_failed;
static char cip_t_context[512];

/* Describe what the following checks are about (printed with failures). */
static inline void cip_context(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cip_t_context, sizeof cip_t_context, fmt, ap);
    va_end(ap);
}
#define CIP_CONTEXT cip_context

/* Count a result; on failure print where, the message, and the context.
 * Returns ok so callers can stop early (if (!CHECK(p)) return;). */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static inline int cip_t_report(int ok, const char *file, int line, const char *fmt, ...);
static inline int cip_t_report(int ok, const char *file, int line, const char *fmt, ...)
{
    if (ok) {
        cip_t_passed++;
        return 1;
    }
    cip_t_failed++;
    if (cip_t_failed <= CIP_TEST_MAX_REPORTS) {
        va_list ap;
        fprintf(stderr, "%s:%d: FAIL: ", file, line);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        if (cip_t_context[0])
            fprintf(stderr, "   [%s]", cip_t_context);
        fputc('\n', stderr);
    } else if (cip_t_failed == CIP_TEST_MAX_REPORTS + 1) {
        fprintf(stderr, "... further failures are counted, not printed\n");
    }
    return 0;
}

/* Print a possibly-NULL string safely, bounded, with control bytes escaped. */
static inline const char *cip_t_show(const char *s, char *buf, size_t bufsize)
{
    size_t o = 0;
    if (!s)
        return "(null)";
    buf[o++] = '"';
    for (; *s && o + 6 < bufsize; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            buf[o++] = (char)c;
        else
            o += (size_t)snprintf(buf + o, bufsize - o, "\\x%02x", c);
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

static inline int cip_t_eq_str(const char *a, const char *b, const char *ea, const char *eb,
                               const char *file, int line)
{
    char ba[300], bb[300];
    int ok = (a && b) ? strcmp(a, b) == 0 : a == b;
    return cip_t_report(ok, file, line, "%s == %s: got %s, expected %s", ea, eb,
                        cip_t_show(a, ba, sizeof ba), cip_t_show(b, bb, sizeof bb));
}

/* Compare a counted (not NUL-terminated) string with a C string. */
static inline int cip_t_eq_strn(const char *a, size_t alen, const char *b, const char *ea,
                                const char *eb, const char *file, int line)
{
    char ta[300], ba[300], bb[300];
    size_t n = alen < sizeof ta - 1 ? alen : sizeof ta - 1;
    int ok = a && b && strlen(b) == alen && memcmp(a, b, alen) == 0;
    if (a) {
        memcpy(ta, a, n);
        ta[n] = '\0';
    }
    return cip_t_report(ok, file, line, "%s == %s: got %s (len %lu), expected %s", ea, eb,
                        cip_t_show(a ? ta : NULL, ba, sizeof ba), (unsigned long)alen,
                        cip_t_show(b, bb, sizeof bb));
}

static inline int cip_t_eq_mem(const void *a, const void *b, size_t n, const char *ea,
                               const char *eb, const char *file, int line)
{
    char ha[100], hb[100];
    size_t i, o = 0;
    int ok = memcmp(a, b, n) == 0;
    if (!ok) {
        for (i = 0; i < n && o + 3 < sizeof ha; i++, o += 2) {
            snprintf(ha + o, sizeof ha - o, "%02x", ((const unsigned char *)a)[i]);
            snprintf(hb + o, sizeof hb - o, "%02x", ((const unsigned char *)b)[i]);
        }
        ha[o] = hb[o] = '\0';
    } else {
        ha[0] = hb[0] = '\0';
    }
    return cip_t_report(ok, file, line, "%s == %s (%lu bytes): got %s, expected %s", ea, eb,
                        (unsigned long)n, ha, hb);
}

#define CHECK(cond) cip_t_report(!!(cond), __FILE__, __LINE__, "%s", #cond)
/* CHECKF(cond, "fmt", args...): like CHECK with a printf-style explanation. */
#define CHECKF(cond, ...) cip_t_report(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define CHECK_EQ_INT(a, b)                                                                   \
    cip_t_report((long long)(a) == (long long)(b), __FILE__, __LINE__,                      \
                 "%s == %s: got %lld, expected %lld", #a, #b, (long long)(a), (long long)(b))
#define CHECK_EQ_UINT(a, b)                                                                  \
    cip_t_report((unsigned long long)(a) == (unsigned long long)(b), __FILE__, __LINE__,    \
                 "%s == %s: got %llu, expected %llu", #a, #b, (unsigned long long)(a),       \
                 (unsigned long long)(b))
#define CHECK_EQ_PTR(a, b)                                                                   \
    cip_t_report((const void *)(a) == (const void *)(b), __FILE__, __LINE__,                \
                 "%s == %s: got %p, expected %p", #a, #b, (const void *)(a), (const void *)(b))
#define CHECK_EQ_STR(a, b) cip_t_eq_str((a), (b), #a, #b, __FILE__, __LINE__)
#define CHECK_EQ_STRN(a, alen, b) cip_t_eq_strn((a), (alen), (b), #a, #b, __FILE__, __LINE__)
#define CHECK_EQ_MEM(a, b, n) cip_t_eq_mem((a), (b), (n), #a, #b, __FILE__, __LINE__)

/* Print the summary line and return the process exit status. */
static inline int cip_test_finish(const char *name)
{
    printf("unit %s: %lu passed, %lu failed\n", name, cip_t_passed, cip_t_failed);
    fflush(stdout);
    return cip_t_failed ? 1 : 0;
}

/* Deterministic PRNG (splitmix64). */
static uint64_t cip_t_rng_state = 0x5eed5eed5eed5eedULL;

static inline void cip_rand_seed(uint64_t seed)
{
    cip_t_rng_state = seed;
}

static inline uint64_t cip_rand64(void)
{
    uint64_t z = (cip_t_rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform-enough integer in [0, n), n > 0. */
static inline uint32_t cip_rand_below(uint32_t n)
{
    return (uint32_t)(cip_rand64() % n);
}

#endif
