# The keywords of ClientIPTrustedProxies, with their boundaries:
#   loopback   127.0.0.0/8, ::1/128
#   private    10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7
#   linklocal  169.254.0.0/16, fe80::/10
#   all        0.0.0.0/0, ::/0
# Each host is recursive: a trusted entry is passed, the first untrusted one
# is the client.
use strict;
use warnings;
use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use ClientIP::Test;

# [ vhost, from, X-Forwarded-For, client (undef: unchanged), proxies, left ]
my @cases = (
    # loopback: every 127.x peer is trusted, not only 127.0.0.1
    [ cip_kw_loopback => untrusted, '203.0.113.7', '203.0.113.7', '127.0.0.2' ],
    [ cip_kw_loopback => trusted, '203.0.113.7, 127.255.255.254', '203.0.113.7',
      '127.255.255.254, 127.0.0.1' ],
    [ cip_kw_loopback => trusted, '203.0.113.7, ::1', '203.0.113.7', '::1, 127.0.0.1' ],
    [ cip_kw_loopback => trusted, '203.0.113.7, 128.0.0.1', '128.0.0.1', '127.0.0.1', '203.0.113.7' ],
    [ cip_kw_loopback => trusted, '203.0.113.7, 10.1.2.3', '10.1.2.3', '127.0.0.1', '203.0.113.7' ],

    # private
    [ cip_kw_private => trusted, '203.0.113.7, 192.168.1.1, 172.16.5.5, 10.9.9.9',
      '203.0.113.7', '192.168.1.1, 172.16.5.5, 10.9.9.9, 127.0.0.1' ],
    [ cip_kw_private => trusted, '203.0.113.7, 172.31.255.255', '203.0.113.7',
      '172.31.255.255, 127.0.0.1' ],
    [ cip_kw_private => trusted, '203.0.113.7, 172.32.0.1', '172.32.0.1', '127.0.0.1', '203.0.113.7' ],
    [ cip_kw_private => trusted, '203.0.113.7, 172.15.255.255', '172.15.255.255', '127.0.0.1',
      '203.0.113.7' ],
    [ cip_kw_private => trusted, '203.0.113.7, 192.169.0.1', '192.169.0.1', '127.0.0.1', '203.0.113.7' ],
    [ cip_kw_private => trusted, '203.0.113.7, [fd12:3456::1]:443', '203.0.113.7',
      'fd12:3456::1, 127.0.0.1' ],
    [ cip_kw_private => trusted, '203.0.113.7, fe00::1', 'fe00::1', '127.0.0.1', '203.0.113.7' ],
    [ cip_kw_private => untrusted, '203.0.113.7', undef ],   # 127.0.0.2 is not private

    # linklocal
    [ cip_kw_linklocal => trusted, '203.0.113.7, 169.254.10.20', '203.0.113.7',
      '169.254.10.20, 127.0.0.1' ],
    [ cip_kw_linklocal => trusted, '203.0.113.7, 169.255.0.1', '169.255.0.1', '127.0.0.1',
      '203.0.113.7' ],
    [ cip_kw_linklocal => trusted, '203.0.113.7, [fe80::1]:80', '203.0.113.7', 'fe80::1, 127.0.0.1' ],
    [ cip_kw_linklocal => trusted, '203.0.113.7, febf::1', '203.0.113.7', 'febf::1, 127.0.0.1' ],
    [ cip_kw_linklocal => trusted, '203.0.113.7, fec0::1', 'fec0::1', '127.0.0.1', '203.0.113.7' ],

    # all: every address is a trusted proxy, so the leftmost entry wins
    [ cip_kw_all => untrusted, '203.0.113.7, 198.51.100.9', '203.0.113.7',
      '198.51.100.9, 127.0.0.2' ],
    [ cip_kw_all => trusted, '2001:db8::1, 203.0.113.7', '2001:db8::1', '203.0.113.7, 127.0.0.1' ],
    [ cip_kw_all => trusted, 'garbage, 2001:db8::1, 203.0.113.7', '2001:db8::1',
      '203.0.113.7, 127.0.0.1', 'garbage' ],
);

plan tests => scalar @cases;

for my $c (@cases) {
    my ($vhost, $from, $xff, $client, $proxies, $remaining) = @$c;
    my ($res, $env) = cgi_env(vhost => $vhost, from => $from, headers => ['X-Forwarded-For' => $xff]);
    my $want = defined $client
        ? changed(peer => $from, client => $client, proxies => $proxies, remaining => $remaining)
        : unchanged(peer => $from, value => $xff);
    env_ok($res, $env, $want, "$vhost from $from: '$xff' -> " . ($client // 'unchanged'));
}
