# Fault: the trust file changes and the server is gracefully restarted while
# clients are busy on it.
#
# A server of the test's own (event MPM, ClientIP::Test::httpd_server) reads
# its trusted proxies from a file (ClientIPTrustedProxiesFile). Four client
# processes keep HTTP/1.1 keep-alive connections busy from 127.0.0.1, which
# every version of the file trusts, each sending X-Forwarded-For with a
# client address of its own. Meanwhile the file is rewritten and httpd is
# told `apache2 -k graceful` (the real signal path: the command finds the
# running parent by the PidFile of the same config), three times. The file
# alternates between two lists:
#
#   A: 127.0.0.1, 127.0.0.3          B: 127.0.0.1, 127.0.0.2
#
# What a user must see:
# - no request of the load fails and none gets a 5xx or a wrong client, across
#   all three restarts (a keep-alive connection that an old child closes
#   between two requests is reconnected and the request sent again, as HTTP
#   clients do; those are counted and reported, not failures);
# - after each restart, new connections get the new list: the peer that
#   became trusted is honoured, the one that was removed is not;
# - no httpd child crashed.
use strict;
use warnings;
use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use ClientIP::Test;
use ClientIP::Faults;
use File::Temp ();
use Time::HiRes qw(sleep time);

my %lists = (A => "127.0.0.1\n127.0.0.3\n",
             B => "# after the change\n127.0.0.1\n127.0.0.2\n");
my $tdir = File::Temp::tempdir('clientip-trust-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $trust = "$tdir/trusted-proxies.txt";

sub write_list {
    my ($name) = @_;
    # As configuration management does it: a new file renamed over the old.
    open my $fh, '>', "$trust.new" or die "$trust.new: $!";
    print $fh $lists{$name};
    close $fh or die "$trust.new: $!";
    rename "$trust.new", $trust or die "rename: $!";
}
write_list('A');

my ($server, $port) = eval {
    start_on_free_ports(1, sub {
        httpd_server(mpm => 'event', listen => ["127.0.0.1:$_[0]"], body => <<"CONF");
ClientIPTrustedProxiesFile "$trust"
ClientIPHeader X-Forwarded-For
KeepAlive On
MaxKeepAliveRequests 0
CONF
    });
};
exit_unless_started($server, $@);
{
    open my $fh, '>', "$server->{dir}/htdocs/load.txt" or die "$!";
    print $fh "ok\n";
    close $fh;
}
my $httpd = Apache::Test::config()->{vars}{httpd};
my @restarts = qw(B A B);
plan tests => 1 + 3 * @restarts + 3;

# Which client httpd settles on for a fresh connection from $from.
sub seen_client {
    my ($from) = @_;
    my $r = http_get(port => $port, from => $from, path => '/load.txt',
                     headers => [ [ 'X-Forwarded-For' => '198.51.100.77' ] ]);
    return $r->{code} == 200 ? $r->{headers}{'x-seen-client'} // '' : "status $r->{code}";
}

# The list in force for new connections: which of .2 and .3 are honoured.
sub list_in_force {
    my $two   = seen_client('127.0.0.2') eq '198.51.100.77';
    my $three = seen_client('127.0.0.3') eq '198.51.100.77';
    return 'B' if $two and !$three;
    return 'A' if $three and !$two;
    return "neither (127.0.0.2 honoured: $two, 127.0.0.3 honoured: $three)";
}

is list_in_force(), 'A', 'before any restart: list A (127.0.0.3 trusted, 127.0.0.2 not)';

my $load = start_load(dir => $server->{dir}, port => $port, clients => 4,
                      path => '/load.txt', xff => '203.0.113.N');
sleep 0.5;

my $generation = 1;
for my $list (@restarts) {
    write_list($list);
    my ($rc, $out) = run_cmd($httpd, '-f', $server->{conf}, '-k', 'graceful');
    is $rc, 0, "apache2 -k graceful with list $list accepted" or diag $out;
    $generation++;
    my @up = wait_for_log($server->{error_log}, qr/resuming normal operations/, timeout => 10);
    my $deadline = time + 10;
    while (@up < $generation and time < $deadline) {
        sleep 0.1;
        @up = wait_for_log($server->{error_log}, qr/resuming normal operations/);
    }
    is scalar(@up), $generation, "httpd logged the restart (generation $generation)";

    # New children take a moment to replace the old ones: wait until a new
    # connection sees the new list, then it must hold for every new
    # connection.
    my $seen = '';
    $deadline = time + 10;
    until (($seen = list_in_force()) eq $list or time > $deadline) { sleep 0.1 }
    my @after = map { list_in_force() } 1 .. 5;
    is_deeply [ $seen, @after ], [ ($list) x 6 ],
        "after the restart new connections get list $list (6 checks)";
    sleep 0.5;   # the load goes on under the new generation
}

my $st = stop_load($load);
diag load_summary($st);
diag 'stale keep-alive connections: ', join '; ', map { s/\s+$//r } @{ $st->{stale_errors} }
    if $st->{stale};
subtest 'the load through three graceful restarts' => sub {
    is $st->{clients}, 4, 'all four clients reported';
    cmp_ok $st->{requests}, '>', 100, 'the load ran (over 100 requests)';
    is $st->{failed}, 0, 'no request failed (no connection error, retries included)'
        or diag join "\n", @{ $st->{errors} };
    is $st->{status_5xx}, 0, 'no 5xx';
    is $st->{other_status}, 0, 'no other status than 200';
    is $st->{wrong_client}, 0, 'every response named the right client'
        or diag join "\n", @{ $st->{errors} };
    is $st->{ok}, $st->{requests}, 'every request answered 200 with the right client';
};

is list_in_force(), 'B', 'with the load gone: list B still in force';

my @crash = wait_for_log($server->{error_log}, qr/exit signal|segfault|AH00052/, timeout => 0.2);
ok !@crash, 'no httpd child crashed' or diag join "\n", @crash;
