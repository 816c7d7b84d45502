# Fault: a peer resets the connection in the middle of its PROXY header.
#
# A real TCP reset: the test writes the first N bytes of a PROXY v1 or v2
# header, waits until httpd has read them, then closes with SO_LINGER 0, so
# the kernel sends RST instead of FIN. Split points cover every part of
# both formats: inside "PROXY", the addresses, just before the CRLF, between
# CR and LF (v1); inside the 12-byte signature, the version/command byte,
# the length field, the addresses, a TLV's header and its value (v2). Also a
# reset before any byte (a port probe) and one after the whole header.
#
# Against two servers of the test's own: prefork (ClientIP::Test::
# standalone_server) and event with mod_reqtimeout, as Debian enables it
# (httpd_server), the latter on an On and an Optional address. All resets of
# a round are open at the same time, two rounds per address.
#
# What a user must see (docs/directives.md, "The refusal log line"):
# - for each reset mid-header, exactly one error-log line at level warn,
#   "connection closed after N bytes of the PROXY header (the peer gave up
#   mid-header)", naming the peer with its port and the right N;
# - no line for the reset before any byte (probes are silent), and no PROXY
#   refusal for the reset after a complete header;
# - no child crashed, and the next connections are served normally (the
#   client taken from their PROXY header).
use strict;
use warnings;
use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use ClientIP::Test;
use ClientIP::Faults;
use IO::Socket::IP ();
use Socket qw(IPPROTO_TCP TCP_NODELAY SOL_SOCKET SO_LINGER);
use Time::HiRes qw(sleep time);

my $v1 = proxy_v1(src => '203.0.113.7', dst => '127.0.0.1', sport => 4711, dport => 80);
my $v2 = proxy_v2(src => '203.0.113.7', dst => '127.0.0.1', sport => 4711, dport => 80,
                  tlvs => [ [ 0x01, 'h2' ], [ 0x02, 'app.example' ], [ 0xE0, 'x' x 300 ] ]);
my $v2_addr_end = 16 + 12;
my @splits = (
    (map { [ 'v1', $_ ] } 1, 3, 5, 6, 11, 20, length($v1) - 2, length($v1) - 1),
    (map { [ 'v2', $_ ] } 1, 6, 12, 13, 14, 15, 16, 20, $v2_addr_end, $v2_addr_end + 2,
                          $v2_addr_end + 5 + 1, length($v2) - 150, length($v2) - 1),
);
my $rounds = 2;

my %servers;
my $cfg = <<'CONF';
ClientIPTrustedProxies 127.0.0.1
ClientIPProxyProtocol On
ClientIPProxyProtocolTimeout 5
CONF
my ($pp, $pe, $po);
($servers{prefork}, $pp) = eval {
    start_on_free_ports(1, sub {
        standalone_server(listen => ["127.0.0.1:$_[0]"], body => $cfg . <<'CONF');
StartServers 24
MinSpareServers 24
MaxSpareServers 32
CONF
    });
} or diag "prefork server: $@";
($servers{event}, $pe, $po) = eval {
    start_on_free_ports(2, sub {
        my ($on, $opt) = @_;
        httpd_server(mpm => 'event', modules => ['reqtimeout'],
                     listen => ["127.0.0.1:$on", "127.0.0.1:$opt"], body => $cfg . <<"CONF");
StartServers 2
<VirtualHost 127.0.0.1:$opt>
    ClientIPProxyProtocol Optional
</VirtualHost>
CONF
    });
} or diag "event server: $@";

# [ name, server, port ]: the event server's second address is Optional.
my @targets = (
    [ 'prefork On', $servers{prefork}, $pp ],
    [ 'event On', $servers{event}, $pe ],
    [ 'event Optional', $servers{event}, $po ],
);
plan tests => @targets * 3 * $rounds + 2 * 3;

sub open_conn {
    my ($port) = @_;
    my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port,
                                LocalHost => '127.0.0.1', Timeout => 5)
        or die "connect to $port: $@\n";
    setsockopt($s, IPPROTO_TCP, TCP_NODELAY, 1);
    return $s;
}

sub reset_conn {
    my ($s) = @_;
    setsockopt($s, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0)) or die "SO_LINGER: $!\n";
    close $s;
}

