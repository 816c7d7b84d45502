# Regression tests for PROXY glue bugs found in review (each failed before
# its fix):
# - an IP-based virtual host's own ClientIPProxyProtocolTimeout was ignored
#   under a main-server ClientIPProxyProtocol On (the main server's 5 s held);
# - a PROXY source port of 0 set CLIENTIP_PORT=0 instead of leaving it unset;
# - with two SSL TLVs, the TLS flag for the scheme came from the last one
#   while PROXY_PROTOCOL_TLV_SSL came from the first;
# - an SSL TLV with the TLS flag clear forced the scheme to http (wrong for
#   TLS passthrough to mod_ssl);
# - apachectl -t accepted ClientIPProxyProtocol On with "ClientIPTrustedProxies none";
# - where mod_http2 offers h2c, a refusal was logged twice (h2c's peek, then
#   the HTTP/1.1 read, each ran into the bad header again).
use strict;
use warnings;
use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use ClientIP::Test;
use File::Temp ();

my ($p_main, $p_vhost) = (free_port(), free_port());
($p_vhost = free_port()) while $p_vhost == $p_main;

my $server = eval {
    standalone_server(listen => ["127.0.0.1:$p_main", "127.0.0.1:$p_vhost"], body => <<"CONF");
ClientIPTrustedProxies 127.0.0.1
ClientIPProxyProtocol On
ClientIPForwardedProto On
<VirtualHost 127.0.0.1:$p_vhost>
    ClientIPProxyProtocolTimeout 1
</VirtualHost>
CONF
};
exit_unless_started($server, $@);
plan tests => 7;

{
    my $r = raw_exchange(port => $p_vhost, send => "PROXY TCP4 203.0.113.7", timeout => 10);
    ok $r->{closed} && $r->{seconds} < 3.5,
       "IP-based vhost's own 1 s timeout applies under the main server's On"
        or diag sprintf('closed=%d after %.1f s', $r->{closed}, $r->{seconds});
}

{
    my ($res, $env) = proxy_cgi_env(port => $p_main, vhost => 'own main',
                                    header => proxy_v1(sport => 0));
    subtest 'PROXY source port 0: client known, port unknown' => sub {
        is $res->{code}, 200, 'status 200' or diag $res->{error} // $res->{body};
        is $env->{REMOTE_ADDR}, '203.0.113.7', 'REMOTE_ADDR from the header';
        is $env->{PROXY_PROTOCOL_PORT}, '0', 'PROXY_PROTOCOL_PORT=0 as sent';
        ok !exists $env->{CLIENTIP_PORT}, 'CLIENTIP_PORT unset'
            or diag "CLIENTIP_PORT=$env->{CLIENTIP_PORT}";
    };
}

for my $order ([0, 1], [1, 0]) {
    my ($first, $second) = @$order;
    my $tlvs = [ ssl_tlv(client => $first, sub => [ [0x21, "TLSv1.$first"] ]),
                 ssl_tlv(client => $second, sub => [ [0x21, "TLSv1.$second"], [0x22, 'second-cn'] ]) ];
    my ($res, $env) = proxy_cgi_env(port => $p_main, vhost => 'own main',
                                    header => proxy_v2(tlvs => $tlvs));
    my $https = $first == 1;
    subtest "two SSL TLVs, flags $first then $second: the first counts" => sub {
        is $res->{code}, 200, 'status 200' or diag $res->{error} // $res->{body};
        is $env->{PROXY_PROTOCOL_TLV_SSL}, $first, 'PROXY_PROTOCOL_TLV_SSL from the first';
        is $env->{PROXY_PROTOCOL_TLV_SSL_VERSION}, "TLSv1.$first", 'sub-TLV from the first';
        ok !exists $env->{PROXY_PROTOCOL_TLV_SSL_CN}, "the second's sub-TLVs are ignored";
        is $env->{REQUEST_SCHEME}, $https ? 'https' : 'http', 'scheme follows the first';
        is $env->{HTTPS}, ($https ? 'on' : undef), 'HTTPS follows the first';
    };
}

{
    my ($res, $j) = proxy_info_json(port => $p_main, vhost => 'own main',
                                    header => proxy_v2(tlvs => [ ssl_tlv(client => 0) ]));
    my @from_tlv = grep { /PROXY v2 SSL TLV/ } @{ $j->{trail} || [] };
    subtest 'TLS flag clear: the scheme is not forced to http' => sub {
        is $res->{code}, 200, 'status 200' or diag $res->{error} // $res->{body};
        is_deeply \@from_tlv, [], 'no scheme taken from the TLV';
        is $j->{scheme}, 'http', "httpd's own scheme (plain listener)";
    };
}

{
    my $dir = File::Temp::tempdir(CLEANUP => 1);
    mkdir "$dir/logs";
    my $conf = "$dir/httpd.conf";
    open my $fh, '>', $conf or die $!;
    print $fh minimal_config(dir => $dir, port => free_port(),
                             body => "ClientIPTrustedProxies none\nClientIPProxyProtocol On");
    close $fh;
    my $httpd = Apache::Test::config()->{vars}{httpd};
    my $out = qx{"$httpd" -t -f "$conf" 2>&1};
    my $status = $? >> 8;
    ok $status != 0 && $out =~ /ClientIPProxyProtocol On.*ClientIPTrustedProxies/,
       'apachectl -t refuses ClientIPProxyProtocol On with "ClientIPTrustedProxies none"'
        or diag "exit $status: $out";
}

{
    # Event MPM with mod_http2 offering h2c on a plain PROXY On listener.
    my $port = free_port();
    my $h2 = eval {
        httpd_server(listen => ["127.0.0.1:$port"], modules => ['http2', 'reqtimeout'],
                     body => "Protocols h2c http/1.1\nClientIPTrustedProxies 127.0.0.1\n"
                           . "ClientIPProxyProtocol On\n");
    };
    if (!$h2) {
        fail('own event httpd with mod_http2 started');
        diag $@;
    }
    else {
        my $r = raw_exchange(port => $port, send => "PROXY TCP4 203.0.113.7 bogus\r\n", timeout => 5);
        my $lp = $r->{local_port};
        my @lines = wait_for_log($h2->{error_log}, qr/closing connection from 127\.0\.0\.1:$lp /);
        sleep 0.3;   # a second line would come right after the first
        @lines = grep { /closing connection from 127\.0\.0\.1:$lp / } ClientIP::Test::read_lines($h2->{error_log});
        is scalar(@lines), 1, 'a refusal under h2c is logged once' or diag join "\n", @lines;
    }
}
