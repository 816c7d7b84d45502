/* cip_forwarded: RFC 7239 Forwarded, parsed in one left-to-right pass
 * (quoted strings make the element boundaries unknowable from the right),
 * then walked right to left by the shared walk of cip_list. */
#include "cip_forwarded.h"

#include "cip_text.h"

#include <string.h>

/* RFC 9110 tchar. */
static int is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* One quoted-string starting at value[*pos] == '"'. On success *pos is
 * just past the closing quote and the content (escapes kept) is in *v. */
static cip_fwd_status read_quoted(const char *value, size_t len, size_t *pos, cip_fwd_value *v)
{
    size_t p = *pos + 1;
    v->text = value + p;
    v->quoted = 1;
    for (; p < len; p++) {
        unsigned char c = (unsigned char)value[p];
        if (c == '"') {
            v->len = (size_t)(value + p - v->text);
            *pos = p + 1;
            return CIP_FWD_OK;
        }
        if (c == '\\') {
            /* quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ) */
            if (p + 1 == len)
                return CIP_FWD_BAD_ESCAPE;
            unsigned char e = (unsigned char)value[p + 1];
            if (e != '\t' && (e < 0x20 || e == 0x7f))
                return CIP_FWD_BAD_ESCAPE;
            p++;
            continue;
        }
        /* qdtext: HTAB / SP / visible ASCII but '"' and '\' / obs-text */
        if (c != '\t' && (c < 0x20 || c == 0x7f))
            return CIP_FWD_BAD_VALUE;
    }
    return CIP_FWD_UNTERMINATED;
}

static cip_fwd_status fail(cip_forwarded *out, cip_fwd_status status, size_t pos)
{
    out->status = status;
    out->error_offset = pos;
    return status;
}

cip_fwd_status cip_forwarded_parse(const char *value, size_t len, cip_forwarded *out)
{
    /* Elements go into a ring of the last CIP_LIST_MAX_HOPS, put in order
     * at the end: a 600-element header costs no more copying than 64. */
    cip_fwd_element ring[CIP_LIST_MAX_HOPS];
    size_t p = 0, count = 0;

    out->value = value;
    out->value_len = len;
    out->element_count = 0;
    out->kept = 0;
    out->status = CIP_FWD_OK;
    out->error_offset = 0;

    for (;;) {
        while (p < len && is_space(value[p]))
            p++;
        cip_fwd_element el;
        memset(&el, 0, sizeof el);
        el.start = p;
        /* Names seen in this element, for the duplicate check. */
        const char *names[CIP_FWD_MAX_PAIRS];
        size_t name_lens[CIP_FWD_MAX_PAIRS], pairs = 0;
        for (;;) { /* one forwarded-pair */
            size_t name = p;
            while (p < len && is_tchar((unsigned char)value[p]))
                p++;
            size_t name_len = p - name;
            if (name_len == 0) {
                if (p == len || value[p] == ';' || value[p] == ',')
                    return fail(out, CIP_FWD_EMPTY_PAIR, p);
                return fail(out, CIP_FWD_BAD_NAME, p);
            }
            if (p == len || value[p] != '=')
                return fail(out, CIP_FWD_NO_EQUALS, p);
            if (pairs == CIP_FWD_MAX_PAIRS)
                return fail(out, CIP_FWD_TOO_MANY_PAIRS, name);
            for (size_t i = 0; i < pairs; i++)
                if (name_lens[i] == name_len &&
                    cip_equals_ignore_case(names[i], value + name, name_len))
                    return fail(out, CIP_FWD_DUPLICATE, name);
            names[pairs] = value + name;
            name_lens[pairs++] = name_len;
            p++;
            cip_fwd_value v = {NULL, 0, 0};
            if (p < len && value[p] == '"') {
                cip_fwd_status st = read_quoted(value, len, &p, &v);
                if (st != CIP_FWD_OK)
                    return fail(out, st, p);
            } else {
                v.text = value + p;
                while (p < len && is_tchar((unsigned char)value[p]))
                    p++;
                v.len = (size_t)(value + p - v.text);
                if (v.len == 0)
                    return fail(out, CIP_FWD_BAD_VALUE, p);
            }

            cip_fwd_value *slot = NULL;
            if (cip_equals_word(value + name, name_len, "for"))
                slot = &el.for_node;
            else if (cip_equals_word(value + name, name_len, "by"))
                slot = &el.by;
            else if (cip_equals_word(value + name, name_len, "proto"))
                slot = &el.proto;
            else if (cip_equals_word(value + name, name_len, "host"))
                slot = &el.host;
            if (slot != NULL)
                *slot = v;

            size_t value_end = p;
            while (p < len && is_space(value[p]))
                p++;
            if (p < len && value[p] == ';') {
                p++;
                while (p < len && is_space(value[p]))
                    p++;
                continue;
            }
            if (p < len && value[p] != ',')
                return fail(out, CIP_FWD_TRAILING_GARBAGE, p);
            el.end = value_end;
            break;
        }
        ring[count % CIP_LIST_MAX_HOPS] = el;
        count++;
        if (p == len)
            break;
        p++; /* the comma: another element must follow */
    }

    out->element_count = count;
    out->kept = count < CIP_LIST_MAX_HOPS ? count : CIP_LIST_MAX_HOPS;
    size_t first = count - out->kept;
    for (size_t i = 0; i < out->kept; i++)
        out->elements[i] = ring[(first + i) % CIP_LIST_MAX_HOPS];
    return CIP_FWD_OK;
}

