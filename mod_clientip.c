/* mod_clientip: httpd glue. Directives, config merge, hooks, env, authz and
 * the clientip-info handler. The problem itself (addresses, trust, lists)
 * lives in src/ and knows nothing of httpd; see docs/design.md. */
#include "httpd.h"
#include "http_config.h"
#include "http_connection.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "ap_listen.h"
#include "ap_provider.h"
#include "mod_auth.h"
#include "apr_lib.h"
#include "apr_strings.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "cip_addr.h"
#include "cip_forwarded.h"
#include "cip_list.h"
#include "cip_origin.h"
#include "cip_proxy.h"
#include "cip_trust.h"

module AP_MODULE_DECLARE_DATA clientip_module; /* AP_DECLARE_MODULE below defines it */


#define FLAG_UNSET (-1)

/* Per server (main or <VirtualHost>). A NULL field means "not set here":
 * the merge then takes the parent's value. */
typedef enum header_kind {
    HEADER_LIST = 1,  /* X-Forwarded-For, X-Real-IP, any named list header */
    HEADER_FORWARDED, /* RFC 7239 Forwarded */
    HEADER_PROXY_ONLY /* "proxy_protocol": the PROXY header only, no request header */
} header_kind;

typedef enum proxy_mode {
    PROXY_OFF = 0,
    PROXY_ON,      /* every connection starts with a PROXY header (but exceptions) */
    PROXY_OPTIONAL /* a PROXY header is used when the connection starts with one */
} proxy_mode;

#define PROXY_TIMEOUT_DEFAULT_S 5

typedef struct clientip_server_conf {
    cip_trust *trusted;         /* ClientIPTrustedProxies[File]; NULL: module inactive */
    const char *header_name;    /* ClientIPHeader as written */
    header_kind header_kind;    /* meaningful when header_name is set */
    int recursive;              /* ClientIPRecursive, FLAG_UNSET when not set here */
    int forwarded_proto;        /* ClientIPForwardedProto, FLAG_UNSET when not set here */
    int forwarded_host;         /* ClientIPForwardedHost, FLAG_UNSET when not set here */
    const char *proxies_header; /* ClientIPProxiesHeader */
    int proxy_mode;             /* ClientIPProxyProtocol (proxy_mode), FLAG_UNSET when not set */
    int proxy_mode_here;        /* the same, not merged: set in this very context */
    cip_trust *proxy_exceptions; /* ClientIPProxyProtocolExceptions; NULL: none */
    int proxy_timeout_s;        /* ClientIPProxyProtocolTimeout, FLAG_UNSET when not set */
} clientip_server_conf;

/* What the module decided for one request; lives in r->pool. */
/* What does not change while a connection lives: the peer and its text.
 * The trust lookup is cached per table (name-based virtual hosts sharing
 * the connection may have different lists). Kept in c->conn_config; never
 * a conn_rec field. */
typedef struct env_pair {
    const char *name, *value;
} env_pair;

/* What a PROXY header said; built once per connection (SPEC: it applies to
 * every request on the connection, HTTP/2 streams included). */
typedef struct clientip_proxy {
    int version;
    cip_proxy_kind kind;
    int has_addresses;        /* 0: LOCAL, UNKNOWN or unsupported family: keep the peer */
    cip_endpoint src;         /* the client */
    const char *src_ip;       /* text of src, canonical */
    const char *src_port;
    const char *dst_ip;       /* the address the client connected to */
    const char *dst_port;
    int ssl_client;           /* v2 SSL TLV says the client used TLS */
    apr_array_header_t *tlv_env; /* env_pair: PROXY_PROTOCOL_TLV_* */
} clientip_proxy;

typedef struct clientip_conn {
    const clientip_proxy *proxy; /* NULL: no PROXY header on this connection */
    const cip_trust *src_looked_up_in;
    const cip_prefix *src_trusted_by; /* the PROXY source in that table */
    int peer_is_ip;
    cip_addr peer;
    const char *peer_ip;   /* c->client_ip, but dotted for an IPv4-mapped peer */
    const char *peer_port; /* decimal */
    const cip_trust *looked_up_in;
    const cip_prefix *peer_trusted_by;
    struct list_memo *memo; /* allocated at the first recursive list walk */
} clientip_conn;

/* The trusted right end of the last list walked on the connection
 * (cip_walk_memo, cip_list.h), and the CLIENTIP_PROXIES text it gave: when
 * the next request's walk takes the memo's hops and then its client, the
 * proxies passed, and so the text, are the same. Fixed size: it never
 * grows however long the connection lives. */
#define MEMO_PROXIES_MAX 256
typedef struct list_memo {
    cip_walk_memo walk;
    unsigned long proxies_version; /* walk.version the text was joined for; 0: none */
    size_t proxies_len;
    char proxies[MEMO_PROXIES_MAX];
} list_memo;

typedef struct clientip_result {
    const char *peer_ip;
    const char *peer_port;
    const cip_prefix *peer_trusted_by; /* NULL: the peer is not trusted */
    const clientip_proxy *proxy;       /* the connection's PROXY header, or NULL */
    int from_proxy;                    /* the client is the PROXY source */
    const cip_prefix *src_trusted_by;  /* the PROXY source in the trust list */
    const char *source;                /* CLIENTIP_SOURCE */
    const char *header_value;          /* the header as received, NULL if absent/unread */
    size_t hop_count;  /* entries the walk took (the hops themselves are not kept: the
                          decision trail walks header_value again, with the same result) */
    cip_walk_stop stop;
    cip_endpoint_status bad_status;
    const char *bad_entry;
    size_t bad_entry_len;
    const char *proxies; /* ", "-joined, nearest last; NULL when no entry was taken */
    cip_fwd_status forwarded_status;   /* Forwarded only: syntax of the header */
    size_t forwarded_error_offset;
    const char *forwarded_by;  /* by= of the chosen element (CLIENTIP_FORWARDED_BY) */
    const char *forwarded_for; /* obfuscated for= that stopped the walk (CLIENTIP_FORWARDED_FOR) */
    /* Origin (SPEC ClientIPForwardedProto/Host); NULL/0 when not forwarded. */
    const char *scheme;        /* "http" or "https" */
    const char *scheme_from;   /* the header it came from */
    const char *host;          /* lower-cased, without port */
    const char *host_from;
    apr_port_t port;           /* the port URLs use, 0: httpd's own choice */
    const char *origin_note;   /* forwarded values that were refused, for the trail */
    /* r->useragent_addr and r->useragent_ip when the module changed them:
     * kept here so the request costs one allocation. Not zeroed with the
     * rest (client_sockaddr fills what it uses): they must stay last. */
    apr_sockaddr_t client_addr;
    char client_ip[CIP_ADDR_TEXT_MAX];
} clientip_result;

static clientip_server_conf *server_conf(const server_rec *s)
{
    return ap_get_module_config(s->module_config, &clientip_module);
}

/* ---- configuration ---------------------------------------------------- */

static void *create_server_conf(apr_pool_t *p, server_rec *s)
{
    clientip_server_conf *conf = apr_pcalloc(p, sizeof *conf);
    conf->recursive = FLAG_UNSET;
    conf->forwarded_proto = FLAG_UNSET;
    conf->forwarded_host = FLAG_UNSET;
    conf->proxy_mode = FLAG_UNSET;
    conf->proxy_mode_here = FLAG_UNSET;
    conf->proxy_timeout_s = FLAG_UNSET;
    return conf;
}

/* SPEC: a virtual host that sets a directive overrides the main server's
 * value; a list set in a virtual host replaces the inherited one. */
static void *merge_server_conf(apr_pool_t *p, void *base_v, void *add_v)
{
    const clientip_server_conf *base = base_v, *add = add_v;
    clientip_server_conf *conf = apr_palloc(p, sizeof *conf);
    conf->trusted = add->trusted ? add->trusted : base->trusted;
    conf->header_name = add->header_name ? add->header_name : base->header_name;
    conf->header_kind = add->header_name ? add->header_kind : base->header_kind;
    conf->recursive = add->recursive != FLAG_UNSET ? add->recursive : base->recursive;
    conf->forwarded_proto =
        add->forwarded_proto != FLAG_UNSET ? add->forwarded_proto : base->forwarded_proto;
    conf->forwarded_host =
        add->forwarded_host != FLAG_UNSET ? add->forwarded_host : base->forwarded_host;
    conf->proxies_header = add->proxies_header ? add->proxies_header : base->proxies_header;
    conf->proxy_mode = add->proxy_mode != FLAG_UNSET ? add->proxy_mode : base->proxy_mode;
    conf->proxy_mode_here = add->proxy_mode_here;
    conf->proxy_exceptions = add->proxy_exceptions ? add->proxy_exceptions : base->proxy_exceptions;
    conf->proxy_timeout_s =
        add->proxy_timeout_s != FLAG_UNSET ? add->proxy_timeout_s : base->proxy_timeout_s;
    return conf;
}

static apr_status_t free_trust(void *trust)
{
    cip_trust_free(trust);
    return APR_SUCCESS;
}

/* A list of this context, created on first use. The trust core uses
 * malloc; the config pool's cleanup frees it on restart. */
static cip_trust *context_list(cmd_parms *cmd, cip_trust **list)
{
    if (*list == NULL) {
        *list = cip_trust_new();
        if (*list != NULL)
            apr_pool_cleanup_register(cmd->pool, *list, free_trust, apr_pool_cleanup_null);
    }
    return *list;
}

static cip_trust *context_trust(cmd_parms *cmd)
{
    return context_list(cmd, &server_conf(cmd->server)->trusted);
}

static const char *add_spec(cmd_parms *cmd, cip_trust *trust, const char *spec);

static const char *set_trusted_proxies(cmd_parms *cmd, void *dummy, const char *spec)
{
    return add_spec(cmd, context_trust(cmd), spec);
}

static const char *set_proxy_exceptions(cmd_parms *cmd, void *dummy, const char *spec)
{
    return add_spec(cmd, context_list(cmd, &server_conf(cmd->server)->proxy_exceptions), spec);
}

static const char *add_spec(cmd_parms *cmd, cip_trust *trust, const char *spec)
{
    if (trust == NULL)
        return apr_psprintf(cmd->pool, "%s: out of memory", cmd->cmd->name);
    /* "none": an empty list. In a <VirtualHost> it replaces the inherited
     * list, which switches the module off there. */
    if (strcasecmp(spec, "none") == 0)
        return NULL;
    cip_spec_status st = cip_trust_add_spec(trust, spec, strlen(spec));
    if (st == CIP_SPEC_HOST_BITS_MASKED) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, cmd->server,
                     "%s: '%s' has host bits set below its prefix length; they were "
                     "cleared (%s:%d)",
                     cmd->cmd->name, spec, cmd->directive->filename, cmd->directive->line_num);
        return NULL;
    }
    if (st != CIP_SPEC_OK)
        return apr_psprintf(cmd->pool, "%s: '%s' %s", cmd->cmd->name, spec,
                            cip_spec_status_text(st));
    return NULL;
}

