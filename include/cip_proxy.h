/* cip_proxy: the PROXY protocol (v1 text, v2 binary with TLVs) as an
 * incremental parser. Pure C, libc only, no allocation. Implements SPEC
 * "ClientIPProxyProtocol" and the PROXY_PROTOCOL_* variables; the protocol
 * facts are HAProxy's doc/proxy-protocol.txt (condensed in the shared
 * PROXY-PROTOCOL.md).
 *
 * Use: keep the bytes received since the connection opened in one buffer and
 * call cip_proxy_parse on all of them whenever more arrive. There is no
 * parser state: the answer depends only on the bytes, so it is the same
 * however TCP split them. The answer is exactly one of
 *
 *   CIP_PROXY_NEED_MORE  no decision yet. result.need is the total byte
 *                        count below which the answer stays NEED_MORE, so
 *                        calling again before need bytes are in is pointless
 *                        (for v2 it is the whole header once its 16-byte
 *                        fixed part is in, so a 64 KB header is parsed once);
 *   CIP_PROXY_DONE       a complete, valid header of result.header_len bytes;
 *                        whatever follows it belongs to the next protocol;
 *   CIP_PROXY_NOT_PROXY  the first bytes cannot start a PROXY header (decided
 *                        at the first byte that differs from both "PROXY "
 *                        and the v2 signature), e.g. "GET ", a TLS
 *                        ClientHello (0x16), "PRI * HTTP/2.0", "proxy ";
 *   CIP_PROXY_MALFORMED  it is a PROXY header ("PROXY " or the 12-byte v2
 *                        signature were seen) but a rule is broken:
 *                        result.error says which, as soon as it is visible.
 *
 * Once an answer other than NEED_MORE is given for some prefix, every longer
 * buffer gets the same answer (same status, error, header_len).
 *
 * Choices where the protocol leaves room:
 *   - v1: separators are exactly one SP; the first CR or LF must be a CR
 *     immediately followed by LF, in every form (also inside the ignored
 *     tail of UNKNOWN); the keyword is case-sensitive and must be followed
 *     by SP or CRLF ("PROXY UNKNOWNx" is malformed); "PROXY UNKNOWN\r\n" is
 *     legal. A line longer than 107 bytes is malformed as soon as 107 bytes
 *     without a line end are in.
 *   - v1 TCP4 takes dotted-quad text only (no ':'), TCP6 IPv6 text only (a
 *     ':' is required). "::ffff:192.0.2.1" under TCP6 is legal IPv6 text and
 *     is accepted; like every address here it is stored IPv4-mapped, so it
 *     reads as the IPv4 client 192.0.2.1. Ports: "0".."65535", no leading
 *     zero, no sign.
 *   - v2: nibbles are validated for every command, LOCAL included, and so is
 *     the rule len >= the family's address block; the TLVs of a LOCAL header
 *     are validated (and a CRC32C verified) like any other.
 *   - v2 PROXY with family UNSPEC or UNIX, with transport UNSPEC or DGRAM:
 *     accepted, but no address is taken (kind CIP_PROXY_KIND_UNSUPPORTED,
 *     has_addresses 0): the caller keeps the socket's addresses, as for
 *     LOCAL and v1 UNKNOWN. Only TCP over IPv4/IPv6 names a client here.
 *   - TLVs: parse is strict on framing only. Every TLV must fit in the
 *     header (a 1- or 2-byte tail is malformed too), every SSL sub-TLV in
 *     its SSL TLV, an SSL TLV must hold its 5-byte fixed part, a CRC32C TLV
 *     must be 4 bytes and appear at most once. Content rules (UNIQUE_ID at
 *     most 128 bytes, vendor TLV sizes and subtypes) are the decoders'
 *     business: a value they cannot decode is shown as hex under its type
 *     number (PROXY_PROTOCOL_TLV_0xNN), never a reason to drop the
 *     connection. Unknown types are skipped.
 *
 * Pointers in the result (tlvs) point into the caller's buffer: keep it
 * alive and unchanged while walking the TLVs. */
#ifndef CIP_PROXY_H
#define CIP_PROXY_H

#include <stddef.h>
#include <stdint.h>
#include "cip_addr.h"

/* The longest legal v1 line, CRLF included. */
#define CIP_PROXY_V1_MAX 107
/* The v2 fixed part, and the longest v2 header (16 + 65,535). */
#define CIP_PROXY_V2_FIXED 16
#define CIP_PROXY_V2_MAX (16 + 65535)