size_t cip_fwd_value_copy(const cip_fwd_value *value, char *buf, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; i < value->len; i++) {
        char c = value->text[i];
        if (value->quoted && c == '\\' && i + 1 < value->len)
            c = value->text[++i];
        if (n + 1 >= size)
            return (size_t)-1;
        buf[n++] = c;
    }
    if (size == 0)
        return (size_t)-1;
    buf[n] = '\0';
    return n;
}

/* obfnode / obfport = "_" 1*( ALPHA / DIGIT / "." / "_" / "-" ) */
static int is_obfuscated(const char *s, size_t len)
{
    if (len < 2 || s[0] != '_')
        return 0;
    for (size_t i = 1; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* RFC 7239 section 6: node = nodename [ ":" node-port ]; nodename is an
 * IPv4 address, a bracketed IPv6 address, "unknown" or an obfuscated
 * identifier; node-port a port or an obfuscated port. */
cip_endpoint_status cip_forwarded_node(const cip_fwd_value *value, cip_endpoint *out)
{
    char node[256];
    out->port = 0;
    if (value->text == NULL)
        return CIP_ENDPOINT_MISSING;
    size_t len = cip_fwd_value_copy(value, node, sizeof node);
    if (len == (size_t)-1)
        return CIP_ENDPOINT_BAD_ADDR;
    if (len == 0)
        return CIP_ENDPOINT_EMPTY;

    /* Split nodename and node-port. IPv6 must be bracketed here: a bare one
     * would be ambiguous with a port. */
    const char *close = node[0] == '[' ? memchr(node, ']', len) : NULL;
    const char *name_end = close ? close + 1 : node;
    while (name_end < node + len && *name_end != ':')
        name_end++;
    size_t name_len = (size_t)(name_end - node);
    const char *port = name_end < node + len ? name_end + 1 : NULL;
    size_t port_len = port ? len - name_len - 1 : 0;
    if (port != NULL && memchr(port, ':', port_len) != NULL)
        return CIP_ENDPOINT_BAD_ADDR; /* a bare IPv6 address, or junk */
    int obfuscated_port = port != NULL && port[0] == '_';
    if (obfuscated_port && !is_obfuscated(port, port_len))
        return CIP_ENDPOINT_BAD_PORT;

    if (cip_equals_word(node, name_len, "unknown"))
        return CIP_ENDPOINT_UNKNOWN;
    if (node[0] == '_')
        return is_obfuscated(node, name_len) ? CIP_ENDPOINT_OBFUSCATED : CIP_ENDPOINT_BAD_ADDR;
    cip_endpoint_status st = obfuscated_port /* the address stands, the port stays unknown */
                                 ? cip_endpoint_parse(node, name_len, out)
                                 : cip_endpoint_parse(node, len, out);
    /* canonical_len describes the unescaped copy; the value as written only
     * reads the same when it holds no escapes. */
    if (value->quoted && memchr(value->text, '\\', value->len) != NULL)
        out->canonical_len = 0;
    return st;
}

typedef struct fwd_source {
    const cip_forwarded *fwd;
    size_t next; /* elements[0 .. next) are still to hand out */
} fwd_source;

static int fwd_next(void *state, cip_entry *entry)
{
    fwd_source *src = state;
    if (src->next == 0)
        return 0;
    const cip_forwarded *fwd = src->fwd;
    size_t index = --src->next;
    const cip_fwd_element *el = &fwd->elements[index];

    entry->status = cip_forwarded_node(&el->for_node, &entry->endpoint);
    if (el->for_node.text != NULL) {
        entry->text = el->for_node.text;
        entry->text_len = el->for_node.len;
    } else {
        entry->text = fwd->value + el->start;
        entry->text_len = el->end - el->start;
    }
    entry->leftmost = fwd->element_count - fwd->kept + index == 0;
    /* What remains is left of this element's comma. */
    size_t keep = el->start;
    while (keep > 0 && is_space(fwd->value[keep - 1]))
        keep--;
    if (keep > 0)
        keep--; /* the comma */
    while (keep > 0 && is_space(fwd->value[keep - 1]))
        keep--;
    entry->keep_len = keep;
    return 1;
}

void cip_forwarded_walk(const cip_forwarded *fwd, const cip_trust *trust, int recursive,
                        cip_walk *out)
{
    fwd_source src = {fwd, fwd->kept};
    cip_walk_entries(fwd_next, &src, fwd->value_len, trust, recursive, out);
}

const cip_fwd_element *cip_forwarded_chosen(const cip_forwarded *fwd, const cip_walk *walk)
{
    if (fwd->kept == 0)
        return NULL;
    if (walk->hop_count > 0)
        return &fwd->elements[fwd->kept - walk->hop_count];
    return &fwd->elements[fwd->kept - 1];
}

const char *cip_fwd_status_text(cip_fwd_status status)
{
    switch (status) {
    case CIP_FWD_OK:
        return "valid";
    case CIP_FWD_EMPTY_PAIR:
        return "empty parameter or element";
    case CIP_FWD_BAD_NAME:
        return "parameter name is not a token";
    case CIP_FWD_NO_EQUALS:
        return "parameter without '=' (or spaces around it)";
    case CIP_FWD_BAD_VALUE:
        return "empty value or a character not allowed in a value";
    case CIP_FWD_UNTERMINATED:
        return "quoted string without its closing quote";
    case CIP_FWD_BAD_ESCAPE:
        return "bad backslash escape in a quoted string";
    case CIP_FWD_DUPLICATE:
        return "parameter given twice in one element";
    case CIP_FWD_TRAILING_GARBAGE:
        return "unexpected character after a value";
    case CIP_FWD_TOO_MANY_PAIRS:
        return "more than 16 parameters in one element";
    }
    return "unknown status";
}