static const char *set_trusted_proxies_file(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *path = ap_server_root_relative(cmd->temp_pool, arg);
    if (path == NULL)
        return apr_psprintf(cmd->pool, "%s: bad path '%s'", cmd->cmd->name, arg);
    cip_trust *trust = context_trust(cmd);
    if (trust == NULL)
        return "ClientIPTrustedProxiesFile: out of memory";
    FILE *file = fopen(path, "r");
    if (file == NULL)
        return apr_psprintf(cmd->pool, "%s: cannot read '%s': %s", cmd->cmd->name, path,
                            strerror(errno));
    char *line = NULL;
    size_t capacity = 0;
    ssize_t len;
    unsigned line_no = 0;
    const char *error = NULL;
    while (error == NULL && (len = getline(&line, &capacity, file)) >= 0) {
        line_no++;
        cip_spec_status st = cip_trust_add_line(trust, line, (size_t)len);
        if (st == CIP_SPEC_OK || st == CIP_SPEC_EMPTY_LINE)
            continue;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (st == CIP_SPEC_HOST_BITS_MASKED)
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, cmd->server,
                         "%s: %s line %u: '%s' has host bits set below its prefix length; "
                         "they were cleared",
                         cmd->cmd->name, path, line_no, ap_escape_logitem(cmd->temp_pool, line));
        else
            error = apr_psprintf(cmd->pool, "%s: %s line %u: '%s' %s", cmd->cmd->name, path,
                                 line_no, ap_escape_logitem(cmd->temp_pool, line),
                                 cip_spec_status_text(st));
    }
    free(line);
    fclose(file);
    return error;
}

/* An HTTP field name is an RFC 9110 token. */
static const char *check_header_name(cmd_parms *cmd, const char *name)
{
    const char *p = name;
    if (*p == '\0')
        return apr_psprintf(cmd->pool, "%s: empty header name", cmd->cmd->name);
    for (; *p; p++) {
        if (!apr_isalnum(*p) && !strchr("!#$%&'*+-.^_`|~", *p))
            return apr_psprintf(cmd->pool, "%s: '%s' is not a valid header name",
                                cmd->cmd->name, name);
    }
    return NULL;
}

static const char *set_header(cmd_parms *cmd, void *dummy, const char *name)
{
    clientip_server_conf *conf = server_conf(cmd->server);
    if (strcasecmp(name, "proxy_protocol") == 0) {
        conf->header_name = name;
        conf->header_kind = HEADER_PROXY_ONLY;
        return NULL;
    }
    const char *error = check_header_name(cmd, name);
    if (error == NULL) {
        conf->header_name = name;
        conf->header_kind = strcasecmp(name, "Forwarded") == 0 ? HEADER_FORWARDED : HEADER_LIST;
    }
    return error;
}

static const char *set_proxy_mode(cmd_parms *cmd, void *dummy, const char *value)
{
    clientip_server_conf *conf = server_conf(cmd->server);
    if (strcasecmp(value, "on") == 0)
        conf->proxy_mode = PROXY_ON;
    else if (strcasecmp(value, "optional") == 0)
        conf->proxy_mode = PROXY_OPTIONAL;
    else if (strcasecmp(value, "off") == 0)
        conf->proxy_mode = PROXY_OFF;
    else
        return apr_psprintf(cmd->pool, "%s: '%s' is not On, Optional or Off", cmd->cmd->name,
                            value);
    conf->proxy_mode_here = conf->proxy_mode;
    return NULL;
}

static const char *set_proxy_timeout(cmd_parms *cmd, void *dummy, const char *value)
{
    char *end;
    long seconds = strtol(value, &end, 10);
    if (*value < '1' || *value > '9' || *end != '\0' || seconds < 1 || seconds > 3600)
        return apr_psprintf(cmd->pool, "%s: '%s' is not a number of seconds from 1 to 3600",
                            cmd->cmd->name, value);
    server_conf(cmd->server)->proxy_timeout_s = (int)seconds;
    return NULL;
}

/* On|Off with a message that names the bad value (httpd's FLAG doesn't).
 * The field to set is the directive's cmd_data offset. */
static const char *set_on_off(cmd_parms *cmd, void *dummy, const char *value)
{
    int *field = (int *)((char *)server_conf(cmd->server) + (size_t)cmd->info);
    if (strcasecmp(value, "on") == 0)
        *field = 1;
    else if (strcasecmp(value, "off") == 0)
        *field = 0;
    else
        return apr_psprintf(cmd->pool, "%s: '%s' is not On or Off", cmd->cmd->name, value);
    return NULL;
}

static const char *set_proxies_header(cmd_parms *cmd, void *dummy, const char *name)
{
    const char *error = check_header_name(cmd, name);
    if (error == NULL)
        server_conf(cmd->server)->proxies_header = name;
    return error;
}

static const command_rec clientip_directives[] = {
    AP_INIT_ITERATE("ClientIPTrustedProxies", set_trusted_proxies, NULL, RSRC_CONF,
                    "Addresses, CIDRs or keywords (loopback, private, linklocal, all) of the "
                    "proxies allowed to report the client address"),
    AP_INIT_TAKE1("ClientIPTrustedProxiesFile", set_trusted_proxies_file, NULL, RSRC_CONF,
                  "A file of trusted proxy specs, one per line, relative to ServerRoot"),
    AP_INIT_TAKE1("ClientIPHeader", set_header, NULL, RSRC_CONF,
                  "The request header a trusted proxy reports the client in, e.g. "
                  "X-Forwarded-For"),
    AP_INIT_TAKE1("ClientIPRecursive", set_on_off,
                  (void *)APR_OFFSETOF(clientip_server_conf, recursive), RSRC_CONF,
                  "On: walk the list past trusted entries; Off (default): take the rightmost"),
    AP_INIT_TAKE1("ClientIPForwardedProto", set_on_off,
                  (void *)APR_OFFSETOF(clientip_server_conf, forwarded_proto), RSRC_CONF,
                  "On: take the scheme the client used from a trusted proxy"),
    AP_INIT_TAKE1("ClientIPForwardedHost", set_on_off,
                  (void *)APR_OFFSETOF(clientip_server_conf, forwarded_host), RSRC_CONF,
                  "On: take the host and port the client asked for from a trusted proxy"),
    AP_INIT_TAKE1("ClientIPProxiesHeader", set_proxies_header, NULL, RSRC_CONF,
                  "A request header that receives the trusted proxies passed"),
    AP_INIT_TAKE1("ClientIPProxyProtocol", set_proxy_mode, NULL, RSRC_CONF,
                  "On: connections must start with a PROXY header; Optional; Off (default)"),
    AP_INIT_ITERATE("ClientIPProxyProtocolExceptions", set_proxy_exceptions, NULL, RSRC_CONF,
                    "Peers that may connect without a PROXY header (health checks)"),
    AP_INIT_TAKE1("ClientIPProxyProtocolTimeout", set_proxy_timeout, NULL, RSRC_CONF,
                  "Seconds allowed for the complete PROXY header (default 5)"),
    {NULL}};

/* ---- PROXY protocol: listeners and the connection filter ------------ */

static char *format_addr(apr_pool_t *p, const cip_addr *addr);

/* A port (0-65535) as decimal text into buf (room for 6), NUL-terminated;
 * returns the length. apr_itoa would do, at twice the instructions. */
static size_t port_text(unsigned port, char *buf)
{
    size_t len = port >= 10000 ? 5 : port >= 1000 ? 4 : port >= 100 ? 3 : port >= 10 ? 2 : 1;
    buf[len] = '\0';
    for (size_t i = len; i-- > 0; port /= 10)
        buf[i] = (char)('0' + port % 10);
    return len;
}

static const char *port_string(apr_pool_t *p, unsigned port)
{
    char *buf = apr_palloc(p, 6);
    port_text(port, buf);
    return buf;
}

/* A listening address where a PROXY header is expected (SPEC
 * ClientIPProxyProtocol): the addresses of a <VirtualHost> that sets it, or
 * every listener for the main server. Built at startup, read-only after. */
typedef struct proxy_listener {
    const apr_sockaddr_t *addr; /* NULL: the main server's setting, any address */
    int any_addr;               /* <VirtualHost *:port> */
    apr_port_t port;
    proxy_mode mode;
    server_rec *server; /* whose trust list, exceptions and timeout apply */
} proxy_listener;

static apr_array_header_t *proxy_listeners;
static ap_filter_rec_t *proxy_filter_handle;

static const char *server_label(apr_pool_t *p, const server_rec *s)
{
    if (!s->is_virtual)
        return "the main server";
    return apr_psprintf(p, "<VirtualHost> of %s (%s:%d)", s->server_hostname ? s->server_hostname : "?",
                        s->defn_name ? s->defn_name : "?", (int)s->defn_line_number);
}

static const char *mode_text(int mode)
{
    return mode == PROXY_ON ? "On" : mode == PROXY_OPTIONAL ? "Optional" : "Off";
}

/* Collect the PROXY listeners and check the settings that only make sense
 * together. Returns an error message, or NULL. */
static const char *check_proxy_config(apr_pool_t *p, server_rec *main_server,
                                      apr_array_header_t **out)
{
    apr_array_header_t *list = apr_array_make(p, 4, sizeof(proxy_listener));
    for (server_rec *s = main_server; s != NULL; s = s->next) {
        const clientip_server_conf *conf = server_conf(s);
        int mode = conf->proxy_mode == FLAG_UNSET ? PROXY_OFF : conf->proxy_mode;
        if (conf->proxy_mode_here != FLAG_UNSET && conf->proxy_mode_here != PROXY_OFF &&
            cip_trust_count(conf->trusted) == 0) /* unset, or "none" (not yet NULL under -t) */
            return apr_psprintf(p, "ClientIPProxyProtocol %s in %s needs ClientIPTrustedProxies: a "
                                "PROXY header is only accepted from a trusted proxy",
                                mode_text(conf->proxy_mode_here), server_label(p, s));
        if (conf->header_kind == HEADER_PROXY_ONLY && mode == PROXY_OFF)
            return apr_psprintf(p, "ClientIPHeader proxy_protocol in %s needs "
                                "ClientIPProxyProtocol On or Optional there",
                                server_label(p, s));
        if (conf->proxy_mode_here == FLAG_UNSET || !s->is_virtual)
            continue;
        for (server_addr_rec *sar = s->addrs; sar != NULL; sar = sar->next) {
            proxy_listener *l;
            int any = apr_sockaddr_is_wildcard(sar->host_addr);
            for (int i = 0; i < list->nelts; i++) {
                l = &APR_ARRAY_IDX(list, i, proxy_listener);
                if (l->port == sar->host_port && l->any_addr == any &&
                    (any || apr_sockaddr_equal(l->addr, sar->host_addr)) &&
                    l->mode != (proxy_mode)conf->proxy_mode_here)
                    return apr_psprintf(
                        p, "ClientIPProxyProtocol: %s says %s and %s says %s for the same "
                        "address %s:%u; the PROXY header comes before the request names a "
                        "host, so virtual hosts sharing an address must agree",
                        server_label(p, l->server), mode_text(l->mode), server_label(p, s),
                        mode_text(conf->proxy_mode_here), sar->virthost, (unsigned)sar->host_port);
            }
            l = apr_array_push(list);
            l->addr = sar->host_addr;
            l->any_addr = any;
            l->port = sar->host_port;
            l->mode = (proxy_mode)conf->proxy_mode_here;
            l->server = s;
        }
    }
    const clientip_server_conf *main_conf = server_conf(main_server);
    if (main_conf->proxy_mode_here != FLAG_UNSET) {
        proxy_listener *l = apr_array_push(list);
        l->addr = NULL;
        l->any_addr = 1;
        l->port = 0;
        l->mode = (proxy_mode)main_conf->proxy_mode_here;
        l->server = main_server;
    }
    *out = list;
    return NULL;
}

/* The most specific listener entry for the connection's local address: a
 * virtual host's exact address, then its *:port, then the main server. */
static const proxy_listener *find_proxy_listener(const conn_rec *c)
{
    const proxy_listener *any_match = NULL, *main_match = NULL;
    for (int i = 0; proxy_listeners && i < proxy_listeners->nelts; i++) {
        const proxy_listener *l = &APR_ARRAY_IDX(proxy_listeners, i, proxy_listener);
        if (l->addr == NULL)
            main_match = l;
        else if (l->port != c->local_addr->port)
            continue;
        else if (!l->any_addr && apr_sockaddr_equal(l->addr, c->local_addr))
            return l;
        else if (l->any_addr && any_match == NULL)
            any_match = l;
    }
    return any_match ? any_match : main_match;
}

