# HAProxy (Debian's 2.6) as a real PROXY protocol sender in front of httpd.
# The test starts an unprivileged HAProxy (ClientIP::Test::haproxy_server)
# with a config of its own in t/logs; curl, bound to 127.0.0.2 (or 127.0.0.4),
# is the client. HAProxy connects to httpd from 127.0.0.1, the only trusted
# proxy of the PROXY hosts.
#
#   fe_v1     mode tcp            -> cip_pp_on     send-proxy (v1)
#   fe_v2     mode tcp            -> cip_pp_on     send-proxy-v2, unique-id, crc32c
#   fe_tls    mode tcp, TLS bind  -> cip_pp_chain  send-proxy-v2 with authority,
#                                    unique-id, crc32c, ssl (+ cipher, sig, key)
#   fe_http   mode http, forwardfor -> cip_pp_chain send-proxy-v2 (chaining)
#   fe_https  mode http, TLS bind, forwardfor -> cip_pp_chain send-proxy-v2 ssl
#   be_check  health checks with check-send-proxy: v2 LOCAL headers -> cip_pp_on
#
# cip_pp_chain trusts 127.0.0.2 (a client HAProxy reports, playing a CDN edge
# here) but not 127.0.0.4: the X-Forwarded-For walk goes on from the former.
use strict;
use warnings;
use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use ClientIP::Test;

unless (haproxy_binary()) {
    plan tests => 1;
    fail('haproxy is installed');
    diag 'haproxy not found (looked in /usr/sbin, /usr/local/sbin and PATH): '
       . 'run scripts/install-deps, which installs it';
    exit 1;
}

my $logs  = t_logs();
my $alog  = "$logs/cip_pp_access_log";
my $on    = vhost_port('cip_pp_on');
my $chain = vhost_port('cip_pp_chain');
my $host  = 'app.example';
my %used;
sub fresh_port { my $p; do { $p = free_port() } while $used{$p}++; $p }
my %fe = map { $_ => fresh_port() } qw(v1 v2 tls http https);
my $check_id = "hc-$$";

my $ssl_opts = 'authority,unique-id,crc32c,ssl,ssl-cipher,cert-sig,cert-key';
my $config = <<"CONF";
frontend fe_v1
    mode tcp
    bind 127.0.0.1:$fe{v1}
    default_backend be_v1
backend be_v1
    mode tcp
    server httpd 127.0.0.1:$on send-proxy

frontend fe_v2
    mode tcp
    bind 127.0.0.1:$fe{v2}
    unique-id-format %ci:%cp-clientip
    default_backend be_v2
backend be_v2
    mode tcp
    server httpd 127.0.0.1:$on send-proxy-v2 proxy-v2-options unique-id,crc32c

frontend fe_tls
    mode tcp
    bind 127.0.0.1:$fe{tls} ssl crt \$DIR/both.pem
    unique-id-format %ci:%cp-clientip
    default_backend be_tls
backend be_tls
    mode tcp
    server httpd 127.0.0.1:$chain send-proxy-v2 proxy-v2-options $ssl_opts

frontend fe_http
    mode http
    bind 127.0.0.1:$fe{http}
    option forwardfor
    unique-id-format %ci:%cp-clientip
    default_backend be_http
backend be_http
    mode http
    server httpd 127.0.0.1:$chain send-proxy-v2 proxy-v2-options unique-id,crc32c

frontend fe_https
    mode http
    bind 127.0.0.1:$fe{https} ssl crt \$DIR/both.pem
    option forwardfor
    default_backend be_https
backend be_https
    mode http
    server httpd 127.0.0.1:$chain send-proxy-v2 proxy-v2-options authority,crc32c,ssl

backend be_check
    mode http
    timeout check 2s
    option httpchk GET /hello.txt?id=$check_id
    server httpd 127.0.0.1:$on send-proxy-v2 proxy-v2-options crc32c check check-send-proxy inter 250ms
CONF

