# The walk's memo (cip_list.h): on one keep-alive connection the trusted
# right end of X-Forwarded-For is remembered and not read again when the
# next request's list ends with the same bytes. Whatever the sequence, each
# request must come out exactly as on a connection of its own: the same
# client, proxies and remaining header, whether its list repeats the
# chain, extends it, breaks it, or only looks like it.
use strict;
use warnings;
use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use ClientIP::Test;

# cip_recursive: 127.0.0.1 and 10.0.0.0/8 trusted, ClientIPRecursive On.
my @seq = (
    # a chain of two trusted proxies: remembered
    ['203.0.113.7, 10.1.2.3, 10.9.9.9', '203.0.113.7', '10.1.2.3, 10.9.9.9, 127.0.0.1', undef],
    # the same chain, another client: read from the memo
    ['198.51.100.1, 10.1.2.3, 10.9.9.9', '198.51.100.1', '10.1.2.3, 10.9.9.9, 127.0.0.1', undef],
    # the same chain, and left of it only trusted entries: the leftmost
    ['10.5.5.5, 10.1.2.3, 10.9.9.9', '10.5.5.5', '10.1.2.3, 10.9.9.9, 127.0.0.1', undef],
    # a longer trusted chain ending the same way
    ['198.51.100.4, 10.7.7.7, 10.1.2.3, 10.9.9.9', '198.51.100.4',
     '10.7.7.7, 10.1.2.3, 10.9.9.9, 127.0.0.1', undef],
    # no request header at all in between: the peer
    [undef, '127.0.0.1', undef, undef],
    # the same bytes without the comma's space: not the memo's bytes
    ['198.51.100.2,10.1.2.3, 10.9.9.9', '198.51.100.2', '10.1.2.3, 10.9.9.9, 127.0.0.1', undef],
    # the memo's entries glued to client text: "198.51.100.3 10.1.2.3" is
    # one invalid entry, so the client is the last valid address, 10.9.9.9
    ['203.0.113.7, 10.1.2.3, 10.9.9.9', '203.0.113.7', '10.1.2.3, 10.9.9.9, 127.0.0.1', undef],
    ['198.51.100.3 10.1.2.3, 10.9.9.9', '10.9.9.9', '127.0.0.1', '198.51.100.3 10.1.2.3'],
    # the chain changes
    ['203.0.113.8, 10.1.2.4, 10.9.9.9', '203.0.113.8', '10.1.2.4, 10.9.9.9, 127.0.0.1', undef],
    # an untrusted entry inside what used to be the chain
    ['203.0.113.9, 1.2.3.4, 10.9.9.9', '1.2.3.4', '10.9.9.9, 127.0.0.1', '203.0.113.9'],
    # and back to the first chain, a client written with a port
    ['203.0.113.7:4711, 10.1.2.3, 10.9.9.9', '203.0.113.7', '10.1.2.3, 10.9.9.9, 127.0.0.1', undef],
);

plan tests => 2 + 4 * @seq;

my $c = connection(vhost => 'cip_recursive', keep_alive => 1);
my $port = $c->local_port;
my @got = map { my $res = $c->get(headers => defined $_->[0] ? ['X-Forwarded-For' => $_->[0]] : []);
                [ $res, ClientIP::Test::parse_env($res) ] } @seq;
$c->close;

is scalar(grep { $_->[0]{code} == 200 } @got), scalar @seq, 'every request answered 200';
is scalar(grep { ($_->[1]{CLIENTIP_PEER_PORT} // '') eq $port } @got), scalar @seq,
   "all on one connection (peer port $port)";
for my $i (0 .. $#seq) {
    my ($xff, $client, $proxies, $remaining) = @{ $seq[$i] };
    my $env = $got[$i][1];
    my $what = "request $i (" . ($xff // 'no header') . ')';
    is $env->{REMOTE_ADDR}, $client, "$what: client $client";
    is $env->{CLIENTIP_ADDR}, $client, "$what: CLIENTIP_ADDR";
    is $env->{CLIENTIP_PROXIES}, $proxies, "$what: CLIENTIP_PROXIES " . ($proxies // 'unset');
    is $env->{HTTP_X_FORWARDED_FOR}, $remaining,
       "$what: X-Forwarded-For left for the backend: " . ($remaining // 'none');
}
