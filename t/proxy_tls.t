# The PROXY header before TLS (mod_ssl) and under HTTP/2 (mod_http2).
#
# A second httpd of the test's own (ClientIP::Test::httpd_server: event MPM,
# mod_ssl, mod_http2, mod_reqtimeout as Debian enables it, a self-signed
# certificate for app.example made with openssl), all hosts
# "Protocols h2 h2c http/1.1", trusting 127.0.0.1 only, no ClientIPHeader
# (the PROXY header only):
#   tls        SSLEngine on, ClientIPProxyProtocol On
#   tls_slow   the same with ClientIPProxyProtocolTimeout 1
#   h2c        plain, ClientIPProxyProtocol On
#   plain_slow plain, On, ClientIPProxyProtocolTimeout 1
# "AcceptFilter ... none": Linux then hands httpd a connection before its
# first byte, so that a connection that sends nothing meets the timeout.
#
# Senders: a raw socket that writes the PROXY header and then starts TLS on
# the same socket (IO::Socket::SSL); curl --haproxy-protocol (v1, curl's own
# address), for HTTP/1.1 over TLS, h2 over TLS (several streams on one
# connection) and h2c with prior knowledge; a raw socket that writes the
# PROXY header and then several h2c streams (Protocol::HTTP2); and HAProxy (mode tcp, TLS and h2
# passed through; mode http to a "server ... ssl" backend) so that the
# client (curl on 127.0.0.2) differs from the peer (HAProxy on 127.0.0.1).
use strict;
use warnings;
use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use ClientIP::Test;
use IO::Socket::IP ();
use Socket qw(IPPROTO_TCP TCP_NODELAY);

my @missing;
push @missing, 'IO::Socket::SSL (libio-socket-ssl-perl)' unless eval { require IO::Socket::SSL; 1 };
push @missing, 'Protocol::HTTP2 (libprotocol-http2-perl)' unless eval { require Protocol::HTTP2::Client; 1 };
push @missing, 'haproxy' unless haproxy_binary();
push @missing, "mod_$_" for grep { !-e "/usr/lib/apache2/modules/mod_$_.so" } qw(ssl http2 reqtimeout);
if (@missing) {
    plan tests => 1;
    fail('everything this test needs is installed');
    diag "missing: @missing (scripts/install-deps installs them)";
    exit 1;
}

my $host = 'app.example';
my %used;
sub fresh_port { my $p; do { $p = free_port() } while $used{$p}++; $p }
my %p  = map { $_ => fresh_port() } qw(tls tls_slow h2c plain_slow);
my %hp = map { $_ => fresh_port() } qw(tcp_tls tcp_h2c http_to_tls);

my $tls_conf = <<'TLS';
    ServerName app.example
    SSLEngine on
    SSLCertificateFile "$DIR/cert.pem"
    SSLCertificateKeyFile "$DIR/key.pem"
TLS
my $body = <<"CONF";
AcceptFilter http none
AcceptFilter https none
SSLSessionCache "shmcb:\$DIR/logs/ssl_scache(512000)"
Protocols h2 h2c http/1.1
ClientIPTrustedProxies 127.0.0.1
LogFormat "%U%q client=%a peer=%{c}a proto=%H https=%{HTTPS}e" pp
CustomLog "\$DIR/logs/access_log" pp

<VirtualHost 127.0.0.1:$p{tls}>
$tls_conf    ClientIPProxyProtocol On
</VirtualHost>
<VirtualHost 127.0.0.1:$p{tls_slow}>
$tls_conf    ClientIPProxyProtocol On
    ClientIPProxyProtocolTimeout 1
</VirtualHost>
<VirtualHost 127.0.0.1:$p{h2c}>
    ClientIPProxyProtocol On
</VirtualHost>
<VirtualHost 127.0.0.1:$p{plain_slow}>
    ClientIPProxyProtocol On
    ClientIPProxyProtocolTimeout 1
</VirtualHost>
CONF