typedef struct proxy_ctx {
    int required;     /* ClientIPProxyProtocol On and the peer is no exception */
    int peer_trusted; /* a PROXY header is accepted from this peer */
    int done;
    int refused;      /* said so once; later reads (h2c's peek, then HTTP/1) just fail */
    int refuse_peer;  /* On address, peer neither trusted nor an exception */
    apr_interval_time_t timeout;
    apr_time_t deadline;
    apr_socket_t *socket;
    unsigned char *buf;
    size_t have, cap;
    apr_bucket_brigade *rest; /* bytes read past the header, served before the socket;
                                 NULL until there are any */
    apr_bucket_brigade *scratch;
    clientip_conn *cs;
} proxy_ctx;

/* SPEC: every PROXY failure closes that one connection, with one log line
 * that says who, what, and which directive to look at. */
static apr_status_t refuse_connection(ap_filter_t *f, proxy_ctx *ctx, const char *why,
                                      const char *advice)
{
    conn_rec *c = f->c;
    ctx->refused = 1;
    ap_log_cerror(APLOG_MARK, APLOG_WARNING, 0, c,
                  "clientip: closing connection from %s:%u to %s:%u: %s (%s)", c->client_ip,
                  (unsigned)c->client_addr->port, c->local_ip, (unsigned)c->local_addr->port,
                  why, advice);
    c->aborted = 1;
    c->keepalive = AP_CONN_CLOSE;
    return APR_ECONNABORTED;
}

static void add_tlv_env(apr_pool_t *p, apr_array_header_t *env, const char *name,
                        const char *env_name, cip_proxy_tlv_form form,
                        const unsigned char *data, size_t len, uint64_t number);

/* Turn a complete header into the connection's clientip_proxy, with its
 * environment built once (SPEC "PROXY_PROTOCOL_*"). */
static void record_proxy(conn_rec *c, proxy_ctx *ctx, const cip_proxy_result *res)
{
    apr_pool_t *p = c->pool;
    clientip_proxy *pp = apr_pcalloc(p, sizeof *pp);
    pp->version = res->version;
    pp->kind = res->kind;
    pp->has_addresses = res->has_addresses;
    pp->tlv_env = apr_array_make(p, 4, sizeof(env_pair));
    if (res->has_addresses) {
        pp->src.addr = res->src;
        pp->src.port = res->src_port;
        /* The four PROXY_PROTOCOL_* address texts, in one allocation. */
        char *text = apr_palloc(p, 2 * CIP_ADDR_TEXT_MAX + 2 * 6);
        pp->src_ip = text;
        text += cip_addr_format(&res->src, text) + 1;
        pp->dst_ip = text;
        text += cip_addr_format(&res->dst, text) + 1;
        pp->src_port = text;
        text += port_text(res->src_port, text) + 1;
        pp->dst_port = text;
        port_text(res->dst_port, text);
    }

    /* TLVs: each type once (the first one counts), sub-TLVs of SSL included. */
    cip_proxy_tlv_iter it, sub_it;
    cip_proxy_tlv tlv, sub;
    int seen_ssl = 0;
    cip_proxy_tlv_begin(&it, res->tlvs, res->tlvs_len);
    while (cip_proxy_tlv_next(&it, &tlv)) {
        cip_proxy_tlv_view view;
        cip_proxy_tlv_describe(&tlv, 0, &view);
        if (view.form == CIP_PROXY_FORM_SSL) {
            cip_proxy_ssl ssl;
            if (seen_ssl++ || !cip_proxy_tlv_ssl(&tlv, &ssl))
                continue; /* the first SSL TLV counts, like every other type */
            pp->ssl_client = (ssl.client & CIP_PROXY_SSL_CLIENT_SSL) != 0;
            add_tlv_env(p, pp->tlv_env, "SSL", "PROXY_PROTOCOL_TLV_SSL", CIP_PROXY_FORM_NUMBER, NULL, 0,
                        ssl.client);
            add_tlv_env(p, pp->tlv_env, "SSL_VERIFY", "PROXY_PROTOCOL_TLV_SSL_VERIFY",
                        CIP_PROXY_FORM_NUMBER, NULL, 0, ssl.verify);
            cip_proxy_tlv_begin(&sub_it, ssl.sub_tlvs, ssl.sub_tlvs_len);
            while (cip_proxy_tlv_next(&sub_it, &sub)) {
                cip_proxy_tlv_describe(&sub, 1, &view);
                add_tlv_env(p, pp->tlv_env, view.name, view.env_name, view.form, view.data, view.len,
                            view.number);
            }
            continue;
        }
        add_tlv_env(p, pp->tlv_env, view.name, view.env_name, view.form, view.data, view.len,
                    view.number);
    }
    ctx->cs->proxy = pp;
}

/* PROXY_PROTOCOL_TLV_<name>, unless the name is already there. Values are
 * rendered so that no raw non-printable byte reaches the environment.
 * env_name is the variable's name when it is a static string, else NULL. */
static void add_tlv_env(apr_pool_t *p, apr_array_header_t *env, const char *name,
                        const char *env_name, cip_proxy_tlv_form form,
                        const unsigned char *data, size_t len, uint64_t number)
{
    if (form != CIP_PROXY_FORM_TEXT && form != CIP_PROXY_FORM_HEX && form != CIP_PROXY_FORM_NUMBER)
        return; /* CRC32C, NOOP: nothing to show */
    const char *var = env_name;
    if (var != NULL) {
        /* A static name is one pointer: compare pointers. */
        for (int i = 0; i < env->nelts; i++)
            if (APR_ARRAY_IDX(env, i, env_pair).name == var)
                return;
    } else {
        var = apr_pstrcat(p, "PROXY_PROTOCOL_TLV_", name, NULL);
        for (int i = 0; i < env->nelts; i++)
            if (strcmp(APR_ARRAY_IDX(env, i, env_pair).name, var) == 0)
                return;
    }
    char *value;
    size_t size;
    switch (form) {
    case CIP_PROXY_FORM_TEXT:
        /* One pass into room for the worst case (every byte escaped as
         * \xNN) when that is small; two passes, exact size, otherwise. */
        size = len <= 64 ? 4 * len + 1 : cip_proxy_render_text(data, len, NULL, 0) + 1;
        value = apr_palloc(p, size);
        cip_proxy_render_text(data, len, value, size);
        break;
    case CIP_PROXY_FORM_HEX:
        size = 2 * len + 1;
        value = apr_palloc(p, size);
        cip_proxy_render_hex(data, len, value, size);
        break;
    default:
        value = apr_psprintf(p, "%" APR_UINT64_T_FMT, (apr_uint64_t)number);
        break;
    }
    env_pair *pair = apr_array_push(env);
    pair->name = var;
    pair->value = value;
}

/* Keep bytes read that are not the PROXY header's: they are served before
 * the socket's (serve_rest). */
static void keep_rest(conn_rec *c, proxy_ctx *ctx, const unsigned char *bytes, size_t len)
{
    if (ctx->rest == NULL)
        ctx->rest = apr_brigade_create(c->pool, c->bucket_alloc);
    APR_BRIGADE_INSERT_TAIL(ctx->rest, apr_bucket_heap_create((const char *)bytes, len, NULL,
                                                              c->bucket_alloc));
}

/* Read until the PROXY header is complete (or known absent): first the 16
 * bytes that tell a v2 header (and its length) from a v1 line or anything
 * else, then exactly the v2 header's remaining length, so that nothing past
 * a v2 header is taken. A v1 line's length is known only at its CRLF, and
 * the filter below would hold a partial line where its byte count can't be
 * told (the refusal names it), so a v1 line's rest is read up to a whole
 * line's worth, and bytes past the line, like those of a connection
 * without a header, are kept in ctx->rest. */
static apr_status_t read_proxy_header(ap_filter_t *f, proxy_ctx *ctx)
{
    conn_rec *c = f->c;
    cip_proxy_result res;
    apr_interval_time_t saved_timeout = 0;
    int timeout_changed = 0;
    apr_status_t rv = APR_SUCCESS;

    res.version = 0;
    res.need = CIP_PROXY_V2_FIXED;
    for (;;) {
        cip_proxy_status st =
            ctx->have > 0 ? cip_proxy_parse(ctx->buf, ctx->have, &res) : CIP_PROXY_NEED_MORE;
        if (!ctx->peer_trusted && (st == CIP_PROXY_DONE || st == CIP_PROXY_MALFORMED ||
                                   (st == CIP_PROXY_NEED_MORE && res.version != 0))) {
            rv = refuse_connection(f, ctx, "PROXY header from a peer that is not trusted",
                                   "add the load balancer to ClientIPTrustedProxies");
            break;
        }
        if (st == CIP_PROXY_DONE) {
            record_proxy(c, ctx, &res);
            if (ctx->have > res.header_len)
                keep_rest(c, ctx, ctx->buf + res.header_len, ctx->have - res.header_len);
            ctx->done = 1;
            break;
        }
        if (st == CIP_PROXY_NOT_PROXY) {
            if (ctx->required) {
                rv = refuse_connection(f, ctx, "no PROXY header",
                                       "ClientIPProxyProtocol On; let the peer connect without "
                                       "one with ClientIPProxyProtocolExceptions, or use Optional");
                break;
            }
            if (ctx->have > 0)
                keep_rest(c, ctx, ctx->buf, ctx->have);
            ctx->done = 1;
            break;
        }
        if (st == CIP_PROXY_MALFORMED) {
            char why[160];
            cip_proxy_error_format(&res, why, sizeof why);
            rv = refuse_connection(f, ctx, apr_pstrcat(c->pool, "malformed PROXY header: ", why, NULL),
                                   "check the load balancer's PROXY protocol settings");
            break;
        }

        /* Need more: up to what the parser asks for, and at least the
         * first 16 bytes; for a v1 line, up to the longest line. */
        size_t want = res.version == 1 ? CIP_PROXY_V1_MAX + 1
                      : res.need > CIP_PROXY_V2_FIXED ? res.need : CIP_PROXY_V2_FIXED;
        if (want > ctx->cap) {
            unsigned char *grown = apr_palloc(c->pool, want);
            memcpy(grown, ctx->buf, ctx->have);
            ctx->buf = grown;
            ctx->cap = want;
        }
        apr_time_t now = apr_time_now();
        if (ctx->deadline == 0)
            ctx->deadline = now + ctx->timeout;
        apr_interval_time_t left = ctx->deadline - now;
        if (left <= 0) {
            rv = refuse_connection(f, ctx,
                                   apr_psprintf(c->pool, "PROXY header incomplete after %" APR_TIME_T_FMT
                                                " s (%" APR_SIZE_T_FMT " bytes)",
                                                apr_time_sec(ctx->timeout), ctx->have),
                                   "ClientIPProxyProtocolTimeout");
            break;
        }
        if (ctx->socket != NULL) {
            if (!timeout_changed)
                apr_socket_timeout_get(ctx->socket, &saved_timeout);
            timeout_changed = 1;
            apr_socket_timeout_set(ctx->socket, left);
        }
        rv = ap_get_brigade(f->next, ctx->scratch, AP_MODE_READBYTES, APR_BLOCK_READ,
                            (apr_off_t)(want - ctx->have));
        apr_size_t got = ctx->cap - ctx->have;
        if (rv == APR_SUCCESS)
            rv = apr_brigade_flatten(ctx->scratch, (char *)ctx->buf + ctx->have, &got);
        apr_brigade_cleanup(ctx->scratch);
        if (rv == APR_SUCCESS && got == 0)
            rv = APR_EOF;
        if (rv != APR_SUCCESS) {
            const char *why = APR_STATUS_IS_TIMEUP(rv)
                                  ? apr_psprintf(c->pool, "PROXY header incomplete after %" APR_TIME_T_FMT
                                                 " s (%" APR_SIZE_T_FMT " bytes)",
                                                 apr_time_sec(ctx->timeout), ctx->have)
                                  : apr_psprintf(c->pool, "connection closed after %" APR_SIZE_T_FMT
                                                 " bytes of the PROXY header", ctx->have);
            if (ctx->have == 0 && !APR_STATUS_IS_TIMEUP(rv)) {
                /* Closed before sending anything (port probes): no noise. */
                c->aborted = 1;
                rv = APR_ECONNABORTED;
                break;
            }
            rv = refuse_connection(f, ctx, why, APR_STATUS_IS_TIMEUP(rv)
                                                    ? "ClientIPProxyProtocolTimeout"
                                                    : "the peer gave up mid-header");
            break;
        }
        ctx->have += got;
    }
    if (timeout_changed && !c->aborted)
        apr_socket_timeout_set(ctx->socket, saved_timeout);
    return rv;
}

