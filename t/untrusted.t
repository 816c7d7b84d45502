# An UNTRUSTED peer (127.0.0.2; the hosts trust 127.0.0.1, not all of
# loopback): its header is neither honoured nor stripped, whatever it says,
# on every kind of host. The CLIENTIP_* variables still describe the request.
use strict;
use warnings;
use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use ClientIP::Test;

# [ vhost, header sent, CGI variable it arrives as, value ]
my @cases = (
    [ cip_inherit      => 'X-Forwarded-For' => 'HTTP_X_FORWARDED_FOR', '203.0.113.7' ],
    [ cip_inherit      => 'X-Forwarded-For' => 'HTTP_X_FORWARDED_FOR', '127.0.0.1' ],
    [ cip_inherit      => 'X-Forwarded-For' => 'HTTP_X_FORWARDED_FOR', '203.0.113.7:4711, 10.1.2.3' ],
    [ cip_recursive    => 'X-Forwarded-For' => 'HTTP_X_FORWARDED_FOR', '203.0.113.7, 10.1.2.3' ],
    [ cip_recursive    => 'X-Forwarded-For' => 'HTTP_X_FORWARDED_FOR', '10.0.0.1, 127.0.0.1' ],
    [ cip_multi        => 'X-Forwarded-For' => 'HTTP_X_FORWARDED_FOR', '203.0.113.7, 192.0.2.1' ],
    [ cip_file         => 'X-Forwarded-For' => 'HTTP_X_FORWARDED_FOR', '203.0.113.7, 198.51.100.1' ],
    [ cip_kw_private   => 'X-Forwarded-For' => 'HTTP_X_FORWARDED_FOR', '203.0.113.7, 10.1.2.3' ],
    [ cip_kw_linklocal => 'X-Forwarded-For' => 'HTTP_X_FORWARDED_FOR', '203.0.113.7' ],
    [ cip_realip       => 'X-Real-IP'       => 'HTTP_X_REAL_IP',       '203.0.113.7' ],
    [ cip_custom       => 'X-Client-Addr'   => 'HTTP_X_CLIENT_ADDR',   '203.0.113.7, 10.1.2.3' ],
    [ cip_hostile      => 'X-Forwarded-For' => 'HTTP_X_FORWARDED_FOR', 'garbage, 203.0.113.7' ],
);

plan tests => @cases + 1;

for my $c (@cases) {
    my ($vhost, $header, $var, $value) = @$c;
    my ($res, $env) = cgi_env(vhost => $vhost, from => untrusted, headers => [$header => $value]);
    env_ok($res, $env, unchanged(peer => untrusted, header => $var, value => $value),
           "$vhost: $header '$value' from 127.0.0.2 ignored and kept");
}

# Two lines from an untrusted peer: passed on as httpd joins them.
{
    my ($res, $env) = cgi_env(vhost => 'cip_recursive', from => untrusted,
                              headers => ['X-Forwarded-For' => '203.0.113.7',
                                          'X-Forwarded-For' => '10.1.2.3']);
    env_ok($res, $env, unchanged(peer => untrusted, value => '203.0.113.7, 10.1.2.3'),
           'two header lines from 127.0.0.2 ignored and kept');
}
