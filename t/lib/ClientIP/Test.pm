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
use Apache::TestRequest ();

our @EXPORT = qw(
    vhost_port request connection cgi_env info_json
    log_lines_for wait_log_line error_lines_for t_logs server_root
    untrusted trusted
    env_ok changed unchanged PEER_PORT
    free_port standalone_server
    nginx_binary nginx_server curl_request
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

sub read_lines {
    my ($file) = @_;
    open my $fh, '<', $file or return ();
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

# The nginx executable, or undef when it is not installed (scripts/install-deps
# installs it).
sub nginx_binary {
    for my $dir ('/usr/sbin', '/usr/local/sbin', split /:/, $ENV{PATH} // '') {
        return "$dir/nginx" if $dir ne '' and -x "$dir/nginx" and !-d _;
    }
    return undef;
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