/* Serve what was read past the header, in whatever mode is asked. A line
 * or a peek that runs past the end of what we hold is completed from the
 * filter below in the same call, as the core would: callers such as
 * mod_reqtimeout poll the socket after a partial line, and the rest of
 * that line may already be buffered below us, where no poll can see it. */
static apr_status_t serve_rest(ap_filter_t *f, proxy_ctx *ctx, apr_bucket_brigade *bb,
                               ap_input_mode_t mode, apr_read_type_e block, apr_off_t readbytes)
{
    apr_bucket *b;
    apr_off_t served = 0;
    apr_status_t rv;
    switch (mode) {
    case AP_MODE_READBYTES:
        rv = apr_brigade_partition(ctx->rest, readbytes, &b);
        if (rv != APR_SUCCESS && rv != APR_INCOMPLETE)
            return rv;
        while (!APR_BRIGADE_EMPTY(ctx->rest) && APR_BRIGADE_FIRST(ctx->rest) != b) {
            apr_bucket *e = APR_BRIGADE_FIRST(ctx->rest);
            APR_BUCKET_REMOVE(e);
            APR_BRIGADE_INSERT_TAIL(bb, e);
        }
        return APR_SUCCESS; /* a short read is a valid answer */
    case AP_MODE_EXHAUSTIVE:
        APR_BRIGADE_CONCAT(bb, ctx->rest);
        return APR_SUCCESS;
    case AP_MODE_GETLINE: {
        rv = apr_brigade_split_line(bb, ctx->rest, block, HUGE_STRING_LEN);
        if (rv != APR_SUCCESS || !APR_BRIGADE_EMPTY(ctx->rest))
            return rv;
        char last = '\0';
        if (!APR_BRIGADE_EMPTY(bb)) {
            const char *data;
            apr_size_t len;
            apr_bucket *e = APR_BRIGADE_LAST(bb);
            if (apr_bucket_read(e, &data, &len, APR_BLOCK_READ) == APR_SUCCESS && len > 0)
                last = data[len - 1];
        }
        if (last == '\n')
            return APR_SUCCESS;
        apr_brigade_length(bb, 1, &served);
        apr_brigade_cleanup(ctx->scratch);
        rv = ap_get_brigade(f->next, ctx->scratch, AP_MODE_GETLINE, block,
                            HUGE_STRING_LEN - served);
        APR_BRIGADE_CONCAT(bb, ctx->scratch);
        return APR_STATUS_IS_EAGAIN(rv) ? APR_SUCCESS : rv;
    }
    case AP_MODE_SPECULATIVE:
        for (b = APR_BRIGADE_FIRST(ctx->rest);
             b != APR_BRIGADE_SENTINEL(ctx->rest) && served < readbytes; b = APR_BUCKET_NEXT(b)) {
            apr_bucket *copy;
            apr_bucket_copy(b, &copy);
            APR_BRIGADE_INSERT_TAIL(bb, copy);
            if ((apr_off_t)copy->length > readbytes - served) {
                apr_bucket_split(copy, (apr_size_t)(readbytes - served));
                apr_bucket_delete(APR_BUCKET_NEXT(copy)); /* the split's tail isn't asked for */
            }
            served += (apr_off_t)copy->length;
        }
        if (served < readbytes) {
            apr_brigade_cleanup(ctx->scratch);
            rv = ap_get_brigade(f->next, ctx->scratch, AP_MODE_SPECULATIVE, block,
                                readbytes - served);
            APR_BRIGADE_CONCAT(bb, ctx->scratch);
            if (rv != APR_SUCCESS && !APR_STATUS_IS_EAGAIN(rv) && !APR_STATUS_IS_EOF(rv))
                return rv;
        }
        return APR_SUCCESS;
    default: /* AP_MODE_EATCRLF, AP_MODE_INIT: nothing to eat or start in data we hold */
        return APR_SUCCESS;
    }
}

static apr_status_t proxy_input_filter(ap_filter_t *f, apr_bucket_brigade *bb,
                                       ap_input_mode_t mode, apr_read_type_e block,
                                       apr_off_t readbytes)
{
    proxy_ctx *ctx = f->ctx;
    if (ctx->refused || f->c->aborted)
        return APR_ECONNABORTED;
    if (ctx->refuse_peer)
        return refuse_connection(f, ctx, "peer is not in ClientIPTrustedProxies of a "
                                         "ClientIPProxyProtocol On address",
                                 "add it, or to ClientIPProxyProtocolExceptions to let it "
                                 "connect without a header");
    if (!ctx->done) {
        apr_status_t rv = read_proxy_header(f, ctx);
        if (rv != APR_SUCCESS)
            return rv;
    }
    if (ctx->rest != NULL && !APR_BRIGADE_EMPTY(ctx->rest))
        return serve_rest(f, ctx, bb, mode, block, readbytes);
    ap_remove_input_filter(f);
    return ap_get_brigade(f->next, bb, mode, block, readbytes);
}

static clientip_conn *conn_state_new(conn_rec *c);
static void build_env_templates(apr_pool_t *pconf);

static int clientip_pre_connection(conn_rec *c, void *csd)
{
    if (c->master != NULL || proxy_listeners == NULL || proxy_listeners->nelts == 0)
        return OK;
    const proxy_listener *l = find_proxy_listener(c);
    if (l == NULL || l->mode == PROXY_OFF)
        return OK;
    /* The mode belongs to the address. The other settings come from the
     * virtual host httpd has already chosen for that address
     * (c->base_server), which inherits the main server's unless it sets
     * its own; a host that switched the module off ("none") can't judge a
     * header, so the address's owner does. */
    const clientip_server_conf *conf = server_conf(c->base_server);
    if (conf->trusted == NULL)
        conf = server_conf(l->server);
    clientip_conn *cs = conn_state_new(c);
    /* The peer's lookup is the request hook's too (conn_state): kept. */
    const cip_prefix *trusted_by = cs->peer_is_ip ? cip_trust_lookup(conf->trusted, &cs->peer) : NULL;
    cs->looked_up_in = conf->trusted;
    cs->peer_trusted_by = trusted_by;
    int trusted = trusted_by != NULL;
    int excepted = cs->peer_is_ip && conf->proxy_exceptions != NULL &&
                   cip_trust_lookup(conf->proxy_exceptions, &cs->peer) != NULL;
    /* A peer that may not speak here is refused by the filter on the first
     * read, before any byte is taken. Not here: a pre_connection hook that
     * stops the chain also skips core's, which sets up the socket, and the
     * event MPM would still process the connection (a crash in
     * mod_reqtimeout). */
    /* The context and its read buffer, in one allocation. Room for a v1
     * line and for most v2 headers (addresses and a few TLVs); a longer
     * one gets a buffer of its size. */
    enum { READ_BUFFER = 256 };
    proxy_ctx *ctx = apr_palloc(c->pool, sizeof *ctx + READ_BUFFER);
    memset(ctx, 0, sizeof *ctx);
    ctx->refuse_peer = l->mode == PROXY_ON && !trusted && !excepted;
    ctx->required = l->mode == PROXY_ON && !excepted;
    ctx->peer_trusted = trusted;
    ctx->timeout = apr_time_from_sec(conf->proxy_timeout_s == FLAG_UNSET ? PROXY_TIMEOUT_DEFAULT_S
                                                                          : conf->proxy_timeout_s);
    ctx->socket = csd;
    ctx->cap = READ_BUFFER;
    ctx->buf = (unsigned char *)(ctx + 1);
    ctx->scratch = apr_brigade_create(c->pool, c->bucket_alloc);
    ctx->cs = cs;
    ap_add_input_filter_handle(proxy_filter_handle, ctx, NULL, c);
    return OK;
}

/* Freeze every list once, after all directives are read and merged. */
static int clientip_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                                server_rec *main_server)
{
    for (server_rec *s = main_server; s != NULL; s = s->next) {
        clientip_server_conf *conf = server_conf(s);
        if (conf->trusted == NULL) {
            /* Said once: httpd runs post_config twice at startup. */
            if (conf->header_name != NULL &&
                ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG)
                ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                             "ClientIPHeader %s is set for %s but no ClientIPTrustedProxies: "
                             "mod_clientip changes nothing there",
                             conf->header_name, server_label(ptemp, s));
            continue;
        }
        if (cip_trust_build(conf->trusted) != 0) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "ClientIPTrustedProxies: out of memory");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        /* An empty list ("none") means the module is off for this server.
         * The table itself stays with its pool cleanup. */
        if (cip_trust_count(conf->trusted) == 0)
            conf->trusted = NULL;
    }
    for (server_rec *s = main_server; s != NULL; s = s->next) {
        clientip_server_conf *conf = server_conf(s);
        if (conf->proxy_exceptions != NULL && cip_trust_build(conf->proxy_exceptions) != 0)
            return HTTP_INTERNAL_SERVER_ERROR;
    }
    build_env_templates(pconf);
    const char *error = check_proxy_config(pconf, main_server, &proxy_listeners);
    if (error != NULL) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, main_server, "%s", error);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    /* SPEC: one startup line per PROXY-enabled address. */
    if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG) {
        for (int i = 0; i < proxy_listeners->nelts; i++) {
            const proxy_listener *l = &APR_ARRAY_IDX(proxy_listeners, i, proxy_listener);
            int said = l->mode == PROXY_OFF;
            for (int j = 0; j < i && !said; j++) { /* *:port comes as IPv4 and IPv6 wildcards */
                const proxy_listener *o = &APR_ARRAY_IDX(proxy_listeners, j, proxy_listener);
                said = o->any_addr && l->any_addr && o->port == l->port && o->addr && l->addr;
            }
            if (said)
                continue;
            char *where = "every listener";
            if (l->addr != NULL)
                apr_sockaddr_ip_get(&where, (apr_sockaddr_t *)l->addr);
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, main_server,
                         "clientip: PROXY protocol %s on %s%s%s (%s)", mode_text(l->mode),
                         l->addr ? (l->any_addr ? "*" : where) : where,
                         l->addr ? ":" : "", l->addr ? apr_itoa(ptemp, l->port) : "",
                         server_label(ptemp, l->server));
        }
    }
    return OK;
}

/* apachectl -t: the same cross-directive checks as at startup. The hook
 * cannot return a failure, and httpd prints "Syntax OK" right after it, so
 * a bad configuration ends the config test here, as httpd itself does for
 * syntax errors. */
/* "apache2 -t -D CLIENTIP_DUMP_CONFIG" (scripts/check-config): what each
 * server ends up with once httpd has merged the configuration, printed by
 * the module itself so the report can't drift from the behaviour. */
#define DUMP_NETWORKS_SHOWN 8

