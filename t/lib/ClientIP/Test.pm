package ClientIP::Test;
# Helpers for mod_clientip's Apache::Test suite.
#
# Requests go out through Net::HTTP (part of libwww-perl's stack), because the
# tests need exact control: header lines sent as given (duplicates, odd
# spacing), the source address (127.0.0.1 plays a trusted proxy, 127.0.0.2 an
# untrusted peer), and the client port, which the server reports back.
#
# Every request carries a unique id, both in its URL (?id=...) and in an
# X-Test-Id header, so the access-log line (by URL) and the error-log lines
# (ErrorLogFormat logs %{X-Test-Id}i) of that one request can be found.
use strict;
use warnings;

use Exporter 'import';
use File::Basename qw(basename);
# Loaded before this file's END block is compiled, so File::Temp's own
# cleanup runs after that block has stopped any standalone server.
use File::Temp ();
use JSON::PP ();
use Net::HTTP ();
use Time::HiRes qw(sleep time);
use Test::More ();

use Apache::Test ();
use ClientIP::HTTP qw(parse_http);
use Apache::TestRequest ();

our @EXPORT = qw(
    vhost_port request connection cgi_env info_json
    log_lines_for wait_log_line error_lines_for t_logs server_root
    untrusted trusted
    env_ok changed unchanged PEER_PORT
    free_port standalone_server
    find_binary minimal_config nginx_binary nginx_server curl_request
);

# Source addresses. The server listens on 0.0.0.0 (Apache::Test's choice);
# every request still goes to 127.0.0.1 and stays on loopback.
sub trusted   () { '127.0.0.1' }
sub untrusted () { '127.0.0.2' }

my $counter = 0;
my $script  = basename($0, '.t');

sub config { Apache::Test::config() }

sub vhost_port {
    my ($vhost) = @_;
    my $port = config()->{vhosts}{$vhost}{port};
    die "no virtual host '$vhost' in t/conf/extra.conf.in\n" unless $port;
    return $port;
}

sub server_root { config()->{vars}{serverroot} }
sub t_logs      { config()->{vars}{t_logs} }

sub next_id { sprintf '%s-%d-%d', $script, $$, ++$counter }

# One connection to a virtual host:
#   my $c = connection(vhost => 'cip_inherit', from => untrusted, keep_alive => 1);
#   my $res = $c->get(path => '/cgi-bin/env.cgi', headers => [...]);
sub connection {
    my (%a) = @_;
    return ClientIP::Test::Connection->new(%a);
}

# One request on a fresh connection (closed afterwards). Arguments:
#   vhost    the <VirtualHost name> of extra.conf.in (required)
#   path     default /cgi-bin/env.cgi
#   headers  [ name => value, ... ] in order; a name may repeat
#   from     source address, default 127.0.0.1
#   to       destination, default 127.0.0.1 (::1 for the IPv6 tests)
#   port     default: the vhost's port
# Returns a hash: code, message, headers (lower-case name => value, repeated
# headers joined with ", "), header_list ([name, value] pairs), body, id, url,
# local_port (our source port: the peer port the server saw).
sub request {
    my (%a) = @_;
    my $c = connection(%a, keep_alive => 0);
    my $res = $c->get(%a);
    $c->close;
    return $res;
}

# The CGI environment a backend sees: request() to /cgi-bin/env.cgi, then
# ($res, \%env).
sub cgi_env {
    my (%a) = @_;
    my $res = request(path => '/cgi-bin/env.cgi', %a);
    return ($res, parse_env($res));
}

sub parse_env {
    my ($res) = @_;
    my %env;
    return \%env unless $res->{code} == 200;
    for my $line (split /\n/, $res->{body}) {
        my ($k, $v) = split /=/, $line, 2;
        next unless defined $v;
        $v =~ s/\\x([0-9a-f]{2})/chr hex $1/ge;
        $env{$k} = $v;
    }
    return \%env;
}

# The clientip-info document: ($res, $data) with $data decoded from JSON
# (undef when the body is not JSON).
sub info_json {
    my (%a) = @_;
    my $res = request(path => '/clientip-info', %a);
    my $data = eval { JSON::PP->new->decode($res->{body}) };
    return ($res, $data);
}

# A whole file as one string; dies when it can't be read.
sub slurp {
    my ($path) = @_;
    open my $fh, '<', $path or die "$path: $!";
    local $/;
    return scalar <$fh>;
}

sub read_lines {
    my ($file, $from) = @_;
    open my $fh, '<', $file or return ();
    seek $fh, $from, 0 if $from;
    my @lines = <$fh>;
    close $fh;
    chomp @lines;
    return @lines;
}