typedef enum cip_proxy_status {
    CIP_PROXY_DONE = 0,
    CIP_PROXY_NEED_MORE,
    CIP_PROXY_NOT_PROXY,
    CIP_PROXY_MALFORMED
} cip_proxy_status;

/* Why a header is malformed. cip_proxy_error_text gives a short phrase. */
typedef enum cip_proxy_error {
    CIP_PROXY_OK = 0,
    CIP_PROXY_V1_TOO_LONG,        /* no CRLF within 107 bytes */
    CIP_PROXY_V1_BARE_LF,         /* LF without CR before it */
    CIP_PROXY_V1_BARE_CR,         /* CR not followed by LF */
    CIP_PROXY_V1_EXTRA_SPACE,     /* an empty field: two spaces in a row */
    CIP_PROXY_V1_BAD_PROTOCOL,    /* not TCP4, TCP6 or UNKNOWN */
    CIP_PROXY_V1_MISSING_FIELD,   /* the line ends before the destination port */
    CIP_PROXY_V1_BAD_ADDRESS,     /* not numeric IPv4/IPv6 text (leading zeros, garbage) */
    CIP_PROXY_V1_FAMILY_MISMATCH, /* IPv6 text under TCP4, or IPv4 text under TCP6 */
    CIP_PROXY_V1_BAD_PORT,        /* not decimal 0-65535 without leading zeros */
    CIP_PROXY_V1_TRAILING_DATA,   /* more after the destination port than CRLF */
    CIP_PROXY_V2_BAD_VERSION,     /* version nibble is not 2 */
    CIP_PROXY_V2_BAD_COMMAND,     /* command is not LOCAL (0) or PROXY (1) */
    CIP_PROXY_V2_BAD_FAMILY,      /* family is not UNSPEC, INET, INET6 or UNIX */
    CIP_PROXY_V2_BAD_TRANSPORT,   /* transport is not UNSPEC, STREAM or DGRAM */
    CIP_PROXY_V2_SHORT_ADDRESS,   /* len is shorter than the family's address block */
    CIP_PROXY_V2_TLV_OVERRUN,     /* a TLV (or a 1-2 byte tail) runs past the header */
    CIP_PROXY_V2_SSL_TOO_SHORT,   /* SSL TLV shorter than client + verify (5 bytes) */
    CIP_PROXY_V2_SSL_SUB_OVERRUN, /* an SSL sub-TLV runs past its SSL TLV */
    CIP_PROXY_V2_CRC_LENGTH,      /* CRC32C TLV whose length is not 4 */
    CIP_PROXY_V2_CRC_DUPLICATE,   /* more than one CRC32C TLV */
    CIP_PROXY_V2_CRC_MISMATCH     /* CRC32C does not match the header */
} cip_proxy_error;

/* What a DONE header says about the addresses. */
typedef enum cip_proxy_kind {
    CIP_PROXY_KIND_NONE = 0,   /* status is not DONE */
    CIP_PROXY_KIND_TCP4,       /* v1 TCP4, v2 PROXY INET STREAM: src/dst taken */
    CIP_PROXY_KIND_TCP6,       /* v1 TCP6, v2 PROXY INET6 STREAM: src/dst taken */
    CIP_PROXY_KIND_UNKNOWN,    /* v1 UNKNOWN: keep the socket's addresses */
    CIP_PROXY_KIND_LOCAL,      /* v2 LOCAL (health checks): keep the socket's addresses */
    CIP_PROXY_KIND_UNSUPPORTED /* v2 PROXY over UNSPEC/UNIX/DGRAM: keep the socket's addresses */
} cip_proxy_kind;

/* v2 field values (the nibbles of bytes 13 and 14). */
enum {
    CIP_PROXY_CMD_LOCAL = 0,
    CIP_PROXY_CMD_PROXY = 1,
    CIP_PROXY_FAM_UNSPEC = 0,
    CIP_PROXY_FAM_INET = 1,
    CIP_PROXY_FAM_INET6 = 2,
    CIP_PROXY_FAM_UNIX = 3,
    CIP_PROXY_TRANSPORT_UNSPEC = 0,
    CIP_PROXY_TRANSPORT_STREAM = 1,
    CIP_PROXY_TRANSPORT_DGRAM = 2
};