my $httpd = eval {
    httpd_server(mpm => 'event', modules => [qw(ssl http2 reqtimeout socache_shmcb)],
                 cert_name => $host, listen => [ map { "127.0.0.1:$_" } values %p ], body => $body);
};
unless ($httpd) {
    plan tests => 1;
    fail('own httpd (event, mod_ssl, mod_http2) started');
    diag $@;
    exit 1;
}
my $elog = $httpd->{error_log};

my $haproxy = eval {
    haproxy_server(cert_name => $host, listen => [ values %hp ], config => <<"CONF");
frontend fe_tcp_tls
    mode tcp
    bind 127.0.0.1:$hp{tcp_tls}
    default_backend be_tcp_tls
backend be_tcp_tls
    mode tcp
    server httpd 127.0.0.1:$p{tls} send-proxy-v2 proxy-v2-options crc32c

frontend fe_tcp_h2c
    mode tcp
    bind 127.0.0.1:$hp{tcp_h2c}
    default_backend be_tcp_h2c
backend be_tcp_h2c
    mode tcp
    server httpd 127.0.0.1:$p{h2c} send-proxy

frontend fe_http_to_tls
    mode http
    bind 127.0.0.1:$hp{http_to_tls}
    default_backend be_http_to_tls
backend be_http_to_tls
    mode http
    server httpd 127.0.0.1:$p{tls} ssl verify none send-proxy-v2
CONF
};
unless ($haproxy) {
    plan tests => 1;
    fail('haproxy started');
    diag $@;
    exit 1;
}

plan tests => 18;

sub env_of { ClientIP::Test::parse_env($_[0]) }

# A raw connection: the PROXY header (chunks, `pause` apart), then a TLS
# handshake on the same socket, then one request (Connection: close).
# Returns the parsed response (parse_http) plus error and local_port.
sub tls_after_header {
    my (%a) = @_;
    my $sock = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $a{port},
                                   LocalHost => $a{from} // trusted, Proto => 'tcp')
        or return { code => 0, error => "connect: $@" };
    setsockopt($sock, IPPROTO_TCP, TCP_NODELAY, 1);
    my $local_port = $sock->sockport;
    my @chunks = ref $a{header} ? @{ $a{header} } : ($a{header});
    for my $i (0 .. $#chunks) {
        syswrite $sock, $chunks[$i];
        sleep $a{pause} if $a{pause} and $i < $#chunks;
    }
    IO::Socket::SSL->start_SSL($sock, SSL_verify_mode => 0, SSL_hostname => $host, Timeout => 10)
        or return { code => 0, error => "TLS handshake: $IO::Socket::SSL::SSL_ERROR",
                    local_port => $local_port };
    my $id = "proxy_tls-$$-" . ++$main::n;
    print $sock "GET /cgi-bin/env.cgi?id=$id HTTP/1.1\r\nHost: $host\r\nX-Test-Id: $id\r\n"
              . "Connection: close\r\n\r\n";
    my $data = '';
    while (1) {
        my $n = sysread $sock, my $buf, 65536;
        last unless $n;
        $data .= $buf;
    }
    close $sock;
    my $res = parse_http($data);
    $res->{local_port} = $local_port;
    $res->{id} = $id;
    return $res;
}

