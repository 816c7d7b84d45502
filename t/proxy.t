# The PROXY protocol end to end, with real bytes on real loopback sockets:
# headers built byte for byte (ClientIP::Test::proxy_v1/proxy_v2), sent whole,
# split or trickled, and curl --haproxy-protocol as a real sender.
#
# Hosts (t/conf/extra.conf.in), each on a port of its own:
#   cip_pp_on     ClientIPProxyProtocol On, trusts 127.0.0.1, exception 127.0.0.3
#   cip_pp_opt    Optional
#   cip_pp_slow   On, ClientIPProxyProtocolTimeout 1
#   cip_pp_chain  On, X-Forwarded-For walked on from a trusted PROXY source
#                 (198.51.100.0/24, 127.0.0.2), ClientIPForwardedProto/Host On
#   cip_pp_only   On, ClientIPHeader proxy_protocol
#
# What a user sees: an accepted connection serves requests whose client is
# the PROXY source (CGI environment, ap_expr, %a, clientip-info); a refused
# one is closed without a single byte of response, and the error log has one
# warning line naming the peer, the reason and the directive to look at.
use strict;
use warnings;
use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use ClientIP::Test;
use Socket qw(inet_aton);
use Time::HiRes qw(time sleep);

my $logs = t_logs();
my $elog = "$logs/cip_pp_error_log";
my $alog = "$logs/cip_pp_access_log";
my %port = map { $_ => vhost_port("cip_pp_$_") } qw(on opt slow chain only);

# A request that follows the header on refused connections: it must never
# be answered.
my $REQ = "GET /cgi-bin/env.cgi HTTP/1.0\r\n\r\n";

# ---- helpers -------------------------------------------------------------------