typedef struct cip_proxy_result {
    size_t need;           /* NEED_MORE: total bytes to wait for (> len); DONE: header_len */
    size_t header_len;     /* DONE: bytes of the header, to consume */
    cip_proxy_error error; /* MALFORMED: why; else CIP_PROXY_OK */
    size_t error_offset;   /* MALFORMED: byte offset (from the start) where it was seen */
    unsigned long error_value; /* MALFORMED: the offending value where one applies
                                  (nibble, len, TLV type, CRC received) */
    int version;           /* 1 or 2 once known (also for MALFORMED), else 0 */
    cip_proxy_kind kind;   /* DONE: what the header says */
    int has_addresses;     /* DONE: 1 when src/dst/ports below are the connection's;
                              when 0 (or not DONE) ignore them */
    cip_addr src, dst;     /* the client and the address it connected to */
    uint16_t src_port, dst_port;
    unsigned char v2_command, v2_family, v2_transport; /* v2, as received */
    const unsigned char *tlvs; /* v2 DONE: the TLV block inside the caller's buffer */
    size_t tlvs_len;           /* (validated: iteration cannot fail); NULL/0 for v1 */
    int has_crc32c;            /* v2 DONE: a CRC32C TLV was present and matched */
} cip_proxy_result;

/* Parse the first len bytes received on a connection. Always fills *out. */
cip_proxy_status cip_proxy_parse(const unsigned char *buf, size_t len, cip_proxy_result *out);

/* "v1: more than one space", ... (never NULL). */
const char *cip_proxy_error_text(cip_proxy_error error);

/* The error with its details, e.g. "v2: unknown command 0x3 (offset 12)",
 * NUL-terminated, truncated to size. Returns the full length (snprintf). */
size_t cip_proxy_error_format(const cip_proxy_result *result, char *buf, size_t size);

/* "TCP4", "TCP6", "UNKNOWN", "LOCAL", "unsupported" */
const char *cip_proxy_kind_text(cip_proxy_kind kind);

/* ------------------------------------------------------------------ TLVs */

enum {
    CIP_PROXY_TLV_ALPN = 0x01,
    CIP_PROXY_TLV_AUTHORITY = 0x02,
    CIP_PROXY_TLV_CRC32C = 0x03,
    CIP_PROXY_TLV_NOOP = 0x04,
    CIP_PROXY_TLV_UNIQUE_ID = 0x05,
    CIP_PROXY_TLV_SSL = 0x20,
    CIP_PROXY_SSL_VERSION = 0x21,
    CIP_PROXY_SSL_CN = 0x22,
    CIP_PROXY_SSL_CIPHER = 0x23,
    CIP_PROXY_SSL_SIG_ALG = 0x24,
    CIP_PROXY_SSL_KEY_ALG = 0x25,
    CIP_PROXY_SSL_GROUP = 0x26,
    CIP_PROXY_SSL_SIG_SCHEME = 0x27,
    CIP_PROXY_SSL_CLIENT_CERT = 0x28,
    CIP_PROXY_TLV_NETNS = 0x30,
    CIP_PROXY_TLV_GCP = 0xE0,
    CIP_PROXY_TLV_AWS = 0xEA,
    CIP_PROXY_TLV_AZURE = 0xEE
};

/* Client flags of the SSL TLV. */
enum {
    CIP_PROXY_SSL_CLIENT_SSL = 0x01,
    CIP_PROXY_SSL_CLIENT_CERT_CONN = 0x02,
    CIP_PROXY_SSL_CLIENT_CERT_SESS = 0x04
};

#define CIP_PROXY_UNIQUE_ID_MAX 128

typedef struct cip_proxy_tlv {
    uint8_t type;
    const unsigned char *value;
    size_t len;
} cip_proxy_tlv;

typedef struct cip_proxy_tlv_iter {
    const unsigned char *next;
    const unsigned char *end;
} cip_proxy_tlv_iter;

/* Walk a TLV block: result->tlvs/tlvs_len, or an SSL TLV's sub_tlvs. */
void cip_proxy_tlv_begin(cip_proxy_tlv_iter *it, const unsigned char *block, size_t len);
/* 1 and *tlv filled, or 0 at the end. Blocks from a DONE result are
 * validated, so 0 means the end; on an unvalidated block a TLV that does not
 * fit also ends the walk (nothing past the block is ever read). */
int cip_proxy_tlv_next(cip_proxy_tlv_iter *it, cip_proxy_tlv *tlv);
/* The first TLV of type in block: 1 and *tlv, or 0. */
int cip_proxy_tlv_find(const unsigned char *block, size_t len, uint8_t type, cip_proxy_tlv *tlv);

/* Typed decoders: 1 and the value when tlv is of that type with a
 * decodable value, else 0 (the caller then shows the raw value as hex). */
