# ClientIPTrustedProxies none in a virtual host switches the module off
# there, although the main server trusts 127.0.0.1: nothing is taken from
# the header, nothing is stripped, no CLIENTIP_* variable is set.
use strict;
use warnings;
use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use ClientIP::Test;

plan tests => 2;

my ($res, $env) = cgi_env(vhost => 'cip_none', from => trusted,
                          headers => ['X-Forwarded-For' => '203.0.113.7, 10.1.2.3',
                                      'X-Forwarded-By'  => '6.6.6.6']);
subtest 'none: nothing changes for a peer the main server trusts' => sub {
    is $res->{code}, 200, 'status 200';
    is $env->{REMOTE_ADDR}, trusted, 'REMOTE_ADDR is the peer';
    is $res->{headers}{'x-seen-client'}, trusted, 'ap_expr REMOTE_ADDR is the peer';
    is $env->{HTTP_X_FORWARDED_FOR}, '203.0.113.7, 10.1.2.3', 'X-Forwarded-For untouched';
    is $env->{HTTP_X_FORWARDED_BY}, '6.6.6.6', 'X-Forwarded-By untouched (module off)';
    is_deeply [ sort grep { /^CLIENTIP_/ } keys %$env ], [], 'no CLIENTIP_* variables';
};

# The same request on a host that inherits the list does change: the
# difference above comes from "none", not from the request.
my ($res2, $env2) = cgi_env(vhost => 'cip_inherit', from => trusted,
                            headers => ['X-Forwarded-For' => '203.0.113.7, 10.1.2.3']);
is $env2->{REMOTE_ADDR}, '10.1.2.3', 'control: an inheriting host takes the rightmost entry';
