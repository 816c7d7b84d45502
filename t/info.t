# SetHandler clientip-info: a JSON document of what the module resolved for
# this request (application/json).
use strict;
use warnings;
use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use ClientIP::Test;
use JSON::PP ();

# [ name, vhost, from, X-Forwarded-For, expected fields ]
# client port 'PEER' = our source port; trusted_by undef = JSON null.
my @cases = (
    [ 'recursive walk', 'cip_recursive', trusted, '198.51.100.1, 203.0.113.7:4711, 10.1.2.3',
      { configured => 1, peer_trusted => 1, trusted_by => '127.0.0.1/32',
        client => '203.0.113.7', client_port => 4711, source => 'X-Forwarded-For',
        proxies => ['10.1.2.3', '127.0.0.1'], header => 'X-Forwarded-For', recursive => 1,
        stopped => 1 } ],
    [ 'rightmost entry, no port', 'cip_inherit', trusted, '203.0.113.7, 10.1.2.3',
      { configured => 1, peer_trusted => 1, trusted_by => '127.0.0.1/32',
        client => '10.1.2.3', client_port => undef, source => 'X-Forwarded-For',
        proxies => ['127.0.0.1'], header => 'X-Forwarded-For', recursive => 0 } ],
    [ 'untrusted peer', 'cip_inherit', untrusted, '203.0.113.7',
      { configured => 1, peer_trusted => 0, trusted_by => undef,
        client => '127.0.0.2', client_port => 'PEER', source => undef,
        proxies => [], header => 'X-Forwarded-For', recursive => 0 } ],
    [ 'trusted by a keyword', 'cip_kw_loopback', untrusted, '203.0.113.7',
      { configured => 1, peer_trusted => 1, trusted_by => '127.0.0.0/8',
        client => '203.0.113.7', client_port => undef, source => 'X-Forwarded-For',
        proxies => ['127.0.0.2'], header => 'X-Forwarded-For', recursive => 1 } ],
    [ 'trusted by "all"', 'cip_kw_all', untrusted, undef,
      { configured => 1, peer_trusted => 1, trusted_by => '0.0.0.0/0',
        client => '127.0.0.2', client_port => 'PEER', source => undef,
        proxies => [], header => 'X-Forwarded-For', recursive => 1 } ],
    [ 'walk stopped by garbage', 'cip_hostile', trusted, '203.0.113.7, garbage',
      { configured => 1, peer_trusted => 1, trusted_by => '127.0.0.1/32',
        client => '127.0.0.1', client_port => 'PEER', source => undef,
        proxies => [], header => 'X-Forwarded-For', recursive => 1, stopped => 1,
        stop_names => qr/garbage|not an? |invalid/i } ],
    [ 'custom header', 'cip_custom', trusted, undef,
      { configured => 1, peer_trusted => 1, trusted_by => '127.0.0.1/32',
        client => '127.0.0.1', client_port => 'PEER', source => undef,
        proxies => [], header => 'X-Client-Addr', recursive => 1 } ],
);

plan tests => scalar(@cases) + 1;

for my $c (@cases) {
    my ($name, $vhost, $from, $xff, $w) = @$c;
    my ($res, $j) = info_json(vhost => $vhost, from => $from,
                              headers => [defined $xff ? ('X-Forwarded-For' => $xff) : ()]);
    subtest "$vhost: $name" => sub {
        is $res->{code}, 200, 'status 200';
        like $res->{headers}{'content-type'} // '', qr{^application/json\b}, 'application/json';
        ok ref $j eq 'HASH', 'body is a JSON object' or return diag $res->{body};
        ok JSON::PP::is_bool($j->{configured}) && !!$j->{configured} == !!$w->{configured},
           "configured is boolean $w->{configured}";
        is $j->{peer}{ip}, $from, 'peer.ip';
        is $j->{peer}{port}, $res->{local_port}, 'peer.port is our source port';
        ok JSON::PP::is_bool($j->{peer}{trusted}) && !!$j->{peer}{trusted} == !!$w->{peer_trusted},
           "peer.trusted is boolean $w->{peer_trusted}";
        is $j->{peer}{trusted_by}, $w->{trusted_by}, 'peer.trusted_by ' . ($w->{trusted_by} // 'null');
        is $j->{client}{ip}, $w->{client}, 'client.ip';
        my $cp = defined $w->{client_port} && $w->{client_port} eq 'PEER'
               ? $res->{local_port} : $w->{client_port};
        is $j->{client}{port}, $cp, 'client.port ' . ($cp // 'null');
        is $j->{source}, $w->{source}, 'source ' . ($w->{source} // 'null');
        is_deeply $j->{proxies}, $w->{proxies}, 'proxies, nearest last';
        is $j->{header}, $w->{header}, 'header';
        ok JSON::PP::is_bool($j->{recursive}) && !!$j->{recursive} == !!$w->{recursive},
           "recursive is boolean $w->{recursive}";
        ok ref $j->{trail} eq 'ARRAY' && @{ $j->{trail} } && !grep({ ref || !defined } @{ $j->{trail} }),
           'trail is a non-empty list of strings';
        if ($w->{stopped}) {
            ok defined $j->{stop} && !ref $j->{stop} && length $j->{stop}, 'stop says why the walk stopped'
                or diag explain $j;
        }
        like $j->{stop}, $w->{stop_names}, "stop names the reason" if $w->{stop_names};
        # The document agrees with what the rest of httpd sees.
        is $res->{headers}{'x-seen-client'}, $w->{client}, 'same client as %{REMOTE_ADDR}';
    };
}

# The handler's JSON is what JSON::PP decodes strictly (no trailing junk).
{
    my ($res) = info_json(vhost => 'cip_recursive', headers => ['X-Forwarded-For' => "203.0.113.7"]);
    my $ok = eval { JSON::PP->new->utf8->decode($res->{body}); 1 };
    ok $ok, 'strict JSON' or diag $@;
}
