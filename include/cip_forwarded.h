/* cip_forwarded: the Forwarded header of RFC 7239. Pure C, libc only.
 *
 *   Forwarded         = 1#forwarded-element
 *   forwarded-element = [ forwarded-pair ] *( ";" [ forwarded-pair ] )
 *   forwarded-pair    = token "=" value ;  value = token / quoted-string
 *
 * The whole value is checked once, left to right: quoted strings may hold
 * commas and semicolons, so element boundaries can't be found from the
 * right. Syntax errors make the whole header invalid (SPEC: the client then
 * stays unchanged). Deliberately stricter than the ABNF: empty pairs and
 * empty elements (";;", ", ,", a trailing ";") are errors, as is any
 * parameter given twice in one element (RFC 7239 section 4 forbids it) and
 * an element of more than CIP_FWD_MAX_PAIRS pairs. Spaces and tabs are allowed around
 * "," and ";" (proxies write "; "), never around "=". Parameter names are
 * case-insensitive. */
#ifndef CIP_FORWARDED_H
#define CIP_FORWARDED_H

#include <stddef.h>
#include "cip_addr.h"
#include "cip_list.h"

/* A parameter's value as written: for a quoted string, the text between
 * the quotes with its backslash escapes still in place. */
typedef struct cip_fwd_value {
    const char *text; /* NULL: parameter absent */
    size_t len;
    int quoted;
} cip_fwd_value;

typedef struct cip_fwd_element {
    size_t start; /* offsets of the element's first byte and just past its last */
    size_t end;
    cip_fwd_value for_node, by, proto, host;
} cip_fwd_element;

typedef enum cip_fwd_status {
    CIP_FWD_OK = 0,
    CIP_FWD_EMPTY_PAIR,      /* ";;", leading/trailing ";", empty element */
    CIP_FWD_BAD_NAME,        /* parameter name is not a token */
    CIP_FWD_NO_EQUALS,       /* a pair without "=" (or spaces around it) */
    CIP_FWD_BAD_VALUE,       /* empty value, or a character no token allows */
    CIP_FWD_UNTERMINATED,    /* a quoted string without its closing quote */
    CIP_FWD_BAD_ESCAPE,      /* backslash before a control character, or at the end */
    CIP_FWD_DUPLICATE,       /* the same parameter twice in one element */
    CIP_FWD_TRAILING_GARBAGE, /* something after a value other than ";" or "," */
    CIP_FWD_TOO_MANY_PAIRS    /* more than CIP_FWD_MAX_PAIRS pairs in one element */
} cip_fwd_status;

/* RFC 7239 defines four parameters; an element with more than this many
 * pairs is refused, which keeps the duplicate check cheap on hostile input. */
#define CIP_FWD_MAX_PAIRS 16

/* The last CIP_LIST_MAX_HOPS elements are kept: a walk never goes further. */
typedef struct cip_forwarded {
    cip_fwd_status status;
    size_t error_offset;  /* where the syntax error was found */
    size_t element_count; /* elements in the whole header */
    size_t kept;          /* elements[0 .. kept) are the rightmost ones, in order */
    const char *value;
    size_t value_len;
    cip_fwd_element elements[CIP_LIST_MAX_HOPS];
} cip_forwarded;

/* Parse [value, value+len) (several header lines joined with ", " are one
 * list). out->status says whether it may be walked. */
cip_fwd_status cip_forwarded_parse(const char *value, size_t len, cip_forwarded *out);

/* Walk the parsed header's for= nodes right to left, with the trust rules
 * of cip_list_walk; "unknown", obfuscated and missing nodes stop the walk.
 * The element that supplied hop i is elements[kept - 1 - i]. Requires
 * status == CIP_FWD_OK. */
void cip_forwarded_walk(const cip_forwarded *fwd, const cip_trust *trust, int recursive,
                        cip_walk *out);

/* The element to take by=, proto= and host= from after a walk: the one that
 * supplied the client, or the rightmost one when no hop was taken. NULL when
 * there is no element. */
const cip_fwd_element *cip_forwarded_chosen(const cip_forwarded *fwd, const cip_walk *walk);

/* A node ("192.0.2.7", "[2001:db8::1]:443", "unknown", "_hidden",
 * "192.0.2.7:_port", "unknown:4711") given as its value, at most 255 bytes
 * once unescaped. An obfuscated port leaves the port unknown (0) but the
 * address valid. */
cip_endpoint_status cip_forwarded_node(const cip_fwd_value *value, cip_endpoint *out);

/* Copy a value unescaped into buf (size bytes, NUL-terminated). Returns the
 * length, or (size_t)-1 when it does not fit. */
size_t cip_fwd_value_copy(const cip_fwd_value *value, char *buf, size_t size);

const char *cip_fwd_status_text(cip_fwd_status status);

#endif
