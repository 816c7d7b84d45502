# Fault: the trust file (ClientIPTrustedProxiesFile) is broken when the
# administrator reloads: a line that is not an address, or a file httpd can no
# longer read (chmod 000; the suite runs as an unprivileged user, for whom
# that really makes it unreadable).
#
# The reload paths an administrator uses, each tried on each broken file:
#   apache2ctl graceful        Debian's apachectl: runs `apache2 -t` first and
#                              signals only when it passes (systemctl reload
#                              apache2 and logrotate's reload run this);
#   apache2 -k graceful        the binary itself: it parses the whole config
#                              before it signals the running parent;
#   apache2 -t                 the configuration test.
# Each must refuse, print an error naming the file (and the line, for a bad
# line), exit non-zero and leave the running server alone: same parent, no
# restart logged, and new connections still get the OLD trust list. Faults:
# a host name on a line, a line cut short by a partial write, the file
# removed (what root, who reads any file, can meet), the file unreadable.
# Then the file is mended (the reload goes through) and finally emptied,
# which is valid and leaves nobody trusted.
#
# (A raw `kill -USR1` of the parent with a broken file is different: the
# parent re-reads the config itself, fails, and exits. scripts/faults-signal
# shows it; docs/reliability-faults.md has the details.)
use strict;
use warnings;
use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use ClientIP::Test;
use ClientIP::Faults;
use File::Temp ();
use Time::HiRes qw(sleep time);

my $tdir = File::Temp::tempdir('clientip-trust-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $trust = "$tdir/trusted-proxies.txt";
sub write_file {
    my ($text) = @_;
    open my $fh, '>', $trust or die "$trust: $!";
    print $fh $text;
    close $fh or die "$trust: $!";
}
# List A: 127.0.0.3 trusted, 127.0.0.2 not.
write_file("127.0.0.1\n127.0.0.3\n");

my ($server, $port) = eval {
    start_on_free_ports(1, sub {
        standalone_server(listen => ["127.0.0.1:$_[0]"], body => <<"CONF");
ClientIPTrustedProxiesFile "$trust"
ClientIPHeader X-Forwarded-For
CONF
    });
};
exit_unless_started($server, $@);

my $httpd = Apache::Test::config()->{vars}{httpd};
my $ctl = find_binary('apache2ctl') // find_binary('apachectl');
my %reload = (
    'apache2ctl graceful' => [ { APACHE_CONFDIR => $server->{dir}, APACHE_HTTPD => $httpd,
                                 APACHE_ARGUMENTS => "-f $server->{conf}" },
                               $ctl, 'graceful' ],
    'apache2 -k graceful' => [ $httpd, '-f', $server->{conf}, '-k', 'graceful' ],
    'apache2 -t'          => [ $httpd, '-f', $server->{conf}, '-t' ],
);
my @paths = ('apache2ctl graceful', 'apache2 -k graceful', 'apache2 -t');

my @faults = (
    [ 'a line that is not an address',
      sub { write_file("127.0.0.1\n127.0.0.2\nproxy.example\n") },
      qr/\Q$trust\E line 3: 'proxy\.example' is not an IP address/ ],
    [ 'a line cut short (a partial write)',
      sub { write_file("127.0.0.1\n127.0.0.2\n10.20.") },
      qr/\Q$trust\E line 3: '10\.20\.' is not an IP address/ ],
    [ 'the file removed',
      sub { unlink $trust or die "unlink: $!" },
      qr/cannot read '\Q$trust\E': No such file or directory/ ],
    [ 'the file unreadable (chmod 000)',
      sub { write_file("127.0.0.1\n127.0.0.2\n"); chmod 0000, $trust or die "chmod: $!" },
      qr/cannot read '\Q$trust\E': Permission denied/ ],
);
plan tests => 1 + @faults * (1 + @paths) + 4;

sub seen_client {
    my ($from) = @_;
    my $r = http_get(port => $port, from => $from, path => '/clientip-info',
                     headers => [ [ 'X-Forwarded-For' => '198.51.100.77' ] ]);
    return $r->{code} == 200 ? $r->{headers}{'x-seen-client'} // '' : "status $r->{code}";
}
sub list_a_in_force {
    return seen_client('127.0.0.3') eq '198.51.100.77' && seen_client('127.0.0.2') eq '127.0.0.2';
}
sub restarts { count_lines($server->{error_log}, qr/SIGUSR1 received|SIGHUP received/) }

ok list_a_in_force(), 'before: list A in force (127.0.0.3 honoured, 127.0.0.2 not)';

for my $f (@faults) {
    my ($name, $inject, $want) = @$f;
    $inject->();
    SKIP: {
        skip "$name: this user can still read it (root?)", scalar(@paths) + 1
            if $name =~ /unreadable/ and -r $trust;
        for my $path (@paths) {
            my ($rc, $out) = run_cmd(@{ $reload{$path} });
            subtest "$name: $path refuses and the old list keeps serving" => sub {
                isnt $rc, 0, 'exit status non-zero';
                like $out, $want, 'the error names the file' . ($name =~ /line/ ? ' and line' : '')
                    or diag $out;
                unlike $out, qr/Syntax OK/, 'no "Syntax OK"';
                ok kill(0, $server->{pid}), "the parent ($server->{pid}) still runs";
                is restarts(), 0, 'no restart in the error log';
                ok list_a_in_force(), 'new connections: still list A';
            };
        }
        my $r = http_get(port => $port, from => '127.0.0.1', path => '/clientip-info',
                         headers => [ [ 'X-Forwarded-For' => '203.0.113.9' ] ]);
        is $r->{headers}{'x-seen-client'}, '203.0.113.9',
            "$name: the trusted proxy's client still honoured";
    }
    chmod 0644, $trust if -e $trust;
}

# Mended: the same command now reloads, and the new list is in force.
write_file("127.0.0.1\n127.0.0.2\n");
my ($rc, $out) = run_cmd(@{ $reload{'apache2ctl graceful'} });
is $rc, 0, 'file mended: apache2ctl graceful accepted' or diag $out;
my $deadline = time + 10;
sleep 0.1 until (seen_client('127.0.0.2') eq '198.51.100.77' or time > $deadline);
ok seen_client('127.0.0.2') eq '198.51.100.77' && seen_client('127.0.0.3') eq '127.0.0.3',
   'after the reload: the new list (127.0.0.2 honoured, 127.0.0.3 not)';

# Truncated to nothing (a deploy that wrote an empty file): that is a valid
# file (docs/directives.md: it adds nothing), so the reload goes through,
# and nobody is trusted any more: the header is ignored, the client is the
# peer. The safe direction: nothing is trusted by accident.
write_file('');
($rc, $out) = run_cmd(@{ $reload{'apache2ctl graceful'} });
is $rc, 0, 'file emptied: apache2ctl graceful accepts it (an empty file is valid)' or diag $out;
$deadline = time + 10;
sleep 0.1 until (seen_client('127.0.0.1') eq '127.0.0.1' or time > $deadline);
ok seen_client('127.0.0.1') eq '127.0.0.1' && seen_client('127.0.0.2') eq '127.0.0.2',
   'after the reload: no peer trusted, X-Forwarded-For ignored (client = peer)';