typedef struct cip_proxy_ssl {
    uint8_t client;                /* CIP_PROXY_SSL_CLIENT_* bits */
    uint32_t verify;               /* 0 = client certificate verified */
    const unsigned char *sub_tlvs; /* sub-TLV block: walk with cip_proxy_tlv_begin */
    size_t sub_tlvs_len;
} cip_proxy_ssl;
int cip_proxy_tlv_ssl(const cip_proxy_tlv *tlv, cip_proxy_ssl *out);         /* 0x20, >= 5 bytes */
int cip_proxy_tlv_crc32c(const cip_proxy_tlv *tlv, uint32_t *out);           /* 0x03, 4 bytes BE */
int cip_proxy_tlv_unique_id(const cip_proxy_tlv *tlv);                       /* 0x05, <= 128 bytes */
int cip_proxy_tlv_aws_vpce_id(const cip_proxy_tlv *tlv, const unsigned char **id,
                              size_t *id_len);                  /* 0xEA, subtype 0x01, id >= 1 byte */
int cip_proxy_tlv_azure_linkid(const cip_proxy_tlv *tlv, uint32_t *out);    /* 0xEE, 0x01 + LE uint32 */
int cip_proxy_tlv_gcp_psc_id(const cip_proxy_tlv *tlv, uint64_t *out);      /* 0xE0, 8 bytes BE */

/* How the glue shows one TLV, per SPEC "What the module exposes". */
typedef enum cip_proxy_tlv_form {
    CIP_PROXY_FORM_IGNORE = 0, /* NOOP, CRC32C (verified by the parse): nothing to show */
    CIP_PROXY_FORM_TEXT,       /* data/len through cip_proxy_render_text */
    CIP_PROXY_FORM_HEX,        /* data/len through cip_proxy_render_hex */
    CIP_PROXY_FORM_NUMBER,     /* number, in decimal */
    CIP_PROXY_FORM_SSL         /* the SSL TLV: number = client flags; cip_proxy_tlv_ssl
                                  gives verify (SSL_VERIFY) and the sub-TLVs to describe */
} cip_proxy_tlv_form;

typedef struct cip_proxy_tlv_view {
    char name[16]; /* suffix of PROXY_PROTOCOL_TLV_: "ALPN", "SSL_CN", "AWS_VPCE_ID",
                      "0x1f" for other or undecodable top-level types, "SSL_0x29" for
                      other SSL sub-TLVs */
    const char *env_name; /* "PROXY_PROTOCOL_TLV_" + name as a static string;
                             NULL for the numbered names ("0x1f", "SSL_0x29") */
    cip_proxy_tlv_form form;
    const unsigned char *data;
    size_t len;
    uint64_t number;
} cip_proxy_tlv_view;

/* Name and form of a TLV. in_ssl: tlv is a sub-TLV of the SSL TLV.
 * Text: ALPN, AUTHORITY, NETNS, AWS_VPCE_ID, SSL_VERSION, SSL_CN, SSL_CIPHER,
 * SSL_SIG_ALG, SSL_KEY_ALG, SSL_GROUP, SSL_SIG_SCHEME. Hex: UNIQUE_ID,
 * SSL_CLIENT_CERT (DER), 0xNN, SSL_0xNN. Number: AZURE_LINKID, GCP_PSC_ID. */
void cip_proxy_tlv_describe(const cip_proxy_tlv *tlv, int in_ssl, cip_proxy_tlv_view *out);

/* Renderers for environment values. Both write at most size - 1 characters
 * and a NUL (nothing when size is 0), never cut an escape in half, and
 * return the length the whole rendering needs (without the NUL), so
 * "returned < size" means complete.
 * text: bytes 0x20-0x7e are copied except '\', every other byte (controls,
 * DEL, '\', bytes >= 0x80 such as UTF-8) is written as \xNN, lower-case. At
 * most 4 * len characters.
 * hex: two lower-case hex digits per byte, 2 * len characters. */
size_t cip_proxy_render_text(const unsigned char *data, size_t len, char *buf, size_t size);
size_t cip_proxy_render_hex(const unsigned char *data, size_t len, char *buf, size_t size);

/* CRC32C (Castagnoli, reflected 0x82F63B78), zlib-style chaining: start
 * with crc = 0; the return value is the finished CRC of everything so far.
 * cip_proxy_crc32c(0, "123456789", 9) == 0xE3069283. */
uint32_t cip_proxy_crc32c(uint32_t crc, const unsigned char *data, size_t len);
/* The same by table only (the CPU instruction is not used): for the unit
 * test, which compares the two. */
uint32_t cip_proxy_crc32c_portable(uint32_t crc, const unsigned char *data, size_t len);

#endif
