/* proxy_reference.h: the PROXY core as it was before its fast paths
 * (src/cip_proxy.c at commit a598bc2), frozen: parse, TLV walk, describe and
 * the renderers, the old code with its public functions renamed ref_* and
 * made static, and one local variable renamed for -Wshadow. Its CRC32C is
 * the library's table version (cip_proxy_crc32c_portable), never the
 * instruction. test_proxy_fast.c compares the library against it on many
 * generated inputs: same status, error, offsets, values, addresses, TLV
 * views and rendered bytes. It is the behaviour the library must keep: not
 * to be changed with the library. */
#ifndef PROXY_REFERENCE_H
#define PROXY_REFERENCE_H

#include <stdio.h>
#include <string.h>
#include "cip_proxy.h"

static const unsigned char ref_v1_prefix[6] = {'P', 'R', 'O', 'X', 'Y', ' '};
static const unsigned char ref_v2_signature[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                               0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

/* ------------------------------------------------------------ results */

static cip_proxy_status ref_need_more(cip_proxy_result *out, size_t need)
{
    out->need = need;
    return CIP_PROXY_NEED_MORE;
}

static cip_proxy_status ref_malformed(cip_proxy_result *out, cip_proxy_error error, size_t offset,
                                  unsigned long value)
{
    out->error = error;
    out->error_offset = offset;
    out->error_value = value;
    return CIP_PROXY_MALFORMED;
}

static cip_proxy_status ref_done(cip_proxy_result *out, size_t header_len)
{
    out->header_len = header_len;
    out->need = header_len;
    return CIP_PROXY_DONE;
}

/* ----------------------------------------------------------------- v1 */

/* The v1 line is read field by field, left to right. A field is checked as
 * soon as its terminator (SP, CR or LF) is in; a field still arriving is
 * checked for what can already be wrong with it (a character no address or
 * port has, too many characters, a leading zero). Every such early verdict
 * is one the complete field would get too, which is what makes the answer
 * independent of how the line was split. */

enum ref_v1_field { ref_F_PROTOCOL, ref_F_SRC_ADDR, ref_F_DST_ADDR, ref_F_SRC_PORT, ref_F_DST_PORT };
enum ref_v1_protocol { ref_P_TCP4, ref_P_TCP6, ref_P_UNKNOWN, ref_P_NONE, ref_P_PARTIAL };

static const struct {
    const char *text;
    size_t len;
} ref_v1_protocols[] = {{"TCP4", 4}, {"TCP6", 4}, {"UNKNOWN", 7}};

/* complete: the keyword it is, or ref_P_NONE. Partial: ref_P_PARTIAL when tok is
 * the start of some keyword (case-sensitive), else ref_P_NONE. */
static enum ref_v1_protocol ref_v1_protocol(const unsigned char *tok, size_t n, int complete)
{
    for (int p = ref_P_TCP4; p <= ref_P_UNKNOWN; p++) {
        if (complete ? n == ref_v1_protocols[p].len : n <= ref_v1_protocols[p].len) {
            if (memcmp(tok, ref_v1_protocols[p].text, n) == 0)
                return complete ? (enum ref_v1_protocol)p : ref_P_PARTIAL;
        }
    }
    return ref_P_NONE;
}

static int ref_is_address_char(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
           c == ':' || c == '.';
}

/* TCP4 wants dotted-quad text, TCP6 IPv6 text: cip_addr_parse reads text
 * without ':' as IPv4, so the family is the presence of a colon. An address
 * still arriving can only be refused for a character or a length no address
 * text has (cip_addr_parse refuses both too, so the verdict is the same). */
static cip_proxy_error ref_v1_address(const unsigned char *tok, size_t n, int complete, int tcp6,
                                  cip_addr *out)
{
    if (n >= CIP_ADDR_TEXT_MAX)
        return CIP_PROXY_V1_BAD_ADDRESS;
    if (!complete) {
        for (size_t i = 0; i < n; i++)
            if (!ref_is_address_char(tok[i]))
                return CIP_PROXY_V1_BAD_ADDRESS;
        return CIP_PROXY_OK;
    }
    if (!cip_addr_parse((const char *)tok, n, out))
        return CIP_PROXY_V1_BAD_ADDRESS;
    if ((memchr(tok, ':', n) != NULL) != tcp6)
        return CIP_PROXY_V1_FAMILY_MISMATCH;
    return CIP_PROXY_OK;
}

/* 1-5 digits, no leading zero except "0" itself, at most 65535. The same
 * test serves a port still arriving: each rule only gets worse with more
 * digits. */
static int ref_v1_port(const unsigned char *tok, size_t n, uint16_t *port)
{
    unsigned value = 0;
    if (n > 5 || (n > 1 && tok[0] == '0'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (tok[i] < '0' || tok[i] > '9')
            return 0;
        value = value * 10 + (unsigned)(tok[i] - '0');
    }
    if (value > 65535)
        return 0;
    *port = (uint16_t)value;
    return 1;
}

/* Nothing of the line is read past 107 bytes: limit = min(len, 107). */
static cip_proxy_status ref_v1_out_of_bytes(size_t len, size_t limit, cip_proxy_result *out)
{
    if (limit == CIP_PROXY_V1_MAX)
        return ref_malformed(out, CIP_PROXY_V1_TOO_LONG, limit, 0);
    return ref_need_more(out, len + 1);
}

/* b[pos] is CR or LF, the first one of the line: it must be CRLF. */
static cip_proxy_status ref_v1_line_end(const unsigned char *b, size_t len, size_t limit, size_t pos,
                                    cip_proxy_result *out)
{
    if (b[pos] == '\n')
        return ref_malformed(out, CIP_PROXY_V1_BARE_LF, pos, 0);
    if (pos + 1 >= limit) /* at the limit, the LF would be byte 108 */
        return ref_v1_out_of_bytes(len, limit, out);
    if (b[pos + 1] != '\n')
        return ref_malformed(out, CIP_PROXY_V1_BARE_CR, pos, 0);
    return ref_done(out, pos + 2);
}

static cip_proxy_status ref_parse_v1(const unsigned char *b, size_t len, cip_proxy_result *out)
{
    size_t limit = len < CIP_PROXY_V1_MAX ? len : CIP_PROXY_V1_MAX;
    size_t pos = sizeof ref_v1_prefix;
    enum ref_v1_protocol protocol = ref_P_NONE;

    out->version = 1;
    for (int field = ref_F_PROTOCOL; field <= ref_F_DST_PORT; field++) {
        size_t start = pos;
        while (pos < limit && b[pos] != ' ' && b[pos] != '\r' && b[pos] != '\n')
            pos++;
        const unsigned char *tok = b + start;
        size_t n = pos - start;
        int complete = pos < limit;
        cip_proxy_error error = CIP_PROXY_OK;

        if (complete && n == 0)
            return ref_malformed(out,
                             b[pos] == ' ' ? CIP_PROXY_V1_EXTRA_SPACE : CIP_PROXY_V1_MISSING_FIELD,
                             pos, 0);
        switch (field) {
        case ref_F_PROTOCOL:
            protocol = ref_v1_protocol(tok, n, complete);
            if (protocol == ref_P_NONE)
                error = CIP_PROXY_V1_BAD_PROTOCOL;
            break;
        case ref_F_SRC_ADDR:
            error = ref_v1_address(tok, n, complete, protocol == ref_P_TCP6, &out->src);
            break;
        case ref_F_DST_ADDR:
            error = ref_v1_address(tok, n, complete, protocol == ref_P_TCP6, &out->dst);
            break;
        case ref_F_SRC_PORT:
            if (!ref_v1_port(tok, n, &out->src_port))
                error = CIP_PROXY_V1_BAD_PORT;
            break;
        default:
            if (!ref_v1_port(tok, n, &out->dst_port))
                error = CIP_PROXY_V1_BAD_PORT;
            break;
        }
        if (error != CIP_PROXY_OK)
            return ref_malformed(out, error, start, 0);
        if (!complete)
            return ref_v1_out_of_bytes(len, limit, out);

        if (field == ref_F_PROTOCOL && protocol == ref_P_UNKNOWN) {
            /* "PROXY UNKNOWN" then CRLF, or SP and anything up to CRLF. */
            out->kind = CIP_PROXY_KIND_UNKNOWN;
            if (b[pos] == ' ') {
                pos++;
                while (pos < limit && b[pos] != '\r' && b[pos] != '\n')
                    pos++;
                if (pos == limit)
                    return ref_v1_out_of_bytes(len, limit, out);
            }
            return ref_v1_line_end(b, len, limit, pos, out);
        }
        if (field != ref_F_DST_PORT) {
            if (b[pos] != ' ')
                return ref_malformed(out, CIP_PROXY_V1_MISSING_FIELD, pos, 0);
            pos++;
            continue;
        }
        if (b[pos] == ' ')
            return ref_malformed(out, CIP_PROXY_V1_TRAILING_DATA, pos, 0);
        out->kind = protocol == ref_P_TCP6 ? CIP_PROXY_KIND_TCP6 : CIP_PROXY_KIND_TCP4;
        out->has_addresses = 1;
        return ref_v1_line_end(b, len, limit, pos, out);
    }
    return ref_malformed(out, CIP_PROXY_V1_MISSING_FIELD, pos, 0); /* not reached */
}

/* ----------------------------------------------------------------- v2 */

static unsigned ref_be16(const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static uint32_t ref_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Bytes of the address block per family: UNSPEC, INET, INET6, UNIX. */
static const unsigned short ref_v2_address_len[4] = {0, 12, 36, 216};

/* Check the TLVs in b[pos, total): framing only (see cip_proxy.h), plus the
 * CRC32C when one is present. */
static cip_proxy_status ref_v2_tlvs(const unsigned char *b, size_t pos, size_t total,
                                cip_proxy_result *out)
{
    static const unsigned char zeros[4] = {0, 0, 0, 0};
    size_t crc_at = 0; /* offset of the CRC32C value; 0: none (it is never at 0) */

    while (pos < total) {
        if (total - pos < 3)
            return ref_malformed(out, CIP_PROXY_V2_TLV_OVERRUN, pos, b[pos]);
        unsigned type = b[pos];
        size_t value = pos + 3;
        size_t vlen = ref_be16(b + pos + 1);
        if (vlen > total - value)
            return ref_malformed(out, CIP_PROXY_V2_TLV_OVERRUN, pos, type);
        if (type == CIP_PROXY_TLV_CRC32C) {
            if (vlen != 4)
                return ref_malformed(out, CIP_PROXY_V2_CRC_LENGTH, pos, vlen);
            if (crc_at != 0)
                return ref_malformed(out, CIP_PROXY_V2_CRC_DUPLICATE, pos, type);
            crc_at = value;
        } else if (type == CIP_PROXY_TLV_SSL) {
            if (vlen < 5)
                return ref_malformed(out, CIP_PROXY_V2_SSL_TOO_SHORT, pos, vlen);
            size_t sub = value + 5, sub_end = value + vlen;
            while (sub < sub_end) {
                if (sub_end - sub < 3 || ref_be16(b + sub + 1) > sub_end - sub - 3)
                    return ref_malformed(out, CIP_PROXY_V2_SSL_SUB_OVERRUN, sub, b[sub]);
                sub += 3 + ref_be16(b + sub + 1);
            }
        }
        pos = value + vlen;
    }

    if (crc_at != 0) {
        /* Over the whole header with the CRC value taken as zeros. */
        uint32_t crc = cip_proxy_crc32c_portable(0, b, crc_at);
        crc = cip_proxy_crc32c_portable(crc, zeros, 4);
        crc = cip_proxy_crc32c_portable(crc, b + crc_at + 4, total - crc_at - 4);
        uint32_t received = ref_be32(b + crc_at);
        if (crc != received)
            return ref_malformed(out, CIP_PROXY_V2_CRC_MISMATCH, crc_at, received);
        out->has_crc32c = 1;
    }
    return CIP_PROXY_DONE;
}

/* b starts with the 12-byte signature. The fixed part is checked byte by
 * byte as it arrives; after it, nothing is looked at until the whole header
 * (16 + len bytes) is in, so a large header is read once. */
static cip_proxy_status ref_parse_v2(const unsigned char *b, size_t len, cip_proxy_result *out)
{
    out->version = 2;
    if (len < 13)
        return ref_need_more(out, 13);
    unsigned version = b[12] >> 4, command = b[12] & 0x0f;
    if (version != 2)
        return ref_malformed(out, CIP_PROXY_V2_BAD_VERSION, 12, version);
    if (command > CIP_PROXY_CMD_PROXY)
        return ref_malformed(out, CIP_PROXY_V2_BAD_COMMAND, 12, command);
    out->v2_command = (unsigned char)command;
    if (len < 14)
        return ref_need_more(out, 14);
    unsigned family = b[13] >> 4, transport = b[13] & 0x0f;
    if (family > CIP_PROXY_FAM_UNIX)
        return ref_malformed(out, CIP_PROXY_V2_BAD_FAMILY, 13, family);
    if (transport > CIP_PROXY_TRANSPORT_DGRAM)
        return ref_malformed(out, CIP_PROXY_V2_BAD_TRANSPORT, 13, transport);
    out->v2_family = (unsigned char)family;
    out->v2_transport = (unsigned char)transport;
    if (len < CIP_PROXY_V2_FIXED)
        return ref_need_more(out, CIP_PROXY_V2_FIXED);
    size_t body = ref_be16(b + 14);
    if (body < ref_v2_address_len[family])
        return ref_malformed(out, CIP_PROXY_V2_SHORT_ADDRESS, 14, body);
    size_t total = CIP_PROXY_V2_FIXED + body;
    if (len < total)
        return ref_need_more(out, total);

    size_t tlv_start = CIP_PROXY_V2_FIXED + ref_v2_address_len[family];
    cip_proxy_status status = ref_v2_tlvs(b, tlv_start, total, out);
    if (status != CIP_PROXY_DONE)
        return status;
    out->tlvs = b + tlv_start;
    out->tlvs_len = total - tlv_start;

    const unsigned char *a = b + CIP_PROXY_V2_FIXED;
    if (command == CIP_PROXY_CMD_LOCAL) {
        out->kind = CIP_PROXY_KIND_LOCAL;
    } else if (transport != CIP_PROXY_TRANSPORT_STREAM ||
               (family != CIP_PROXY_FAM_INET && family != CIP_PROXY_FAM_INET6)) {
        out->kind = CIP_PROXY_KIND_UNSUPPORTED;
    } else if (family == CIP_PROXY_FAM_INET) {
        cip_addr_from_v4_bytes(&out->src, a);
        cip_addr_from_v4_bytes(&out->dst, a + 4);
        out->src_port = (uint16_t)ref_be16(a + 8);
        out->dst_port = (uint16_t)ref_be16(a + 10);
        out->kind = CIP_PROXY_KIND_TCP4;
        out->has_addresses = 1;
    } else {
        cip_addr_from_v6_bytes(&out->src, a);
        cip_addr_from_v6_bytes(&out->dst, a + 16);
        out->src_port = (uint16_t)ref_be16(a + 32);
        out->dst_port = (uint16_t)ref_be16(a + 34);
        out->kind = CIP_PROXY_KIND_TCP6;
        out->has_addresses = 1;
    }
    return ref_done(out, total);
}

/* ------------------------------------------------------------- entry */

static cip_proxy_status ref_cip_proxy_parse(const unsigned char *buf, size_t len, cip_proxy_result *out)
{
    memset(out, 0, sizeof *out);
    if (len == 0)
        return ref_need_more(out, 1);
    /* Detection: decided at the first byte that differs from both
     * signatures, so a plain connection is told apart after one byte (or a
     * few for "PRI * HTTP/2.0" and a leading CRLF). */
    if (buf[0] == 'P') {
        if (memcmp(buf, ref_v1_prefix, len < sizeof ref_v1_prefix ? len : sizeof ref_v1_prefix) != 0)
            return CIP_PROXY_NOT_PROXY;
        if (len < sizeof ref_v1_prefix)
            return ref_need_more(out, len + 1);
        return ref_parse_v1(buf, len, out);
    }
    if (buf[0] == ref_v2_signature[0]) {
        if (memcmp(buf, ref_v2_signature, len < sizeof ref_v2_signature ? len : sizeof ref_v2_signature) != 0)
            return CIP_PROXY_NOT_PROXY;
        if (len < sizeof ref_v2_signature)
            return ref_need_more(out, len + 1);
        return ref_parse_v2(buf, len, out);
    }
    return CIP_PROXY_NOT_PROXY;
}

/* --------------------------------------------------------------- TLVs */

static void ref_cip_proxy_tlv_begin(cip_proxy_tlv_iter *it, const unsigned char *block, size_t len)
{
    it->next = block;
    it->end = block ? block + len : block;
}

static int ref_cip_proxy_tlv_next(cip_proxy_tlv_iter *it, cip_proxy_tlv *tlv)
{
    const unsigned char *p = it->next;
    if (p == NULL || it->end - p < 3)
        return 0;
    size_t vlen = ref_be16(p + 1);
    if (vlen > (size_t)(it->end - p - 3)) {
        it->next = it->end;
        return 0;
    }
    tlv->type = p[0];
    tlv->value = p + 3;
    tlv->len = vlen;
    it->next = p + 3 + vlen;
    return 1;
}

static int ref_cip_proxy_tlv_ssl(const cip_proxy_tlv *tlv, cip_proxy_ssl *out)
{
    if (tlv->type != CIP_PROXY_TLV_SSL || tlv->len < 5)
        return 0;
    out->client = tlv->value[0];
    out->verify = ref_be32(tlv->value + 1);
    out->sub_tlvs = tlv->value + 5;
    out->sub_tlvs_len = tlv->len - 5;
    return 1;
}

static int ref_cip_proxy_tlv_unique_id(const cip_proxy_tlv *tlv)
{
    return tlv->type == CIP_PROXY_TLV_UNIQUE_ID && tlv->len <= CIP_PROXY_UNIQUE_ID_MAX;
}

static int ref_cip_proxy_tlv_aws_vpce_id(const cip_proxy_tlv *tlv, const unsigned char **id, size_t *id_len)
{
    if (tlv->type != CIP_PROXY_TLV_AWS || tlv->len < 2 || tlv->value[0] != 0x01)
        return 0;
    *id = tlv->value + 1;
    *id_len = tlv->len - 1;
    return 1;
}

static int ref_cip_proxy_tlv_azure_linkid(const cip_proxy_tlv *tlv, uint32_t *out)
{
    const unsigned char *v = tlv->value;
    if (tlv->type != CIP_PROXY_TLV_AZURE || tlv->len != 5 || v[0] != 0x01)
        return 0;
    *out = (uint32_t)v[1] | (uint32_t)v[2] << 8 | (uint32_t)v[3] << 16 | (uint32_t)v[4] << 24;
    return 1;
}

static int ref_cip_proxy_tlv_gcp_psc_id(const cip_proxy_tlv *tlv, uint64_t *out)
{
    if (tlv->type != CIP_PROXY_TLV_GCP || tlv->len != 8)
        return 0;
    *out = (uint64_t)ref_be32(tlv->value) << 32 | ref_be32(tlv->value + 4);
    return 1;
}

static void ref_view_set_named(cip_proxy_tlv_view *out, const char *name, const char *env_name,
                           cip_proxy_tlv_form form)
{
    size_t n = strlen(name);
    memcpy(out->name, name, n + 1);
    out->env_name = env_name;
    out->form = form;
}
/* The variable's full name as one literal: no string building per TLV. */
#define ref_view_set(out, name, form) ref_view_set_named(out, name, "PROXY_PROTOCOL_TLV_" name, form)

/* "0xNN" or "SSL_0xNN", lower-case. */
static void ref_view_set_numbered(cip_proxy_tlv_view *out, int in_ssl, uint8_t type)
{
    static const char hex[] = "0123456789abcdef";
    char *p = out->name;
    out->env_name = NULL;
    if (in_ssl) {
        memcpy(p, "SSL_", 4);
        p += 4;
    }
    p[0] = '0';
    p[1] = 'x';
    p[2] = hex[type >> 4];
    p[3] = hex[type & 0x0f];
    p[4] = '\0';
    out->form = CIP_PROXY_FORM_HEX;
}

static void ref_cip_proxy_tlv_describe(const cip_proxy_tlv *tlv, int in_ssl, cip_proxy_tlv_view *out)
{
    cip_proxy_ssl ssl;
    uint32_t u32;

    out->data = tlv->value;
    out->len = tlv->len;
    out->number = 0;
    if (in_ssl) {
        switch (tlv->type) {
        case CIP_PROXY_SSL_VERSION:
            ref_view_set(out, "SSL_VERSION", CIP_PROXY_FORM_TEXT);
            return;
        case CIP_PROXY_SSL_CN:
            ref_view_set(out, "SSL_CN", CIP_PROXY_FORM_TEXT);
            return;
        case CIP_PROXY_SSL_CIPHER:
            ref_view_set(out, "SSL_CIPHER", CIP_PROXY_FORM_TEXT);
            return;
        case CIP_PROXY_SSL_SIG_ALG:
            ref_view_set(out, "SSL_SIG_ALG", CIP_PROXY_FORM_TEXT);
            return;
        case CIP_PROXY_SSL_KEY_ALG:
            ref_view_set(out, "SSL_KEY_ALG", CIP_PROXY_FORM_TEXT);
            return;
        case CIP_PROXY_SSL_GROUP:
            ref_view_set(out, "SSL_GROUP", CIP_PROXY_FORM_TEXT);
            return;
        case CIP_PROXY_SSL_SIG_SCHEME:
            ref_view_set(out, "SSL_SIG_SCHEME", CIP_PROXY_FORM_TEXT);
            return;
        case CIP_PROXY_SSL_CLIENT_CERT:
            ref_view_set(out, "SSL_CLIENT_CERT", CIP_PROXY_FORM_HEX);
            return;
        default:
            ref_view_set_numbered(out, 1, tlv->type);
            return;
        }
    }
    switch (tlv->type) {
    case CIP_PROXY_TLV_ALPN:
        ref_view_set(out, "ALPN", CIP_PROXY_FORM_TEXT);
        return;
    case CIP_PROXY_TLV_AUTHORITY:
        ref_view_set(out, "AUTHORITY", CIP_PROXY_FORM_TEXT);
        return;
    case CIP_PROXY_TLV_NETNS:
        ref_view_set(out, "NETNS", CIP_PROXY_FORM_TEXT);
        return;
    case CIP_PROXY_TLV_CRC32C:
        ref_view_set(out, "CRC32C", CIP_PROXY_FORM_IGNORE);
        return;
    case CIP_PROXY_TLV_NOOP:
        ref_view_set(out, "NOOP", CIP_PROXY_FORM_IGNORE);
        return;
    case CIP_PROXY_TLV_UNIQUE_ID:
        if (ref_cip_proxy_tlv_unique_id(tlv)) {
            ref_view_set(out, "UNIQUE_ID", CIP_PROXY_FORM_HEX);
            return;
        }
        break;
    case CIP_PROXY_TLV_SSL:
        if (ref_cip_proxy_tlv_ssl(tlv, &ssl)) {
            ref_view_set(out, "SSL", CIP_PROXY_FORM_SSL);
            out->number = ssl.client;
            return;
        }
        break;
    case CIP_PROXY_TLV_AWS:
        if (ref_cip_proxy_tlv_aws_vpce_id(tlv, &out->data, &out->len)) {
            ref_view_set(out, "AWS_VPCE_ID", CIP_PROXY_FORM_TEXT);
            return;
        }
        break;
    case CIP_PROXY_TLV_AZURE:
        if (ref_cip_proxy_tlv_azure_linkid(tlv, &u32)) {
            ref_view_set(out, "AZURE_LINKID", CIP_PROXY_FORM_NUMBER);
            out->number = u32;
            return;
        }
        break;
    case CIP_PROXY_TLV_GCP:
        if (ref_cip_proxy_tlv_gcp_psc_id(tlv, &out->number)) {
            ref_view_set(out, "GCP_PSC_ID", CIP_PROXY_FORM_NUMBER);
            return;
        }
        break;
    default:
        break;
    }
    ref_view_set_numbered(out, 0, tlv->type);
}

/* ---------------------------------------------------------- renderers */

static const char ref_lower_hex[] = "0123456789abcdef";

static int ref_plain_byte(unsigned char c)
{
    return c >= 0x20 && c < 0x7f && c != '\\';
}

static size_t ref_cip_proxy_render_text(const unsigned char *data, size_t len, char *buf, size_t size)
{
    /* The usual value (an ALPN id, a host name, a cipher) is all plain:
     * one check per byte and one copy. */
    size_t plain = 0;
    while (plain < len && ref_plain_byte(data[plain]))
        plain++;
    if (plain == len && len < size) {
        memcpy(buf, data, len);
        buf[len] = '\0';
        return len;
    }

    size_t need = 0, o = 0;
    int full = 0; /* stop writing at the first piece that does not fit */

    for (size_t i = 0; i < len; i++) {
        unsigned char c = data[i];
        int is_plain = ref_plain_byte(c);
        size_t w = is_plain ? 1 : 4;
        need += w;
        if (full || o + w >= size) {
            full = 1;
            continue;
        }
        if (is_plain) {
            buf[o++] = (char)c;
        } else {
            buf[o++] = '\\';
            buf[o++] = 'x';
            buf[o++] = ref_lower_hex[c >> 4];
            buf[o++] = ref_lower_hex[c & 0x0f];
        }
    }
    if (size > 0)
        buf[o] = '\0';
    return need;
}

static size_t ref_cip_proxy_render_hex(const unsigned char *data, size_t len, char *buf, size_t size)
{
    size_t o = 0;
    if (2 * len < size) { /* room for all: no check per byte */
        for (size_t i = 0; i < len; i++, o += 2) {
            buf[o] = ref_lower_hex[data[i] >> 4];
            buf[o + 1] = ref_lower_hex[data[i] & 0x0f];
        }
        buf[o] = '\0';
        return 2 * len;
    }
    for (size_t i = 0; i < len && o + 2 < size; i++) {
        buf[o++] = ref_lower_hex[data[i] >> 4];
        buf[o++] = ref_lower_hex[data[i] & 0x0f];
    }
    if (size > 0)
        buf[o] = '\0';
    return 2 * len;
}

#endif
