/* cip_text: the few ASCII text helpers the cores share. Internal to src/
 * (not part of any core's interface); locale-independent on purpose:
 * header syntax is ASCII whatever the process locale says. */
#ifndef CIP_TEXT_H
#define CIP_TEXT_H

#include <stddef.h>

static inline char cip_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* [text, text+len) equals the lower-case word, ignoring ASCII case. */
static inline int cip_equals_word(const char *text, size_t len, const char *word)
{
    size_t i = 0;
    for (; i < len && word[i] != '\0'; i++)
        if (cip_lower(text[i]) != word[i])
            return 0;
    return i == len && word[i] == '\0';
}

/* The first len bytes of a and b are equal, ignoring ASCII case. */
static inline int cip_equals_ignore_case(const char *a, const char *b, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (cip_lower(a[i]) != cip_lower(b[i]))
            return 0;
    return 1;
}

#endif
