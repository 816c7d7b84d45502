# X-Forwarded-For walk, as a CGI behind the server sees it: nginx realip
# semantics for ClientIPRecursive Off and On, several header lines, the
# 64-entry limit, stopping at invalid entries, stripping of consumed entries,
# CLIENTIP_* variables.
#
# cip_inherit:   trusts 127.0.0.1 10.0.0.0/8 (main server), recursive Off
# cip_recursive: the same list (inherited), recursive On
# Requests come from 127.0.0.1, a trusted peer.
use strict;
use warnings;
use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use ClientIP::Test;

my @all_trusted_600 = map { sprintf '10.0.%d.%d', int($_ / 256), $_ % 256 } 0 .. 599;
my @trusted_64      = map { "10.0.0.$_" } 1 .. 64;
my @trusted_63      = map { "10.0.0.$_" } 1 .. 63;

# [ name, [header lines], expectation with recursive Off, with recursive On ]
# An expectation is [client, port, proxies, remaining header] or 'unchanged'.
my @cases = (
    [ 'one untrusted entry', ['203.0.113.7'],
      ['203.0.113.7', undef, '127.0.0.1', undef],
      ['203.0.113.7', undef, '127.0.0.1', undef] ],
    [ 'rightmost is a trusted proxy', ['203.0.113.7, 10.1.2.3'],
      # Off: the rightmost entry is the client, even a trusted one
      ['10.1.2.3', undef, '127.0.0.1', '203.0.113.7'],
      # On: the first untrusted entry from the right
      ['203.0.113.7', undef, '10.1.2.3, 127.0.0.1', undef] ],
    [ 'client-written left part stays', ['198.51.100.1, 203.0.113.7, 10.1.2.3'],
      ['10.1.2.3', undef, '127.0.0.1', '198.51.100.1, 203.0.113.7'],
      ['203.0.113.7', undef, '10.1.2.3, 127.0.0.1', '198.51.100.1'] ],
    [ 'untrusted in the middle', ['203.0.113.7, 198.51.100.9, 10.1.2.3'],
      ['10.1.2.3', undef, '127.0.0.1', '203.0.113.7, 198.51.100.9'],
      ['198.51.100.9', undef, '10.1.2.3, 127.0.0.1', '203.0.113.7'] ],
    [ 'rightmost untrusted', ['203.0.113.7, 10.1.2.3, 198.51.100.9'],
      ['198.51.100.9', undef, '127.0.0.1', '203.0.113.7, 10.1.2.3'],
      ['198.51.100.9', undef, '127.0.0.1', '203.0.113.7, 10.1.2.3'] ],
    [ 'every entry trusted: leftmost wins', ['10.0.0.1, 10.0.0.2, 10.0.0.3'],
      ['10.0.0.3', undef, '127.0.0.1', '10.0.0.1, 10.0.0.2'],
      ['10.0.0.1', undef, '10.0.0.2, 10.0.0.3, 127.0.0.1', undef] ],
    [ 'two header lines form one list', ['203.0.113.7', '10.1.2.3'],
      ['10.1.2.3', undef, '127.0.0.1', '203.0.113.7'],
      ['203.0.113.7', undef, '10.1.2.3, 127.0.0.1', undef] ],
    [ 'header lines keep their order', ['10.1.2.3', '203.0.113.7'],
      ['203.0.113.7', undef, '127.0.0.1', '10.1.2.3'],
      ['203.0.113.7', undef, '127.0.0.1', '10.1.2.3'] ],
    [ 'three lines, lists in lines', ['198.51.100.1, 203.0.113.7', '10.0.0.5', '10.1.2.3:8080'],
      ['10.1.2.3', 8080, '127.0.0.1', '198.51.100.1, 203.0.113.7, 10.0.0.5'],
      ['203.0.113.7', undef, '10.0.0.5, 10.1.2.3, 127.0.0.1', '198.51.100.1'] ],
    [ 'spaces and tabs around entries', ["203.0.113.7 \t,\t10.1.2.3 ,  10.0.0.9"],
      ['10.0.0.9', undef, '127.0.0.1', "203.0.113.7 \t,\t10.1.2.3"],
      ['203.0.113.7', undef, '10.1.2.3, 10.0.0.9, 127.0.0.1', undef] ],
    [ 'port of the chosen entry', ['203.0.113.7:4711, 10.1.2.3:80'],
      ['10.1.2.3', 80, '127.0.0.1', '203.0.113.7:4711'],
      ['203.0.113.7', 4711, '10.1.2.3, 127.0.0.1', undef] ],
    [ 'walk stops at an invalid entry', ['203.0.113.7, garbage, 10.1.2.3'],
      ['10.1.2.3', undef, '127.0.0.1', '203.0.113.7, garbage'],
      # On: 10.1.2.3 is trusted, "garbage" stops the walk: the last valid
      # address reached is the client
      ['10.1.2.3', undef, '127.0.0.1', '203.0.113.7, garbage'] ],
    [ 'empty entry stops the walk', ['203.0.113.7, , 10.1.2.3'],
      # what is left keeps the empty entry or not: either is the untouched left part
      ['10.1.2.3', undef, '127.0.0.1', qr/^203\.0\.113\.7[ ,]*$/],
      ['10.1.2.3', undef, '127.0.0.1', qr/^203\.0\.113\.7[ ,]*$/] ],
    [ 'invalid rightmost entry: no change', ['203.0.113.7, 10.1.2.3, garbage'],
      'unchanged', 'unchanged' ],
    [ 'host name stops the walk', ['203.0.113.7, example.com, 10.0.0.7:99'],
      ['10.0.0.7', 99, '127.0.0.1', '203.0.113.7, example.com'],
      ['10.0.0.7', 99, '127.0.0.1', '203.0.113.7, example.com'] ],
    [ '63 trusted + 1: within the 64-entry limit', [join ', ', '203.0.113.7', @trusted_63],
      ['10.0.0.63', undef, '127.0.0.1', join(', ', '203.0.113.7', @trusted_63[0 .. 61])],
      ['203.0.113.7', undef, join(', ', @trusted_63, '127.0.0.1'), undef] ],
    [ '64 trusted + 1: the 64th from the right is the client', [join ', ', '203.0.113.7', @trusted_64],
      ['10.0.0.64', undef, '127.0.0.1', join(', ', '203.0.113.7', @trusted_64[0 .. 62])],
      ['10.0.0.1', undef, join(', ', @trusted_64[1 .. 63], '127.0.0.1'), '203.0.113.7'] ],
    [ '600 trusted entries: at most 64 walked', [join ', ', @all_trusted_600],
      [$all_trusted_600[599], undef, '127.0.0.1', join(', ', @all_trusted_600[0 .. 598])],
      [$all_trusted_600[536], undef, join(', ', @all_trusted_600[537 .. 599], '127.0.0.1'),
       join(', ', @all_trusted_600[0 .. 535])] ],
    [ 'IPv4-mapped IPv6 entry matches 10.0.0.0/8, reported dotted',
      ['203.0.113.7, ::ffff:10.1.2.3'],
      ['10.1.2.3', undef, '127.0.0.1', '203.0.113.7'],
      ['203.0.113.7', undef, '10.1.2.3, 127.0.0.1', undef] ],
);

