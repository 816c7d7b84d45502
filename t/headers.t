# Header names: X-Real-IP, a custom header (ClientIPHeader X-Client-Addr),
# CLIENTIP_SOURCE as configured, the ap_expr echo of the client and the peer,
# and ClientIPProxiesHeader X-Forwarded-By (what the backend sees, and that a
# client cannot spoof it).
use strict;
use warnings;
use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use ClientIP::Test;

plan tests => 13;

# ---- X-Real-IP (cip_realip: inherits trust 127.0.0.1 10.0.0.0/8, recursive Off)
{
    my ($res, $env) = cgi_env(vhost => 'cip_realip', headers => ['X-Real-IP' => '203.0.113.9']);
    env_ok($res, $env,
           changed(client => '203.0.113.9', source => 'X-Real-IP', header => 'HTTP_X_REAL_IP',
                   remaining => undef),
           'X-Real-IP: client taken, header consumed');

    ($res, $env) = cgi_env(vhost => 'cip_realip',
                           headers => ['X-Real-IP' => '[2001:db8::9]:5555',
                                       'X-Forwarded-For' => '198.51.100.1']);
    env_ok($res, $env,
           { %{ changed(client => '2001:db8::9', port => 5555, source => 'X-Real-IP',
                        header => 'HTTP_X_REAL_IP', remaining => undef) },
             HTTP_X_FORWARDED_FOR => '198.51.100.1' },
           'X-Real-IP with port; X-Forwarded-For is not this host\'s header and stays');

    ($res, $env) = cgi_env(vhost => 'cip_realip', headers => ['X-Forwarded-For' => '203.0.113.7']);
    env_ok($res, $env, unchanged(value => '203.0.113.7'),
           'X-Real-IP host ignores X-Forwarded-For');
}

# ---- custom header (cip_custom: ClientIPHeader X-Client-Addr, recursive On)
{
    my ($res, $env) = cgi_env(vhost => 'cip_custom',
                              headers => ['X-Client-Addr' => '198.51.100.1, 203.0.113.7, 10.1.2.3']);
    env_ok($res, $env,
           changed(client => '203.0.113.7', source => 'X-Client-Addr', proxies => '10.1.2.3, 127.0.0.1',
                   header => 'HTTP_X_CLIENT_ADDR', remaining => '198.51.100.1'),
           'X-Client-Addr: walked and stripped');

    # Any case on the wire; CLIENTIP_SOURCE is the name as configured.
    ($res, $env) = cgi_env(vhost => 'cip_custom', headers => ['x-CLIENT-addr' => '203.0.113.8']);
    env_ok($res, $env,
           changed(client => '203.0.113.8', source => 'X-Client-Addr', header => 'HTTP_X_CLIENT_ADDR',
                   remaining => undef),
           'header name matched case-insensitively, CLIENTIP_SOURCE as configured');

    ($res, $env) = cgi_env(vhost => 'cip_custom', headers => ['X-Forwarded-For' => '203.0.113.7']);
    env_ok($res, $env, unchanged(value => '203.0.113.7'), 'custom-header host ignores X-Forwarded-For');
}

# ---- ap_expr: REMOTE_ADDR is the client, CONN_REMOTE_ADDR the peer
{
    my $res = request(vhost => 'cip_inherit', path => '/hello.txt',
                      headers => ['X-Forwarded-For' => '203.0.113.7']);
    subtest 'Header "expr=%{REMOTE_ADDR}" on a static file' => sub {
        is $res->{code}, 200, 'status 200';
        is $res->{headers}{'x-seen-client'}, '203.0.113.7', 'REMOTE_ADDR is the client';
        is $res->{headers}{'x-seen-peer'}, '127.0.0.1', 'CONN_REMOTE_ADDR is the peer';
    };
}

# ---- ClientIPProxiesHeader X-Forwarded-By (cip_by: recursive On)
{
    my ($res, $env) = cgi_env(vhost => 'cip_by',
                              headers => ['X-Forwarded-For' => '198.51.100.1, 203.0.113.7, 10.1.2.3']);
    env_ok($res, $env,
           { %{ changed(client => '203.0.113.7', proxies => '10.1.2.3, 127.0.0.1',
                        remaining => '198.51.100.1') },
             HTTP_X_FORWARDED_BY => '10.1.2.3, 127.0.0.1' },
           'X-Forwarded-By carries the proxies passed, nearest last');

    ($res, $env) = cgi_env(vhost => 'cip_by',
                           headers => ['X-Forwarded-By' => '6.6.6.6',
                                       'X-Forwarded-For' => '203.0.113.7']);
    env_ok($res, $env,
           { %{ changed(client => '203.0.113.7', proxies => '127.0.0.1') },
             HTTP_X_FORWARDED_BY => '127.0.0.1' },
           'a client-sent X-Forwarded-By is replaced, not appended to');

    ($res, $env) = cgi_env(vhost => 'cip_by', from => untrusted,
                           headers => ['X-Forwarded-By' => '6.6.6.6',
                                       'X-Forwarded-For' => '203.0.113.7']);
    env_ok($res, $env,
           { %{ unchanged(peer => untrusted, value => '203.0.113.7') },
             HTTP_X_FORWARDED_BY => undef },
           'untrusted peer: its X-Forwarded-By is removed all the same');

    ($res, $env) = cgi_env(vhost => 'cip_by', headers => ['X-Forwarded-By' => '6.6.6.6']);
    env_ok($res, $env, { %{ unchanged() }, HTTP_X_FORWARDED_BY => undef },
           'trusted peer, nothing taken: spoofed X-Forwarded-By removed');

    ($res, $env) = cgi_env(vhost => 'cip_by',
                           headers => ['X-Forwarded-By' => '6.6.6.6',
                                       'X-Forwarded-For' => '203.0.113.7, garbage']);
    env_ok($res, $env,
           { %{ unchanged(value => '203.0.113.7, garbage') }, HTTP_X_FORWARDED_BY => undef },
           'walk stopped at once: no X-Forwarded-By');

    # Hosts without ClientIPProxiesHeader leave an X-Forwarded-By alone.
    ($res, $env) = cgi_env(vhost => 'cip_inherit', headers => ['X-Forwarded-By' => '6.6.6.6']);
    env_ok($res, $env, { %{ unchanged() }, HTTP_X_FORWARDED_BY => '6.6.6.6' },
           'no ClientIPProxiesHeader: X-Forwarded-By passes untouched');
}