# A raw connection: the PROXY header, then an h2c connection (prior
# knowledge) with one stream per path, all opened at once, on this one
# socket (Protocol::HTTP2 does the framing). Returns a list ref of
# { code, headers (name => value), body } per path, in order, and the
# socket's local port.
sub h2c_after_header {
    my (%a) = @_;
    require IO::Select;
    my $sock = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $a{port},
                                   LocalHost => $a{from} // trusted, Proto => 'tcp')
        or die "connect: $@\n";
    my $local_port = $sock->sockport;
    syswrite $sock, $a{header};
    my $client = Protocol::HTTP2::Client->new;
    my @res = map { { code => 0, headers => {}, body => '' } } @{ $a{paths} };
    my $pending = @res;
    for my $i (0 .. $#res) {
        my $id = "proxy_tls-$$-" . ++$main::n;
        $client->request(':scheme' => 'http', ':authority' => "127.0.0.1:$a{port}",
                         ':path' => "$a{paths}[$i]&id=$id", ':method' => 'GET',
                         headers => ['x-test-id' => $id],
                         on_done => sub {
                             my ($headers, $body) = @_;
                             my %h = @$headers;
                             $res[$i] = { code => $h{':status'} // 0, headers => \%h,
                                          body => $body // '' };
                             $pending--;
                         });
    }
    my $sel = IO::Select->new($sock);
    my $deadline = time + 10;
    while (1) {
        while (my $frame = $client->next_frame) { syswrite $sock, $frame }
        last if $pending <= 0 or time > $deadline or !$sel->can_read(1);
        my $n = sysread $sock, my $data, 65536;
        last unless $n;
        $client->feed($data);
    }
    close $sock;
    return (\@res, $local_port);
}

# A connection httpd must refuse: closed with nothing sent back, one log line
# with the reason, and the child that refused it still alive.
sub refused_ok {
    my ($name, $port, $why, %a) = @_;
    my $r = raw_exchange(port => $port, %a);
    my $from = $a{from} // trusted;
    subtest $name => sub {
        ok $r->{closed}, 'closed by the server' or diag "timed out: $r->{timed_out}";
        is length $r->{data}, 0, 'no response';
        my @lines = wait_for_log($elog, qr/closing connection from \Q$from\E:$r->{local_port} to 127\.0\.0\.1:$port: .*$why/);
        is scalar @lines, 1, "one log line: $why";
        httpd_child_survived($lines[0], $elog);
        if ($a{timeout_test}) {
            cmp_ok $r->{seconds}, '>', 0.7, 'not before the 1 s timeout';
            cmp_ok $r->{seconds}, '<', 3.5, 'well before the default 5 s';
        }
    };
}

# ---- mod_ssl: the PROXY header comes before the TLS handshake --------------------

{
    my $res = tls_after_header(port => $p{tls},
                               header => proxy_v2(src => '203.0.113.5', sport => 4444,
                                                  tlvs => [[0x02, $host]], crc => 1));
    my $env = env_of($res);
    subtest 'raw socket: PROXY v2, then TLS on the same socket' => sub {
        is $res->{code}, 200, 'status 200' or return diag $res->{error} // $res->{body};
        is $env->{REMOTE_ADDR}, '203.0.113.5', 'REMOTE_ADDR from the PROXY header';
        is $env->{CLIENTIP_PORT}, 4444, 'CLIENTIP_PORT';
        is $env->{CLIENTIP_PEER_PORT}, $res->{local_port}, 'the peer is our socket';
        is $env->{CLIENTIP_SOURCE}, 'proxy_protocol', 'CLIENTIP_SOURCE';
        is $env->{PROXY_PROTOCOL_TLV_AUTHORITY}, $host, 'PROXY_PROTOCOL_TLV_AUTHORITY';
        is $env->{HTTPS}, 'on', 'HTTPS=on (mod_ssl)';
        is $env->{SSL_TLS_SNI}, $host, 'SNI reached mod_ssl';
        is $res->{headers}{'x-seen-client'}, '203.0.113.5', 'ap_expr %{REMOTE_ADDR}';
    };
}
{
    my $res = tls_after_header(port => $p{tls}, header => [ split //, proxy_v1(src => '203.0.113.6') ],
                               pause => 0.005);
    my $env = env_of($res);
    subtest 'raw socket: PROXY v1 byte by byte, then TLS' => sub {
        is $res->{code}, 200, 'status 200' or return diag $res->{error} // $res->{body};
        is $env->{REMOTE_ADDR}, '203.0.113.6', 'REMOTE_ADDR';
        is $env->{HTTPS}, 'on', 'HTTPS=on';
    };
}
{
    # A TLS ClientHello straight away: no PROXY header.
    my $res = tls_after_header(port => $p{tls}, header => '');
    subtest 'TLS without a PROXY header: no handshake, closed' => sub {
        is $res->{code}, 0, 'no response' or diag $res->{body};
        my @lines = wait_for_log($elog, qr/closing connection from 127\.0\.0\.1:$res->{local_port} to 127\.0\.0\.1:$p{tls}: no PROXY header/);
        is scalar @lines, 1, 'one log line: no PROXY header';
        httpd_child_survived($lines[0], $elog);
    };
}

{
    my $res = curl_run(urls => [ "https://$host:$p{tls}/cgi-bin/env.cgi", "https://$host:$p{tls}/cgi-bin/env.cgi" ],
                       resolve => ["$host:$p{tls}:127.0.0.1"], args => ['--haproxy-protocol', '--http1.1']);
    subtest 'curl --haproxy-protocol -k https:// (HTTP/1.1, two requests, one connection)' => sub {
        for my $i (0, 1) {
            my $r = $res->[$i];
            my $env = env_of($r);
            is $r->{code}, 200, "request $i: status 200" or diag $r->{error};
            is $env->{CLIENTIP_SOURCE}, 'proxy_protocol', "request $i: CLIENTIP_SOURCE";
            is $env->{REMOTE_ADDR}, '127.0.0.1', "request $i: REMOTE_ADDR";
            is $env->{PROXY_PROTOCOL_PORT}, $r->{local_port}, "request $i: PROXY_PROTOCOL_PORT is curl's";
            is $env->{PROXY_PROTOCOL_SERVER_PORT}, $p{tls}, "request $i: PROXY_PROTOCOL_SERVER_PORT";
            is $env->{HTTPS}, 'on', "request $i: HTTPS=on";
            is $env->{SERVER_PROTOCOL}, 'HTTP/1.1', "request $i: HTTP/1.1";
        }
        is $res->[0]{num_connects} + $res->[1]{num_connects}, 1, 'one connection';
    };
}
{
    my $r = curl_run(urls => [ "https://$host:$p{tls}/cgi-bin/env.cgi" ],
                     resolve => ["$host:$p{tls}:127.0.0.1"])->[0];
    subtest 'curl -k https:// without --haproxy-protocol: refused' => sub {
        is $r->{code}, '000', 'no response';
        my @lines = wait_for_log($elog, qr/closing connection from 127\.0\.0\.1:$r->{local_port} to 127\.0\.0\.1:$p{tls}: no PROXY header/);
        is scalar @lines, 1, 'one log line: no PROXY header';
    };
}
{
    my $r = curl_run(urls => [ "https://$host:$p{tls}/cgi-bin/env.cgi" ], from => untrusted,
                     resolve => ["$host:$p{tls}:127.0.0.1"], args => ['--haproxy-protocol'])->[0];
    subtest 'curl --haproxy-protocol https:// from 127.0.0.2 (untrusted): refused' => sub {
        is $r->{code}, '000', 'no response';
        my @lines = wait_for_log($elog, qr/closing connection from 127\.0\.0\.2:$r->{local_port} to 127\.0\.0\.1:$p{tls}: peer is not in ClientIPTrustedProxies/);
        is scalar @lines, 1, 'one log line';
        httpd_child_survived($lines[0], $elog);
    };
}

# ---- the header timeout, on TLS and plain listeners ----------------------------

refused_ok('TLS listener: partial header, closed by ClientIPProxyProtocolTimeout 1',
           $p{tls_slow}, qr/PROXY header incomplete after 1 s \(19 bytes\)/,
           send => 'PROXY TCP4 192.0.2.', timeout_test => 1);
refused_ok('TLS listener: nothing sent, closed by ClientIPProxyProtocolTimeout 1',
           $p{tls_slow}, qr/PROXY header incomplete after 1 s \(0 bytes\)/, timeout_test => 1);
refused_ok('plain listener: nothing sent, closed by ClientIPProxyProtocolTimeout 1',
           $p{plain_slow}, qr/PROXY header incomplete after 1 s \(0 bytes\)/, timeout_test => 1);
{
    # The timeout bounds the header, not the TLS handshake after it.
    my $res = tls_after_header(port => $p{tls_slow}, header => proxy_v1(src => '203.0.113.8'));
    is env_of($res)->{REMOTE_ADDR}, '203.0.113.8', 'TLS listener with a 1 s timeout: a prompt header is accepted';
}

# ---- mod_http2: every stream sees the PROXY client -------------------------------

# URLs of one curl run (in parallel): HTTP/2 streams on one connection.
sub h2_streams_ok {
    my ($name, $res, %want) = @_;
    subtest $name => sub {
        my %peer_ports;
        my $connects = 0;
        for my $i (0 .. $#$res) {
            my $r = $res->[$i];
            my $env = env_of($r);
            is $r->{code}, 200, "stream $i: status 200" or diag $r->{error};
            is $r->{http_version}, '2', "stream $i: HTTP/2";
            is $env->{SERVER_PROTOCOL}, 'HTTP/2.0', "stream $i: SERVER_PROTOCOL HTTP/2.0";
            is $env->{REMOTE_ADDR}, $want{client}, "stream $i: REMOTE_ADDR $want{client}";
            is $r->{headers}{'x-seen-client'}, $want{client}, "stream $i: ap_expr %{REMOTE_ADDR}";
            is $env->{CLIENTIP_SOURCE}, 'proxy_protocol', "stream $i: CLIENTIP_SOURCE";
            is $env->{CLIENTIP_PEER_ADDR}, '127.0.0.1', "stream $i: the peer";
            is $env->{PROXY_PROTOCOL_ADDR}, $want{client}, "stream $i: PROXY_PROTOCOL_ADDR";
            is $env->{PROXY_PROTOCOL_PORT}, $r->{local_port}, "stream $i: PROXY_PROTOCOL_PORT is curl's port";
            is $env->{HTTPS}, $want{https}, "stream $i: HTTPS " . ($want{https} // 'unset');
            $peer_ports{ $env->{CLIENTIP_PEER_PORT} // '?' }++;
            $connects += $r->{num_connects} // 0;
        }
        is scalar keys %peer_ports, 1, 'all streams on one connection to httpd';
        is $connects, 1, 'curl made one connection';
    };
}

my @three = map { "/cgi-bin/env.cgi?stream=$_" } 1 .. 3;
{
    my $res = curl_run(urls => [ map { "https://$host:$p{tls}$_" } @three ],
                       resolve => ["$host:$p{tls}:127.0.0.1"],
                       args => ['--http2', '--haproxy-protocol', '--parallel']);
    h2_streams_ok('h2 over TLS, curl --http2 --haproxy-protocol, 3 streams', $res,
                  client => '127.0.0.1', https => 'on');
}
# h2c with curl: one stream per connection. (curl 7.88 drops an h2c
# connection after its first stream and reports "Error in the HTTP2 framing
# layer" for the next ones, with or without a PROXY header; several h2c
# streams are shown by the raw client below.)
my @one = ('/cgi-bin/env.cgi?stream=1');
{
    my $res = curl_run(urls => [ map { "http://127.0.0.1:$p{h2c}$_" } @one ],
                       args => ['--http2-prior-knowledge', '--haproxy-protocol']);
    h2_streams_ok('h2c prior knowledge, curl --http2-prior-knowledge --haproxy-protocol', $res,
                  client => '127.0.0.1', https => undef);
}
{
    my ($res, $local_port) = h2c_after_header(port => $p{h2c},
                                              header => proxy_v2(src => '203.0.113.77', sport => 7777),
                                              paths => [ map { "/cgi-bin/env.cgi?stream=$_" } 1 .. 3 ]);
    subtest 'raw h2c: PROXY v2, then 3 streams on the same connection' => sub {
        for my $i (0 .. 2) {
            my $r = $res->[$i];
            my $env = env_of($r);
            is $r->{code}, 200, "stream $i: status 200" or diag $r->{body};
            is $env->{SERVER_PROTOCOL}, 'HTTP/2.0', "stream $i: HTTP/2.0";
            is $env->{REMOTE_ADDR}, '203.0.113.77', "stream $i: REMOTE_ADDR from the PROXY header";
            is $r->{headers}{'x-seen-client'}, '203.0.113.77', "stream $i: ap_expr %{REMOTE_ADDR}";
            is $env->{CLIENTIP_PORT}, 7777, "stream $i: CLIENTIP_PORT";
            is $env->{CLIENTIP_PEER_PORT}, $local_port, "stream $i: the peer is our one socket";
            is $env->{CLIENTIP_SOURCE}, 'proxy_protocol', "stream $i: CLIENTIP_SOURCE";
        }
    };
}
{
    my $res = curl_run(urls => [ map { "https://$host:$hp{tcp_tls}$_" } @three ], from => untrusted,
                       resolve => ["$host:$hp{tcp_tls}:127.0.0.1"], args => ['--http2', '--parallel']);
    h2_streams_ok('h2 over TLS through HAProxy (mode tcp, send-proxy-v2) from 127.0.0.2, 3 streams',
                  $res, client => '127.0.0.2', https => 'on');
}
{
    my $res = curl_run(urls => [ map { "http://127.0.0.1:$hp{tcp_h2c}$_" } @one ], from => untrusted,
                       args => ['--http2-prior-knowledge']);
    h2_streams_ok('h2c through HAProxy (mode tcp, send-proxy) from 127.0.0.2',
                  $res, client => '127.0.0.2', https => undef);
}
{
    my $r = curl_run(urls => [ "https://$host:$p{tls}/clientip-info" ],
                     resolve => ["$host:$p{tls}:127.0.0.1"], args => ['--http2', '--haproxy-protocol'])->[0];
    my $j = eval { JSON::PP->new->decode($r->{body}) };
    subtest 'clientip-info over h2' => sub {
        is $r->{http_version}, '2', 'HTTP/2';
        ok ref $j eq 'HASH', 'JSON' or return diag $r->{error} // $r->{body};
        is $j->{source}, 'proxy_protocol', 'source: proxy_protocol';
        is $j->{proxy_protocol}{version}, 1, 'proxy_protocol.version 1 (curl)';
        is $j->{proxy_protocol}{kind}, 'TCP4', 'proxy_protocol.kind TCP4';
        is $j->{client}{port}, $r->{local_port}, "client.port is curl's";
    };
}

# ---- HAProxy mode http to a TLS backend: server ... ssl send-proxy-v2 -----------
{
    my $res = curl_run(urls => [ "http://127.0.0.1:$hp{http_to_tls}/cgi-bin/env.cgi" ], from => untrusted);
    my $r = $res->[0];
    my $env = env_of($r);
    subtest 'HAProxy "server ... ssl verify none send-proxy-v2": PROXY, then TLS to httpd' => sub {
        is $r->{code}, 200, 'status 200' or return diag $r->{error};
        is $env->{REMOTE_ADDR}, '127.0.0.2', 'REMOTE_ADDR is curl';
        is $env->{CLIENTIP_PEER_ADDR}, '127.0.0.1', 'the peer is HAProxy';
        is $env->{HTTPS}, 'on', 'HTTPS=on: HAProxy spoke TLS to httpd';
        is $env->{PROXY_PROTOCOL_PORT}, $r->{local_port}, "PROXY_PROTOCOL_PORT is curl's port";
    };
}

# ---- the access log of the own server -------------------------------------------
{
    my $res = tls_after_header(port => $p{tls}, header => proxy_v1(src => '203.0.113.9'));
    my $line = wait_log_line("$httpd->{dir}/logs/access_log", $res->{id});
    like $line // '(no line)', qr/ client=203\.0\.113\.9 peer=127\.0\.0\.1 proto=HTTP\/1\.1 https=on$/,
         'access log over TLS: %a is the PROXY source, %{c}a the peer';
}
