# A server with the module loaded but no ClientIPTrustedProxies: the module
# changes nothing (client = peer, headers untouched) and sets no CLIENTIP_*
# variables, even where ClientIPHeader/ClientIPProxiesHeader are set.
#
# The Apache::Test server's main config trusts proxies (and its virtual hosts
# inherit that), so this starts a second, small httpd of its own on two free
# loopback ports (ClientIP::Test::standalone_server), stopped by its pid when
# the test ends.
use strict;
use warnings;
use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use ClientIP::Test;
use JSON::PP ();

my ($p_main, $p_vhost) = (free_port(), free_port());
($p_vhost = free_port()) while $p_vhost == $p_main;

my $body = <<"CONF";
<Directory "\$DIR/htdocs/tp">
    Require trusted-proxy
</Directory>

# Header directives, but no trusted proxies: still nothing happens.
<VirtualHost 127.0.0.1:$p_vhost>
    ClientIPHeader X-Forwarded-For
    ClientIPRecursive On
    ClientIPProxiesHeader X-Forwarded-By
</VirtualHost>
CONF

my $server = eval {
    standalone_server(listen => ["127.0.0.1:$p_main", "127.0.0.1:$p_vhost"], body => $body);
};
exit_unless_started($server, $@);
mkdir "$server->{dir}/htdocs/tp";
{
    open my $fh, '>', "$server->{dir}/htdocs/tp/index.txt" or die $!;
    print $fh "ok\n";
}

plan tests => 6;

for my $p ([main => $p_main], [vhost => $p_vhost]) {
    my ($where, $port) = @$p;
    my ($res, $env) = cgi_env(vhost => "unconfigured $where", port => $port,
                              headers => ['X-Forwarded-For' => '203.0.113.7, 10.1.2.3',
                                          'X-Forwarded-By' => '6.6.6.6']);
    subtest "$where server: nothing changes" => sub {
        is $res->{code}, 200, 'status 200';
        is $env->{REMOTE_ADDR}, '127.0.0.1', 'REMOTE_ADDR is the peer';
        is $env->{REMOTE_PORT}, $res->{local_port}, 'REMOTE_PORT is the peer port';
        is $res->{headers}{'x-seen-client'}, '127.0.0.1', 'ap_expr REMOTE_ADDR is the peer';
        is $env->{HTTP_X_FORWARDED_FOR}, '203.0.113.7, 10.1.2.3', 'X-Forwarded-For untouched';
        is $env->{HTTP_X_FORWARDED_BY}, '6.6.6.6', 'X-Forwarded-By untouched';
        is_deeply [ sort grep { /^CLIENTIP_/ } keys %$env ], [], 'no CLIENTIP_* variables';
    };
}

{
    my ($res, $j) = info_json(vhost => 'unconfigured', port => $p_main,
                              headers => ['X-Forwarded-For' => '203.0.113.7']);
    subtest 'clientip-info: not configured' => sub {
        is $res->{code}, 200, 'status 200';
        ok ref $j eq 'HASH', 'JSON object' or return diag $res->{body};
        ok JSON::PP::is_bool($j->{configured}) && !$j->{configured}, 'configured: false';
        is $j->{client}{ip}, '127.0.0.1', 'client is the peer';
        is $j->{peer}{ip}, '127.0.0.1', 'peer';
        ok JSON::PP::is_bool($j->{peer}{trusted}) && !$j->{peer}{trusted}, 'peer not trusted';
        is $j->{source}, undef, 'source: null';
        is_deeply $j->{proxies}, [], 'no proxies';
    };
}

for my $p ([main => $p_main], [vhost => $p_vhost]) {
    my ($where, $port) = @$p;
    my $res = request(vhost => "unconfigured $where", port => $port, path => '/tp/index.txt');
    is $res->{code}, 403, "$where server: Require trusted-proxy denies (nothing is trusted)";
}

{
    my ($res, $env) = cgi_env(vhost => 'unconfigured vhost', port => $p_vhost, from => untrusted,
                              headers => ['X-Forwarded-For' => '203.0.113.7']);
    is_deeply [ $env->{REMOTE_ADDR}, $env->{HTTP_X_FORWARDED_FOR}, grep { /^CLIENTIP_/ } keys %$env ],
              [ '127.0.0.2', '203.0.113.7' ], 'from 127.0.0.2: nothing changes either';
}
