# Nothing carries over between requests of one keep-alive connection: a
# request without X-Forwarded-For after one with it shows the peer again.
use strict;
use warnings;
use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use ClientIP::Test;
use LWP::UserAgent ();

plan tests => 9;

# Raw connection (Net::HTTP), several requests, source port checked.
# (cip_inherit: recursive Off; cip_by: recursive On, X-Forwarded-By.)
for my $vhost (qw(cip_inherit cip_by)) {
    my $c = connection(vhost => $vhost, keep_alive => 1);
    my $port = $c->local_port;
    my @seq = (
        [ ['X-Forwarded-For' => '203.0.113.7:4711'],
          changed(client => '203.0.113.7', port => 4711) ],
        [ [], unchanged() ],
        [ ['X-Forwarded-For' => '198.51.100.1, 203.0.113.9'],
          changed(client => '203.0.113.9', remaining => '198.51.100.1') ],
        [ ['X-Forwarded-For' => 'garbage'], unchanged(value => 'garbage') ],
    );
    my @results = map {
        my $res = $c->get(headers => $_->[0]);
        [ $res, ClientIP::Test::parse_env($res), $_->[1] ];
    } @seq;
    $c->close;
    subtest "$vhost: four requests on one connection" => sub {
        for my $i (0 .. $#results) {
            my ($res, $env, $want) = @{ $results[$i] };
            is $env->{CLIENTIP_PEER_PORT}, $port, "request $i on the same connection (peer port $port)";
            for my $k (sort keys %$want) {
                my $v = $want->{$k};
                $v = $port if defined $v and $v eq PEER_PORT;
                if (defined $v) { is $env->{$k}, $v, "request $i: $k=$v" }
                else { ok !exists $env->{$k}, "request $i: $k unset" }
            }
            if ($vhost eq 'cip_by') {
                is $env->{HTTP_X_FORWARDED_BY}, $want->{CLIENTIP_PROXIES},
                   "request $i: X-Forwarded-By follows this request only";
            }
        }
    };
}

# LWP with keep_alive, through Apache::TestRequest's URL for the host.
my $url = Apache::TestRequest::module2url('cip_recursive', { path => '/cgi-bin/env.cgi' });
$url =~ s{//localhost:}{//127.0.0.1:};   # stay on IPv4 loopback, as the server listens
my $ua = LWP::UserAgent->new(keep_alive => 1, timeout => 15, local_address => trusted);

sub lwp_env {
    my (@headers) = @_;
    my $r = $ua->get($url, @headers);
    my %env = map { split /=/, $_, 2 } grep { /=/ } split /\n/, $r->decoded_content // '';
    return ($r, \%env);
}

my ($r1, $e1) = lwp_env('X-Forwarded-For' => '203.0.113.7, 10.1.2.3');
my ($r2, $e2) = lwp_env();
my ($r3, $e3) = lwp_env('X-Forwarded-For' => '198.51.100.5');

is $r1->code, 200, 'LWP request 1 ok';
is $e1->{REMOTE_ADDR}, '203.0.113.7', 'LWP request 1: client from X-Forwarded-For';
is $e2->{CLIENTIP_PEER_PORT}, $e1->{CLIENTIP_PEER_PORT}, 'LWP request 2: same connection';
is $e2->{REMOTE_ADDR}, '127.0.0.1', 'LWP request 2 without header: the peer';
ok !exists $e2->{CLIENTIP_PROXIES} && !exists $e2->{CLIENTIP_SOURCE},
   'LWP request 2: no CLIENTIP_SOURCE/CLIENTIP_PROXIES left over';
is $e2->{CLIENTIP_PORT}, $e2->{CLIENTIP_PEER_PORT}, 'LWP request 2: client port is the peer port';
is $e3->{REMOTE_ADDR}, '198.51.100.5', 'LWP request 3: header honoured again';