static void dump_trust(apr_pool_t *p, const char *label, cip_trust *trust)
{
    if (trust == NULL) {
        printf("  %-22s not set: the module does nothing here\n", label);
        return;
    }
    if (cip_trust_build(trust) != 0)
        return;
    size_t n = cip_trust_count(trust);
    if (n == 0) {
        printf("  %-22s none: the module is off here\n", label);
        return;
    }
    printf("  %-22s %lu network%s:", label, (unsigned long)n, n == 1 ? "" : "s");
    for (size_t i = 0; i < n && i < DUMP_NETWORKS_SHOWN; i++) {
        char buf[CIP_PREFIX_TEXT_MAX];
        cip_prefix_format(cip_trust_prefix_at(trust, i), buf);
        printf("%s %s", i ? "," : "", buf);
    }
    if (n > DUMP_NETWORKS_SHOWN)
        printf(", ... (%lu more)", (unsigned long)(n - DUMP_NETWORKS_SHOWN));
    printf("\n");
}

static const char *on_off(int flag)
{
    return flag == 1 ? "On" : "Off";
}

static void dump_config(apr_pool_t *p, server_rec *main_server, apr_array_header_t *listeners)
{
    printf("mod_clientip: effective configuration\n");
    for (server_rec *s = main_server; s != NULL; s = s->next) {
        clientip_server_conf *conf = server_conf(s);
        printf("\n%s\n", server_label(p, s));
        dump_trust(p, "trusted proxies", conf->trusted);
        if (conf->trusted == NULL || cip_trust_count(conf->trusted) == 0)
            continue;
        const char *kind = conf->header_name == NULL                   ? ""
                           : conf->header_kind == HEADER_FORWARDED     ? " (RFC 7239)"
                           : conf->header_kind == HEADER_PROXY_ONLY    ? " (the PROXY header only)"
                                                                       : " (address list)";
        printf("  %-22s %s%s\n", "header", conf->header_name ? conf->header_name : "none", kind);
        printf("  %-22s %s\n", "recursive", on_off(conf->recursive));
        printf("  %-22s %s\n", "forwarded proto", on_off(conf->forwarded_proto));
        printf("  %-22s %s\n", "forwarded host", on_off(conf->forwarded_host));
        printf("  %-22s %s\n", "proxies header",
               conf->proxies_header ? conf->proxies_header : "none");
        int mode = conf->proxy_mode == FLAG_UNSET ? PROXY_OFF : conf->proxy_mode;
        printf("  %-22s %s", "PROXY protocol", mode_text(mode));
        if (mode != PROXY_OFF)
            printf(", timeout %d s",
                   conf->proxy_timeout_s == FLAG_UNSET ? PROXY_TIMEOUT_DEFAULT_S
                                                       : conf->proxy_timeout_s);
        printf("\n");
        if (mode != PROXY_OFF && conf->proxy_exceptions != NULL)
            dump_trust(p, "PROXY exceptions", conf->proxy_exceptions);
    }
    printf("\nPROXY protocol by address (decided per connection, before any Host):\n");
    int shown = 0;
    for (int i = 0; i < listeners->nelts; i++) {
        const proxy_listener *l = &APR_ARRAY_IDX(listeners, i, proxy_listener);
        char *ip = "*";
        if (l->addr != NULL && !l->any_addr)
            apr_sockaddr_ip_get(&ip, (apr_sockaddr_t *)l->addr);
        const char *where = l->addr == NULL ? "every other address"
                                            : apr_psprintf(p, "%s:%u", ip, (unsigned)l->port);
        printf("  %-22s %s (%s)\n", where, mode_text(l->mode), server_label(p, l->server));
        shown++;
    }
    if (shown == 0)
        printf("  none: ClientIPProxyProtocol is not set anywhere\n");
    fflush(stdout);
}

static void clientip_test_config(apr_pool_t *pconf, server_rec *main_server)
{
    apr_array_header_t *listeners;
    const char *error = check_proxy_config(pconf, main_server, &listeners);
    if (error != NULL) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, main_server, "%s", error);
        exit(1);
    }
    if (ap_exists_config_define("CLIENTIP_DUMP_CONFIG"))
        dump_config(pconf, main_server, listeners);
}

/* ---- per request ------------------------------------------------------ */

static int sockaddr_to_cip(const apr_sockaddr_t *sa, cip_addr *out)
{
    if (sa->family == APR_INET) {
        cip_addr_from_v4_bytes(out, (const uint8_t *)&sa->sa.sin.sin_addr);
        return 1;
    }
#if APR_HAVE_IPV6
    if (sa->family == APR_INET6) {
        cip_addr_from_v6_bytes(out, (const uint8_t *)&sa->sa.sin6.sin6_addr);
        return 1;
    }
#endif
    return 0;
}

/* r->useragent_addr for the client: res->client_addr filled field by field
 * as apr_sockaddr_info_get would, but without its resolver: no DNS, ever. */
static apr_sockaddr_t *client_sockaddr(apr_pool_t *p, clientip_result *res,
                                       const cip_endpoint *ep, const char *ip)
{
    apr_sockaddr_t *sa = &res->client_addr;
    sa->pool = p;
    sa->hostname = (char *)ip;
    sa->servname = NULL;
    sa->port = ep->port;
    sa->next = NULL;
#if APR_HAVE_IPV6
    if (!cip_addr_is_v4(&ep->addr)) {
        memset(&sa->sa.sin6, 0, sizeof sa->sa.sin6);
        sa->family = APR_INET6;
        sa->sa.sin6.sin6_family = AF_INET6;
        sa->sa.sin6.sin6_port = htons(ep->port);
        memcpy(&sa->sa.sin6.sin6_addr, ep->addr.bytes, 16);
        sa->salen = sizeof(struct sockaddr_in6);
        sa->addr_str_len = INET6_ADDRSTRLEN;
        sa->ipaddr_ptr = &sa->sa.sin6.sin6_addr;
        sa->ipaddr_len = 16;
        return sa;
    }
#endif
    memset(&sa->sa.sin, 0, sizeof sa->sa.sin);
    sa->family = APR_INET;
    sa->sa.sin.sin_family = AF_INET;
    sa->sa.sin.sin_port = htons(ep->port);
    memcpy(&sa->sa.sin.sin_addr, ep->addr.bytes + 12, 4);
    sa->salen = sizeof(struct sockaddr_in);
    sa->addr_str_len = INET_ADDRSTRLEN;
    sa->ipaddr_ptr = &sa->sa.sin.sin_addr;
    sa->ipaddr_len = 4;
    return sa;
}

static char *format_addr(apr_pool_t *p, const cip_addr *addr)
{
    char buf[CIP_ADDR_TEXT_MAX];
    size_t len = cip_addr_format(addr, buf);
    return apr_pstrmemdup(p, buf, len);
}

/* The address of a hop as text. An IPv4 entry as written is already
 * canonical (the parser takes four decimal parts without leading zeros
 * only) and the parser says how long it is, so it is copied rather than
 * formatted; anything else is formatted. */
static void hop_text(const cip_hop *hop, char *buf, const char **text, size_t *len)
{
    if (hop->endpoint.canonical_len > 0) {
        *text = hop->text;
        *len = hop->endpoint.canonical_len;
        return;
    }
    *len = cip_addr_format(&hop->endpoint.addr, buf);
    *text = buf;
}

/* SPEC "CLIENTIP_PROXIES": the peer and every trusted entry passed before
 * the client, in chain order (farthest first, nearest last). */
static const char *join_proxies(request_rec *r, const clientip_result *res, const cip_hop *hops)
{
    /* Nearest last: the PROXY source (when the walk went through it), then the peer. */
    const char *base = res->from_proxy
                           ? apr_pstrcat(r->pool, res->proxy->src_ip, ", ", res->peer_ip, NULL)
                           : res->peer_ip;
    size_t base_len = strlen(base) + 1;
    size_t n = res->hop_count - 1; /* the last hop is the client */
    char *joined, *p;

    /* Usually the passed entries stand in the header just as they are to
     * be listed: canonical IPv4 text separated by ", ". Then they are one
     * stretch of the header, copied whole. */
    size_t i = 0;
    while (i < n && hops[i].endpoint.canonical_len == hops[i].text_len &&
           (i + 1 == n || (hops[i].text - hops[i + 1].text == (ptrdiff_t)hops[i + 1].text_len + 2 &&
                           hops[i].text[-2] == ',' && hops[i].text[-1] == ' ')))
        i++;
    if (i == n && n > 0) {
        size_t span = (size_t)(hops[0].text + hops[0].text_len - hops[n - 1].text);
        joined = apr_palloc(r->pool, span + 2 + base_len);
        memcpy(joined, hops[n - 1].text, span);
        memcpy(joined + span, ", ", 2);
        memcpy(joined + span + 2, base, base_len);
        return joined;
    }

    char bufs[CIP_LIST_MAX_HOPS][CIP_ADDR_TEXT_MAX];
    const char *text[CIP_LIST_MAX_HOPS];
    size_t len[CIP_LIST_MAX_HOPS], total = base_len;
    for (i = 0; i < n; i++) {
        hop_text(&hops[i], bufs[i], &text[i], &len[i]);
        total += len[i] + 2;
    }
    joined = p = apr_palloc(r->pool, total);
    for (i = n; i-- > 0;) {
        memcpy(p, text[i], len[i]);
        p += len[i];
        *p++ = ',';
        *p++ = ' ';
    }
    memcpy(p, base, base_len);
    return joined;
}

/* Give a request header a new value. The header's entry is changed in
 * place, which keeps the table's index (it is by key) valid and skips
 * apr_table_setn's search of the whole table; httpd has merged repeated
 * header lines into one entry already. Should the table hold the name
 * twice all the same, apr_table_setn replaces them all. */
static void replace_header(apr_table_t *headers, const char *name, const char *old_value,
                           const char *value)
{
    const apr_array_header_t *arr = apr_table_elts(headers);
    apr_table_entry_t *e = (apr_table_entry_t *)arr->elts, *found = NULL;
    for (int i = 0; i < arr->nelts; i++) {
        if (e[i].val == old_value && found == NULL && strcasecmp(e[i].key, name) == 0)
            found = &e[i];
        else if (found != NULL && e[i].key_checksum == found->key_checksum &&
                 strcasecmp(e[i].key, name) == 0)
            found = NULL, i = arr->nelts; /* a second entry: leave it to APR */
    }
    if (found != NULL)
        found->val = (char *)value;
    else
        apr_table_setn(headers, name, value);
}

/* Apply a walk's result: client address, proxies passed, the header minus
 * the entries taken. */
static void apply_walk(request_rec *r, const clientip_server_conf *conf, clientip_result *res,
                       const char *value, size_t len, const cip_walk *walk, list_memo *memo)
{
    res->stop = walk->stop;
    res->bad_status = walk->bad_status;
    res->bad_entry = walk->bad_entry;
    res->bad_entry_len = walk->bad_entry_len;
    res->hop_count = walk->hop_count;
    if (walk->hop_count == 0)
        return;

    /* The client is the last entry taken. */
    const cip_hop *client = &walk->hops[walk->hop_count - 1];
    const char *text;
    size_t text_len;
    hop_text(client, res->client_ip, &text, &text_len);
    if (text != res->client_ip)
        memcpy(res->client_ip, text, text_len);
    res->client_ip[text_len] = '\0';
    r->useragent_ip = res->client_ip;
    r->useragent_addr = client_sockaddr(r->pool, res, &client->endpoint, r->useragent_ip);
    /* Only the memo's hops, then the client: the proxies of the request
     * the text was joined for (same connection, same bytes, same table). */
    int memo_only = memo != NULL && walk->memo_hops > 0 && walk->hop_count == walk->memo_hops + 1;
    if (memo_only && memo->proxies_version == memo->walk.version) {
        res->proxies = apr_pstrmemdup(r->pool, memo->proxies, memo->proxies_len);
    } else {
        res->proxies = join_proxies(r, res, walk->hops);
        size_t proxies_len = memo_only ? strlen(res->proxies) : MEMO_PROXIES_MAX;
        if (proxies_len < MEMO_PROXIES_MAX) {
            memcpy(memo->proxies, res->proxies, proxies_len);
            memo->proxies_len = proxies_len;
            memo->proxies_version = memo->walk.version;
        }
    }
    res->source = conf->header_name;

    /* SPEC: consumed entries leave the header; the untrusted left part stays. */
    if (walk->keep_len == 0)
        apr_table_unset(r->headers_in, conf->header_name);
    else if (walk->keep_len < len)
        replace_header(r->headers_in, conf->header_name, value,
                       apr_pstrmemdup(r->pool, value, walk->keep_len));
    if (conf->proxies_header != NULL)
        apr_table_setn(r->headers_in, conf->proxies_header, res->proxies);
}

