/* libFuzzer target: cip_proxy_parse (incremental), TLV walking and rendering.
 *
 * Input: byte 0 = k; the next (k & 7) bytes are split steps; the rest is
 * what the connection received. The bytes are fed as a growing prefix the
 * way the glue does: the next prefix length is max(previous + step, need),
 * capped at the whole buffer (a step of 0 means "up to need"). Each prefix
 * is copied to an exact-size heap block so ASan catches any read past len.
 * Checks:
 *   - NEED_MORE: need > len; a prefix just below need (need - 1, when it
 *     is longer than the current one) still answers NEED_MORE;
 *   - the first answer other than NEED_MORE equals the one-shot parse of the
 *     whole buffer (status, error, error_offset, header_len, version, kind,
 *     addresses, ports, tlvs_len) - the "no parser state" contract;
 *   - DONE: header_len <= len and the TLV block lies inside the header;
 *     every TLV and every SSL sub-TLV is described and rendered as text and
 *     hex into a large buffer and a 5-byte one (lengths consistent, output
 *     NUL-terminated, never more than size - 1 characters); the typed
 *     decoders run on each;
 *   - MALFORMED: error_offset <= len, error formatted into a small buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cip_proxy.h"

static cip_proxy_status parse_copy(const uint8_t *buf, size_t len, cip_proxy_result *r)
{
    uint8_t *copy = malloc(len ? len : 1);
    cip_proxy_status s;
    if (copy == NULL)
        abort();
    memcpy(copy, buf, len);
    s = cip_proxy_parse(copy, len, r);
    /* pointers into copy are not used after this */
    free(copy);
    if ((int)s < CIP_PROXY_DONE || s > CIP_PROXY_MALFORMED)
        abort();
    if (s == CIP_PROXY_NEED_MORE && r->need <= len)
        abort();
    if (s == CIP_PROXY_DONE && (r->header_len == 0 || r->header_len > len))
        abort();
    if (s == CIP_PROXY_MALFORMED && (r->error == CIP_PROXY_OK || r->error_offset > len))
        abort();
    if (s != CIP_PROXY_MALFORMED && r->error != CIP_PROXY_OK)
        abort();
    return s;
}

static void same_answer(cip_proxy_status a, const cip_proxy_result *ra, cip_proxy_status b,
                        const cip_proxy_result *rb)
{
    if (a != b || ra->error != rb->error || ra->version != rb->version)
        abort();
    if (a == CIP_PROXY_MALFORMED && ra->error_offset != rb->error_offset)
        abort();
    if (a == CIP_PROXY_DONE) {
        if (ra->header_len != rb->header_len || ra->kind != rb->kind ||
            ra->has_addresses != rb->has_addresses || ra->tlvs_len != rb->tlvs_len ||
            ra->has_crc32c != rb->has_crc32c)
            abort();
        if (ra->has_addresses &&
            (memcmp(&ra->src, &rb->src, sizeof ra->src) != 0 ||
             memcmp(&ra->dst, &rb->dst, sizeof ra->dst) != 0 ||
             ra->src_port != rb->src_port || ra->dst_port != rb->dst_port))
            abort();
    }
}

static char render_buf[4 * 65536 + 1];

static void render(const unsigned char *data, size_t len)
{
    char small[5];
    size_t n;

    n = cip_proxy_render_text(data, len, render_buf, sizeof render_buf);
    if (n > 4 * len || n >= sizeof render_buf || strlen(render_buf) != n)
        abort();
    n = cip_proxy_render_text(data, len, small, sizeof small);
    if (n > 4 * len || strlen(small) >= sizeof small ||
        (n < sizeof small && strlen(small) != n))
        abort();
    n = cip_proxy_render_text(data, len, small, 0);
    n = cip_proxy_render_hex(data, len, render_buf, sizeof render_buf);
    if (n != 2 * len || strlen(render_buf) != n)
        abort();
    n = cip_proxy_render_hex(data, len, small, sizeof small);
    if (n != 2 * len || strlen(small) >= sizeof small || strlen(small) % 2 != 0)
        abort();
}

static void describe(const cip_proxy_tlv *tlv, int in_ssl, const unsigned char *lo,
                     const unsigned char *hi)
{
    cip_proxy_tlv_view view;
    const unsigned char *id;
    size_t id_len;
    uint32_t u32;
    uint64_t u64;

    if (tlv->value < lo || tlv->len > (size_t)(hi - tlv->value))
        abort();
    cip_proxy_tlv_describe(tlv, in_ssl, &view);
    if (memchr(view.name, '\0', sizeof view.name) == NULL)
        abort();
    if ((int)view.form < CIP_PROXY_FORM_IGNORE || view.form > CIP_PROXY_FORM_SSL)
        abort();
    if (view.form == CIP_PROXY_FORM_TEXT || view.form == CIP_PROXY_FORM_HEX) {
        if (view.len > 0 && (view.data < lo || view.len > (size_t)(hi - view.data)))
            abort();
        render(view.data, view.len);
    }
    if (view.data != tlv->value || view.len != tlv->len)
        render(tlv->value, tlv->len);
    (void)cip_proxy_tlv_crc32c(tlv, &u32);
    (void)cip_proxy_tlv_unique_id(tlv);
    if (cip_proxy_tlv_aws_vpce_id(tlv, &id, &id_len)) {
        if (id < tlv->value || id_len == 0 || id_len > (size_t)(tlv->value + tlv->len - id))
            abort();
        render(id, id_len);
    }
    (void)cip_proxy_tlv_azure_linkid(tlv, &u32);
    (void)cip_proxy_tlv_gcp_psc_id(tlv, &u64);
}

