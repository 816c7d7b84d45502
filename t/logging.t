# mod_log_config sees the client: in cip_log's own CustomLog
# "%U%q %a %{c}a %{remote}p", %a is the client, %{c}a the peer and
# %{remote}p the client's port, 0 when the entry carried none. The main
# access log (hosts without their own) agrees, %h included.
use strict;
use warnings;
use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use ClientIP::Test;

# [ vhost, from, X-Forwarded-For (undef: none), %a, %{c}a, %{remote}p ('PEER': our port) ]
my @cases = (
    [ cip_log => trusted,   '203.0.113.7:4711',           '203.0.113.7', '127.0.0.1', 4711 ],
    [ cip_log => trusted,   '203.0.113.7',                '203.0.113.7', '127.0.0.1', 0 ],
    [ cip_log => trusted,   '[2001:db8::7]:8443',         '2001:db8::7', '127.0.0.1', 8443 ],
    [ cip_log => trusted,   '198.51.100.1, 10.1.2.3:99',  '10.1.2.3',    '127.0.0.1', 99 ],
    [ cip_log => trusted,   undef,                        '127.0.0.1',   '127.0.0.1', 'PEER' ],
    [ cip_log => trusted,   'example.com',                '127.0.0.1',   '127.0.0.1', 'PEER' ],
    [ cip_log => untrusted, '203.0.113.7:4711',           '127.0.0.2',   '127.0.0.2', 'PEER' ],
);

plan tests => @cases + 2;

my $cip_log = t_logs() . '/cip_log_access_log';
for my $c (@cases) {
    my ($vhost, $from, $xff, $a, $ca, $p) = @$c;
    my $res = request(vhost => $vhost, path => '/hello.txt', from => $from,
                      headers => [defined $xff ? ('X-Forwarded-For' => $xff) : ()]);
    $p = $res->{local_port} if $p eq 'PEER';
    my @lines = log_lines_for($cip_log, $res->{id});
    is_deeply [ map { [ (split / /)[1 .. 3] ] } @lines ], [ [ $a, $ca, $p ] ],
        sprintf 'from %s, %s: %%a=%s %%{c}a=%s %%{remote}p=%s', $from,
                defined $xff ? "X-Forwarded-For '$xff'" : 'no header', $a, $ca, $p
        or diag join "\n", @lines;
}

# The shared access log of the main server, for a host without its own.
{
    my $res = request(vhost => 'cip_recursive', path => '/hello.txt',
                      headers => ['X-Forwarded-For' => '203.0.113.7:4711, 10.1.2.3']);
    my ($line) = log_lines_for(t_logs() . '/clientip_access_log', $res->{id});
    like $line // '', qr/ client=203\.0\.113\.7 peer=127\.0\.0\.1 port=4711 host=203\.0\.113\.7$/,
       'main-server CustomLog: %a, %{c}a, %{remote}p and %h'
        or diag $line;
}

# cip_log's requests do not land in the main server's log (it has its own).
{
    my $res = request(vhost => 'cip_log', path => '/hello.txt');
    log_lines_for($cip_log, $res->{id});   # wait until logged
    my @main = log_lines_for(t_logs() . '/clientip_access_log', $res->{id}, timeout => 0.2);
    is scalar(@main), 0, 'a host with its own CustomLog logs there only';
}