my $total_resets = 0;
for my $t (@targets) {
    my ($mpm, $srv, $port) = @$t;
    SKIP: {
        skip "$mpm server did not start", 3 * $rounds unless $srv;
        local $SIG{PIPE} = 'IGNORE';
        for my $round (1 .. $rounds) {
            # Lines of this round only: a client port may come again.
            my $offset = -s $srv->{error_log} // 0;
            my $read_lines = sub {
                my %by_port;
                open my $fh, '<', $srv->{error_log} or die "$srv->{error_log}: $!";
                seek $fh, $offset, 0;
                while (my $l = <$fh>) {
                    push @{ $by_port{$1} }, $l
                        if $l =~ /clientip: closing connection from 127\.0\.0\.1:(\d+) to 127\.0\.0\.1:$port: /;
                }
                return %by_port;
            };
            # Open them all, write the partial headers, let httpd read them.
            my (@mid, @probe, @after);
            for my $sp (@splits) {
                my ($ver, $n) = @$sp;
                my $s = open_conn($port);
                syswrite $s, substr($ver eq 'v1' ? $v1 : $v2, 0, $n);
                push @mid, { sock => $s, ver => $ver, n => $n, lport => $s->sockport };
            }
            my $p = open_conn($port);
            push @probe, { sock => $p, lport => $p->sockport };
            my $a = open_conn($port);
            syswrite $a, $v2;
            push @after, { sock => $a, lport => $a->sockport };
            sleep 0.25;
            reset_conn($_->{sock}) for @mid, @probe, @after;
            $total_resets += @mid + @probe + @after;

            my %line;
            my $deadline = time + 5;
            while (1) {
                %line = $read_lines->();
                last if (grep { $line{ $_->{lport} } } @mid) == @mid or time > $deadline;
                sleep 0.1;
            }
            subtest "$mpm round $round: each reset mid-header logged once, with its byte count" => sub {
                Test::More::plan(tests => scalar @mid);
                for my $c (@mid) {
                    my @l = @{ $line{ $c->{lport} } || [] };
                    my $ok = @l == 1 && $l[0] =~ /\[clientip:warn\] .*clientip: closing connection from 127\.0\.0\.1:$c->{lport} to 127\.0\.0\.1:$port: connection closed after $c->{n} bytes of the PROXY header \(the peer gave up mid-header\)/;
                    ok $ok, "$c->{ver} reset after $c->{n} bytes"
                        or diag scalar(@l) . " lines: @l";
                }
            };
            subtest "$mpm round $round: no line for a probe or after a complete header" => sub {
                sleep 0.2;   # what would have been logged has been by now
                %line = $read_lines->();
                ok !$line{ $probe[0]{lport} }, 'reset before any byte: silent'
                    or diag @{ $line{ $probe[0]{lport} } };
                ok !$line{ $after[0]{lport} }, 'reset after the whole header: no PROXY refusal'
                    or diag @{ $line{ $after[0]{lport} } };
            };
            subtest "$mpm round $round: the next connections are served normally" => sub {
                for my $i (1 .. 4) {
                    my $r = http_get(port => $port, prefix => ($i % 2 ? $v1 : $v2),
                                     path => '/clientip-info');
                    is $r->{code}, 200, "request $i: 200" or diag $r->{error};
                    is $r->{headers}{'x-seen-client'}, '203.0.113.7',
                        "request $i: client from its PROXY " . ($i % 2 ? 'v1' : 'v2') . ' header';
                }
            };
        }
    }
}

for my $mpm (qw(prefork event)) {
    my $srv = $servers{$mpm};
    SKIP: {
        skip "$mpm server did not start", 3 unless $srv;
        my @crash = wait_for_log($srv->{error_log}, qr/exit signal|AH00052|segfault/, timeout => 0.2);
        ok !@crash, "$mpm: no 'exit signal' in the error log" or diag join "\n", @crash;
        ok kill(0, $srv->{pid}), "$mpm: the parent still runs";
        my @refusals = wait_for_log($srv->{error_log}, qr/gave up mid-header/, timeout => 0);
        my %pids = map { /\[pid (\d+):tid/ ? ($1 => $_) : () } @refusals;
        subtest "$mpm: every child that logged a reset still runs" => sub {
            Test::More::plan(tests => scalar keys %pids);
            httpd_child_survived($pids{$_}, $srv->{error_log}) for sort keys %pids;
        };
    }
}
diag "$total_resets connections reset (" . scalar(@splits) . " split points mid-header, "
   . "a probe and a complete header; $rounds rounds; prefork On, event On and Optional)";