my $haproxy = eval { haproxy_server(config => $config, cert_name => $host, listen => [ values %fe ]) };
unless ($haproxy) {
    plan tests => 1;
    fail('haproxy started');
    diag $@;
    exit 1;
}

plan tests => 12;

sub via {
    my ($fe, %a) = @_;
    my $scheme = $fe =~ /^(?:tls|https)$/ ? 'https' : 'http';
    my @paths = @{ $a{paths} || [ $a{path} // '/cgi-bin/env.cgi' ] };
    return curl_run(urls => [ map { "$scheme://$host:$fe{$fe}$_" } @paths ],
                    resolve => ["$host:$fe{$fe}:127.0.0.1"], from => $a{from} // untrusted,
                    headers => $a{headers});
}
sub env_of { ClientIP::Test::parse_env($_[0]) }
sub hex_of { unpack 'H*', $_[0] }

# ---- mode tcp, send-proxy (v1) --------------------------------------------------
{
    my $r = via('v1')->[0];
    my $env = env_of($r);
    subtest 'v1 (send-proxy): the client behind HAProxy' => sub {
        is $r->{code}, 200, 'status 200' or return diag $r->{error};
        is $env->{REMOTE_ADDR}, '127.0.0.2', 'REMOTE_ADDR is curl (127.0.0.2)';
        is $r->{headers}{'x-seen-client'}, '127.0.0.2', 'ap_expr %{REMOTE_ADDR} agrees';
        is $env->{CLIENTIP_PORT}, $r->{local_port}, "CLIENTIP_PORT is curl's port";
        is $env->{CLIENTIP_PEER_ADDR}, '127.0.0.1', 'the peer is HAProxy';
        is $env->{CLIENTIP_SOURCE}, 'proxy_protocol', 'CLIENTIP_SOURCE=proxy_protocol';
        is $env->{PROXY_PROTOCOL_ADDR}, '127.0.0.2', 'PROXY_PROTOCOL_ADDR';
        is $env->{PROXY_PROTOCOL_PORT}, $r->{local_port}, 'PROXY_PROTOCOL_PORT';
        is $env->{PROXY_PROTOCOL_SERVER_ADDR}, '127.0.0.1', 'PROXY_PROTOCOL_SERVER_ADDR';
        is $env->{PROXY_PROTOCOL_SERVER_PORT}, $fe{v1}, "PROXY_PROTOCOL_SERVER_PORT (HAProxy's port)";
    };
    my $line = wait_log_line($alog, $r->{id});
    like $line // '(no line)', qr/ client=127\.0\.0\.2 peer=127\.0\.0\.1 port=$r->{local_port} src=127\.0\.0\.2$/,
         'v1: access log %a, %{c}a, %{remote}p';
}

# ---- mode tcp, send-proxy-v2 with unique-id and crc32c --------------------------
{
    my $r = via('v2', path => '/clientip-info')->[0];
    my $j = eval { JSON::PP->new->decode($r->{body}) };
    subtest 'v2 (send-proxy-v2, unique-id, crc32c): clientip-info' => sub {
        is $r->{code}, 200, 'status 200 (CRC32C accepted)' or return diag $r->{error};
        ok ref $j eq 'HASH', 'JSON' or return diag $r->{body};
        is $j->{client}{ip}, '127.0.0.2', 'client.ip';
        is $j->{client}{port}, $r->{local_port}, 'client.port';
        is $j->{source}, 'proxy_protocol', 'source';
        is $j->{proxy_protocol}{version}, 2, 'proxy_protocol.version 2';
        is $j->{proxy_protocol}{kind}, 'TCP4', 'proxy_protocol.kind TCP4';
        is $j->{proxy_protocol}{variables}{PROXY_PROTOCOL_TLV_UNIQUE_ID},
           hex_of("127.0.0.2:$r->{local_port}-clientip"),
           'PROXY_PROTOCOL_TLV_UNIQUE_ID: hex of HAProxy\'s unique-id-format';
    };
}

# ---- mode tcp, TLS terminated by HAProxy, the SSL TLV ----------------------------
{
    my $r = via('tls')->[0];
    my $env = env_of($r);
    subtest 'v2 from a TLS frontend: authority, unique-id, ssl TLVs' => sub {
        is $r->{code}, 200, 'status 200' or return diag $r->{error};
        is $env->{REMOTE_ADDR}, '127.0.0.2', 'REMOTE_ADDR';
        is $env->{PROXY_PROTOCOL_TLV_AUTHORITY}, $host, 'AUTHORITY is the SNI';
        is $env->{PROXY_PROTOCOL_TLV_UNIQUE_ID}, hex_of("127.0.0.2:$r->{local_port}-clientip"),
           'UNIQUE_ID';
        is $env->{PROXY_PROTOCOL_TLV_SSL}, 1, 'SSL=1 (client used TLS, no certificate)';
        is $env->{PROXY_PROTOCOL_TLV_SSL_VERIFY}, 0, 'SSL_VERIFY=0';
        like $env->{PROXY_PROTOCOL_TLV_SSL_VERSION} // '', qr/^TLSv1\.[23]$/, 'SSL_VERSION';
        like $env->{PROXY_PROTOCOL_TLV_SSL_CIPHER} // '', qr/^[A-Z0-9_-]+$/, 'SSL_CIPHER';
        is $env->{PROXY_PROTOCOL_TLV_SSL_SIG_ALG}, 'ecdsa-with-SHA256', 'SSL_SIG_ALG';
        is $env->{PROXY_PROTOCOL_TLV_SSL_KEY_ALG}, 'EC256', 'SSL_KEY_ALG';
        is $env->{REQUEST_SCHEME}, 'https', 'REQUEST_SCHEME=https (ClientIPForwardedProto, SSL TLV)';
        is $env->{HTTPS}, 'on', 'HTTPS=on';
    };
    my $line = wait_log_line($alog, $r->{id});
    like $line // '(no line)', qr/ client=127\.0\.0\.2 peer=127\.0\.0\.1 port=$r->{local_port} scheme=https https=on name=\Q$host\E$/,
         'TLS frontend: access log line';
    my $redir = via('tls', path => '/dir')->[0];
    like $redir->{headers}{location} // "(status $redir->{code})", qr{^https://\Q$host\E:$fe{tls}/dir/(?:\?|$)},
         'TLS frontend: mod_dir redirect points at https://host:port/dir/';
}

# ---- mode http: X-Forwarded-For chained behind the PROXY header -----------------
{
    my $r = via('http', from => '127.0.0.2',
                headers => ['X-Forwarded-For' => '203.0.113.9', 'X-Forwarded-Proto' => 'https'])->[0];
    my $env = env_of($r);
    subtest 'http mode, forwardfor: trusted PROXY source, the walk continues' => sub {
        is $r->{code}, 200, 'status 200' or return diag $r->{error};
        is $env->{REMOTE_ADDR}, '203.0.113.9', 'REMOTE_ADDR from X-Forwarded-For';
        is $env->{CLIENTIP_SOURCE}, 'X-Forwarded-For', 'CLIENTIP_SOURCE';
        is $env->{CLIENTIP_PROXIES}, '127.0.0.2, 127.0.0.2, 127.0.0.1',
           "CLIENTIP_PROXIES: HAProxy's entry, the PROXY source, the TCP peer";
        ok !exists $env->{HTTP_X_FORWARDED_FOR}, 'X-Forwarded-For consumed';
        is $env->{PROXY_PROTOCOL_ADDR}, '127.0.0.2', 'PROXY_PROTOCOL_ADDR';
        is $env->{REQUEST_SCHEME}, 'https', 'X-Forwarded-Proto honoured (trusted source)';
        like $env->{PROXY_PROTOCOL_TLV_UNIQUE_ID} // '', qr/^[0-9a-f]+$/, 'UNIQUE_ID in hex';
    };
}
{
    my $r = via('http', from => '127.0.0.4',
                headers => ['X-Forwarded-For' => '203.0.113.9', 'X-Forwarded-Proto' => 'https'])->[0];
    my $env = env_of($r);
    subtest 'http mode, forwardfor: untrusted PROXY source, header neither honoured nor stripped' => sub {
        is $r->{code}, 200, 'status 200' or return diag $r->{error};
        is $env->{REMOTE_ADDR}, '127.0.0.4', 'REMOTE_ADDR is the PROXY source';
        is $env->{CLIENTIP_SOURCE}, 'proxy_protocol', 'CLIENTIP_SOURCE';
        is $env->{CLIENTIP_PROXIES}, '127.0.0.1', 'CLIENTIP_PROXIES: the TCP peer';
        is $env->{HTTP_X_FORWARDED_FOR}, '203.0.113.9, 127.0.0.4', 'X-Forwarded-For as HAProxy sent it';
        is $env->{REQUEST_SCHEME}, 'http', 'X-Forwarded-Proto ignored';
        ok !exists $env->{HTTPS}, 'HTTPS unset';
    };
}
# Keep-alive behind HAProxy: the backend connection, and its PROXY header,
# belongs to the client connection.
{
    my $res = via('http', from => '127.0.0.4', paths => [ '/cgi-bin/env.cgi', '/cgi-bin/env.cgi' ]);
    subtest 'http mode: two requests on one client connection' => sub {
        for my $i (0, 1) {
            is $res->[$i]{code}, 200, "request $i: status 200" or diag $res->[$i]{error};
            is env_of($res->[$i])->{REMOTE_ADDR}, '127.0.0.4', "request $i: REMOTE_ADDR";
        }
        is $res->[0]{local_port}, $res->[1]{local_port}, 'one client connection';
    };
}

# ---- mode http over TLS: the SSL TLV against X-Forwarded-Proto -------------------
{
    my $trusted_http = via('https', from => '127.0.0.2', headers => ['X-Forwarded-Proto' => 'http'])->[0];
    my $trusted_none = via('https', from => '127.0.0.2')->[0];
    my $untrusted    = via('https', from => '127.0.0.4', headers => ['X-Forwarded-Proto' => 'http'])->[0];
    subtest 'https frontend: scheme from the SSL TLV unless a trusted header says otherwise' => sub {
        for ([ $trusted_none, 'https', 'trusted source, no X-Forwarded-Proto: TLV' ],
             [ $trusted_http, 'http',  'trusted source, X-Forwarded-Proto http wins' ],
             [ $untrusted,    'https', 'untrusted source, X-Forwarded-Proto http ignored: TLV' ]) {
            my ($r, $scheme, $name) = @$_;
            is $r->{code}, 200, "$name: status 200" or diag $r->{error};
            is env_of($r)->{REQUEST_SCHEME}, $scheme, "$name: REQUEST_SCHEME=$scheme";
        }
        is env_of($untrusted)->{PROXY_PROTOCOL_TLV_AUTHORITY}, $host, 'AUTHORITY';
    };
}

# ---- health checks: v2 LOCAL from HAProxy itself ---------------------------------
{
    my @lines = ClientIP::Test::log_lines_for($alog, $check_id, timeout => 5);
    like $lines[0] // '(no health check seen)', qr/ client=127\.0\.0\.1 peer=127\.0\.0\.1 port=\d+ src=-$/,
         'health check (v2 LOCAL, CRC32C): accepted, the client is the peer, no PROXY_PROTOCOL_ADDR';
}

# ---- a static file (no CGI) through send-proxy ------------------------------------
{
    my $r = via('v1', path => '/hello.txt', from => '127.0.0.4')->[0];
    subtest 'static file through send-proxy from 127.0.0.4' => sub {
        is $r->{code}, 200, 'status 200' or return diag $r->{error};
        is $r->{headers}{'x-seen-client'}, '127.0.0.4', 'ap_expr %{REMOTE_ADDR} is the client';
    };
}
