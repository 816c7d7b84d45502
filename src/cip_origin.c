/* cip_origin: checks on the scheme, host and port a proxy forwards. They end
 * up in redirects and SERVER_NAME, so anything unusual is refused rather
 * than passed on. */
#include "cip_origin.h"

#include "cip_addr.h"
#include "cip_text.h"

#include <string.h>

cip_scheme cip_origin_scheme(const char *text, size_t len)
{
    if (cip_equals_word(text, len, "https"))
        return CIP_SCHEME_HTTPS;
    if (cip_equals_word(text, len, "http"))
        return CIP_SCHEME_HTTP;
    return CIP_SCHEME_NONE;
}

int cip_origin_flag_on(const char *text, size_t len)
{
    return cip_equals_word(text, len, "on");
}

int cip_origin_port(const char *text, size_t len, uint16_t *port)
{
    if (len == 0 || len > 5 || text[0] == '0')
        return 0;
    unsigned value = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return 0;
        value = value * 10 + (unsigned)(text[i] - '0');
    }
    if (value > 65535)
        return 0;
    *port = (uint16_t)value;
    return 1;
}

static int is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_';
}

int cip_origin_host(const char *text, size_t len, size_t *host_len, uint16_t *port)
{
    const char *end = text + len, *host_end;
    *port = 0;
    if (len == 0)
        return 0;
    if (text[0] == '[') {
        const char *close = memchr(text, ']', len);
        cip_addr ignored;
        if (close == NULL || !cip_addr_parse(text + 1, (size_t)(close - text - 1), &ignored) ||
            memchr(text + 1, ':', (size_t)(close - text - 1)) == NULL)
            return 0;
        host_end = close + 1;
    } else {
        host_end = text;
        while (host_end < end && is_name_char(*host_end))
            host_end++;
        if (host_end == text)
            return 0;
    }
    if ((size_t)(host_end - text) > 255)
        return 0;
    if (host_end < end) {
        if (*host_end != ':' || !cip_origin_port(host_end + 1, (size_t)(end - host_end - 1), port))
            return 0;
    }
    *host_len = (size_t)(host_end - text);
    return 1;
}