static void walk_tlvs(const unsigned char *block, size_t len)
{
    cip_proxy_tlv_iter it;
    cip_proxy_tlv tlv, found;
    const unsigned char *hi = block + len;

    size_t n = 0;

    cip_proxy_tlv_begin(&it, block, len);
    while (cip_proxy_tlv_next(&it, &tlv)) {
        cip_proxy_ssl ssl;
        describe(&tlv, 0, block, hi);
        /* find is linear: only for the first TLVs, to stay O(len) overall */
        if (n++ < 8 && (!cip_proxy_tlv_find(block, len, tlv.type, &found) ||
                        found.type != tlv.type || found.value > tlv.value))
            abort();
        if (cip_proxy_tlv_ssl(&tlv, &ssl)) {
            cip_proxy_tlv_iter sit;
            cip_proxy_tlv sub;
            if (ssl.sub_tlvs_len > 0 &&
                (ssl.sub_tlvs < tlv.value ||
                 ssl.sub_tlvs_len > (size_t)(tlv.value + tlv.len - ssl.sub_tlvs)))
                abort();
            cip_proxy_tlv_begin(&sit, ssl.sub_tlvs, ssl.sub_tlvs_len);
            while (cip_proxy_tlv_next(&sit, &sub))
                describe(&sub, 1, ssl.sub_tlvs, ssl.sub_tlvs + ssl.sub_tlvs_len);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cip_proxy_result whole, part;
    cip_proxy_status ws, ps = CIP_PROXY_NEED_MORE;
    size_t nsteps, step = 0, cur = 0, len;
    const uint8_t *buf;

    if (size == 0)
        return 0;
    nsteps = data[0] & 7;
    if (size < 1 + nsteps)
        return 0;
    buf = data + 1 + nsteps;
    len = size - 1 - nsteps;

    ws = parse_copy(buf, len, &whole);

    /* Incremental feeding. */
    part.need = 1;
    for (;;) {
        size_t next = cur + (step < nsteps ? data[1 + step] : 0);
        step++;
        if (ps == CIP_PROXY_NEED_MORE && next < part.need)
            next = part.need;
        if (next > len)
            next = len;
        if (ps == CIP_PROXY_NEED_MORE && part.need - 1 > cur && part.need - 1 < next) {
            /* the claim: below need the answer is still NEED_MORE */
            cip_proxy_result below;
            if (parse_copy(buf, part.need - 1, &below) != CIP_PROXY_NEED_MORE)
                abort();
        }
        cur = next;
        ps = parse_copy(buf, cur, &part);
        if (ps != CIP_PROXY_NEED_MORE || cur == len)
            break;
    }
    if (ps != CIP_PROXY_NEED_MORE || cur == len)
        same_answer(ps, &part, ws, &whole);

    if (ws == CIP_PROXY_DONE) {
        /* Walk the TLVs in an exact-size copy of the header. */
        uint8_t *hdr = malloc(whole.header_len);
        cip_proxy_result r;
        if (hdr == NULL)
            abort();
        memcpy(hdr, buf, whole.header_len);
        if (cip_proxy_parse(hdr, whole.header_len, &r) != CIP_PROXY_DONE)
            abort();
        same_answer(CIP_PROXY_DONE, &r, ws, &whole);
        if (r.tlvs_len > 0) {
            if (r.tlvs < hdr || r.tlvs_len > (size_t)(hdr + r.header_len - r.tlvs))
                abort();
            walk_tlvs(r.tlvs, r.tlvs_len);
        }
        (void)cip_proxy_kind_text(r.kind);
        free(hdr);
    } else if (ws == CIP_PROXY_MALFORMED) {
        char msg[24];
        size_t n = cip_proxy_error_format(&whole, msg, sizeof msg);
        if (strlen(msg) >= sizeof msg || (n < sizeof msg && strlen(msg) != n))
            abort();
        if (cip_proxy_error_text(whole.error) == NULL)
            abort();
    }
    /* Any TLV block, validated or not: iteration never reads past it. */
    if (len > 0) {
        uint8_t *raw = malloc(len);
        if (raw == NULL)
            abort();
        memcpy(raw, buf, len);
        walk_tlvs(raw, len);
        free(raw);
    }
    return 0;
}
