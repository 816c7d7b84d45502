# Fault: many idle connections on a PROXY protocol listener (slowloris), a
# scaled-down version of scripts/faults-idle (make faults) for CI.
#
# 500 connections open at once to an event-MPM server of the test's own
# (ClientIP::Test::httpd_server) with ClientIPProxyProtocol On and
# ClientIPProxyProtocolTimeout 2; half send nothing, half send the first
# bytes of a PROXY header (v1 and v2 alternately), then all stay silent. The
# server has 256 worker threads (4 children of 64), fewer than the idle
# connections: the PROXY header is read in a worker thread, so the idle
# connections take every worker, and the rest wait in the listen queue.
# "AcceptFilter http none": with httpd's Linux default (data, i.e.
# TCP_DEFER_ACCEPT) the kernel would hold the connections that send nothing
# for about 30 s before httpd sees them; here every one reaches a worker.
#
# While the workers are all taken, an ordinary client connects (a whole
# PROXY header and a request, from the trusted balancer).
#
# What a user must see:
# - the server closes every idle connection, each after the timeout, each
#   with one log line "PROXY header incomplete after 2 s (N bytes)" with the
#   N it sent;
# - the ordinary client is served (200, the client from its PROXY header)
#   once the timeout has freed workers: it waits, it is not refused; its
#   wait is reported, not asserted;
# - afterwards ordinary clients are served as before, and no child crashed.
use strict;
use warnings;
use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use ClientIP::Test;
use ClientIP::Faults;
use Time::HiRes qw(sleep time);

my $conns = 500;
my ($server, $port) = eval {
    start_on_free_ports(1, sub {
        httpd_server(mpm => 'event', listen => ["127.0.0.1:$_[0]"], body => <<'CONF');
ClientIPTrustedProxies 127.0.0.1
ClientIPProxyProtocol On
ClientIPProxyProtocolTimeout 2
AcceptFilter http none
ServerLimit 4
StartServers 4
ThreadLimit 64
ThreadsPerChild 64
MinSpareThreads 64
MaxSpareThreads 256
MaxRequestWorkers 256
LogLevel warn
CONF
    });
};
exit_unless_started($server, $@);
plan tests => 7;

my $v1_half = 'PROXY TCP4 203.0.113.7 127.0.0.1 4';
my $v2_half = substr(proxy_v2(), 0, 14);
my $probe = proxy_v1(src => '198.51.100.42', sport => 40000, dport => $port)
          . "GET /clientip-info HTTP/1.1\r\nHost: 127.0.0.1:$port\r\nConnection: close\r\n\r\n";

# Every child has started its threads.
my $deadline = time + 10;
sleep 0.1 until httpd_threads($server->{pid}) >= 256 or time > $deadline;

my $first = http_get(port => $port, prefix => proxy_v1(src => '198.51.100.42'),
                     path => '/clientip-info');
is $first->{headers}{'x-seen-client'}, '198.51.100.42', 'before: an ordinary client is served';

# One ordinary client, started once every idle connection is open.
my $res = idle_storm(port => $port, conns => $conns, batch => $conns,
                     partials => [ $v1_half, $v2_half ], partial_every => 2,
                     probe => $probe, probe_every => 1000, after => 0, guard => 90,
                     sample => sub { }, sample_every => 100);
my @idle = @{ $res->{idle} };
my ($p) = @{ $res->{probes} };

my %line;
{
    my @l = wait_for_log($server->{error_log}, qr/PROXY header incomplete/, timeout => 5);
    for my $l (@l) {
        push @{ $line{$1} }, $l if $l =~ /closing connection from 127\.0\.0\.1:(\d+) /;
    }
}
my @closed = grep { $_->{how} eq 'eof' or $_->{how} eq 'reset' } @idle;
my @open_for = map { $_->{ended} - $_->{started} } @closed;
diag sprintf 'idle connections: %d, closed by the server %d; closed after %.1f s (first), '
           . '%.1f s (median), %.1f s (last); whole run %.1f s', scalar @idle, scalar @closed,
    percentile(0, @open_for) // -1, percentile(50, @open_for) // -1,
    percentile(100, @open_for) // -1, $res->{seconds};

subtest "the server closed all $conns idle connections" => sub {
    is scalar(@idle), $conns, "$conns opened";
    my %how;
    $how{ $_->{how} }++ for @idle;
    is scalar(@closed), $conns, 'all closed by the server'
        or diag join ', ', map { "$_: $how{$_}" } sort keys %how;
    is $how{data} // 0, 0, 'none got a byte of an answer';
    my @early = grep { $_ < 1.9 } @open_for;
    is scalar(@early), 0, 'none closed before the 2 s timeout could have run out';
};

subtest 'one log line each, "PROXY header incomplete after 2 s", with its byte count' => sub {
    my ($ok, @bad) = (0);
    for my $c (@idle) {
        my @l = @{ $line{ $c->{lport} // 0 } || [] };
        my $n = $c->{sent} || 0;
        if (@l == 1 and $l[0] =~ /\[clientip:warn\] .*PROXY header incomplete after 2 s \($n bytes\) \(ClientIPProxyProtocolTimeout\)/) {
            $ok++;
        }
        else { push @bad, "port $c->{lport}, sent $n: " . (@l ? join(' | ', @l) : 'no line') }
    }
    is $ok, $conns, "$conns connections, each with its line" or diag join "\n", @bad[0 .. ($#bad < 4 ? $#bad : 4)];
    my $halves = grep { $_->{sent} } @idle;
    is $halves, $conns / 2, 'half of them had sent part of a header';
};

ok $p && $p->{code} == 200 && ($p->{client} // '') eq '198.51.100.42',
   'the ordinary client that came while every worker was taken: served, right client'
    or diag explain $p;
diag sprintf 'it started %.2f s into the run and waited %.2f s for its answer',
    $p->{started}, $p->{ended} - $p->{started} if $p and defined $p->{ended};

my $after = http_get(port => $port, prefix => proxy_v1(src => '198.51.100.43'),
                     path => '/clientip-info');
is $after->{headers}{'x-seen-client'}, '198.51.100.43', 'after: an ordinary client is served';

my @crash = wait_for_log($server->{error_log}, qr/exit signal|AH00052|segfault/, timeout => 0);
ok !@crash, 'no child crashed' or diag join "\n", @crash;
ok kill(0, $server->{pid}), 'the parent still runs';
