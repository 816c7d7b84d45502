# An IPv6 peer (::1). cip_v6 trusts ::1 and 127.0.0.1 and also listens on
# [::1] (extra.conf.in); skipped when IPv6 loopback is not available.
use strict;
use warnings;
use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use ClientIP::Test;
use IO::Socket::IP ();

my $port = vhost_port('cip_v6');
my $probe = IO::Socket::IP->new(PeerAddr => '::1', PeerPort => $port, Timeout => 5);
plan skip_all => "no listener on [::1]:$port (IPv6 loopback unavailable)" unless $probe;
close $probe;

# [ from, X-Forwarded-For, expected client (undef: unchanged), port, proxies, left ]
my @cases = (
    [ '::1', undef ],
    [ '::1', '203.0.113.7',                    '203.0.113.7', undef, '::1' ],
    [ '::1', '[2001:db8::7]:4711',             '2001:db8::7', 4711, '::1' ],
    [ '::1', '2001:db8::7, ::1',               '2001:db8::7', undef, '::1, ::1' ],
    [ '::1', '198.51.100.1, 2001:db8::7, 127.0.0.1', '2001:db8::7', undef, '127.0.0.1, ::1',
      '198.51.100.1' ],
    [ '::1', 'fe80::1%eth0' ],
);

plan tests => @cases + 1;

for my $c (@cases) {
    my ($from, $xff, $client, $cport, $proxies, $left) = @$c;
    my ($res, $env) = cgi_env(vhost => 'cip_v6', to => '::1', from => $from,
                              headers => [defined $xff ? ('X-Forwarded-For' => $xff) : ()]);
    my $want = defined $client
        ? changed(peer => $from, client => $client, port => $cport, proxies => $proxies,
                  remaining => $left)
        : unchanged(peer => $from, value => $xff);
    env_ok($res, $env, $want, "peer $from, " . (defined $xff ? "X-Forwarded-For '$xff'" : 'no header'));
}

# Same host over IPv4 from an address it does not trust.
{
    my ($res, $env) = cgi_env(vhost => 'cip_v6', from => untrusted,
                              headers => ['X-Forwarded-For' => '2001:db8::7']);
    env_ok($res, $env, unchanged(peer => untrusted, value => '2001:db8::7'),
           'same host over IPv4 from untrusted 127.0.0.2');
}