/* A Forwarded value unescaped, or NULL when it is absent, too long, or
 * holds anything but visible ASCII (it goes to env and logs). */
static const char *fwd_text(apr_pool_t *p, const cip_fwd_value *value)
{
    char buf[256];
    if (value->text == NULL)
        return NULL;
    size_t len = cip_fwd_value_copy(value, buf, sizeof buf);
    if (len == (size_t)-1 || len == 0)
        return NULL;
    for (size_t i = 0; i < len; i++)
        if (buf[i] <= 0x20 || buf[i] >= 0x7f)
            return NULL;
    return apr_pstrmemdup(p, buf, len);
}

/* Walk the configured header. For Forwarded, *chosen receives the element
 * that origin values come from; returns 1 when there is one. */
static int walk_header(request_rec *r, const clientip_server_conf *conf, clientip_result *res,
                       clientip_conn *cs, cip_fwd_element *chosen)
{
    const char *value = apr_table_get(r->headers_in, conf->header_name);
    if (value == NULL)
        return 0;
    res->header_value = value;
    size_t len = strlen(value);
    cip_walk walk;

    if (conf->header_kind == HEADER_LIST) {
        /* Behind a fixed chain of proxies the trusted right end repeats on
         * every request of the connection: the memo skips reading it again. */
        if (conf->recursive == 1 && cs->memo == NULL)
            cs->memo = apr_pcalloc(r->connection->pool, sizeof *cs->memo);
        cip_list_walk_memo(value, len, conf->trusted, conf->recursive == 1,
                           cs->memo ? &cs->memo->walk : NULL, &walk);
        apply_walk(r, conf, res, value, len, &walk, cs->memo);
        return 0;
    }

    cip_forwarded fwd;
    res->forwarded_status = cip_forwarded_parse(value, len, &fwd);
    if (res->forwarded_status != CIP_FWD_OK) {
        res->forwarded_error_offset = fwd.error_offset;
        return 0; /* SPEC: malformed syntax, the client stays the peer */
    }
    cip_forwarded_walk(&fwd, conf->trusted, conf->recursive == 1, &walk);
    apply_walk(r, conf, res, value, len, &walk, NULL);
    if (walk.stop == CIP_WALK_INVALID_ENTRY && walk.bad_status == CIP_ENDPOINT_OBFUSCATED)
        res->forwarded_for =
            fwd_text(r->pool, &fwd.elements[fwd.kept - 1 - walk.hop_count].for_node);
    const cip_fwd_element *element = cip_forwarded_chosen(&fwd, &walk);
    if (element == NULL)
        return 0;
    *chosen = *element;
    res->forwarded_by = fwd_text(r->pool, &element->by);
    return 1;
}

/* The rightmost value of a request header, trimmed; NULL when absent or
 * empty. */
static const char *rightmost_value(request_rec *r, const char *name, size_t *len)
{
    const char *value = apr_table_get(r->headers_in, name), *start;
    if (value == NULL)
        return NULL;
    cip_list_rightmost(value, strlen(value), &start, len);
    return *len > 0 ? start : NULL;
}

static void refuse_origin(request_rec *r, clientip_result *res, const char *from,
                          const char *text, size_t len)
{
    const char *shown = ap_escape_logitem(r->pool, apr_pstrmemdup(r->pool, text, len > 64 ? 64 : len));
    const char *note = apr_psprintf(r->pool, "%s '%s' ignored (invalid)", from, shown);
    res->origin_note = res->origin_note ? apr_pstrcat(r->pool, res->origin_note, ", ", note, NULL)
                                        : note;
}

/* SPEC ClientIPForwardedProto: Forwarded proto= of the chosen element, else
 * the rightmost X-Forwarded-Proto / -Protocol, else X-Forwarded-Ssl or
 * Front-End-Https "on". An invalid value is skipped like an absent one. */
static void take_scheme(request_rec *r, clientip_result *res, const cip_fwd_element *chosen,
                        int headers_trusted)
{
    static const char *const scheme_headers[] = {"X-Forwarded-Proto", "X-Forwarded-Protocol"};
    static const char *const flag_headers[] = {"X-Forwarded-Ssl", "Front-End-Https"};
    cip_scheme scheme = CIP_SCHEME_NONE;
    const char *text;
    size_t len;

    if (!headers_trusted)
        goto from_proxy_header;
    if (chosen != NULL && chosen->proto.text != NULL) {
        char buf[16];
        len = cip_fwd_value_copy(&chosen->proto, buf, sizeof buf);
        scheme = len == (size_t)-1 ? CIP_SCHEME_NONE : cip_origin_scheme(buf, len);
        res->scheme_from = "Forwarded proto=";
        if (scheme == CIP_SCHEME_NONE)
            refuse_origin(r, res, res->scheme_from, chosen->proto.text, chosen->proto.len);
    }
    for (int i = 0; i < 2 && scheme == CIP_SCHEME_NONE; i++) {
        if ((text = rightmost_value(r, scheme_headers[i], &len)) == NULL)
            continue;
        res->scheme_from = scheme_headers[i];
        if ((scheme = cip_origin_scheme(text, len)) == CIP_SCHEME_NONE)
            refuse_origin(r, res, scheme_headers[i], text, len);
    }
    for (int i = 0; i < 2 && scheme == CIP_SCHEME_NONE; i++) {
        if ((text = rightmost_value(r, flag_headers[i], &len)) != NULL &&
            cip_origin_flag_on(text, len)) {
            scheme = CIP_SCHEME_HTTPS;
            res->scheme_from = flag_headers[i];
        }
    }
from_proxy_header:
    /* Last: the PROXY v2 SSL TLV's "client used TLS" flag. A clear flag
     * only says the balancer did not terminate TLS (it may pass it through
     * to mod_ssl), so it never makes the scheme http. */
    if (scheme == CIP_SCHEME_NONE && res->proxy != NULL && res->proxy->ssl_client) {
        scheme = CIP_SCHEME_HTTPS;
        res->scheme_from = "the PROXY v2 SSL TLV";
    }
    if (scheme != CIP_SCHEME_NONE)
        res->scheme = scheme == CIP_SCHEME_HTTPS ? "https" : "http";
}

/* SPEC ClientIPForwardedHost: Forwarded host= of the chosen element, else
 * the rightmost X-Forwarded-Host; the port from either, else the rightmost
 * X-Forwarded-Port. */
static void take_host(request_rec *r, clientip_result *res, const cip_fwd_element *chosen)
{
    const char *text = NULL;
    size_t len = 0, host_len;
    uint16_t port = 0;
    char buf[300];

    if (chosen != NULL && chosen->host.text != NULL) {
        len = cip_fwd_value_copy(&chosen->host, buf, sizeof buf);
        text = len == (size_t)-1 ? chosen->host.text : buf;
        res->host_from = "Forwarded host=";
        if (len == (size_t)-1 || !cip_origin_host(text, len, &host_len, &port)) {
            refuse_origin(r, res, res->host_from, chosen->host.text, chosen->host.len);
            text = NULL;
        }
    }
    if (text == NULL && (text = rightmost_value(r, "X-Forwarded-Host", &len)) != NULL) {
        res->host_from = "X-Forwarded-Host";
        if (!cip_origin_host(text, len, &host_len, &port)) {
            refuse_origin(r, res, res->host_from, text, len);
            text = NULL;
        }
    }
    if (text != NULL)
        res->host = apr_pstrmemdup(r->pool, text, host_len);
    if (port == 0 && (text = rightmost_value(r, "X-Forwarded-Port", &len)) != NULL &&
        !cip_origin_port(text, len, &port))
        refuse_origin(r, res, "X-Forwarded-Port", text, len);
    res->port = port;
}

/* Make self-referential URLs and SERVER_NAME/SERVER_PORT follow the origin.
 * Only request fields change: r->hostname (vhost selection is already
 * done, and never redone) and r->parsed_uri's port, which
 * ap_get_server_port() reads under UseCanonicalName Off. */
static void apply_origin(request_rec *r, const clientip_result *res)
{
    if (res->host != NULL) {
        /* httpd keeps r->hostname bare and brackets IPv6 itself in URLs. */
        size_t len = strlen(res->host);
        char *host = res->host[0] == '['
                         ? apr_pstrmemdup(r->pool, res->host + 1, len - 2)
                         : apr_pstrmemdup(r->pool, res->host, len);
        ap_str_tolower(host);
        r->hostname = host;
    }
    apr_port_t port = res->port;
    /* Without a forwarded port, URLs use the default port of the client's
     * scheme, unless the Host header carried one the client chose. */
    if (port == 0 && (res->host != NULL || (res->scheme != NULL && !r->parsed_uri.port_str)))
        port = strcmp(res->scheme ? res->scheme : ap_http_scheme(r), "https") == 0 ? 443 : 80;
    if (port != 0) {
        r->parsed_uri.port = port;
        r->parsed_uri.port_str = apr_itoa(r->pool, port);
    }
}

/* SPEC "What the module exposes". This hook runs first and nothing has set
 * these names yet (an internal redirect's table holds only REDIRECT_
 * copies), so addn, which skips the search for an existing key, is safe. */
/* SPEC "What the module exposes": the request environment.
 *
 * apr_table_addn costs about 60 instructions a variable (hash, key
 * checksum, index, push), and most requests set the same names. So the
 * names are added once, at startup, to template tables, one for each
 * combination of the optional ones (ENV_*); a request copies its template
 * (apr_table_copy: the entries and the index in a few memcpy calls, no
 * hashing) and fills in the values in the template's order. */
enum { ENV_PORT = 1, ENV_SOURCE = 2, ENV_PROXY_ADDR = 4, ENV_SHAPES = 8 };
static apr_table_t *env_templates[ENV_SHAPES];

/* Room for what other modules add later, as httpd's own 25 would give. */
#define ENV_TEMPLATE_ROOM 32

static void build_env_templates(apr_pool_t *pconf)
{
    for (int shape = 0; shape < ENV_SHAPES; shape++) {
        apr_table_t *t = apr_table_make(pconf, ENV_TEMPLATE_ROOM);
        /* The order here is the order set_env fills values in. */
        apr_table_addn(t, "CLIENTIP_PEER_ADDR", "");
        apr_table_addn(t, "CLIENTIP_PEER_PORT", "");
        apr_table_addn(t, "CLIENTIP_ADDR", "");
        if (shape & ENV_PORT)
            apr_table_addn(t, "CLIENTIP_PORT", "");
        if (shape & ENV_SOURCE) {
            apr_table_addn(t, "CLIENTIP_SOURCE", "");
            apr_table_addn(t, "CLIENTIP_PROXIES", "");
        }
        if (shape & ENV_PROXY_ADDR) {
            apr_table_addn(t, "PROXY_PROTOCOL_ADDR", "");
            apr_table_addn(t, "PROXY_PROTOCOL_PORT", "");
            apr_table_addn(t, "PROXY_PROTOCOL_SERVER_ADDR", "");
            apr_table_addn(t, "PROXY_PROTOCOL_SERVER_PORT", "");
        }
        env_templates[shape] = t;
    }
}