plan tests => 2 * @cases + 2;

for my $c (@cases) {
    my ($name, $lines, $off, $on) = @$c;
    for ([cip_inherit => 'Off', $off], [cip_recursive => 'On', $on]) {
        my ($vhost, $mode, $exp) = @$_;
        my ($res, $env) = cgi_env(vhost => $vhost,
                                  headers => [map { ('X-Forwarded-For' => $_) } @$lines]);
        my $want;
        if (!ref $exp) {
            # What httpd hands on for several lines: one value joined with ", ".
            $want = unchanged(value => join ', ', @$lines);
        }
        else {
            my ($client, $port, $proxies, $remaining) = @$exp;
            $want = changed(client => $client, port => $port, proxies => $proxies,
                            remaining => $remaining);
        }
        env_ok($res, $env, $want, "recursive $mode: $name");
    }
}

# No header at all: the module is configured, the client is the peer.
{
    my ($res, $env) = cgi_env(vhost => 'cip_recursive');
    env_ok($res, $env, unchanged(), 'no X-Forwarded-For: client is the peer');
}

# The header is matched case-insensitively, as HTTP requires.
{
    my ($res, $env) = cgi_env(vhost => 'cip_recursive',
                              headers => ['x-forwarded-for' => '203.0.113.7, 10.1.2.3']);
    env_ok($res, $env, changed(client => '203.0.113.7', proxies => '10.1.2.3, 127.0.0.1'),
           'header name in lower case');
}
