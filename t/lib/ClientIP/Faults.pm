package ClientIP::Faults;
# Helpers for the fault-injection tests (t/faults_*.t) and scripts/faults-idle:
# keep-alive load from child processes, one request on raw bytes, many idle
# connections at once, the processes, threads and memory of a running httpd.
# No Apache::Test here: scripts/faults-idle runs without it.
#
# Everything here talks to real sockets on loopback; nothing is simulated.
use strict;
use warnings;

use Exporter 'import';
use ClientIP::HTTP qw(parse_http);
use IO::Socket::IP ();
use JSON::PP ();
use POSIX ();
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use Time::HiRes qw(sleep time);

our @EXPORT = qw(
    start_load stop_load load_summary
    http_get
    httpd_processes httpd_rss_kib httpd_threads tcp_port_state tcp_counters count_lines run_cmd
    idle_storm percentile start_on_free_ports
);

# ---- keep-alive load ------------------------------------------------------------
#
# start_load(port => P, clients => N, from => '127.0.0.1', path => '/x.txt',
#            xff => '203.0.113.N', dir => DIR)
# Forks N clients. Each keeps one HTTP/1.1 keep-alive connection and sends
# requests back to back (X-Forwarded-For: xff, with N's number in place of
# the "N") until DIR/stop exists. Each response is checked: status, and the
# X-Seen-Client header (what httpd took as the client) against the xff value.
#
# A request on a reused connection that the server closed before answering
# (a keep-alive connection an old-generation child closes at a graceful
# restart) is sent again once on a fresh connection, as HTTP clients do for
# idempotent requests (RFC 9112, 9.3.1); such retries are counted as `stale`.
# A request that fails on a fresh connection, or again after its retry, is a
# `failed` one. Each client writes its counts to DIR/load-<n>.json.
sub start_load {
    my (%a) = @_;
    my $dir = $a{dir} or die "start_load: dir required\n";
    unlink "$dir/stop";
    my @pids;
    for my $n (1 .. $a{clients} // 4) {
        my $pid = fork;
        die "fork: $!\n" unless defined $pid;
        if ($pid == 0) {
            my $rc = eval { _load_client(%a, n => $n); 1 } ? 0 : 1;
            print STDERR "load client $n: $@" if $rc;
            POSIX::_exit($rc);
        }
        push @pids, $pid;
    }
    return { dir => $dir, pids => \@pids, started => time };
}

