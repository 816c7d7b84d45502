# Regression test: the PROXY filter with mod_reqtimeout, as Debian ships it.
#
# mod_reqtimeout reads request lines without blocking and polls the socket
# when it gets a partial line. The PROXY filter reads past the header and
# keeps what follows; when that kept part ended mid-line while the rest of
# the line was already buffered below the filter, the poll never fired and
# the request hung until the header timeout (a 408 after 20 s with curl).
# Every request here must be answered at once, however the bytes arrive.
use strict;
use warnings;
use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use ClientIP::Test;
use IO::Socket::INET ();
use Time::HiRes ();

my $port = free_port();
my $server = eval {
    standalone_server(listen => ["127.0.0.1:$port"], body => <<'CONF');
LoadModule reqtimeout_module /usr/lib/apache2/modules/mod_reqtimeout.so
RequestReadTimeout header=20-40,MinRate=500 body=20,MinRate=500
ClientIPTrustedProxies 127.0.0.1
ClientIPProxyProtocol On
CONF
};
exit_unless_started($server, $@);

my $line = "PROXY TCP4 203.0.113.7 198.51.100.2 4711 443\r\n";
# Long enough that header plus request exceed the filter's first read.
my $req = "GET /clientip-info HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n"
        . "User-Agent: a-user-agent-long-enough-to-cross-the-first-read/1.0\r\n"
        . "Accept: */*\r\nConnection: close\r\n\r\n";

# [ name, chunks to write with a pause between ]
my @cases = (
    [ 'header and request in one write', [ $line . $req ] ],
    [ 'header, then request',            [ $line, $req ] ],
    [ 'split inside the request line',   [ $line . substr($req, 0, 10), substr($req, 10) ] ],
    [ 'split inside a header line',      [ $line . substr($req, 0, 70), substr($req, 70) ] ],
);
plan tests => scalar @cases;

for my $c (@cases) {
    my ($name, $chunks) = @$c;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                     LocalAddr => '127.0.0.1', Timeout => 5)
        or die "connect: $!";
    for my $i (0 .. $#$chunks) {
        Time::HiRes::sleep(0.2) if $i;
        print $sock $chunks->[$i];
    }
    my $t0 = Time::HiRes::time();
    my $resp = '';
    eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm 5;   # well below mod_reqtimeout's 20 s
        while (sysread($sock, my $buf, 8192)) { $resp .= $buf }
        alarm 0;
    };
    my $took = Time::HiRes::time() - $t0;
    subtest $name => sub {
        like $resp, qr{^HTTP/1\.1 200 }, 'answered 200 at once'
            or diag sprintf('after %.1f s: %s', $took, substr($resp, 0, 120));
        like $resp, qr/"client":\{"ip":"203\.0\.113\.7","port":4711\}/, 'client from the PROXY header';
    };
}