# Sends, then expects: closed by the server, nothing received, and exactly
# one warning "closing connection from <peer> to <local>: <why> (<hint>)".
sub refused {
    my ($name, $why, %a) = @_;
    my $from = $a{from} // trusted;
    my $port = $port{ $a{host} // 'on' };
    my $log_size = -s $elog // 0;
    my $r = raw_exchange(port => $port, %a);
    subtest $name => sub {
        ok $r->{closed}, 'the server closed the connection'
            or diag "timed out: $r->{timed_out}, error: " . ($r->{error} // '');
        is length $r->{data}, 0, 'no response at all' or diag $r->{data};
        my $re = qr/closing connection from \Q$from\E:$r->{local_port} to 127\.0\.0\.1:$port: /;
        my @lines = wait_for_log($elog, $re, from => $log_size);
        is scalar @lines, 1, 'one log line for the connection' or diag join "\n", @lines;
        like $lines[0] // '(no line)', qr/\[clientip:warn\].*$re.*$why.* \(\S.*\)$/,
             'it names the peer, the reason and a directive';
        httpd_child_survived($lines[0], "$logs/error_log");
        if (defined $a{max_seconds}) {
            cmp_ok $r->{seconds}, '<', $a{max_seconds}, "closed within $a{max_seconds} s";
        }
        $a{extra}->($r, $lines[0] // '') if $a{extra};
    };
    return $r;
}

# What a CGI sees when the PROXY source is the client.
sub from_proxy {
    my (%a) = @_;
    my $want = changed(client => $a{client}, port => $a{port}, source => 'proxy_protocol',
                       proxies => $a{proxies} // trusted, header => undef);
    $want->{PROXY_PROTOCOL_ADDR} = $a{proxy_addr} // $a{client};
    $want->{PROXY_PROTOCOL_PORT} = $a{port};
    $want->{PROXY_PROTOCOL_SERVER_ADDR} = $a{server_addr} if exists $a{server_addr};
    $want->{PROXY_PROTOCOL_SERVER_PORT} = $a{server_port} if exists $a{server_port};
    return $want;
}

# What a CGI sees when the PROXY header kept the peer (LOCAL, UNKNOWN,
# UNSPEC/UNIX/DGRAM) or there was none.
sub peer_kept {
    my (%a) = @_;
    my $want = unchanged(peer => $a{peer} // trusted, header => undef);
    $want->{PROXY_PROTOCOL_ADDR} = undef;
    $want->{PROXY_PROTOCOL_PORT} = undef;
    return $want;
}

# ---- accepted headers ----------------------------------------------------------

{
    my ($res, $env) = proxy_cgi_env(vhost => 'cip_pp_on', header => proxy_v1());
    env_ok($res, $env, from_proxy(client => '203.0.113.7', port => 4711,
                                  server_addr => '127.0.0.1', server_port => 80),
           'v1 TCP4: the source is the client, with its port');
    my $line = wait_log_line($alog, $res->{id});
    like $line // '(no line)', qr/ client=203\.0\.113\.7 peer=127\.0\.0\.1 port=4711 src=203\.0\.113\.7$/,
         'access log: %a is the PROXY source, %{c}a the peer, %{remote}p its port';
}

{
    my ($res, $env) = proxy_cgi_env(vhost => 'cip_pp_on',
                                    header => proxy_v1(proto => 'TCP6', sport => 65535, dport => 443));
    env_ok($res, $env, from_proxy(client => '2001:db8::7', port => 65535,
                                  server_addr => '::1', server_port => 443),
           'v1 TCP6, port 65535');
}

{
    my ($res, $env) = proxy_cgi_env(vhost => 'cip_pp_on',
                                    header => proxy_v1(proto => 'TCP6', src => '::ffff:203.0.113.9'));
    env_ok($res, $env, from_proxy(client => '203.0.113.9', port => 4711),
           'v1 TCP6 with an IPv4-mapped source: dotted IPv4 client');
}

{
    my ($res, $env) = proxy_cgi_env(vhost => 'cip_pp_on',
                                    header => proxy_v2(src => '192.0.2.44', sport => 1234,
                                                       dst => '127.0.0.1', dport => 8443, crc => 1));
    env_ok($res, $env, from_proxy(client => '192.0.2.44', port => 1234,
                                  server_addr => '127.0.0.1', server_port => 8443),
           'v2 INET with a correct CRC32C');
}

{
    my ($res, $env) = proxy_cgi_env(vhost => 'cip_pp_on',
                                    header => proxy_v2(family => 'INET6', src => '2001:db8:1::99',
                                                       sport => 50000));
    env_ok($res, $env, from_proxy(client => '2001:db8:1::99', port => 50000, server_addr => '::1'),
           'v2 INET6');
}

# Source port 0: the client's port is unknown.
{
    my ($res, $env) = proxy_cgi_env(vhost => 'cip_pp_on', header => proxy_v1(src => '203.0.113.90', sport => 0));
    my $want = from_proxy(client => '203.0.113.90', port => undef);
    $want->{PROXY_PROTOCOL_PORT} = '0';
    env_ok($res, $env, $want, 'v1 source port 0: PROXY_PROTOCOL_PORT=0, CLIENTIP_PORT unset');
    my $line = wait_log_line($alog, $res->{id});
    like $line // '(no line)', qr/ client=203\.0\.113\.90 peer=127\.0\.0\.1 port=0 src=203\.0\.113\.90$/,
         'source port 0: %{remote}p logs 0';
    my ($ires, $j) = proxy_info_json(vhost => 'cip_pp_on', header => proxy_v1(src => '203.0.113.90', sport => 0));
    ok ref $j eq 'HASH' && exists $j->{client}{port} && !defined $j->{client}{port},
       'source port 0: clientip-info client.port is null' or diag $ires->{body};
}

# The header and the request in one segment: what follows the header is the
# request (HAProxy sends it that way).
{
    my $r = raw_exchange(vhost => 'cip_pp_on',
                         send => proxy_v1(src => '203.0.113.21') . "GET /cgi-bin/env.cgi HTTP/1.0\r\n\r\n");
    my $res = parse_http($r->{data});
    my $env = ClientIP::Test::parse_env($res);
    is_deeply [ $res->{code}, $env->{REMOTE_ADDR}, $env->{CLIENTIP_PEER_PORT} ],
              [ 200, '203.0.113.21', $r->{local_port} ],
              'header and request in one write: 200, client from the header';
}

# Split: every byte in a segment of its own, 5 ms apart.
for my $case ([ v1 => proxy_v1(src => '203.0.113.31', sport => 31) ],
              [ v2 => proxy_v2(src => '203.0.113.32', sport => 32, crc => 1,
                               tlvs => [[0x02, 'split.example']]) ]) {
    my ($v, $header) = @$case;
    my ($res, $env) = proxy_cgi_env(vhost => 'cip_pp_on', header => [ split //, $header ],
                                    pause => 0.005);
    my $n = $v eq 'v1' ? 31 : 32;
    env_ok($res, $env, from_proxy(client => "203.0.113.$n", port => $n),
           "$v header sent byte by byte (" . length($header) . ' segments)');
}

# The longest legal v1 line: 107 bytes with CRLF (UNKNOWN and its ignored tail).
{
    my $line = 'PROXY UNKNOWN ' . ('x' x (107 - 16)) . "\r\n";
    my ($res, $env) = proxy_cgi_env(vhost => 'cip_pp_on', header => $line);
    env_ok($res, $env, peer_kept(), sprintf('v1 line of exactly %d bytes is accepted (UNKNOWN: the peer)',
                                            length $line));
}

# LOCAL, UNKNOWN and the families that name no TCP client keep the peer.
for my $case (
    [ 'v2 LOCAL, len 0',                  proxy_v2(command => 'LOCAL', family => 'UNSPEC', transport => 'UNSPEC'), 2, 'LOCAL' ],
    [ 'v2 LOCAL with addresses and TLVs',  proxy_v2(command => 'LOCAL', tlvs => [[0x02, 'health.example']], crc => 1), 2, 'LOCAL' ],
    [ 'v1 PROXY UNKNOWN',                 "PROXY UNKNOWN\r\n", 1, 'UNKNOWN' ],
    [ 'v1 PROXY UNKNOWN with a tail',     "PROXY UNKNOWN 2001:db8::1 ::1 1 2\r\n", 1, 'UNKNOWN' ],
    [ 'v2 PROXY over UNSPEC',             proxy_v2(family => 'UNSPEC', transport => 'UNSPEC'), 2, 'unsupported' ],
    [ 'v2 PROXY over UNIX stream',        proxy_v2(family => 'UNIX'), 2, 'unsupported' ],
    [ 'v2 PROXY over INET DGRAM',         proxy_v2(transport => 'DGRAM'), 2, 'unsupported' ],
    [ 'v2 PROXY over INET6 DGRAM',        proxy_v2(family => 'INET6', transport => 'DGRAM'), 2, 'unsupported' ],
) {
    my ($name, $header, $version, $kind) = @$case;
    my ($res, $env) = proxy_cgi_env(vhost => 'cip_pp_on', header => $header);
    env_ok($res, $env, peer_kept(), "$name: the peer stays the client");
    my ($ires, $j) = proxy_info_json(vhost => 'cip_pp_on', header => $header);
    subtest "$name: clientip-info" => sub {
        is $ires->{code}, 200, 'status 200';
        ok ref $j eq 'HASH', 'JSON' or return diag $ires->{body};
        is $j->{client}{ip}, '127.0.0.1', 'client is the peer';
        is $j->{source}, undef, 'source: null';
        is $j->{proxy_protocol}{version}, $version, "proxy_protocol.version $version";
        is $j->{proxy_protocol}{kind}, $kind, "proxy_protocol.kind $kind";
        ok !exists $j->{proxy_protocol}{variables}{PROXY_PROTOCOL_ADDR}, 'no PROXY_PROTOCOL_ADDR';
    };
}

# Large headers: 16 KB of TLVs, and the largest legal header (16 + 65,535).
{
    my @tlvs = ([0x04, "\0" x 8192], [0xf1, 'A' x 8192], [0x02, 'big.example']);
    my $header = proxy_v2(src => '203.0.113.41', sport => 41, tlvs => \@tlvs, crc => 1);
    my ($res, $env) = proxy_cgi_env(vhost => 'cip_pp_on', header => $header);
    my $want = from_proxy(client => '203.0.113.41', port => 41);
    $want->{PROXY_PROTOCOL_TLV_AUTHORITY} = 'big.example';
    $want->{PROXY_PROTOCOL_TLV_0xf1} = '41' x 8192;
    env_ok($res, $env, $want, sprintf('v2 with 16 KB of TLVs (%d bytes) and a CRC32C', length $header));
}
{
    # 12 address bytes + CRC TLV (7) + AUTHORITY TLV (3 + 11) + NOOP filler.
    my $filler = 65535 - 12 - 7 - 14 - 3;
    my $header = proxy_v2(src => '203.0.113.42', sport => 42, crc => 1,
                          tlvs => [[0x04, "\0" x $filler], [0x02, 'max.example']]);
    my ($res, $env) = proxy_cgi_env(vhost => 'cip_pp_on', header => $header);
    my $want = from_proxy(client => '203.0.113.42', port => 42);
    $want->{PROXY_PROTOCOL_TLV_AUTHORITY} = 'max.example';
    is length $header, 65551, 'the maximal header is 65,551 bytes';
    env_ok($res, $env, $want, 'maximal v2 header (len 65535, CRC32C over all of it) accepted');
}

# Keep-alive: every request on the connection has the PROXY client.
{
    my $c = proxy_connection(vhost => 'cip_pp_on', keep_alive => 1,
                             header => proxy_v2(src => '203.0.113.51', sport => 5151));
    my @res = map { scalar eval { $c->get(path => '/cgi-bin/env.cgi') } } 1 .. 2;
    $c->close;
    subtest 'keep-alive: two requests on one PROXY connection' => sub {
        for my $i (0, 1) {
            my $res = $res[$i] // { code => 0 };
            my $env = ClientIP::Test::parse_env($res);
            is $res->{code}, 200, "request $i: status 200";
            is $env->{REMOTE_ADDR}, '203.0.113.51', "request $i: REMOTE_ADDR";
            is $env->{CLIENTIP_PORT}, 5151, "request $i: CLIENTIP_PORT";
            is $env->{CLIENTIP_SOURCE}, 'proxy_protocol', "request $i: CLIENTIP_SOURCE";
            is $env->{PROXY_PROTOCOL_ADDR}, '203.0.113.51', "request $i: PROXY_PROTOCOL_ADDR";
            is $res->{headers}{'x-seen-client'}, '203.0.113.51', "request $i: ap_expr REMOTE_ADDR";
        }
        is ClientIP::Test::parse_env($res[1] // {code => 0})->{CLIENTIP_PEER_PORT},
           ClientIP::Test::parse_env($res[0] // {code => 0})->{CLIENTIP_PEER_PORT},
           'the same connection';
    };
}

# ---- the PROXY_PROTOCOL_* variables --------------------------------------------

{
    my @tlvs = (
        [0x01, 'h2'],
        [0x02, "app.\x01exa\\mple"],                 # a control byte and a backslash
        [0x05, "\x00\x01\xfe\xffid"],
        ssl_tlv(client => 7, verify => 3,
                sub => [[0x21, 'TLSv1.3'], [0x22, 'client.example'],
                        [0x23, 'TLS_AES_128_GCM_SHA256'], [0x24, 'ecdsa-with-SHA256'],
                        [0x25, 'EC256']]),
        [0x30, 'blue'],
        [0x04, 'padding'],
        [0x42, "\x00\xff"],
        [0xf0, 'exp'],
        [0xEA, "\x01vpce-0123456789abcdef0"],
        [0xEE, "\x01" . pack('V', 0xDEADBEEF)],
        [0xE0, pack('N N', 0x11223344, 0x55667788)],
    );
    my %want_tlv = (
        ALPN           => 'h2',
        AUTHORITY      => 'app.\x01exa\x5cmple',
        UNIQUE_ID      => '0001feff6964',
        SSL            => '7',
        SSL_VERIFY     => '3',
        SSL_VERSION    => 'TLSv1.3',
        SSL_CN         => 'client.example',
        SSL_CIPHER     => 'TLS_AES_128_GCM_SHA256',
        SSL_SIG_ALG    => 'ecdsa-with-SHA256',
        SSL_KEY_ALG    => 'EC256',
        NETNS          => 'blue',
        '0x42'         => '00ff',
        '0xf0'         => '657870',
        AWS_VPCE_ID    => 'vpce-0123456789abcdef0',
        AZURE_LINKID   => '3735928559',
        GCP_PSC_ID     => '1234605616436508552',   # 0x1122334455667788
    );
    my $header = proxy_v2(src => '203.0.113.61', sport => 6161, dst => '198.51.100.80',
                          dport => 443, tlvs => \@tlvs, crc => 1);
    my ($res, $env) = proxy_cgi_env(vhost => 'cip_pp_on', header => $header);
    my $want = from_proxy(client => '203.0.113.61', port => 6161,
                          server_addr => '198.51.100.80', server_port => 443);
    $want->{"PROXY_PROTOCOL_TLV_$_"} = $want_tlv{$_} for keys %want_tlv;
    $want->{$_} = undef for qw(PROXY_PROTOCOL_TLV_0x03 PROXY_PROTOCOL_TLV_0x04
                               PROXY_PROTOCOL_TLV_CRC32C PROXY_PROTOCOL_TLV_NOOP);
    env_ok($res, $env, $want, 'CGI: PROXY_PROTOCOL_* for addresses, ports and every TLV kind');
    subtest 'CGI: no raw control byte reaches the environment' => sub {
        unlike $env->{PROXY_PROTOCOL_TLV_AUTHORITY} // '', qr/[\x00-\x1f\x7f]/, 'AUTHORITY escaped';
        my @pp = sort grep { /^PROXY_PROTOCOL_/ } keys %$env;
        my @expected = sort('PROXY_PROTOCOL_ADDR', 'PROXY_PROTOCOL_PORT', 'PROXY_PROTOCOL_SERVER_ADDR',
                            'PROXY_PROTOCOL_SERVER_PORT', map { "PROXY_PROTOCOL_TLV_$_" } keys %want_tlv);
        is_deeply \@pp, \@expected, 'exactly these PROXY_PROTOCOL_* variables';
    };

    my ($ires, $j) = proxy_info_json(vhost => 'cip_pp_on', header => $header);
    subtest 'clientip-info: the same, as JSON' => sub {
        is $ires->{code}, 200, 'status 200';
        ok ref $j eq 'HASH', 'JSON' or return diag $ires->{body};
        is $j->{source}, 'proxy_protocol', 'source: proxy_protocol';
        is $j->{client}{ip}, '203.0.113.61', 'client.ip';
        is $j->{client}{port}, 6161, 'client.port';
        is $j->{peer}{ip}, '127.0.0.1', 'peer.ip';
        is $j->{proxy_protocol}{version}, 2, 'proxy_protocol.version';
        is $j->{proxy_protocol}{kind}, 'TCP4', 'proxy_protocol.kind';
        my $v = $j->{proxy_protocol}{variables} // {};
        is $v->{PROXY_PROTOCOL_ADDR}, '203.0.113.61', 'variables.PROXY_PROTOCOL_ADDR';
        is $v->{PROXY_PROTOCOL_SERVER_PORT}, '443', 'variables.PROXY_PROTOCOL_SERVER_PORT';
        is $v->{"PROXY_PROTOCOL_TLV_$_"}, $want_tlv{$_}, "variables.PROXY_PROTOCOL_TLV_$_"
            for sort keys %want_tlv;
    };
}

# UTF-8 in AUTHORITY: bytes >= 0x80 are escaped, never copied raw.
{
    my ($res, $env) = proxy_cgi_env(vhost => 'cip_pp_on',
                                    header => proxy_v2(tlvs => [[0x02, "b\xc3\xbccher.example"]]));
    is $env->{PROXY_PROTOCOL_TLV_AUTHORITY}, 'b\xc3\xbccher.example',
       'AUTHORITY with UTF-8: every byte >= 0x80 as \xNN';
}

# A plain connection (no header) has no PROXY anything: clientip-info says null.
{
    my ($res, $j) = info_json(vhost => 'cip_pp_opt');
    subtest 'clientip-info without a PROXY header: proxy_protocol null' => sub {
        is $res->{code}, 200, 'status 200';
        ok ref $j eq 'HASH', 'JSON' or return diag $res->{body};
        ok exists $j->{proxy_protocol} && !defined $j->{proxy_protocol}, 'proxy_protocol: null';
        is $j->{source}, undef, 'source: null';
    };
}

# ---- refused: malformed headers (On, trusted peer) ------------------------------

my $v1 = proxy_v1();
my @malformed = (
    [ 'v1: two spaces',         "PROXY TCP4  203.0.113.7 127.0.0.1 4711 80\r\n", qr/more than one space/ ],
    [ 'v1: LF only',            "PROXY TCP4 203.0.113.7 127.0.0.1 4711 80\n",    qr/LF without CR/ ],
    [ 'v1: CR only',            "PROXY TCP4 203.0.113.7 127.0.0.1 4711 80\rX\n",  qr/CR not followed by LF/ ],
    [ 'v1: lower-case "proxy"', lc($v1),                                         qr/no PROXY header/ ],
    [ 'v1: lower-case "tcp4"',  "PROXY tcp4 203.0.113.7 127.0.0.1 4711 80\r\n",  qr/protocol is not TCP4, TCP6 or UNKNOWN/ ],
    [ 'v1: port 65536',         proxy_v1(sport => 65536),                        qr/port is not decimal 0-65535/ ],
    [ 'v1: port with a leading zero', proxy_v1(dport => '080'),                  qr/port is not decimal 0-65535/ ],
    [ 'v1: address with a leading zero', proxy_v1(src => '203.0.113.07'),        qr/address is not numeric/ ],
    [ 'v1: host name',          proxy_v1(src => 'client.example'),               qr/address is not numeric/ ],
    [ 'v1: TCP4 with IPv6 addresses', proxy_v1(src => '2001:db8::7', dst => '::1'), qr/family does not match/ ],
    [ 'v1: TCP6 with IPv4 addresses', proxy_v1(proto => 'TCP6', src => '203.0.113.7', dst => '127.0.0.1'),
                                                                                 qr/family does not match/ ],
    [ 'v1: no destination port', "PROXY TCP4 203.0.113.7 127.0.0.1 4711\r\n",   qr/line ends before the destination port/ ],
    [ 'v1: data after the ports', "PROXY TCP4 203.0.113.7 127.0.0.1 4711 80 x\r\n", qr/data after the destination port/ ],
    [ 'v1: 108 bytes without CRLF', 'PROXY UNKNOWN ' . ('x' x 94),               qr/no CRLF within 107 bytes/ ],
    [ 'v2: version 1',          proxy_v2(version => 1),                          qr/version is not 2/ ],
    [ 'v2: version 3',          proxy_v2(version => 3),                          qr/version is not 2/ ],
    [ 'v2: command 2',          proxy_v2(command => 2),                          qr/unknown command/ ],
    [ 'v2: family 4',           proxy_v2(family => 4),                           qr/unknown address family/ ],
    [ 'v2: transport 3',        proxy_v2(transport => 3),                        qr/unknown transport/ ],
    [ 'v2: INET, len 8',        proxy_v2(len => 8),                              qr/length shorter than the address block/ ],
    [ 'v2: INET6, len 12',      proxy_v2(family => 'INET6', len => 12),          qr/length shorter than the address block/ ],
    [ 'v2: LOCAL INET, len 4',  proxy_v2(command => 'LOCAL', len => 4),          qr/length shorter than the address block/ ],
    [ 'v2: TLV runs past len',  proxy_v2(tlvs => [[0x02, 'app.example']], len => 12 + 3 + 11 - 2),
                                                                                 qr/TLV runs past the header/ ],
    [ 'v2: 2-byte TLV stub',    proxy_v2(addresses => inet_aton('203.0.113.7') . inet_aton('127.0.0.1')
                                                     . pack('n n', 1, 80) . "\x04\x00"),
                                                                                 qr/TLV runs past the header/ ],
    [ 'v2: SSL TLV of 3 bytes', proxy_v2(tlvs => [[0x20, "\x01\x00\x00"]]),      qr/SSL TLV shorter than 5 bytes/ ],
    [ 'v2: SSL sub-TLV past its TLV', proxy_v2(tlvs => [[0x20, pack('C N', 1, 0) . "\x21\x00\x09TLS"]]),
                                                                                 qr/SSL sub-TLV runs past/ ],
    [ 'v2: CRC32C TLV of 2 bytes', proxy_v2(tlvs => [[0x03, "\0\0"]]),           qr/CRC32C TLV length is not 4/ ],
    [ 'v2: wrong CRC32C',       proxy_v2(crc => 'bad', tlvs => [[0x02, 'app.example']]), qr/CRC32C mismatch/ ],
    [ 'v2: two CRC32C TLVs',    proxy_v2(crc => 1, tlvs => [[0x03, "\0\0\0\0"]]), qr/more than one CRC32C TLV/ ],
);
for my $case (@malformed) {
    my ($name, $header, $why) = @$case;
    refused("refused: $name", $why, send => $header . $REQ);
}

# No header at all on an On listener, from a trusted peer.
refused('refused: plain HTTP on an On listener', qr/no PROXY header/, send => $REQ);
# The peer gives up half way through the header.
refused('refused: peer closes mid-header', qr/connection closed after 11 bytes/,
        send => 'PROXY TCP4 ', shutdown => 1);

# ---- refused: peers --------------------------------------------------------------

refused('untrusted peer on an On listener: closed at connect', qr/peer is not in ClientIPTrustedProxies/,
        from => untrusted, send => proxy_v1() . $REQ);
refused('untrusted peer on an On listener: v2 header, closed too', qr/peer is not in ClientIPTrustedProxies/,
        from => untrusted, send => proxy_v2() . $REQ);

# Exception peers may connect without a header...
{
    my ($res, $env) = cgi_env(vhost => 'cip_pp_on', from => '127.0.0.3');
    env_ok($res, $env, peer_kept(peer => '127.0.0.3'),
           'exception peer 127.0.0.3: plain HTTP accepted on an On listener');
}
# ...but are not trusted: their header is not believed.
refused('exception peer sending a PROXY header: closed', qr/PROXY header from a peer that is not trusted/,
        from => '127.0.0.3', send => proxy_v1() . $REQ);

# ---- Optional -------------------------------------------------------------------

{
    my ($res, $env) = cgi_env(vhost => 'cip_pp_opt');
    env_ok($res, $env, peer_kept(), 'Optional: plain request from the trusted peer');
    ($res, $env) = cgi_env(vhost => 'cip_pp_opt', from => untrusted);
    env_ok($res, $env, peer_kept(peer => untrusted), 'Optional: plain request from an untrusted peer');
    ($res, $env) = proxy_cgi_env(vhost => 'cip_pp_opt', header => proxy_v1(src => '203.0.113.71'));
    env_ok($res, $env, from_proxy(client => '203.0.113.71', port => 4711), 'Optional: v1 header used');
    ($res, $env) = proxy_cgi_env(vhost => 'cip_pp_opt', header => proxy_v2(src => '203.0.113.72'));
    env_ok($res, $env, from_proxy(client => '203.0.113.72', port => 4711), 'Optional: v2 header used');
    ($res, $env) = proxy_cgi_env(vhost => 'cip_pp_opt', header => [ split //, proxy_v2(src => '203.0.113.73') ],
                                 pause => 0.003);
    env_ok($res, $env, from_proxy(client => '203.0.113.73', port => 4711),
           'Optional: v2 header byte by byte (detected across segments)');
}

# Plain methods that start like "PROXY".
for my $case ([ 'PROPFIND, one write', ["PROPFIND /cgi-bin/env.cgi HTTP/1.0\r\n\r\n"] ],
              [ 'PROPFIND split right after "PRO"', ['PRO', "PFIND /cgi-bin/env.cgi HTTP/1.0\r\n\r\n"] ],
              [ 'PROPFIND split after "PROP"', ['PROP', "FIND /cgi-bin/env.cgi HTTP/1.0\r\n\r\n"] ]) {
    my ($name, $send) = @$case;
    my $r = raw_exchange(vhost => 'cip_pp_opt', send => $send, pause => 0.3);
    my $res = parse_http($r->{data});
    my $env = ClientIP::Test::parse_env($res);
    subtest "Optional: plain $name" => sub {
        is $res->{code}, 200, 'status 200' or diag $r->{data};
        is $env->{REQUEST_METHOD}, 'PROPFIND', 'the method arrived whole';
        is $env->{REMOTE_ADDR}, '127.0.0.1', 'client is the peer';
        ok !exists $env->{CLIENTIP_SOURCE}, 'CLIENTIP_SOURCE unset';
    };
}

refused('Optional: v1 header from an untrusted peer', qr/PROXY header from a peer that is not trusted/,
        host => 'opt', from => untrusted, send => proxy_v1() . $REQ);
refused('Optional: v2 header from an untrusted peer', qr/PROXY header from a peer that is not trusted/,
        host => 'opt', from => untrusted, send => proxy_v2() . $REQ);
refused('Optional: a partial header from an untrusted peer is refused at once',
        qr/PROXY header from a peer that is not trusted/,
        host => 'opt', from => untrusted, send => 'PROXY TCP4 ', max_seconds => 3);
refused('Optional: malformed header from the trusted peer', qr/more than one space/,
        host => 'opt', send => "PROXY TCP4 203.0.113.7  127.0.0.1 4711 80\r\n$REQ");

# ---- the header timeout (ClientIPProxyProtocolTimeout 1) ------------------------
# (A connection that sends nothing at all is in t/proxy_tls.t: here Linux
# holds it back from httpd until data arrives, AcceptFilter's default.)

for my $case (
    [ 'a partial v1 header',            ['PROXY TCP4 203.0.113.7 '],               qr/\(23 bytes\)/ ],
    [ 'a v2 header short of its len',   [ substr(proxy_v2(tlvs => [[0x02, 'x' x 50]]), 0, 40) ], qr/\(40 bytes\)/ ],
    # a byte every 0.3 s: each read is quick, the whole header is not
    [ 'a header trickled 0.3 s apart',  [ 'PROXY', ' ', 'TCP4', ' ', '203', '.', '0', '.', '113' ],
                                                                                     qr/\(\d+ bytes\)/, 0.3 ],
) {
    my ($name, $send, $bytes, $pause) = @$case;
    refused("timeout: $name, closed after about 1 s", qr/PROXY header incomplete after 1 s $bytes/,
            host => 'slow', send => $send, pause => $pause, max_seconds => 3.5,
            extra => sub {
                my ($r, $line) = @_;
                cmp_ok $r->{seconds}, '>', 0.7, 'not before the timeout';
                like $line, qr/\(ClientIPProxyProtocolTimeout\)$/, 'names ClientIPProxyProtocolTimeout';
            });
}

# ---- chaining with a header ------------------------------------------------------

# A trusted source (a CDN edge behind an L4 balancer): the walk goes on.
{
    my ($res, $env) = proxy_cgi_env(vhost => 'cip_pp_chain',
                                    header => proxy_v1(src => '198.51.100.7', sport => 7777),
                                    headers => ['X-Forwarded-For' => '203.0.113.9, 198.51.100.20']);
    my $want = changed(client => '203.0.113.9', port => undef, source => 'X-Forwarded-For',
                       proxies => '198.51.100.20, 198.51.100.7, 127.0.0.1', remaining => undef);
    $want->{PROXY_PROTOCOL_ADDR} = '198.51.100.7';
    env_ok($res, $env, $want, 'chaining: trusted PROXY source, X-Forwarded-For walked on from it');
}
{
    my ($res, $env) = proxy_cgi_env(vhost => 'cip_pp_chain',
                                    header => proxy_v1(src => '198.51.100.7'),
                                    headers => ['X-Forwarded-For' => '203.0.113.9:4321']);
    my $want = changed(client => '203.0.113.9', port => 4321, source => 'X-Forwarded-For',
                       proxies => '198.51.100.7, 127.0.0.1', remaining => undef);
    env_ok($res, $env, $want, 'chaining: the port of the header entry is the client port');
}
# An untrusted source (the client itself): the header is its own words.
{
    my ($res, $env) = proxy_cgi_env(vhost => 'cip_pp_chain',
                                    header => proxy_v1(src => '203.0.113.50', sport => 5050),
                                    headers => ['X-Forwarded-For' => '6.6.6.6, 198.51.100.20']);
    my $want = from_proxy(client => '203.0.113.50', port => 5050);
    $want->{HTTP_X_FORWARDED_FOR} = '6.6.6.6, 198.51.100.20';
    env_ok($res, $env, $want, 'chaining: untrusted PROXY source, header neither honoured nor stripped');
}
# LOCAL keeps the peer, and the walk starts at the peer as without PROXY.
{
    my ($res, $env) = proxy_cgi_env(vhost => 'cip_pp_chain', header => proxy_v2(command => 'LOCAL'),
                                    headers => ['X-Forwarded-For' => '203.0.113.9']);
    env_ok($res, $env, changed(client => '203.0.113.9', proxies => '127.0.0.1'),
           'chaining: LOCAL, the header walked from the trusted peer');
}

# The scheme and host: trusted headers first, then the v2 SSL TLV flag.
my $ssl_on  = ssl_tlv(client => 1, sub => [[0x21, 'TLSv1.3']]);
my $ssl_off = ssl_tlv(client => 0);
for my $case (
    # name, header, request headers, scheme, host
    [ 'trusted source, X-Forwarded-Proto https and X-Forwarded-Host',
      proxy_v1(src => '198.51.100.7'),
      ['X-Forwarded-Proto' => 'https', 'X-Forwarded-Host' => 'shop.example'], 'https', 'shop.example' ],
    [ 'untrusted source, X-Forwarded-Proto https and X-Forwarded-Host',
      proxy_v1(src => '203.0.113.50'),
      ['X-Forwarded-Proto' => 'https', 'X-Forwarded-Host' => 'evil.example'], 'http', 'app.example' ],
    [ 'untrusted source, SSL TLV: client used TLS',
      proxy_v2(src => '203.0.113.50', tlvs => [$ssl_on]), [], 'https', 'app.example' ],
    [ 'untrusted source, SSL TLV, X-Forwarded-Proto http ignored',
      proxy_v2(src => '203.0.113.50', tlvs => [$ssl_on]), ['X-Forwarded-Proto' => 'http'], 'https', 'app.example' ],
    [ 'trusted source, SSL TLV, but a trusted X-Forwarded-Proto http says otherwise',
      proxy_v2(src => '198.51.100.7', tlvs => [$ssl_on]), ['X-Forwarded-Proto' => 'http'], 'http', 'app.example' ],
    [ 'SSL TLV without the TLS flag', proxy_v2(src => '203.0.113.50', tlvs => [$ssl_off]), [], 'http', 'app.example' ],
    [ 'v2 without an SSL TLV', proxy_v2(src => '203.0.113.50'), [], 'http', 'app.example' ],
) {
    my ($name, $header, $headers, $scheme, $host) = @$case;
    my ($res, $env) = proxy_cgi_env(vhost => 'cip_pp_chain', header => $header,
                                    headers => [Host => 'app.example', @$headers]);
    subtest "ClientIPForwardedProto/Host: $name" => sub {
        is $res->{code}, 200, 'status 200' or diag $res->{error} // $res->{body};
        is $env->{REQUEST_SCHEME}, $scheme, "REQUEST_SCHEME=$scheme";
        if ($scheme eq 'https') { is $env->{HTTPS}, 'on', 'HTTPS=on' }
        else                    { ok !exists $env->{HTTPS}, 'HTTPS unset' }
        is $env->{SERVER_NAME}, $host, "SERVER_NAME=$host";
    };
}
# A self-referential redirect follows the SSL TLV.
{
    my $res = proxy_request(vhost => 'cip_pp_chain', path => '/dir',
                            header => proxy_v2(src => '203.0.113.50', tlvs => [$ssl_on]),
                            headers => [Host => 'app.example']);
    like $res->{headers}{location} // "(status $res->{code})", qr{^https://app\.example/dir/(?:\?|$)},
         'mod_dir redirect points at https (SSL TLV)';
}

# ClientIPHeader proxy_protocol: the PROXY header only.
{
    my ($res, $env) = proxy_cgi_env(vhost => 'cip_pp_only',
                                    header => proxy_v1(src => '198.51.100.7', sport => 7070),
                                    headers => ['X-Forwarded-For' => '203.0.113.9']);
    my $want = from_proxy(client => '198.51.100.7', port => 7070);
    $want->{HTTP_X_FORWARDED_FOR} = '203.0.113.9';
    env_ok($res, $env, $want, 'ClientIPHeader proxy_protocol: X-Forwarded-For ignored, even behind a trusted source');
}

# ---- curl --haproxy-protocol (v1, source = curl's own address) -----------------

{
    my $res = curl_run(urls => [ "http://127.0.0.1:$port{on}/cgi-bin/env.cgi",
                                 "http://127.0.0.1:$port{on}/cgi-bin/env.cgi" ],
                       args => ['--haproxy-protocol']);
    subtest 'curl --haproxy-protocol: client is curl, with its port, on both keep-alive requests' => sub {
        for my $i (0, 1) {
            my $r = $res->[$i];
            is $r->{code}, 200, "request $i: status 200" or diag $r->{error};
            my $env = ClientIP::Test::parse_env($r);
            is $env->{REMOTE_ADDR}, '127.0.0.1', "request $i: REMOTE_ADDR";
            is $env->{CLIENTIP_SOURCE}, 'proxy_protocol', "request $i: CLIENTIP_SOURCE";
            is $env->{CLIENTIP_PORT}, $r->{local_port}, "request $i: CLIENTIP_PORT is curl's port";
            is $env->{PROXY_PROTOCOL_ADDR}, '127.0.0.1', "request $i: PROXY_PROTOCOL_ADDR";
            is $env->{PROXY_PROTOCOL_PORT}, $r->{local_port}, "request $i: PROXY_PROTOCOL_PORT";
            is $env->{PROXY_PROTOCOL_SERVER_PORT}, $port{on}, "request $i: PROXY_PROTOCOL_SERVER_PORT";
        }
        is $res->[0]{num_connects} + $res->[1]{num_connects}, 1, 'one connection';
    };
}
{
    my $r = curl_run(urls => [ "http://127.0.0.1:$port{on}/cgi-bin/env.cgi" ],
                     args => ['--haproxy-protocol'], from => untrusted)->[0];
    subtest 'curl --haproxy-protocol from 127.0.0.2 (untrusted): closed, no response' => sub {
        is $r->{code}, '000', 'no HTTP status' or diag $r->{body};
        like $r->{exitcode}, qr/^(?:52|55|56)$/, 'curl: empty reply, send or receive failure (closed)';
        is $r->{body}, '', 'no body';
        my @lines = wait_for_log($elog, qr/closing connection from 127\.0\.0\.2:$r->{local_port} to 127\.0\.0\.1:$port{on}: peer is not in ClientIPTrustedProxies/);
        is scalar @lines, 1, 'one log line';
        httpd_child_survived($lines[0], "$logs/error_log");
    };
}
{
    my $r = curl_run(urls => [ "http://127.0.0.1:$port{on}/cgi-bin/env.cgi" ])->[0];
    subtest 'curl without --haproxy-protocol on an On listener: closed' => sub {
        is $r->{code}, '000', 'no HTTP status';
        my @lines = wait_for_log($elog, qr/closing connection from 127\.0\.0\.1:$r->{local_port} to 127\.0\.0\.1:$port{on}: no PROXY header/);
        is scalar @lines, 1, 'one log line: no PROXY header';
        httpd_child_survived($lines[0], "$logs/error_log");
    };
}
{
    my $r = curl_run(urls => [ "http://127.0.0.1:$port{opt}/cgi-bin/env.cgi" ],
                     args => ['--haproxy-protocol'], from => untrusted)->[0];
    is $r->{code}, '000', 'curl --haproxy-protocol from 127.0.0.2 on an Optional listener: closed';
}

done_testing();