sub _load_client {
    my (%a) = @_;
    local $SIG{PIPE} = 'IGNORE';
    my $n = $a{n};
    (my $client = $a{xff} // '203.0.113.N') =~ s/N/$n/;
    my %st = (requests => 0, ok => 0, wrong_client => 0, status_5xx => 0,
              other_status => 0, stale => 0, failed => 0, connections => 0,
              errors => [], stale_errors => []);
    my ($sock, $used) = (undef, 0);
    my $i = 0;
    until (-e "$a{dir}/stop") {
        my $path = ($a{path} // '/load.txt') . "?load=$n-" . ++$i;
        my ($res, $err);
        for my $attempt (1, 2) {
            unless ($sock) {
                $sock = _connect(%a) or do { $err = "connect: $@"; last };
                ($used, $st{connections}) = (0, $st{connections} + 1);
            }
            $res = eval { _exchange($sock, $path, $client, $a{port}) };
            $err = $@;
            last if $res;
            my $reused = $used > 0;
            close $sock;
            $sock = undef;
            # Retry once, only when a reused connection ended before a
            # single byte of an answer came.
            last unless $reused and $attempt == 1 and $err =~ /^no answer/;
            $st{stale}++;
            push @{ $st{stale_errors} }, $err if @{ $st{stale_errors} } < 5;
        }
        $st{requests}++;
        if (!$res) {
            $st{failed}++;
            push @{ $st{errors} }, $err if @{ $st{errors} } < 5;
            next;
        }
        $used++;
        if    ($res->{code} >= 500) { $st{status_5xx}++ }
        elsif ($res->{code} != 200) { $st{other_status}++ }
        elsif (($res->{client} // '') ne $client) {
            $st{wrong_client}++;
            push @{ $st{errors} }, "client $res->{client}, want $client"
                if @{ $st{errors} } < 5;
        }
        else { $st{ok}++ }
        if ($res->{close}) { close $sock; $sock = undef }
    }
    open my $fh, '>', "$a{dir}/load-$n.json.tmp" or die "$!";
    print $fh JSON::PP->new->canonical->encode(\%st);
    close $fh;
    rename "$a{dir}/load-$n.json.tmp", "$a{dir}/load-$n.json" or die "$!";
}

sub _connect {
    my (%a) = @_;
    my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $a{port},
                                LocalHost => $a{from} // '127.0.0.1', Timeout => 10)
        or return;
    setsockopt($s, IPPROTO_TCP, TCP_NODELAY, 1);
    return $s;
}

# One request, one response (Content-Length bodies only: static files).
# Dies when the connection ends before a whole response came.
sub _exchange {
    my ($sock, $path, $xff, $port) = @_;
    my $req = "GET $path HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n"
            . "X-Forwarded-For: $xff\r\n\r\n";
    # Sending on a connection the server has closed may fail at once.
    defined syswrite($sock, $req) or die "no answer: write: $!\n";
    my $buf = '';
    my $deadline = time + 15;
    my ($head, $len);
    while (1) {
        if (!defined $head and $buf =~ /\r\n\r\n/) {
            ($head) = $buf =~ /^(.*?\r\n)\r\n/s;
            ($len) = $head =~ /^Content-Length:\s*(\d+)/mi;
            $len //= 0;
        }
        last if defined $head and length($buf) >= length($head) + 2 + $len;
        die "timeout\n" if time > $deadline;
        my $rin = '';
        vec($rin, fileno $sock, 1) = 1;
        select(my $rout = $rin, undef, undef, 1) or next;
        my $n = sysread $sock, $buf, 65536, length $buf;
        die length($buf) ? "read after part of an answer: $!\n" : "no answer: read: $!\n"
            unless defined $n;
        die length($buf) ? "closed mid-response\n" : "no answer: closed\n" unless $n;
    }
    my ($code) = $head =~ m{^HTTP/1\.\d (\d{3})} or die "not HTTP: $head\n";
    my ($client) = $head =~ /^X-Seen-Client:\s*(\S+)/mi;
    my $close = $head =~ /^Connection:\s*close/mi ? 1 : 0;
    return { code => $code, client => $client, close => $close };
}

# Stops the clients and returns the counts summed over them, plus `clients`
# (how many reported) and `seconds`.
sub stop_load {
    my ($h) = @_;
    open my $fh, '>', "$h->{dir}/stop" or die "$h->{dir}/stop: $!";
    close $fh;
    my %sum = (clients => 0, errors => [], stale_errors => []);
    for my $pid (@{ $h->{pids} }) {
        waitpid $pid, 0;
    }
    for my $n (1 .. @{ $h->{pids} }) {
        my $f = "$h->{dir}/load-$n.json";
        open my $in, '<', $f or next;
        local $/;
        my $st = JSON::PP->new->decode(<$in>);
        $sum{clients}++;
        for my $k (keys %$st) {
            if (ref $st->{$k}) { push @{ $sum{$k} }, @{ $st->{$k} } }
            else               { $sum{$k} += $st->{$k} }
        }
        unlink $f;
    }
    $sum{seconds} = time - $h->{started};
    return \%sum;
}

sub load_summary {
    my ($s) = @_;
    return sprintf '%d requests in %.1f s by %d clients on %d connections: %d ok, '
                 . '%d wrong client, %d 5xx, %d other status, %d retried after a '
                 . 'stale keep-alive close, %d failed',
        map { $_ // 0 } @$s{qw(requests seconds clients connections ok wrong_client
                               status_5xx other_status stale failed)};
}

# ---- a server on free ports ----------------------------------------------------------

# start_on_free_ports(N, sub { my @ports = @_; ...start a server...; $server })
# picks N distinct loopback ports nobody listens on and calls the starter
# with them. A port found free can be taken by another process before httpd
# binds it (client sockets take their ports from the same range): when the
# start fails for that reason, it tries again with new ports, three times
# in all. Returns the starter's result and the ports, or dies with the
# last error.
sub start_on_free_ports {
    my ($n, $start) = @_;
    my $err;
    for my $attempt (1 .. 3) {
        my (%seen, @ports);
        while (@ports < $n) {
            my $s = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => 0, Listen => 1)
                or die "no free port: $@";
            my $p = $s->sockport;
            close $s;
            push @ports, $p unless $seen{$p}++;
        }
        my $r = eval { $start->(@ports) };
        return wantarray ? ($r, @ports) : $r if $r;
        $err = $@ || "the server did not start\n";
        last unless $err =~ /Address already in use|could not bind|AH00072|AH00076/;
    }
    die $err;
}

# ---- one request ------------------------------------------------------------------

# A plain GET on a fresh connection, optionally preceded by raw bytes
# (a PROXY header): { code, headers (lower-case), body (chunked decoded),
# error }.
sub http_get {
    my (%a) = @_;
    my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $a{port},
                                LocalHost => $a{from} // '127.0.0.1', Timeout => 5)
        or return { code => 0, error => "connect: $@" };
    local $SIG{PIPE} = 'IGNORE';
    my $req = ($a{prefix} // '') . "GET " . ($a{path} // '/') . " HTTP/1.1\r\n"
            . "Host: 127.0.0.1:$a{port}\r\nConnection: close\r\n"
            . join('', map { "$_->[0]: $_->[1]\r\n" } @{ $a{headers} || [] }) . "\r\n";
    my $off = 0;
    while ($off < length $req) {
        my $n = syswrite $s, $req, length($req) - $off, $off;
        return { code => 0, error => "write: $!" } unless $n;
        $off += $n;
    }
    my $data = '';
    my $deadline = time + ($a{timeout} // 15);
    while (time < $deadline) {
        my $rin = '';
        vec($rin, fileno $s, 1) = 1;
        select(my $rout = $rin, undef, undef, 0.5) or next;
        my $n = sysread $s, $data, 65536, length $data;
        last unless $n;
    }
    close $s;
    my $res = parse_http($data);
    return { code => 0, error => 'no response', data => $data } unless $res->{code};
    return $res;
}

# ---- many idle connections (slowloris on a PROXY listener) -------------------------
#
# idle_storm(port => P, conns => N, ...) opens N connections to P, `batch`
# (default 250) at a time between polls (non-blocking connects, spread over
# the source addresses in `sources`, default 127.0.0.1) and keeps them idle: each writes nothing, or (every
# `partial_every`-th one) the first bytes of a PROXY header from `partials`.
# Then it waits for the server to close them. Once all are open, every
# `probe_every` seconds, it starts an ordinary client on a fresh connection: `probe`
# bytes (a whole PROXY header and a request), whose answer is read to the
# end. `sample` (a code ref) is called about every `sample_every` seconds with
# the elapsed time. It returns when every idle connection has ended and
# `after` more seconds of probes went by, or after `guard` seconds.
#
# `sample` gets (elapsed, idle connections not ended yet, how many of those
# are still connecting) and may return
# 'stop': the idle connections still open are then ended as `ghost`.
#
# Returns { idle => [ { started, established, ended, how, sent, lport } ],
#           probes => [ { started, ended, code, client, error, lport } ],
#           seconds } with times in seconds from the start; `how` is eof,
# reset, data (the server sent bytes), connect: <error>, ghost, or open
# (still open at the guard).
sub idle_storm {
    my (%a) = @_;
    require IO::Poll;
    require Socket;
    my $port = $a{port};
    my @sources = @{ $a{sources} || ['127.0.0.1'] };
    my @partials = @{ $a{partials} || [] };
    my $every = $a{partial_every} // 0;
    my ($POLLIN, $POLLOUT, $POLLERR, $POLLHUP) =
        (IO::Poll::POLLIN(), IO::Poll::POLLOUT(), IO::Poll::POLLERR(), IO::Poll::POLLHUP());
    my $t0 = time;
    my (@idle, @probes, %by_fd);

    my $open = sub {
        my ($src) = @_;
        socket(my $fh, Socket::PF_INET(), Socket::SOCK_STREAM() | Socket::SOCK_NONBLOCK(), 0)
            or return (undef, "socket: $!");
        # IP_BIND_ADDRESS_NO_PORT (Linux): the port is chosen at connect, for
        # this destination, instead of at bind among all in use.
        setsockopt($fh, Socket::IPPROTO_IP(), 24, 1);
        bind($fh, Socket::pack_sockaddr_in(0, Socket::inet_aton($src)))
            or return (undef, "bind $src: $!");
        setsockopt($fh, Socket::IPPROTO_TCP(), Socket::TCP_NODELAY(), 1);
        connect($fh, Socket::pack_sockaddr_in($port, Socket::inet_aton('127.0.0.1')))
            or $!{EINPROGRESS} or return (undef, "connect: $!");
        return ($fh, undef);
    };

    local $SIG{PIPE} = 'IGNORE';
    # Opened in batches from the main loop, so that the connections already
    # established get their bytes written at once, not after all are open.
    my $opened = 0;
    my $idle_left = $a{conns};
    my $all_done_at;
    my ($next_probe, $next_sample) = (0, 0);
    my $probes_left = 0;
    my $open_batch = sub {
        my $until = $opened + ($a{batch} // 250);
        $until = $a{conns} if $until > $a{conns};
        for my $i ($opened .. $until - 1) {
            my %c = (kind => 'idle', started => time - $t0, sent => '', state => 'connecting');
            $c{send} = $partials[ ($i / $every) % @partials ]
                if $every and @partials and $i % $every == 0;
            my ($fh, $err) = $open->($sources[ $i % @sources ]);
            if ($fh) {
                $c{fh} = $fh;
                $by_fd{ fileno $fh } = \%c;
                my $name = getsockname $fh;
                ($c{lport}) = Socket::unpack_sockaddr_in($name) if $name;
            }
            else {
                @c{qw(ended how state)} = (time - $t0, "connect: $err", 'done');
                $all_done_at = time - $t0 unless --$idle_left;
            }
            push @idle, \%c;
        }
        $opened = $until;
    };
    my $finish = sub {
        my ($c, $how) = @_;
        $c->{ended} = time - $t0;
        $c->{how} //= $how;
        $c->{state} = 'done';
        delete $by_fd{ fileno $c->{fh} };
        close $c->{fh};
        delete $c->{fh};
        if ($c->{kind} eq 'idle') {
            $all_done_at = time - $t0 unless --$idle_left;
        }
        else {
            $probes_left--;
            my ($code) = ($c->{data} // '') =~ m{^HTTP/1\.\d (\d{3})};
            my ($client) = ($c->{data} // '') =~ /^X-Seen-Client:\s*(\S+)/mi;
            $c->{code} = $code // 0;
            $c->{client} = $client;
            $c->{error} = $how unless $code;
            delete $c->{data};
        }
    };

    while (1) {
        my $now = time - $t0;
        if ($now >= $next_sample) {
            # The sampler may end the run: the connections still open are
            # then marked `ghost` (see faults-idle: the server holds nothing
            # for them any more).
            my $connecting = grep { $_->{kind} eq 'idle' and $_->{state} eq 'connecting' } @idle;
            if ($a{sample} and ($a{sample}->($now, $idle_left, $connecting) // '') eq 'stop') {
                $finish->($_, 'ghost') for grep { $_->{kind} eq 'idle' and $_->{state} ne 'done' } @idle;
                $all_done_at //= $now;
            }
            $next_sample = $now + ($a{sample_every} // 0.5);
        }
        my $probing = !defined $all_done_at || $now - $all_done_at < ($a{after} // 0);
        if ($a{probe} and $probing and $now >= $next_probe and $opened >= $a{conns}) {
            my %p = (kind => 'probe', started => $now, state => 'connecting', data => '');
            my ($fh, $err) = $open->($a{probe_from} // $sources[0]);
            if (!$fh) { @p{qw(ended code error state)} = ($now, 0, $err, 'done') }
            else {
                $p{fh} = $fh;
                $by_fd{ fileno $fh } = \%p;
                $probes_left++;
                my $name = getsockname $fh;
                ($p{lport}) = Socket::unpack_sockaddr_in($name) if $name;
            }
            push @probes, \%p;
            $next_probe = $now + ($a{probe_every} // 0.5);
        }
        last if defined $all_done_at and !$probing and !$probes_left;
        $open_batch->() if $opened < $a{conns};
        if ($now > ($a{guard} // 600)) {
            $finish->($_, 'open') for grep { $_->{state} ne 'done' } @idle, @probes;
            last;
        }
        my @list;
        for my $fd (keys %by_fd) {
            push @list, $fd, $by_fd{$fd}{state} eq 'connecting' ? $POLLOUT : $POLLIN;
        }
        my $n = IO::Poll::_poll(100, @list);
        next unless $n and $n > 0;
        for (my $k = 0; $k < @list; $k += 2) {
            my ($fd, $ev) = @list[ $k, $k + 1 ];
            next unless $ev;
            my $c = $by_fd{$fd} or next;
            if ($c->{state} eq 'connecting') {
                my $err = unpack 'i', getsockopt($c->{fh}, Socket::SOL_SOCKET(), Socket::SO_ERROR()) // pack 'i', 0;
                if ($err) {
                    local $! = $err;
                    $finish->($c, "connect: $!");
                    next;
                }
                $c->{established} = time - $t0;
                $c->{state} = 'open';
                my $out = $c->{kind} eq 'probe' ? $a{probe} : $c->{send};
                if (defined $out and length $out) {
                    my $w = syswrite $c->{fh}, $out;
                    $c->{sent} = defined $w ? $w : 0;
                }
                next;
            }
            my $r = sysread $c->{fh}, my $buf, 65536;
            if (!defined $r) {
                next if $!{EAGAIN} or $!{EINTR};
                $finish->($c, $!{ECONNRESET} ? 'reset' : "read: $!");
            }
            elsif ($r == 0) {
                $finish->($c, 'eof');
            }
            elsif ($c->{kind} eq 'probe') {
                $c->{data} .= $buf;
            }
            else {
                $c->{how} = 'data';   # the server said something: noted, then wait for the close
            }
        }
    }
    return { idle => \@idle, probes => \@probes, seconds => time - $t0 };
}

# The p-th percentile (0-100) of a list of numbers (nearest rank).
sub percentile {
    my ($p, @v) = @_;
    return undef unless @v;
    @v = sort { $a <=> $b } @v;
    my $i = int($p / 100 * @v + 0.5) - 1;
    $i = 0 if $i < 0;
    $i = $#v if $i > $#v;
    return $v[$i];
}

# TCP counters of the network namespace (/proc/net/netstat, TcpExt):
# { SyncookiesSent => n, ListenOverflows => n, ... }.
sub tcp_counters {
    open my $fh, '<', '/proc/net/netstat' or return {};
    my @lines = <$fh>;
    my %c;
    for (my $i = 0; $i + 1 < @lines; $i += 2) {
        my ($p1, @names) = split ' ', $lines[$i];
        my ($p2, @values) = split ' ', $lines[$i + 1];
        next unless $p1 eq 'TcpExt:' and $p2 eq 'TcpExt:';
        @c{@names} = @values;
    }
    return \%c;
}

# Threads of the httpd parent and its children (sum of Threads:).
sub httpd_threads {
    my ($parent) = @_;
    my $n = 0;
    for my $p (httpd_processes($parent)) {
        open my $fh, '<', "/proc/$p/status" or next;
        while (<$fh>) { if (/^Threads:\s+(\d+)/) { $n += $1; last } }
    }
    return $n;
}

# From /proc/net/tcp: (established connections to local port P, the
# listener's accept queue: connections the kernel completed that httpd has
# not accepted yet, half-open ones in SYN_RECV: the client sent its ACK but
# the full accept queue made the kernel drop it, so the server side waits
# to retransmit its SYN-ACK).
sub tcp_port_state {
    my ($port) = @_;
    my ($est, $queue, $synrecv) = (0, 0, 0);
    my $hex = sprintf '%04X', $port;
    open my $fh, '<', '/proc/net/tcp' or return (undef, undef);
    while (<$fh>) {
        my @f = split ' ';
        next unless @f > 4 and $f[1] =~ /:$hex$/;
        if    ($f[3] eq '01') { $est++ }
        elsif ($f[3] eq '03') { $synrecv++ }
        elsif ($f[3] eq '0A') { my ($rx) = $f[4] =~ /:([0-9A-F]+)$/i; $queue += hex $rx }
    }
    return ($est, $queue, $synrecv);
}

# ---- the server's processes --------------------------------------------------------

# The httpd parent (by its pid) and its children, from /proc.
sub httpd_processes {
    my ($parent) = @_;
    my @pids = ($parent);
    opendir my $d, '/proc' or return @pids;
    for my $p (grep { /^\d+$/ } readdir $d) {
        open my $fh, '<', "/proc/$p/stat" or next;
        my ($ppid) = (<$fh> // '') =~ /\)\s+\S\s+(\d+)/ or next;
        push @pids, $p if $ppid == $parent;
    }
    return @pids;
}

# Resident memory of the httpd parent and all its children, in KiB
# (the sum of VmRSS: shared pages counted once per process, so an upper
# bound), and the number of processes.
sub httpd_rss_kib {
    my ($parent) = @_;
    my ($kib, $n) = (0, 0);
    for my $p (httpd_processes($parent)) {
        open my $fh, '<', "/proc/$p/status" or next;
        while (<$fh>) { if (/^VmRSS:\s+(\d+)/) { $kib += $1; $n++; last } }
    }
    return wantarray ? ($kib, $n) : $kib;
}

# Lines of $file matching $re.
sub count_lines {
    my ($file, $re) = @_;
    open my $fh, '<', $file or return 0;
    my $n = 0;
    while (<$fh>) { $n++ if $_ =~ $re }
    return $n;
}

# Runs a command with stdout and stderr captured: ($status, $output). An
# optional first argument { NAME => value } adds to its environment. The
# output goes through a file, not a pipe, so a daemon the command may leave
# behind (`apache2 -k graceful` starts one when none runs) cannot hold the
# reader up.
sub run_cmd {
    my (@cmd) = @_;
    my $env = ref $cmd[0] eq 'HASH' ? shift @cmd : {};
    require File::Temp;
    my $tmp = File::Temp->new(TMPDIR => 1);
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $tmp->filename;
        open STDERR, '>&', \*STDOUT;
        $ENV{$_} = $env->{$_} for keys %$env;
        { no warnings 'exec'; exec { $cmd[0] } @cmd; }
        print "cannot run $cmd[0]: $!\n";
        POSIX::_exit(127);
    }
    waitpid $pid, 0;
    my $status = $? >> 8;
    open my $fh, '<', $tmp->filename or return ($status, '');
    local $/;
    return ($status, <$fh> // '');
}

1;
