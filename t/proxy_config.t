# The PROXY protocol's configuration: what `apache2 -t` and a real start
# refuse (each error both ways, the message naming what to fix), what they
# accept, the startup notice per PROXY address, and which listener expects
# a header (the main server's setting applies to every listener, a virtual
# host's to its own addresses and beats the main server's there).
#
# Configs are files of the test's own in a temporary directory, checked and
# started with the same httpd binary; the listener behaviour is shown on a
# second httpd (ClientIP::Test::standalone_server, prefork).
use strict;
use warnings;
use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use ClientIP::Test;
use File::Temp qw(tempdir);

my $httpd  = Apache::Test::config()->{vars}{httpd};
my $dir    = tempdir('clientip-ppconfig-XXXXXX', TMPDIR => 1, CLEANUP => 1);
mkdir "$dir/logs";
mkdir "$dir/conf";
my $port = free_port();

# Writes a config with $body after the common part; returns its path.
my $n = 0;
sub write_conf {
    my ($body) = @_;
    my $name = sprintf 'case%02d', ++$n;
    my $conf = "$dir/conf/$name.conf";
    open my $fh, '>', $conf or die "$conf: $!";
    print $fh minimal_config(dir => $dir, port => $port, name => $name, body => $body);
    close $fh or die "$conf: $!";
    return $conf;
}

# `httpd -t`: (exit status, output).
sub syntax_check {
    my ($conf) = @_;
    my $out = qx{"$httpd" -t -f "$conf" 2>&1};
    return ($? >> 8, $out);
}