static void set_env(request_rec *r, const clientip_result *res)
{
    const char *port = NULL;
    if (res->hop_count == 0 && res->from_proxy) {
        if (res->proxy->src.port != 0)
            port = res->proxy->src_port;
    }
    else if (res->hop_count == 0)
        port = res->peer_port;
    else if (r->useragent_addr->port != 0)
        port = port_string(r->pool, r->useragent_addr->port);
    const clientip_proxy *pp = res->proxy;
    int with_proxy_addr = pp != NULL && pp->has_addresses;
    int shape = (port != NULL ? ENV_PORT : 0) | (res->proxies != NULL ? ENV_SOURCE : 0) |
                (with_proxy_addr ? ENV_PROXY_ADDR : 0);

    /* The copy's entries are ours to change: only values, never keys, so
     * the table's index stays right. Filled in build_env_templates' order. */
    apr_table_t *env = apr_table_copy(r->pool, env_templates[shape]);
    apr_table_entry_t *entry = (apr_table_entry_t *)apr_table_elts(env)->elts;
    entry[0].val = (char *)res->peer_ip;
    entry[1].val = (char *)res->peer_port;
    entry[2].val = (char *)r->useragent_ip;
    entry += 3;
    if (port != NULL)
        (entry++)->val = (char *)port;
    if (res->proxies != NULL) {
        entry[0].val = (char *)res->source;
        entry[1].val = (char *)res->proxies;
        entry += 2;
    }
    if (with_proxy_addr) {
        entry[0].val = (char *)pp->src_ip;
        entry[1].val = (char *)pp->src_port;
        entry[2].val = (char *)pp->dst_ip;
        entry[3].val = (char *)pp->dst_port;
    }
    /* Whatever was there before this hook (an internal redirect's
     * REDIRECT_* variables) follows ours, and the copy takes the old
     * table's place: ap_read_request made that table just before running
     * this hook (APR_HOOK_FIRST), and nothing holds it but the request. */
    const apr_array_header_t *before = apr_table_elts(r->subprocess_env);
    const apr_table_entry_t *old = (const apr_table_entry_t *)before->elts;
    for (int i = 0; i < before->nelts; i++)
        apr_table_addn(env, old[i].key, old[i].val);
    r->subprocess_env = env;

    if (pp != NULL) {
        const env_pair *pair = (const env_pair *)pp->tlv_env->elts;
        for (int i = 0; i < pp->tlv_env->nelts; i++)
            apr_table_addn(env, pair[i].name, pair[i].value);
    }
    if (res->forwarded_by != NULL)
        apr_table_addn(env, "CLIENTIP_FORWARDED_BY", res->forwarded_by);
    if (res->forwarded_for != NULL)
        apr_table_addn(env, "CLIENTIP_FORWARDED_FOR", res->forwarded_for);
    if (res->scheme != NULL) {
        apr_table_addn(env, "REQUEST_SCHEME", res->scheme);
        if (res->scheme[4] == 's')
            apr_table_addn(env, "HTTPS", "on");
    }
}

static void origin_trail(request_rec *r, const clientip_result *res, apr_array_header_t *trail)
{
    if (res->scheme != NULL)
        APR_ARRAY_PUSH(trail, const char *) =
            apr_psprintf(r->pool, "scheme %s from %s", res->scheme, res->scheme_from);
    if (res->host != NULL)
        APR_ARRAY_PUSH(trail, const char *) =
            apr_psprintf(r->pool, "host %s from %s", res->host, res->host_from);
    if (res->port != 0)
        APR_ARRAY_PUSH(trail, const char *) = apr_psprintf(r->pool, "port %u", res->port);
    if (res->origin_note != NULL)
        APR_ARRAY_PUSH(trail, const char *) = res->origin_note;
}

/* The decision trail, one step per element (SPEC "Diagnostics"). */
static apr_array_header_t *decision_trail(request_rec *r, const clientip_server_conf *conf,
                                          const clientip_result *res)
{
    apr_array_header_t *trail = apr_array_make(r->pool, 8, sizeof(const char *));
    char buf[CIP_PREFIX_TEXT_MAX];
    /* Whoever wrote the header last: the peer, or the PROXY source. */
    const char *from = res->from_proxy ? "PROXY source" : "peer";
    const char *from_ip = res->from_proxy ? res->proxy->src_ip : res->peer_ip;
    const cip_prefix *from_trusted = res->from_proxy ? res->src_trusted_by : res->peer_trusted_by;

    if (res->peer_trusted_by != NULL) {
        cip_prefix_format(res->peer_trusted_by, buf);
        APR_ARRAY_PUSH(trail, const char *) =
            apr_psprintf(r->pool, "peer %s trusted by %s", res->peer_ip, buf);
    } else {
        APR_ARRAY_PUSH(trail, const char *) =
            apr_psprintf(r->pool, "peer %s is not trusted", res->peer_ip);
    }
    if (res->proxy != NULL)
        APR_ARRAY_PUSH(trail, const char *) =
            res->from_proxy
                ? apr_psprintf(r->pool, "PROXY v%d header (%s): source %s:%s", res->proxy->version,
                               cip_proxy_kind_text(res->proxy->kind), res->proxy->src_ip,
                               res->proxy->src_port)
                : apr_psprintf(r->pool, "PROXY v%d header (%s): addresses of the socket kept",
                               res->proxy->version, cip_proxy_kind_text(res->proxy->kind));
    if (res->from_proxy && from_trusted != NULL) {
        cip_prefix_format(from_trusted, buf);
        APR_ARRAY_PUSH(trail, const char *) =
            apr_psprintf(r->pool, "PROXY source %s trusted by %s", from_ip, buf);
    }
    const char *unchanged = apr_psprintf(r->pool, "client is the %s", from);
    if (from_trusted == NULL) {
        APR_ARRAY_PUSH(trail, const char *) =
            res->from_proxy ? apr_psprintf(r->pool, "PROXY source %s is not trusted: %s", from_ip,
                                           unchanged)
                            : unchanged;
        origin_trail(r, res, trail);
        return trail;
    }
    if (conf->header_name == NULL || conf->header_kind == HEADER_PROXY_ONLY) {
        APR_ARRAY_PUSH(trail, const char *) =
            apr_pstrcat(r->pool, "no request header to read: ", unchanged, NULL);
        origin_trail(r, res, trail);
        return trail;
    }
    if (res->header_value == NULL) {
        APR_ARRAY_PUSH(trail, const char *) =
            apr_psprintf(r->pool, "no %s header: %s", conf->header_name, unchanged);
        origin_trail(r, res, trail);
        return trail;
    }
    if (res->forwarded_status != CIP_FWD_OK) {
        APR_ARRAY_PUSH(trail, const char *) = apr_psprintf(
            r->pool, "Forwarded header invalid at byte %" APR_SIZE_T_FMT ": %s; %s",
            res->forwarded_error_offset, cip_fwd_status_text(res->forwarded_status), unchanged);
        origin_trail(r, res, trail);
        return trail;
    }
    /* The walk again, on the header as received: the same input, trust
     * and setting give the same hops, and only the trail needs them. */
    cip_walk walk;
    if (conf->header_kind == HEADER_LIST) {
        cip_list_walk(res->header_value, strlen(res->header_value), conf->trusted,
                      conf->recursive == 1, &walk);
    } else {
        cip_forwarded fwd;
        cip_forwarded_parse(res->header_value, strlen(res->header_value), &fwd);
        cip_forwarded_walk(&fwd, conf->trusted, conf->recursive == 1, &walk);
    }
    for (size_t i = 0; i < res->hop_count && i < walk.hop_count; i++) {
        const cip_hop *hop = &walk.hops[i];
        const char *addr = format_addr(r->pool, &hop->endpoint.addr);
        const char *trust = "";
        if (hop->trusted_by != NULL) {
            cip_prefix_format(hop->trusted_by, buf);
            trust = apr_pstrcat(r->pool, " trusted by ", buf, NULL);
        } else if (res->stop != CIP_WALK_NOT_RECURSIVE) {
            trust = " not trusted";
        }
        APR_ARRAY_PUSH(trail, const char *) =
            apr_psprintf(r->pool, "%s entry %" APR_SIZE_T_FMT " from the right: %s%s",
                         conf->header_name, i + 1, addr, trust);
    }
    const char *stop = cip_walk_stop_text(res->stop);
    if (res->stop == CIP_WALK_INVALID_ENTRY) {
        size_t shown = res->bad_entry_len > 64 ? 64 : res->bad_entry_len;
        stop = apr_psprintf(r->pool, "stop: entry %" APR_SIZE_T_FMT " from the right '%s%s' %s",
                            res->hop_count + 1,
                            ap_escape_logitem(r->pool,
                                              apr_pstrmemdup(r->pool, res->bad_entry, shown)),
                            shown < res->bad_entry_len ? "..." : "",
                            cip_endpoint_status_text(res->bad_status));
    } else {
        stop = apr_pstrcat(r->pool, "stop: ", stop, NULL);
    }
    APR_ARRAY_PUSH(trail, const char *) = stop;
    APR_ARRAY_PUSH(trail, const char *) =
        res->hop_count > 0 ? apr_pstrcat(r->pool, "client ", r->useragent_ip, NULL)
                           : apr_pstrcat(r->pool, "client unchanged (the ", from, ")", NULL);
    origin_trail(r, res, trail);
    return trail;
}

/* The result of the request this one derives from (internal redirects and
 * subrequests get a fresh request_config). */
static const clientip_result *find_result(const request_rec *r)
{
    for (; r != NULL; r = r->prev ? r->prev : r->main) {
        const clientip_result *res = ap_get_module_config(r->request_config, &clientip_module);
        if (res != NULL)
            return res;
    }
    return NULL;
}

/* The connection's state, created on first use. An HTTP/2 stream's
 * secondary connection shares its master's PROXY result. */
static clientip_conn *conn_state_new(conn_rec *c)
{
    clientip_conn *cs = ap_get_module_config(c->conn_config, &clientip_module);
    if (cs != NULL)
        return cs;
    /* The state and the peer port's text, in one allocation. */
    cs = apr_palloc(c->pool, sizeof *cs + 6);
    memset(cs, 0, sizeof *cs);
    char *port = (char *)(cs + 1);
    port_text(c->client_addr->port, port);
    cs->peer_port = port;
    cs->peer_ip = c->client_ip;
    cs->peer_is_ip = sockaddr_to_cip(c->client_addr, &cs->peer);
    /* SPEC: an IPv4-mapped IPv6 peer is reported in dotted IPv4 form. */
    if (cs->peer_is_ip && c->client_addr->family != APR_INET && cip_addr_is_v4(&cs->peer))
        cs->peer_ip = format_addr(c->pool, &cs->peer);
    ap_set_module_config(c->conn_config, &clientip_module, cs);
    return cs;
}

static clientip_conn *conn_state(conn_rec *c, const cip_trust *trusted)
{
    clientip_conn *cs = conn_state_new(c);
    if (c->master != NULL && cs->proxy == NULL) {
        const clientip_conn *master = ap_get_module_config(c->master->conn_config, &clientip_module);
        if (master != NULL)
            cs->proxy = master->proxy;
    }
    if (cs->looked_up_in != trusted) {
        cs->looked_up_in = trusted;
        cs->peer_trusted_by = cs->peer_is_ip ? cip_trust_lookup(trusted, &cs->peer) : NULL;
    }
    if (cs->proxy != NULL && cs->proxy->has_addresses && cs->src_looked_up_in != trusted) {
        cs->src_looked_up_in = trusted;
        cs->src_trusted_by = cip_trust_lookup(trusted, &cs->proxy->src.addr);
    }
    return cs;
}