# Access-log lines whose request URL carries this id. httpd writes the line
# after the response went out, so poll (up to $timeout seconds) until $want
# lines are there.
sub log_lines_for {
    my ($file, $id, %o) = @_;
    my $want = $o{want} // 1;
    my $deadline = time + ($o{timeout} // 5);
    my @hits;
    while (1) {
        @hits = grep { /[?&]id=\Q$id\E(?:[&\s]|$)/ } read_lines($file);
        last if @hits >= $want or time > $deadline;
        sleep 0.05;
    }
    return @hits;
}

sub wait_log_line {
    my ($file, $id) = @_;
    my @l = log_lines_for($file, $id);
    return $l[0];
}

# Error-log lines of one request (ErrorLogFormat puts "[id <X-Test-Id>]" in
# every line logged with the request). Waits until at least one line matching
# $want_re (default: any) is there, at most $timeout seconds; with
# expect_none => 1 it waits a short while and returns whatever arrived.
sub error_lines_for {
    my ($file, $id, %o) = @_;
    my $want_re = $o{want} // qr/./;
    my $deadline = time + ($o{timeout} // ($o{expect_none} ? 0.5 : 5));
    my @hits;
    while (1) {
        @hits = grep { /\[id \Q$id\E\]/ } read_lines($file);
        last if !$o{expect_none} and grep { $_ =~ $want_re } @hits;
        last if time > $deadline;
        sleep 0.05;
    }
    return @hits;
}

# ---- expectations ------------------------------------------------------------

# Stands for "the source port of this request's connection" in expectations.
use constant PEER_PORT => "\0peer-port";

# What a CGI sees when the module settled on a client taken from the header.
#   changed(peer => '127.0.0.1', client => '203.0.113.7', port => 4711|undef,
#           source => 'X-Forwarded-For', proxies => '10.1.2.3, 127.0.0.1',
#           header => 'HTTP_X_FORWARDED_FOR', remaining => 'left, part'|undef)
sub changed {
    my (%a) = @_;
    my $peer = $a{peer} // trusted();
    my %want = (
        REMOTE_ADDR        => $a{client},
        CLIENTIP_ADDR      => $a{client},
        # httpd 2.4 builds the CGI's REMOTE_PORT from the connection
        # (c->client_addr->port), not from r->useragent_addr: it stays the
        # peer's port. The client's port is CLIENTIP_PORT and %{remote}p.
        REMOTE_PORT        => PEER_PORT,
        CLIENTIP_PORT      => $a{port},               # unset when unknown
        CLIENTIP_PEER_ADDR => $peer,
        CLIENTIP_PEER_PORT => PEER_PORT,
        CLIENTIP_SOURCE    => $a{source} // 'X-Forwarded-For',
        CLIENTIP_PROXIES   => $a{proxies} // $peer,
    );
    my $header = exists $a{header} ? $a{header} : 'HTTP_X_FORWARDED_FOR';
    $want{$header} = $a{remaining} if defined $header;
    return \%want;
}

# What a CGI sees when the client is the peer: the module is configured but
# took nothing from the header (none, untrusted peer, invalid entry).
#   unchanged(peer => '127.0.0.2', header => 'HTTP_X_FORWARDED_FOR', value => '...')
sub unchanged {
    my (%a) = @_;
    my $peer = $a{peer} // trusted();
    my %want = (
        REMOTE_ADDR        => $peer,
        CLIENTIP_ADDR      => $peer,
        REMOTE_PORT        => PEER_PORT,
        CLIENTIP_PORT      => PEER_PORT,
        CLIENTIP_PEER_ADDR => $peer,
        CLIENTIP_PEER_PORT => PEER_PORT,
        CLIENTIP_SOURCE    => undef,
        CLIENTIP_PROXIES   => undef,
    );
    my $header = exists $a{header} ? $a{header} : 'HTTP_X_FORWARDED_FOR';
    $want{$header} = $a{value} if defined $header;
    return \%want;
}

# Checks a CGI response against an expectation (name => value, undef =
# must be unset, PEER_PORT = our source port), plus status 200 and the
# X-Seen-Client echo (ap_expr %{REMOTE_ADDR}). One subtest.
sub env_ok {
    my ($res, $env, $want, $name) = @_;
    my $tb = Test::More->builder;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    return Test::More::subtest($name => sub {
        Test::More::is($res->{code}, 200, 'status 200')
            or Test::More::diag($res->{body});
        for my $k (sort keys %$want) {
            my $v = $want->{$k};
            $v = $res->{local_port} if defined $v and $v eq PEER_PORT;
            if (ref $v eq 'Regexp') {
                Test::More::like($env->{$k}, $v, "$k like $v");
            }
            elsif (defined $v) {
                Test::More::is($env->{$k}, $v, "$k=$v");
            }
            else {
                Test::More::ok(!exists $env->{$k}, "$k unset")
                    or Test::More::diag("$k=$env->{$k}");
            }
        }
        if (defined $want->{REMOTE_ADDR}) {
            Test::More::is($res->{headers}{'x-seen-client'}, $want->{REMOTE_ADDR},
                           'ap_expr %{REMOTE_ADDR} agrees');
        }
    });
}

# ---- a second httpd of the test's own ------------------------------------------

# A loopback port nobody listens on right now.
sub free_port {
    require IO::Socket::IP;
    my $s = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => 0, Listen => 1)
        or die "no free port: $@";
    my $p = $s->sockport;
    close $s;
    return $p;
}

# What the tests' own servers serve, the same for every MPM: static files
# from $dir/htdocs, the suite's CGI scripts from $t/cgi-bin, clientip-info,
# and the client httpd saw in an X-Seen-Client response header.
sub _served_content {
    my ($dir, $t) = @_;
    return <<"CONF";
DocumentRoot "$dir/htdocs"
<Directory "$dir/htdocs">
    Require all granted
</Directory>
ScriptAlias /cgi-bin/ "$t/cgi-bin/"
<Directory "$t/cgi-bin">
    Options +ExecCGI
    Require all granted
</Directory>
<Location /clientip-info>
    SetHandler clientip-info
</Location>
Header always set X-Seen-Client "expr=%{REMOTE_ADDR}"
CONF
}

# Starts a small httpd (prefork, mod_cgi, the module under test) from a
# config of the test's own, for what the Apache::Test server cannot show
# (a server with no trusted proxies, a dual-stack listener). Arguments:
#   listen => [ 'ADDR:PORT', ... ]   (use free_port() for the ports)
#   body   => config text appended to the common part ($DIR is the
#             server's directory, $T the t/ directory)
# Returns { dir, conf, error_log } or dies with httpd's own words. The
# server is stopped (by the pid it wrote, nothing else) when the test ends.
my @standalone;
sub standalone_server {
    my (%a) = @_;
    my $httpd  = config()->{vars}{httpd};
    my $t      = server_root();
    my $mods   = '/usr/lib/apache2/modules';
    my $dir    = File::Temp::tempdir('clientip-httpd-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    mkdir "$dir/$_" for qw(logs htdocs);
    my $listen = join '', map { "Listen $_\n" } @{ $a{listen} };
    (my $body  = $a{body} // '') =~ s/\$DIR\b/$dir/g;
    $body =~ s/\$T\b/$t/g;
    my $conf = "$dir/httpd.conf";
    open my $fh, '>', $conf or die "$conf: $!";
    print $fh <<"CONF";
ServerRoot "$dir"
ServerName localhost
LoadModule mpm_prefork_module $mods/mod_mpm_prefork.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule authz_host_module $mods/mod_authz_host.so
LoadModule alias_module $mods/mod_alias.so
LoadModule cgi_module $mods/mod_cgi.so
LoadModule headers_module $mods/mod_headers.so
LoadModule clientip_module "$t/../.libs/mod_clientip.so"
$listen
PidFile "$dir/logs/httpd.pid"
ErrorLog "$dir/logs/error_log"
LogLevel info
DefaultRuntimeDir "$dir/logs"
StartServers 1
MinSpareServers 1
MaxSpareServers 2
@{[ _served_content($dir, $t) ]}
$body
CONF
    close $fh or die "$conf: $!";

    my $server = { dir => $dir, conf => $conf, error_log => "$dir/logs/error_log" };
    push @standalone, $server;
    my $out = qx{"$httpd" -f "$conf" -k start 2>&1};
    my $deadline = time + 10;
    until (-s "$dir/logs/httpd.pid" and _all_listening($a{listen})) {
        if (time > $deadline) {
            my $log = join "\n", read_lines("$dir/logs/error_log");
            die "own httpd did not start: $out\n$log\n";
        }
        sleep 0.05;
    }
    ($server->{pid}) = read_lines("$dir/logs/httpd.pid");
    return $server;
}

sub _all_listening {
    my ($listen) = @_;
    require IO::Socket::IP;
    for my $l (@$listen) {
        my ($addr, $port) = $l =~ /^\[?(.*?)\]?:(\d+)$/ or return 0;
        $addr = '127.0.0.1' if $addr eq '0.0.0.0';
        $addr = '::1'       if $addr eq '::';
        IO::Socket::IP->new(PeerAddr => $addr, PeerPort => $port, Timeout => 1) or return 0;
    }
    return 1;
}

END {
    local ($?, $!, $@);
    for my $server (@standalone) {
        my $pid = $server->{pid} // (read_lines("$server->{dir}/logs/httpd.pid"))[0] // '';
        next unless $pid =~ /^\d+$/ and kill 0, $pid;
        kill 'TERM', $pid;
        my $deadline = time + 10;
        sleep 0.05 while kill(0, $pid) and time < $deadline;
    }
}

# ---- nginx in front (t/nginx.t) ------------------------------------------------

# An executable by name (nginx, haproxy, ...) from the sbin directories or
# PATH, or undef when it is not installed (scripts/install-deps installs what
# the suite uses).
sub find_binary {
    my ($name) = @_;
    for my $dir ('/usr/sbin', '/usr/local/sbin', split /:/, $ENV{PATH} // '') {
        return "$dir/$name" if $dir ne '' and -x "$dir/$name" and !-d _;
    }
    return undef;
}

sub nginx_binary   { find_binary('nginx') }
sub haproxy_binary { find_binary('haproxy') }

# The text of a minimal httpd configuration that loads mod_clientip (prefork,
# authz_core), for `apache2 -t` and start-up checks:
#   dir    its ServerRoot (logs/ inside it holds the pid file and error log)
#   port   the 127.0.0.1 port to Listen on
#   name   file name stem of the pid file and error log (default httpd / error_log)
#   body   appended at the end
sub minimal_config {
    my (%a) = @_;
    my $mods = '/usr/lib/apache2/modules';
    my $module = server_root() . '/../.libs/mod_clientip.so';
    my ($pid, $log) = defined $a{name} ? ("$a{name}.pid", "$a{name}.error_log")
                                        : ('httpd.pid', 'error_log');
    return <<"CONF" . ($a{body} // '') . "\n";
ServerRoot "$a{dir}"
ServerName localhost
LoadModule mpm_prefork_module $mods/mod_mpm_prefork.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule clientip_module "$module"
Listen 127.0.0.1:$a{port}
PidFile "$a{dir}/logs/$pid"
ErrorLog "$a{dir}/logs/$log"
DefaultRuntimeDir "$a{dir}/logs"
CONF
}

# Starts an unprivileged nginx with a config of the test's own, in a fresh
# directory under t/logs (kept there for inspection after a failure):
#   listen => [ PORT, ... ]  the loopback ports its servers listen on (waited for)
#   http   => text of the http { } block ($DIR is nginx's directory, where
#             cert.pem and key.pem are: a self-signed certificate for
#             CN/SAN $a{cert_name}, made with openssl)
#   cert_name => default 'app.example'
# Error log, access log, pid file and temp paths all stay inside its directory
# (no "user" directive: it means nothing when not root). Returns { dir, pid,
# error_log, access_log } or dies with nginx's own words. Stopped by its pid,
# and nothing else, when the test ends.
my @nginx;
sub nginx_server {
    my (%a) = @_;
    my $nginx = nginx_binary()
        or die "nginx is not installed: run scripts/install-deps (it installs Debian's nginx)\n";
    my $name = $a{cert_name} // 'app.example';
    my $dir = t_logs() . "/nginx-$script-$$";
    require File::Path;
    File::Path::remove_tree($dir);
    File::Path::make_path("$dir/logs", "$dir/tmp");

    my @openssl = ('openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
                   'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
                   '-subj', "/CN=$name", '-addext', "subjectAltName=DNS:$name",
                   '-keyout', "$dir/key.pem", '-out', "$dir/cert.pem");
    my $out = _run_quiet(@openssl);
    die "openssl could not make a certificate: $out\n" unless -s "$dir/cert.pem" and -s "$dir/key.pem";

    (my $http = $a{http} // '') =~ s/\$DIR\b/$dir/g;
    my $conf = "$dir/nginx.conf";
    open my $fh, '>', $conf or die "$conf: $!";
    print $fh <<"CONF";
# Generated by ClientIP::Test::nginx_server.
worker_processes 1;
error_log $dir/logs/error.log info;
events {
    worker_connections 64;
}
http {
    access_log $dir/logs/access.log;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
$http
}
CONF
    close $fh or die "$conf: $!";

    my $server = { dir => $dir, pidfile => "$dir/nginx.pid",
                   error_log => "$dir/logs/error.log", access_log => "$dir/logs/access.log" };
    push @nginx, $server;
    $out = _run_quiet($nginx, '-p', "$dir/", '-c', $conf, '-e', "$dir/logs/error.log",
                      '-g', "daemon on; pid $dir/nginx.pid;");
    my $deadline = time + 10;
    until (-s $server->{pidfile}
           and _all_listening([ map { "127.0.0.1:$_" } @{ $a{listen} || [] } ])) {
        if (time > $deadline or $? != 0) {
            my $log = join "\n", read_lines($server->{error_log});
            die "nginx did not start (exit status $?): $out\n$log\n";
        }
        sleep 0.05;
    }
    ($server->{pid}) = read_lines($server->{pidfile});
    return $server;
}

# Runs a command, its stdout and stderr captured; $? is its status. The
# output goes through a file, not a pipe: a daemon the command leaves behind
# (nginx) must not hold the reader up.
sub _run_quiet {
    my (@cmd) = @_;
    my $tmp = File::Temp->new(TMPDIR => 1);
    my $pid = fork;
    die "fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $tmp->filename;
        open STDERR, '>&', \*STDOUT;
        { no warnings 'exec'; exec { $cmd[0] } @cmd; }
        print "cannot run $cmd[0]: $!\n";
        require POSIX;
        POSIX::_exit(127);
    }
    waitpid $pid, 0;
    my $status = $?;
    my $out = '';
    if (open my $fh, '<', $tmp->filename) { local $/; $out = <$fh> // ''; }
    $? = $status;
    return $out;
}

# One HTTP(S) request with curl (TLS certificate not checked: -k).
#   url      the full URL
#   from     source address (--interface), default 127.0.0.1
#   resolve  [ 'host:port:addr', ... ] (curl --resolve), to use a host name
#            without DNS
#   headers  [ name => value, ... ]
# Every request carries an id (X-Test-Id, and ?id=... appended to the URL).
# Returns { code, headers (lower-case name => value), body, id, url, error }.
sub curl_request {
    my (%a) = @_;
    my $id  = $a{id} // next_id();
    my $url = $a{url} . ($a{url} =~ /\?/ ? '&' : '?') . "id=$id";
    my @cmd = ('curl', '-sS', '-k', '-i', '--max-time', '15', '--noproxy', '*',
               '--interface', $a{from} // trusted(),
               (map { ('--resolve', $_) } @{ $a{resolve} || [] }),
               '-H', "X-Test-Id: $id");
    my @h = @{ $a{headers} || [] };
    while (my ($k, $v) = splice @h, 0, 2) { push @cmd, '-H', "$k: $v" }
    my $out = _run_quiet(@cmd, $url);
    my %res = (id => $id, url => $url, code => 0, headers => {}, body => '');
    my ($head, $body) = split /\r?\n\r?\n/, $out, 2;
    if ($? != 0 or !defined $head or $head !~ m{^HTTP/[\d.]+ (\d{3})}) {
        $res{error} = "curl failed (status $?): $out";
        return \%res;
    }
    $res{code} = $1;
    for my $line (split /\r?\n/, $head) {
        my ($k, $v) = $line =~ /^([^:\s]+):\s*(.*)$/ or next;
        my $lk = lc $k;
        $res{headers}{$lk} = exists $res{headers}{$lk} ? "$res{headers}{$lk}, $v" : $v;
    }
    $res{body} = $body // '';
    return \%res;
}

END {
    local ($?, $!, $@);
    for my $server (@nginx) {
        my $pid = $server->{pid} // (read_lines($server->{pidfile}))[0] // '';
        next unless $pid =~ /^\d+$/ and kill 0, $pid;
        kill 'TERM', $pid;   # nginx master: fast shutdown, workers with it
        my $deadline = time + 10;
        sleep 0.05 while kill(0, $pid) and time < $deadline;
    }
}

# ---- the PROXY protocol (t/proxy*.t) ---------------------------------------------
#
# Real bytes on real loopback sockets: headers are built here byte for byte
# (v1 text, v2 binary with TLVs and CRC32C), sent on a fresh connection,
# whole, split or trickled, and what came back is reported as it was.

push @EXPORT, qw(
    proxy_v1 proxy_v2 tlv ssl_tlv crc32c
    slurp exit_unless_started raw_exchange parse_http proxy_connection proxy_request proxy_cgi_env proxy_info_json
    wait_for_log httpd_child_survived self_signed_cert curl_run
    haproxy_binary haproxy_server httpd_server
);

use Socket qw(IPPROTO_TCP TCP_NODELAY AF_INET6 inet_aton inet_pton);

# "PROXY TCP4 203.0.113.7 127.0.0.1 4711 80\r\n"; (proto, src, dst, sport,
# dport) default to that; proto => 'UNKNOWN' alone gives "PROXY UNKNOWN\r\n".
sub proxy_v1 {
    my (%a) = @_;
    my $proto = $a{proto} // 'TCP4';
    return "PROXY UNKNOWN\r\n" if $proto eq 'UNKNOWN' and !defined $a{src};
    my $v6 = $proto eq 'TCP6';
    return join(' ', 'PROXY', $proto, $a{src} // ($v6 ? '2001:db8::7' : '203.0.113.7'),
                $a{dst} // ($v6 ? '::1' : '127.0.0.1'), $a{sport} // 4711,
                $a{dport} // 80) . "\r\n";
}

# One TLV: type, 16-bit big-endian length, value.
sub tlv {
    my ($type, $value) = @_;
    return pack('C n', $type, length $value) . $value;
}

# The SSL TLV (0x20): client flags, verify result, then sub-TLVs
# [type, value], ... Returns [0x20, value] for proxy_v2's tlvs.
sub ssl_tlv {
    my (%a) = @_;
    return [ 0x20, pack('C N', $a{client} // 1, $a{verify} // 0)
                   . join('', map { tlv(@$_) } @{ $a{sub} || [] }) ];
}

# CRC32C (Castagnoli, reflected 0x82F63B78): crc32c("123456789") == 0xE3069283.
my @crc32c_table;
sub crc32c {
    my ($data) = @_;
    unless (@crc32c_table) {
        for my $i (0 .. 255) {
            my $c = $i;
            $c = $c & 1 ? ($c >> 1) ^ 0x82F63B78 : $c >> 1 for 1 .. 8;
            push @crc32c_table, $c;
        }
    }
    my $crc = 0xFFFFFFFF;
    $crc = $crc32c_table[($crc ^ $_) & 0xFF] ^ ($crc >> 8) for unpack 'C*', $data;
    return $crc ^ 0xFFFFFFFF;
}

use constant PROXY_V2_SIGNATURE => "\x0D\x0A\x0D\x0A\x00\x0D\x0A\x51\x55\x49\x54\x0A";

# A v2 header. Arguments (all optional):
#   command   PROXY (default), LOCAL, or a number (0-15)
#   family    INET (default), INET6, UNIX, UNSPEC, or a number
#   transport STREAM (default), DGRAM, UNSPEC, or a number
#   version   default 2
#   src, dst, sport, dport   the address block (defaults as proxy_v1)
#   addresses raw address block instead
#   tlvs      [ [type, value], ... ] in order
#   crc       1: a CRC32C TLV first, correct; 'bad': one bit off
#   len       the length field instead of the real one (bytes stay as built)
sub proxy_v2 {
    my (%a) = @_;
    my %cmd = (LOCAL => 0, PROXY => 1);
    my %fam = (UNSPEC => 0, INET => 1, INET6 => 2, UNIX => 3);
    my %tr  = (UNSPEC => 0, STREAM => 1, DGRAM => 2);
    my $command   = $a{command}   // 'PROXY';
    my $family    = $a{family}    // 'INET';
    my $transport = $a{transport} // 'STREAM';
    $command   = $cmd{$command}  // $command;
    $family    = $fam{$family}   // $family;
    $transport = $tr{$transport} // $transport;
    my $addr = $a{addresses};
    unless (defined $addr) {
        my ($sport, $dport) = ($a{sport} // 4711, $a{dport} // 80);
        if ($family == 1) {
            $addr = inet_aton($a{src} // '203.0.113.7') . inet_aton($a{dst} // '127.0.0.1')
                  . pack('n n', $sport, $dport);
        }
        elsif ($family == 2) {
            $addr = inet_pton(AF_INET6, $a{src} // '2001:db8::7')
                  . inet_pton(AF_INET6, $a{dst} // '::1') . pack('n n', $sport, $dport);
        }
        elsif ($family == 3) {
            $addr = pack('a108 a108', $a{src} // '/run/lb.sock', $a{dst} // '/run/httpd.sock');
        }
        else {
            $addr = '';
        }
    }
    my $tlvs = join '', map { tlv(@$_) } @{ $a{tlvs} || [] };
    $tlvs = tlv(0x03, "\0\0\0\0") . $tlvs if $a{crc};
    my $body = $addr . $tlvs;
    my $header = PROXY_V2_SIGNATURE
               . pack('C C n', (($a{version} // 2) << 4) | $command, ($family << 4) | $transport,
                      $a{len} // length $body)
               . $body;
    if ($a{crc}) {
        my $crc = crc32c($header);
        $crc ^= 1 if $a{crc} eq 'bad';
        substr($header, 16 + length($addr) + 3, 4) = pack 'N', $crc;
    }
    return $header;
}

# Opens a TCP connection (from => source address, to => 127.0.0.1, port or
# vhost), sends each of @{send} (a string or a list of chunks) with `pause`
# seconds between chunks (Nagle off: each chunk is its own segment), then
# reads until the server closes or `timeout` (default 10) seconds pass;
# shutdown => 1 half-closes the connection after sending.
# Returns { data (all bytes received), closed (EOF or reset seen), reset,
# timed_out, seconds (from connect to close), local_port, error }.
sub raw_exchange {
    my (%a) = @_;
    require IO::Socket::IP;
    require IO::Select;
    my $port = $a{port} // vhost_port($a{vhost});
    my $sock = IO::Socket::IP->new(PeerHost => $a{to} // '127.0.0.1', PeerPort => $port,
                                   LocalHost => $a{from} // trusted(), Proto => 'tcp')
        or die "connect to port $port from " . ($a{from} // trusted()) . ": $@\n";
    setsockopt($sock, IPPROTO_TCP, TCP_NODELAY, 1);
    my %r = (data => '', closed => 0, reset => 0, timed_out => 0,
             local_port => $sock->sockport);
    my $t0 = time;
    local $SIG{PIPE} = 'IGNORE';
    my @chunks = ref $a{send} ? @{ $a{send} } : defined $a{send} ? ($a{send}) : ();
    for my $i (0 .. $#chunks) {
        my $off = 0;
        while ($off < length $chunks[$i]) {
            my $n = syswrite $sock, $chunks[$i], length($chunks[$i]) - $off, $off;
            last unless $n;       # closed under us: go and read what came back
            $off += $n;
        }
        last if $off < length $chunks[$i];
        sleep $a{pause} if $a{pause} and $i < $#chunks;
    }
    shutdown $sock, 1 if $a{shutdown};   # we are done sending (half close)
    my $sel = IO::Select->new($sock);
    my $deadline = $t0 + ($a{timeout} // 10);
    while (1) {
        my $left = $deadline - time;
        if ($left <= 0 or !$sel->can_read($left)) { $r{timed_out} = 1; last }
        my $n = sysread $sock, my $buf, 65536;
        if (!defined $n) {
            $r{error} = "$!";
            $r{closed} = $r{reset} = 1 if $!{ECONNRESET};
            last unless $!{EINTR} or $!{EAGAIN};
            next;
        }
        if ($n == 0) { $r{closed} = 1; last }
        $r{data} .= $buf;
    }
    $r{seconds} = time - $t0;
    close $sock;
    return \%r;
}


# For a test whose own httpd (standalone_server, httpd_server, in an eval)
# did not start: one failed test with the reason, and the end of the file.
sub exit_unless_started {
    my ($server, $error) = @_;
    return if $server;
    Test::More::plan(tests => 1);
    Test::More::fail('own httpd started');
    Test::More::diag($error);
    exit 1;
}

# A ClientIP::Test::Connection (Net::HTTP, keep-alive as asked) whose socket
# first carries `header`: one string, or a list of chunks sent `pause`
# seconds apart, each in a segment of its own. Then ->get as usual.
sub proxy_connection {
    my (%a) = @_;
    my $c = connection(%a);
    my $sock = $c->{sock};
    setsockopt($sock, IPPROTO_TCP, TCP_NODELAY, 1);
    local $SIG{PIPE} = 'IGNORE';
    my @chunks = ref $a{header} ? @{ $a{header} } : defined $a{header} ? ($a{header}) : ();
    CHUNK: for my $i (0 .. $#chunks) {
        my $off = 0;
        while ($off < length $chunks[$i]) {
            my $n = syswrite $sock, $chunks[$i], length($chunks[$i]) - $off, $off;
            last CHUNK unless $n;   # closed: ->get reports it
            $off += $n;
        }
        sleep $a{pause} if $a{pause} and $i < $#chunks;
    }
    return $c;
}

# One request on a fresh connection that starts with `header` (see
# proxy_connection; the other arguments as request()). A connection the
# server closes gives { code => 0, error => why }.
sub proxy_request {
    my (%a) = @_;
    my $c = proxy_connection(%a, keep_alive => 0);
    my $res = eval { $c->get(%a) };
    $res //= { code => 0, error => $@ || 'no response', body => '', headers => {},
               local_port => $c->local_port };
    $c->close;
    return $res;
}

sub proxy_cgi_env {
    my (%a) = @_;
    my $res = proxy_request(path => '/cgi-bin/env.cgi', %a);
    return ($res, parse_env($res));
}

sub proxy_info_json {
    my (%a) = @_;
    my $res = proxy_request(path => '/clientip-info', %a);
    my $data = eval { JSON::PP->new->decode($res->{body}) };
    return ($res, $data);
}

# Waits (at most `timeout` seconds, default 5) until $file has a line
# matching $re; returns all matching lines (none after the timeout).
# `from` => a byte offset (the file's size taken before the exchange): only
# lines written since count, so an earlier connection that happened to use
# the same client port is not counted again.
sub wait_for_log {
    my ($file, $re, %o) = @_;
    my $deadline = time + ($o{timeout} // 5);
    while (1) {
        my @hits = grep { $_ =~ $re } read_lines($file, $o{from});
        return @hits if @hits or time > $deadline;
        sleep 0.05;
    }
}

# A refused connection must cost that connection only: the httpd child that
# logged the refusal ($line, with "[pid N:tid ...]") still runs afterwards
# (Linux: /proc/N/stat, and not a zombie, as a crashed child is until its
# parent reaps it). Should it be gone, the parent's "child pid N exit signal"
# line in $error_log tells a crash from a normal retirement. One test.
sub httpd_child_survived {
    my ($line, $error_log) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my ($pid) = ($line // '') =~ /\[pid (\d+):tid/
        or return Test::More::fail('the log line names the httpd child');
    # The client saw the connection close; a child that crashed closed it by
    # dying, so by now it is dead.
    sleep 0.05;
    my $state = '';
    if (open my $fh, '<', "/proc/$pid/stat") { ($state) = (<$fh> // '') =~ /\)\s+(\S)/ }
    return Test::More::pass("httpd child $pid still runs") if $state ne '' and $state ne 'Z';
    my @crash = wait_for_log($error_log, qr/child pid $pid exit signal/, timeout => 2);
    return Test::More::ok(!@crash, "httpd child $pid did not crash")
        || Test::More::diag(join "\n", @crash);
}

# A self-signed EC certificate for $name (CN and DNS SAN) in $dir:
# cert.pem, key.pem and both.pem (certificate then key, as HAProxy wants).
sub self_signed_cert {
    my ($dir, $name) = @_;
    my $out = _run_quiet('openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
                         'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
                         '-subj', "/CN=$name", '-addext', "subjectAltName=DNS:$name",
                         '-keyout', "$dir/key.pem", '-out', "$dir/cert.pem");
    die "openssl could not make a certificate: $out\n"
        unless -s "$dir/cert.pem" and -s "$dir/key.pem";
    open my $both, '>', "$dir/both.pem" or die "$dir/both.pem: $!";
    for my $f ("$dir/cert.pem", "$dir/key.pem") {
        open my $in, '<', $f or die "$f: $!";
        local $/;
        print $both scalar <$in>;
    }
    close $both or die "$dir/both.pem: $!";
    return { cert => "$dir/cert.pem", key => "$dir/key.pem", both => "$dir/both.pem" };
}

# One curl run with any number of URLs (one connection is reused where curl
# can: HTTP/1.1 keep-alive, HTTP/2 streams). Arguments:
#   urls     [ URL, ... ]; each gets ?id=... (or &id=...)
#   args     extra curl arguments, e.g. ['--haproxy-protocol', '--http2']
#   from     source address (--interface), default 127.0.0.1
#   resolve  [ 'host:port:addr', ... ]
#   headers  [ name => value, ... ] (sent with every URL)
# Returns a list ref, one hash per URL in the order given: { url, id, code,
# http_version ('1.1', '2'), num_connects, local_port, exitcode,
# headers (lower-case name => value), body, error }. The whole output of
# curl is in each ->{output}.
sub curl_run {
    my (%a) = @_;
    my $dir = File::Temp::tempdir('clientip-curl-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my $group = next_id();
    my @res;
    my @cmd = ('curl', '-sS', '-k', '-i', '--max-time', '15', '--noproxy', '*',
               '--interface', $a{from} // trusted(),
               (map { ('--resolve', $_) } @{ $a{resolve} || [] }),
               '-H', "X-Test-Id: $group", @{ $a{args} || [] },
               '-w', 'curl-result %{urlnum} %{response_code} %{http_version} %{num_connects} '
                   . '%{local_port} %{exitcode}\n');
    my @h = @{ $a{headers} || [] };
    while (my ($k, $v) = splice @h, 0, 2) { push @cmd, '-H', "$k: $v" }
    my $i = 0;
    for my $url (@{ $a{urls} }) {
        my $id = "$group-" . $i;
        my $full = $url . ($url =~ /\?/ ? '&' : '?') . "id=$id";
        push @res, { url => $full, id => $id, code => 0, body => '', headers => {} };
        push @cmd, '-o', "$dir/body$i", $full;
        $i++;
    }
    my $out = _run_quiet(@cmd);
    my $status = $?;
    for my $line (split /\n/, $out) {
        my ($n, $code, $ver, $conns, $lport, $exit) =
            $line =~ /^curl-result (\d+) (\d+) (\S+) (\d+) (\d+) (\d+)$/ or next;
        my $r = $res[$n] or next;
        @$r{qw(code http_version num_connects local_port exitcode)} =
            ($code, $ver, $conns, $lport, $exit);
        my $data = '';
        if (open my $fh, '<', "$dir/body$n") { local $/; $data = <$fh> // '' }
        my ($head, $body) = split /\r?\n\r?\n/, $data, 2;
        $r->{body} = $body // '';
        for my $hl (split /\r?\n/, $head // '') {
            my ($k, $v) = $hl =~ /^([^:\s]+):\s*(.*)$/ or next;
            my $lk = lc $k;
            $r->{headers}{$lk} = exists $r->{headers}{$lk} ? "$r->{headers}{$lk}, $v" : $v;
        }
    }
    for my $r (@res) {
        $r->{output} = $out;
        $r->{error} = "curl failed (status $status): $out" unless $r->{code};
    }
    return \@res;
}

# ---- HAProxy in front (t/proxy_haproxy.t, t/proxy_tls.t) ------------------------

# Starts an unprivileged HAProxy (daemon, no "user" directive) with a config
# of the test's own in a fresh directory under t/logs (kept for inspection):
#   config    frontends and backends ($DIR is HAProxy's directory, where
#             cert.pem, key.pem and both.pem are: a self-signed certificate
#             for $a{cert_name}, default app.example)
#   listen    [ PORT, ... ] the 127.0.0.1 ports its frontends bind (waited for)
# The config is checked with `haproxy -c` first. Returns { dir, pid, conf }
# or dies with HAProxy's own words. Stopped by its pid, and nothing else,
# when the test ends.
my @haproxy;
sub haproxy_server {
    my (%a) = @_;
    my $haproxy = haproxy_binary()
        or die "haproxy is not installed: run scripts/install-deps (it installs Debian's haproxy)\n";
    my $dir = t_logs() . "/haproxy-$script-$$";
    require File::Path;
    File::Path::remove_tree($dir);
    File::Path::make_path($dir);
    self_signed_cert($dir, $a{cert_name} // 'app.example');
    (my $body = $a{config} // '') =~ s/\$DIR\b/$dir/g;
    my $conf = "$dir/haproxy.cfg";
    open my $fh, '>', $conf or die "$conf: $!";
    print $fh <<"CONF";
# Generated by ClientIP::Test::haproxy_server.
global
    maxconn 256
    pidfile $dir/haproxy.pid
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
$body
CONF
    close $fh or die "$conf: $!";
    my $out = _run_quiet($haproxy, '-c', '-f', $conf);
    die "haproxy -c refused the config (exit status $?): $out\n" if $?;

    my $server = { dir => $dir, conf => $conf, pidfile => "$dir/haproxy.pid" };
    push @haproxy, $server;
    $out = _run_quiet($haproxy, '-D', '-p', "$dir/haproxy.pid", '-f', $conf);
    my $status = $?;
    my $deadline = time + 10;
    until (-s $server->{pidfile}
           and _all_listening([ map { "127.0.0.1:$_" } @{ $a{listen} || [] } ])) {
        if (time > $deadline or $status != 0) {
            die "haproxy did not start (exit status $status): $out\n";
        }
        sleep 0.05;
    }
    ($server->{pid}) = read_lines($server->{pidfile});
    return $server;
}

END {
    local ($?, $!, $@);
    for my $server (@haproxy) {
        my $pid = $server->{pid} // (read_lines($server->{pidfile}))[0] // '';
        next unless $pid =~ /^\d+$/ and kill 0, $pid;
        kill 'TERM', $pid;
        my $deadline = time + 10;
        sleep 0.05 while kill(0, $pid) and time < $deadline;
    }
}

# Like standalone_server, with a threaded MPM (HTTP/2 needs event or worker)
# and more modules, in a directory under t/logs:
#   mpm       event (default) or worker
#   modules   [ 'ssl', 'http2', ... ]: mod_NAME.so from Debian's module
#             directory, loaded as NAME_module
#   cert_name a self-signed certificate for this name is made first, in
#             $DIR/cert.pem and $DIR/key.pem
#   listen, body as standalone_server ($DIR, $T)
# Stopped, by its pid, when the test ends.
sub httpd_server {
    my (%a) = @_;
    my $httpd = config()->{vars}{httpd};
    my $t     = server_root();
    my $mods  = '/usr/lib/apache2/modules';
    my $mpm   = $a{mpm} // 'event';
    my $dir   = t_logs() . "/httpd-$script-$$";
    require File::Path;
    File::Path::remove_tree($dir);
    File::Path::make_path("$dir/logs", "$dir/htdocs");
    self_signed_cert($dir, $a{cert_name}) if defined $a{cert_name};
    my $load = join '', map { "LoadModule ${_}_module $mods/mod_$_.so\n" }
        'mpm_' . $mpm, qw(authz_core authz_host alias cgid headers), @{ $a{modules} || [] };
    my $listen = join '', map { "Listen $_\n" } @{ $a{listen} };
    (my $body = $a{body} // '') =~ s/\$DIR\b/$dir/g;
    $body =~ s/\$T\b/$t/g;
    my $conf = "$dir/httpd.conf";
    open my $fh, '>', $conf or die "$conf: $!";
    print $fh <<"CONF";
ServerRoot "$dir"
ServerName localhost
$load
LoadModule clientip_module "$t/../.libs/mod_clientip.so"
$listen
PidFile "$dir/logs/httpd.pid"
ErrorLog "$dir/logs/error_log"
LogLevel info
DefaultRuntimeDir "$dir/logs"
ScriptSock "$dir/logs/cgisock"
StartServers 1
ServerLimit 2
ThreadsPerChild 16
MinSpareThreads 8
MaxSpareThreads 32
MaxRequestWorkers 32
@{[ _served_content($dir, $t) ]}
$body
CONF
    close $fh or die "$conf: $!";

    my $server = { dir => $dir, conf => $conf, error_log => "$dir/logs/error_log" };
    push @standalone, $server;   # stopped by standalone_server's END block
    my $out = _run_quiet($httpd, '-f', $conf, '-k', 'start');
    my $status = $?;
    my $deadline = time + 10;
    until (-s "$dir/logs/httpd.pid" and _all_listening($a{listen})) {
        if (time > $deadline or $status != 0) {
            my $log = join "\n", read_lines("$dir/logs/error_log");
            die "own httpd did not start: $out\n$log\n";
        }
        sleep 0.05;
    }
    ($server->{pid}) = read_lines("$dir/logs/httpd.pid");
    return $server;
}

package ClientIP::Test::Connection;

use strict;
use warnings;

sub new {
    my ($class, %a) = @_;
    my $vhost = $a{vhost} or die "connection: vhost required\n";
    my $port  = $a{port} // ClientIP::Test::vhost_port($vhost);
    my $to    = $a{to}   // '127.0.0.1';
    my $from  = $a{from} // ClientIP::Test::trusted();
    my $sock  = Net::HTTP->new(
        # Net::HTTP parses PeerAddr as a URI authority: brackets for IPv6.
        PeerAddr  => ($to =~ /:/ ? "[$to]:$port" : "$to:$port"),
        LocalAddr => $from,
        Host      => ($to =~ /:/ ? "[$to]:$port" : "$to:$port"),
        KeepAlive => $a{keep_alive} ? 1 : 0,
        SendTE    => 0,
        Timeout   => 15,
        MaxHeaderLines => 1000,
        MaxLineLength  => 64 * 1024,
    ) or die "connect $to:$port from $from ($vhost): $@\n";
    return bless { sock => $sock, vhost => $vhost, from => $from, to => $to,
                   port => $port }, $class;
}

sub local_port { $_[0]{sock}->sockport }

sub get {
    my ($self, %a) = @_;
    my $id   = $a{id} // ClientIP::Test::next_id();
    my $path = $a{path} // '/cgi-bin/env.cgi';
    my $url  = $path . ($path =~ /\?/ ? '&' : '?') . "id=$id";
    my @headers = @{ $a{headers} || [] };
    my $sock = $self->{sock};

    $sock->write_request($a{method} // 'GET', $url, 'X-Test-Id' => $id, @headers)
        or die "write_request: $!\n";
    my ($code, $message, @h) = $sock->read_response_headers(laxed => 1);
    my (%headers, @list);
    while (my ($k, $v) = splice @h, 0, 2) {
        push @list, [$k, $v];
        my $lk = lc $k;
        $headers{$lk} = exists $headers{$lk} ? "$headers{$lk}, $v" : $v;
    }
    my $body = '';
    while (1) {
        my $n = $sock->read_entity_body(my $buf, 65536);
        die "read_entity_body: $!\n" unless defined $n;
        last unless $n;
        $body .= $buf;
    }
    return {
        code => $code, message => $message, headers => \%headers,
        header_list => \@list, body => $body, id => $id, url => $url,
        local_port => $self->local_port, env => undef,
    };
}

sub close {
    my ($self) = @_;
    $self->{sock}->close if $self->{sock};
    delete $self->{sock};
}

1;
