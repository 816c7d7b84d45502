# Per-virtual-host configuration. A host that sets ClientIPTrustedProxies
# REPLACES the main server's list (it never widens it); a host that does not
# inherits it; repeated directives and the file form accumulate within one
# host; ClientIPTrustedProxiesFile is relative to ServerRoot and skips
# comments and blank lines.
#
# main server:  ClientIPTrustedProxies 127.0.0.1 10.0.0.0/8, X-Forwarded-For
# cip_inherit:  nothing of its own
# cip_replace:  ClientIPTrustedProxies 127.0.0.2 192.0.2.0/24, recursive
# cip_multi:    127.0.0.1 + 192.0.2.0/24 + conf/trusted-proxies.list, recursive
# cip_file:     conf/trusted-proxies.list only (127.0.0.1, 198.51.100.0/24,
#               2001:db8:100::/48), recursive
use strict;
use warnings;
use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use ClientIP::Test;

# [ name, vhost, from, X-Forwarded-For, expected client (undef: unchanged),
#   proxies, what is left ]
my @cases = (
    [ 'inherited list: 127.0.0.1 trusted', 'cip_inherit', trusted, '203.0.113.7',
      '203.0.113.7', '127.0.0.1', undef ],
    [ 'inherited list: 127.0.0.2 not trusted', 'cip_inherit', untrusted, '203.0.113.7',
      undef ],
    [ 'replaced list: main server\'s 127.0.0.1 not trusted', 'cip_replace', trusted,
      '203.0.113.7', undef ],
    [ 'replaced list: own 127.0.0.2 trusted', 'cip_replace', untrusted, '203.0.113.7',
      '203.0.113.7', '127.0.0.2', undef ],
    [ 'replaced list: main server\'s 10.0.0.0/8 not trusted', 'cip_replace', untrusted,
      '203.0.113.7, 10.1.2.3', '10.1.2.3', '127.0.0.2', '203.0.113.7' ],
    [ 'replaced list: own 192.0.2.0/24 trusted', 'cip_replace', untrusted,
      '203.0.113.7, 192.0.2.5', '203.0.113.7', '192.0.2.5, 127.0.0.2', undef ],
    [ 'accumulated: both directives and the file', 'cip_multi', trusted,
      '203.0.113.7, 198.51.100.5, 192.0.2.9', '203.0.113.7',
      '198.51.100.5, 192.0.2.9, 127.0.0.1', undef ],
    [ 'accumulated list still replaces: 10.0.0.0/8 not trusted', 'cip_multi', trusted,
      '203.0.113.7, 10.1.2.3', '10.1.2.3', '127.0.0.1', '203.0.113.7' ],
    [ 'file: 127.0.0.1 trusted, 198.51.100.0/24 trusted', 'cip_file', trusted,
      '203.0.113.7, 198.51.100.20', '203.0.113.7', '198.51.100.20, 127.0.0.1', undef ],
    [ 'file: IPv6 line with spaces and tabs', 'cip_file', trusted,
      '203.0.113.7, [2001:db8:100::5]:443', '203.0.113.7', '2001:db8:100::5, 127.0.0.1', undef ],
    [ 'file: /24 boundary', 'cip_file', trusted,
      '203.0.113.7, 198.51.101.1', '198.51.101.1', '127.0.0.1', '203.0.113.7' ],
    [ 'file replaces: 10.0.0.0/8 not trusted', 'cip_file', trusted,
      '203.0.113.7, 10.1.2.3', '10.1.2.3', '127.0.0.1', '203.0.113.7' ],
    [ 'file: 127.0.0.2 not trusted', 'cip_file', untrusted, '203.0.113.7', undef ],
);

plan tests => scalar @cases;

for my $c (@cases) {
    my ($name, $vhost, $from, $xff, $client, $proxies, $remaining) = @$c;
    my @headers = defined $xff ? ('X-Forwarded-For' => $xff) : ();
    my ($res, $env) = cgi_env(vhost => $vhost, from => $from, headers => \@headers);
    my $want = defined $client
        ? changed(peer => $from, client => $client, proxies => $proxies, remaining => $remaining)
        : unchanged(peer => $from, value => $xff);
    env_ok($res, $env, $want, "$vhost: $name");
}