static int clientip_post_read_request(request_rec *r)
{
    const clientip_server_conf *conf = server_conf(r->server);
    if (conf->trusted == NULL)
        return DECLINED;

    /* An internal redirect (ErrorDocument, mod_rewrite...) runs this hook
     * again on the same, already rewritten headers and inherits the client
     * address. Walking again would take a client-written entry: reuse the
     * first decision instead. */
    if (r->prev != NULL || r->main != NULL) {
        const clientip_result *first = find_result(r->prev ? r->prev : r->main);
        if (first != NULL) {
            ap_set_module_config(r->request_config, &clientip_module, (void *)first);
            apply_origin(r, first);
            set_env(r, first);
            return DECLINED;
        }
    }

    clientip_result *res = apr_palloc(r->pool, sizeof *res);
    memset(res, 0, offsetof(clientip_result, client_addr));
    ap_set_module_config(r->request_config, &clientip_module, res);
    clientip_conn *cs = conn_state(r->connection, conf->trusted);
    res->peer_ip = cs->peer_ip;
    res->peer_port = cs->peer_port;
    res->peer_trusted_by = cs->peer_trusted_by;
    res->proxy = cs->proxy;

    /* SPEC ClientIPProxyProtocol: the PROXY source is the client, and stands
     * in for the peer when a header is walked as well (chaining). */
    const cip_prefix *walk_trusted = res->peer_trusted_by;
    if (res->proxy != NULL && res->proxy->has_addresses) {
        res->from_proxy = 1;
        res->src_trusted_by = walk_trusted = cs->src_trusted_by;
        r->useragent_ip = (char *)res->proxy->src_ip;
        r->useragent_addr = client_sockaddr(r->pool, res, &res->proxy->src, r->useragent_ip);
        res->source = "proxy_protocol";
        res->proxies = res->peer_ip;
    }

    /* Only a trusted proxy may name the proxies: drop what a client sent. */
    if (conf->proxies_header != NULL)
        apr_table_unset(r->headers_in, conf->proxies_header);

    /* Headers count only when whoever wrote them last is trusted: behind an
     * L4 balancer that is the PROXY source, usually the client itself. */
    cip_fwd_element chosen;
    int have_chosen = 0;
    if (walk_trusted != NULL && conf->header_name != NULL && conf->header_kind != HEADER_PROXY_ONLY)
        have_chosen = walk_header(r, conf, res, cs, &chosen);
    if (conf->forwarded_proto == 1 && (walk_trusted != NULL || res->proxy != NULL))
        take_scheme(r, res, have_chosen ? &chosen : NULL, walk_trusted != NULL);
    if (conf->forwarded_host == 1 && walk_trusted != NULL)
        take_host(r, res, have_chosen ? &chosen : NULL);
    if (res->scheme != NULL || res->host != NULL || res->port != 0)
        apply_origin(r, res);
    set_env(r, res);

    if (APLOGrdebug(r)) {
        apr_array_header_t *trail = decision_trail(r, conf, res);
        const char *line = APR_ARRAY_IDX(trail, 0, const char *);
        for (int i = 1; i < trail->nelts; i++)
            line = apr_pstrcat(r->pool, line, "; ", APR_ARRAY_IDX(trail, i, const char *), NULL);
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "clientip: %s", line);
    }
    return DECLINED;
}

/* ---- the scheme of self-referential URLs ------------------------------ */

/* ap_http_scheme() and ap_default_port() for a request whose scheme a
 * trusted proxy reported; other requests are left to mod_ssl and core. */
static const char *clientip_http_scheme(const request_rec *r)
{
    const clientip_result *res = find_result(r);
    return res != NULL ? res->scheme : NULL;
}

static apr_port_t clientip_default_port(const request_rec *r)
{
    const clientip_result *res = find_result(r);
    if (res == NULL || res->scheme == NULL)
        return 0;
    return res->scheme[4] == 's' ? 443 : 80;
}

/* ---- Require trusted-proxy ------------------------------------------- */

static authz_status trusted_proxy_check(request_rec *r, const char *require_line,
                                        const void *parsed)
{
    const clientip_server_conf *conf = server_conf(r->server);
    if (conf->trusted == NULL)
        return AUTHZ_DENIED;
    return conn_state(r->connection, conf->trusted)->peer_trusted_by ? AUTHZ_GRANTED
                                                                      : AUTHZ_DENIED;
}

static const authz_provider trusted_proxy_provider = {&trusted_proxy_check, NULL};

/* ---- SetHandler clientip-info ---------------------------------------- */

static const char *json_string(apr_pool_t *p, const char *s)
{
    if (s == NULL)
        return "null";
    apr_size_t len = strlen(s);
    char *out = apr_palloc(p, len * 6 + 3), *o = out;
    *o++ = '"';
    for (const unsigned char *q = (const unsigned char *)s; *q; q++) {
        if (*q == '"' || *q == '\\') {
            *o++ = '\\';
            *o++ = (char)*q;
        } else if (*q < 0x20 || *q >= 0x7f) {
            o += sprintf(o, "\\u%04x", *q); /* bytes, never raw: the info is ASCII */
        } else {
            *o++ = (char)*q;
        }
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

/* The connection's PROXY header for clientip-info: version, kind and the
 * PROXY_PROTOCOL_* variables. */
static const char *proxy_json(apr_pool_t *p, const clientip_proxy *pp)
{
    if (pp == NULL)
        return "null";
    const char *vars = "";
    if (pp->has_addresses)
        vars = apr_pstrcat(p, "\"PROXY_PROTOCOL_ADDR\":", json_string(p, pp->src_ip),
                           ",\"PROXY_PROTOCOL_PORT\":", json_string(p, pp->src_port),
                           ",\"PROXY_PROTOCOL_SERVER_ADDR\":", json_string(p, pp->dst_ip),
                           ",\"PROXY_PROTOCOL_SERVER_PORT\":", json_string(p, pp->dst_port), NULL);
    for (int i = 0; i < pp->tlv_env->nelts; i++) {
        const env_pair *pair = &APR_ARRAY_IDX(pp->tlv_env, i, env_pair);
        vars = apr_pstrcat(p, vars, *vars ? "," : "", json_string(p, pair->name), ":",
                           json_string(p, pair->value), NULL);
    }
    return apr_psprintf(p, "{\"version\":%d,\"kind\":%s,\"variables\":{%s}}", pp->version,
                        json_string(p, cip_proxy_kind_text(pp->kind)), vars);
}

static int clientip_info_handler(request_rec *r)
{
    if (r->handler == NULL || strcmp(r->handler, "clientip-info") != 0)
        return DECLINED;
    const clientip_server_conf *conf = server_conf(r->server);
    const clientip_result *res = find_result(r);
    conn_rec *c = r->connection;
    apr_pool_t *p = r->pool;
    char buf[CIP_PREFIX_TEXT_MAX];

    ap_set_content_type(r, "application/json");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (r->header_only)
        return OK;

    const char *trusted_by = "null";
    if (res != NULL && res->peer_trusted_by != NULL) {
        cip_prefix_format(res->peer_trusted_by, buf);
        trusted_by = json_string(p, buf);
    }
    const char *proxies = "[]", *stop = "null", *trail_json = "[]";
    if (res != NULL) {
        if (res->proxies != NULL) {
            /* nearest last, as in CLIENTIP_PROXIES */
            char *list = apr_pstrdup(p, res->proxies), *state, *item;
            apr_array_header_t *items = apr_array_make(p, 4, sizeof(const char *));
            for (item = apr_strtok(list, ", ", &state); item; item = apr_strtok(NULL, ", ", &state))
                APR_ARRAY_PUSH(items, const char *) = json_string(p, item);
            proxies = apr_pstrcat(p, "[", apr_array_pstrcat(p, items, ','), "]", NULL);
        }
        if (res->header_value != NULL)
            stop = json_string(p, res->forwarded_status != CIP_FWD_OK
                                      ? "invalid Forwarded syntax"
                                      : cip_walk_stop_text(res->stop));
        apr_array_header_t *trail = decision_trail(r, conf, res);
        for (int i = 0; i < trail->nelts; i++)
            APR_ARRAY_IDX(trail, i, const char *) =
                json_string(p, APR_ARRAY_IDX(trail, i, const char *));
        trail_json = apr_pstrcat(p, "[", apr_array_pstrcat(p, trail, ','), "]", NULL);
    }
    const char *client_port =
        r->useragent_addr->port ? apr_itoa(p, r->useragent_addr->port) : "null";

    ap_rprintf(r,
               "{\"configured\":%s,"
               "\"peer\":{\"ip\":%s,\"port\":%d,\"trusted\":%s,\"trusted_by\":%s},"
               "\"client\":{\"ip\":%s,\"port\":%s},"
               "\"source\":%s,\"proxies\":%s,\"header\":%s,\"recursive\":%s,"
               "\"stop\":%s,\"trail\":%s,"
               "\"scheme\":%s,\"host\":%s,\"port\":%s,"
               "\"forwarded_by\":%s,\"forwarded_for\":%s,\"proxy_protocol\":%s}\n",
               conf->trusted ? "true" : "false",
               json_string(p, res != NULL ? res->peer_ip : c->client_ip),
               (int)c->client_addr->port,
               res != NULL && res->peer_trusted_by ? "true" : "false", trusted_by,
               json_string(p, r->useragent_ip), client_port,
               json_string(p, res != NULL && res->proxies ? res->source : NULL),
               proxies, json_string(p, conf->header_name),
               conf->recursive == 1 ? "true" : "false", stop, trail_json,
               json_string(p, ap_http_scheme(r)), json_string(p, ap_get_server_name_for_url(r)),
               apr_itoa(p, ap_get_server_port(r)),
               json_string(p, res != NULL ? res->forwarded_by : NULL),
               json_string(p, res != NULL ? res->forwarded_for : NULL),
               proxy_json(p, res != NULL ? res->proxy : NULL));
    return OK;
}

/* ---- registration ----------------------------------------------------- */

static void clientip_register_hooks(apr_pool_t *p)
{
    ap_hook_post_config(clientip_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_test_config(clientip_test_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_pre_connection(clientip_pre_connection, NULL, NULL, APR_HOOK_MIDDLE);
    /* Below mod_ssl (+5), so the header is read before the TLS handshake,
     * and below mod_reqtimeout (+8), so our deadline is the socket timeout
     * in force while the header arrives. */
    proxy_filter_handle = ap_register_input_filter("CLIENTIP_PROXY", proxy_input_filter, NULL,
                                                   AP_FTYPE_CONNECTION + 9);
    /* First, so every later post_read_request hook (and everything after)
     * already sees the client. */
    ap_hook_post_read_request(clientip_post_read_request, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(clientip_info_handler, NULL, NULL, APR_HOOK_MIDDLE);
    /* Before mod_ssl's, which answers from the connection's own TLS. */
    ap_hook_http_scheme(clientip_http_scheme, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_default_port(clientip_default_port, NULL, NULL, APR_HOOK_FIRST);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "trusted-proxy", AUTHZ_PROVIDER_VERSION,
                              &trusted_proxy_provider, AP_AUTH_INTERNAL_PER_CONF);
}

AP_DECLARE_MODULE(clientip) = {
    STANDARD20_MODULE_STUFF,
    NULL,                 /* per-directory config: none, all directives are per server */
    NULL,
    create_server_conf,
    merge_server_conf,
    clientip_directives,
    clientip_register_hooks,
};