# A real start: (started?, output + error log). A server that did start is
# stopped again at once, by its pid.
sub start_check {
    my ($conf) = @_;
    (my $pidfile = $conf) =~ s{/conf/(case\d+)\.conf$}{/logs/$1.pid};
    (my $log = $conf) =~ s{/conf/(case\d+)\.conf$}{/logs/$1.error_log};
    my $out = qx{"$httpd" -f "$conf" -k start 2>&1};
    my $status = $? >> 8;
    my $pid;
    for (1 .. 20) {
        last if $status != 0;
        if (open my $fh, '<', $pidfile) { ($pid) = <$fh> =~ /(\d+)/ }
        last if $pid;
        select undef, undef, undef, 0.05;
    }
    if ($pid) {
        kill 'TERM', $pid;
        for (1 .. 100) { last unless kill 0, $pid; select undef, undef, undef, 0.05 }
    }
    my $text = $out;
    if (open my $fh, '<', $log) { local $/; $text .= <$fh> // '' }
    return (!!$pid, $text);
}

sub vhost {
    my ($addr, $lines) = @_;
    return "<VirtualHost $addr>\n" . join('', map { "    $_\n" } @$lines) . "</VirtualHost>\n";
}

my $TP = 'ClientIPTrustedProxies 127.0.0.1';

# [ name, config body, output must match (all of these) ]
my @errors = (
    [ 'On without any trusted proxy (main server)',
      'ClientIPProxyProtocol On',
      [ qr/ClientIPProxyProtocol On/, qr/needs ClientIPTrustedProxies/, qr/main server/ ] ],
    [ 'Optional without any trusted proxy (virtual host)',
      vhost("127.0.0.1:$port", ['ServerName opt.example', 'ClientIPProxyProtocol Optional']),
      [ qr/ClientIPProxyProtocol Optional/, qr/needs ClientIPTrustedProxies/, qr/opt\.example/ ] ],
    [ 'On in a virtual host whose list is "none"',
      $TP . "\n" . vhost("127.0.0.1:$port", ['ServerName none.example', 'ClientIPTrustedProxies none',
                                             'ClientIPProxyProtocol On']),
      [ qr/ClientIPProxyProtocol On/, qr/ClientIPTrustedProxies/, qr/none\.example/ ] ],
    [ 'two name-based hosts on one address: On and Optional',
      $TP . "\n" . vhost("127.0.0.1:$port", ['ServerName a.example', 'ClientIPProxyProtocol On'])
                 . vhost("127.0.0.1:$port", ['ServerName b.example', 'ClientIPProxyProtocol Optional']),
      [ qr/a\.example/, qr/b\.example/, qr/\bOn\b/, qr/\bOptional\b/, qr/127\.0\.0\.1:$port/, qr/must agree/ ] ],
    [ 'two name-based hosts on one address: On and an explicit Off',
      $TP . "\n" . vhost("127.0.0.1:$port", ['ServerName a.example', 'ClientIPProxyProtocol On'])
                 . vhost("127.0.0.1:$port", ['ServerName b.example', 'ClientIPProxyProtocol Off']),
      [ qr/a\.example/, qr/b\.example/, qr/must agree/ ] ],
    [ 'two name-based hosts on *:port disagree',
      $TP . "\n" . vhost("*:$port", ['ServerName a.example', 'ClientIPProxyProtocol Optional'])
                 . vhost("*:$port", ['ServerName b.example', 'ClientIPProxyProtocol On']),
      [ qr/a\.example/, qr/b\.example/, qr/must agree/ ] ],
    [ 'ClientIPHeader proxy_protocol without PROXY enabled',
      "$TP\nClientIPHeader proxy_protocol",
      [ qr/ClientIPHeader proxy_protocol/, qr/ClientIPProxyProtocol On or Optional/ ] ],
    [ 'ClientIPHeader proxy_protocol in a host whose address is Off (main server On)',
      "$TP\nClientIPProxyProtocol On\n"
      . vhost("127.0.0.1:$port", ['ServerName off.example', 'ClientIPProxyProtocol Off',
                                  'ClientIPHeader proxy_protocol']),
      [ qr/ClientIPHeader proxy_protocol/, qr/off\.example/ ] ],
    [ 'ClientIPProxyProtocol maybe', "$TP\nClientIPProxyProtocol maybe", [ qr/'maybe'/ ] ],
    [ 'ClientIPProxyProtocolTimeout 0', 'ClientIPProxyProtocolTimeout 0', [ qr/'0'/ ] ],
    [ 'ClientIPProxyProtocolTimeout 3601', 'ClientIPProxyProtocolTimeout 3601', [ qr/'3601'/ ] ],
    [ 'ClientIPProxyProtocolTimeout -1', 'ClientIPProxyProtocolTimeout -1', [ qr/'-1'/ ] ],
    [ 'ClientIPProxyProtocolTimeout 1.5', 'ClientIPProxyProtocolTimeout 1.5', [ qr/'1\.5'/ ] ],
    [ 'ClientIPProxyProtocolTimeout 5s', 'ClientIPProxyProtocolTimeout 5s', [ qr/'5s'/ ] ],
    [ 'ClientIPProxyProtocolExceptions with a host name', 'ClientIPProxyProtocolExceptions lb.example',
      [ qr/lb\.example/ ] ],
    [ 'ClientIPProxyProtocol inside <Location>',
      "$TP\n<Location /x>\n    ClientIPProxyProtocol On\n</Location>",
      [ qr/ClientIPProxyProtocol not allowed in <Location>/ ] ],
);

# [ name, config body, 1: also start it ]
my @valid = (
    [ 'On in the main server', "$TP\nClientIPProxyProtocol On" ],
    [ 'Optional with exceptions and a timeout',
      "$TP\nClientIPProxyProtocol Optional\nClientIPProxyProtocolExceptions 127.0.0.3 10.0.0.0/8\n"
      . "ClientIPProxyProtocolTimeout 3600" ],
    [ 'two name-based hosts on one address, both On',
      $TP . "\n" . vhost("127.0.0.1:$port", ['ServerName a.example', 'ClientIPProxyProtocol On'])
                 . vhost("127.0.0.1:$port", ['ServerName b.example', 'ClientIPProxyProtocol On']), 1 ],
    [ 'one name-based host sets On, the other says nothing',
      $TP . "\n" . vhost("127.0.0.1:$port", ['ServerName a.example', 'ClientIPProxyProtocol On'])
                 . vhost("127.0.0.1:$port", ['ServerName b.example']), 1 ],
    [ 'main server On, a host Off on its own address',
      "$TP\nClientIPProxyProtocol On\n" . vhost("127.0.0.1:$port", ['ClientIPProxyProtocol Off']) ],
    [ 'ClientIPHeader proxy_protocol with PROXY On',
      "$TP\nClientIPProxyProtocol On\nClientIPHeader proxy_protocol" ],
    [ 'ClientIPHeader proxy_protocol in a host that inherits Optional',
      "$TP\nClientIPProxyProtocol Optional\n"
      . vhost("127.0.0.1:$port", ['ClientIPHeader proxy_protocol']) ],
    [ 'On in a host, trusted proxies inherited from the main server',
      $TP . "\n" . vhost("127.0.0.1:$port", ['ClientIPProxyProtocol On']) ],
    [ 'ClientIPProxyProtocolTimeout 1', "ClientIPProxyProtocolTimeout 1" ],
);

plan tests => 2 * @errors + @valid + scalar(grep { $_->[2] } @valid) + 6;

for my $case (@errors) {
    my ($name, $body, $res) = @$case;
    my $conf = write_conf($body);
    my ($status, $out) = syntax_check($conf);
    subtest "apache2 -t refuses: $name" => sub {
        isnt $status, 0, 'exit status is not 0';
        unlike $out, qr/Syntax OK/, 'no "Syntax OK"';
        like $out, $_, "says $_" for @$res;
    };
    my ($started, $text) = start_check($conf);
    subtest "start refuses: $name" => sub {
        ok !$started, 'httpd did not start';
        like $text, $_, "says $_" for @$res;
    };
}

for my $case (@valid) {
    my ($name, $body, $start) = @$case;
    my $conf = write_conf($body);
    my ($status, $out) = syntax_check($conf);
    ok $status == 0 && $out =~ /Syntax OK/, "apache2 -t accepts: $name" or diag $out;
    next unless $start;
    my ($started, $text) = start_check($conf);
    ok $started, "starts: $name" or diag $text;
}

# ---- listeners: the main server's setting, a host's on its own address ---------

my @p = (free_port());
while (@p < 4) { my $q = free_port(); push @p, $q unless grep { $_ == $q } @p }
my ($p_main, $p_off, $p_opt, $p_on) = @p;
my $server = eval {
    standalone_server(listen => [ map { "127.0.0.1:$_" } @p ], body => <<"CONF");
ClientIPTrustedProxies 127.0.0.1
ClientIPProxyProtocol On
<VirtualHost 127.0.0.1:$p_off>
    ServerName off.example
    ClientIPProxyProtocol Off
</VirtualHost>
<VirtualHost 127.0.0.1:$p_opt>
    ServerName opt.example
    ClientIPProxyProtocol Optional
</VirtualHost>
<VirtualHost 127.0.0.1:$p_on>
    ServerName on.example
    ClientIPProxyProtocol On
</VirtualHost>
CONF
};
unless ($server) {
    fail('own httpd started') for 1 .. 6;
    diag $@;
    exit 1;
}
my $elog = $server->{error_log};

{
    my @lines = grep { /clientip: PROXY protocol/ } ClientIP::Test::read_lines($elog);
    subtest 'startup: one notice line per PROXY address' => sub {
        is scalar(grep { /\[clientip:notice\].*clientip: PROXY protocol On on 127\.0\.0\.1:$p_on \(/ } @lines), 1,
           "On on 127.0.0.1:$p_on";
        is scalar(grep { /clientip: PROXY protocol Optional on 127\.0\.0\.1:$p_opt \(/ } @lines), 1,
           "Optional on 127.0.0.1:$p_opt";
        is scalar(grep { /clientip: PROXY protocol On on every listener \(the main server\)/ } @lines), 1,
           'On on every listener (the main server)';
        is scalar(grep { /clientip: PROXY protocol (?:On|Optional) on 127\.0\.0\.1:$p_off\b/ } @lines), 0,
           "nothing expects a header on 127.0.0.1:$p_off";
    } or diag join "\n", @lines;
}

my $REQ = "GET /cgi-bin/env.cgi HTTP/1.0\r\n\r\n";
sub env_via {
    my ($port, $send, %a) = @_;
    my $r = raw_exchange(port => $port, send => $send, %a);
    my $res = parse_http($r->{data});
    return ($r, $res, ClientIP::Test::parse_env($res));
}

{
    my ($r1) = env_via($p_main, $REQ);
    my ($r2, $res, $env) = env_via($p_main, proxy_v1(src => '203.0.113.81') . $REQ);
    subtest "main server's On applies to its own listener ($p_main)" => sub {
        ok $r1->{closed} && $r1->{data} eq '', 'plain request: closed, no response';
        is $env->{REMOTE_ADDR}, '203.0.113.81', 'PROXY header: client from it';
    };
}
{
    my (undef, $plain, $penv) = env_via($p_off, $REQ);
    my (undef, $hdr) = env_via($p_off, proxy_v1(src => '203.0.113.82') . $REQ);
    subtest "a host's Off beats the main server's On on its address ($p_off)" => sub {
        is $plain->{code}, 200, 'plain request served';
        is $penv->{REMOTE_ADDR}, '127.0.0.1', 'client is the peer';
        like $hdr->{code}, qr/^4\d\d$/, 'a PROXY line is not read as a header here: HTTP error '
                                       . $hdr->{code};
        unlike $hdr->{body}, qr/203\.0\.113\.82/, 'and its source is nowhere';
    };
}
{
    my (undef, $plain, $penv) = env_via($p_opt, $REQ);
    my (undef, $hdr, $henv) = env_via($p_opt, proxy_v2(src => '203.0.113.83') . $REQ);
    subtest "a host's Optional on its address ($p_opt)" => sub {
        is $penv->{REMOTE_ADDR}, '127.0.0.1', 'plain request: client is the peer';
        is $henv->{REMOTE_ADDR}, '203.0.113.83', 'PROXY header: client from it';
    };
}
{
    my ($r) = env_via($p_on, $REQ);
    my (undef, undef, $env) = env_via($p_on, proxy_v1(src => '203.0.113.84') . $REQ);
    subtest "a host's On on its address ($p_on)" => sub {
        ok $r->{closed} && $r->{data} eq '', 'plain request: closed, no response';
        my @lines = wait_for_log($elog, qr/closing connection from 127\.0\.0\.1:$r->{local_port} to 127\.0\.0\.1:$p_on: no PROXY header/);
        is scalar @lines, 1, 'one log line: no PROXY header';
        is $env->{REMOTE_ADDR}, '203.0.113.84', 'PROXY header: client from it';
    };
}
{
    # prefork: the untrusted peer is turned away before anything is read.
    my ($r) = env_via($p_on, proxy_v1() . $REQ, from => untrusted);
    subtest 'untrusted peer on an On address (prefork): closed, the child lives on' => sub {
        ok $r->{closed} && $r->{data} eq '', 'closed, no response';
        my @lines = wait_for_log($elog, qr/closing connection from 127\.0\.0\.2:$r->{local_port} to 127\.0\.0\.1:$p_on: peer is not in ClientIPTrustedProxies/);
        is scalar @lines, 1, 'one log line';
        httpd_child_survived($lines[0], $elog);
    };
}
