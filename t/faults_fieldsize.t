# Fault: forwarding headers as large as httpd lets through, and one byte
# larger.
#
# httpd refuses a request whose header field exceeds LimitRequestFieldSize
# (8190 bytes by default) with 400 before any module sees it. Everything up
# to that size reaches mod_clientip, so a list that fills the whole field
# must still give the right client. Tried with X-Forwarded-For and
# Forwarded (RFC 7239), each at the default limit and at
# LimitRequestFieldSize 65536, with lists of hundreds to thousands of valid
# addresses:
#
# - "client found": untrusted addresses on the left, then the client (with a
#   port), then three trusted proxies (ClientIPRecursive On). The client and
#   its port come out right and the header keeps exactly the left part.
# - "all trusted": every entry trusted, so the walk goes its 64 entries and
#   the 64th from the right is the client.
#
# Sizes are of the whole field line, "Name: value" without its CRLF:
# exactly the limit (accepted); limit + 1 (httpd 2.4 accepts a
# CRLF-terminated line one byte longer than the limit: if it does, the client
# must be right there too); limit + 2 (httpd's 400, its AH00561 log line
# names the header). After each refusal a normal request is served.
use strict;
use warnings;
use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use ClientIP::Test;
use ClientIP::Faults;

my $body = <<'CONF';
ClientIPTrustedProxies 127.0.0.1 10.0.0.0/8
ClientIPRecursive On
LogLevel info
CONF
my %vhost;
my ($server, @ports) = eval {
    start_on_free_ports(4, sub {
        my @p = @_;
        %vhost = (
            'X-Forwarded-For 8190'  => [ $p[0], 'X-Forwarded-For', 8190 ],
            'Forwarded 8190'        => [ $p[1], 'Forwarded', 8190 ],
            'X-Forwarded-For 65536' => [ $p[2], 'X-Forwarded-For', 65536 ],
            'Forwarded 65536'       => [ $p[3], 'Forwarded', 65536 ],
        );
        my $vhosts = '';
        for my $name (sort keys %vhost) {
            my ($port, $header, $limit) = @{ $vhost{$name} };
            # The default limit is left unset: the test is of httpd's own default.
            my $lim = $limit == 8190 ? '' : "    LimitRequestFieldSize $limit\n";
            $vhosts .= "<VirtualHost 127.0.0.1:$port>\n    ClientIPHeader $header\n$lim</VirtualHost>\n";
        }
        standalone_server(listen => [ map { "127.0.0.1:$_" } @p ], body => $body . $vhosts);
    });
};
exit_unless_started($server, $@);
plan tests => 4 * 7;

# Entries in the header's own syntax.
sub entry {
    my ($header, $addr, $port) = @_;
    if ($header eq 'Forwarded') {
        return defined $port ? qq{for="$addr:$port"} : "for=$addr";
    }
    return defined $port ? "$addr:$port" : $addr;
}

# A value that makes the field line "$header: value" exactly $size bytes:
# @right is the fixed right end; entries from $filler->(i) are added on the
# left while they fit, and the rest is made up with spaces after the first
# comma (optional whitespace both syntaxes allow). Returns the value and
# the left part (the fillers, as they stand in the value).
sub build_value {
    my ($header, $size, $filler, @right) = @_;
    my $room = $size - length("$header: ");
    my $right = join ', ', @right;
    my @left;
    my $len = length $right;
    for (my $i = 0; ; $i++) {
        my $e = $filler->($i);
        last if $len + length($e) + 2 > $room;
        unshift @left, $e;
        $len += length($e) + 2;
    }
    my $pad = ' ' x ($room - $len);
    my $left = join ', ', @left;
    $left =~ s/, /,$pad / or $left .= $pad;
    my $value = "$left, $right";
    die "built " . length("$header: $value") . " bytes, wanted $size\n"
        unless length("$header: $value") == $size;
    return ($value, $left, scalar(@left) + @right);
}

sub untrusted_filler { my ($i) = @_; '198.51.' . int($i / 250) % 250 . '.' . ($i % 250 + 1) }
sub trusted_filler   { my ($i) = @_; '10.' . int($i / 62500) . '.' . int($i / 250) % 250 . '.' . ($i % 250 + 1) }

sub get_env {
    my ($port, $header, $value) = @_;
    my $r = http_get(port => $port, path => '/cgi-bin/env.cgi',
                     headers => [ [ $header => $value ] ]);
    my %env;
    for my $line (split /\n/, $r->{body} // '') {
        my ($k, $v) = split /=/, $line, 2;
        next unless defined $v;
        $v =~ s/\\x([0-9a-f]{2})/chr hex $1/ge;
        $env{$k} = $v;
    }
    return ($r, \%env);
}

my $envname = sub { my $h = uc shift; $h =~ tr/-/_/; "HTTP_$h" };
my $refusals = 0;
for my $name (sort keys %vhost) {
    my ($port, $header, $limit) = @{ $vhost{$name} };
    my $hvar = $envname->($header);
    my @right = (entry($header, '203.0.113.7', 4711), map { entry($header, $_) }
                 '10.1.2.3', '10.4.5.6', '10.7.8.9');

    for my $size ($limit, $limit + 1) {
        my ($value, $left, $n) = build_value($header, $size,
                                             sub { entry($header, untrusted_filler($_[0])) }, @right);
        my ($r, $env) = get_env($port, $header, $value);
        my $check = sub {
            is $env->{REMOTE_ADDR}, '203.0.113.7', 'REMOTE_ADDR: the client';
            is $env->{CLIENTIP_PORT}, '4711', "CLIENTIP_PORT: the client's port";
            is $env->{CLIENTIP_PROXIES}, '10.1.2.3, 10.4.5.6, 10.7.8.9, 127.0.0.1',
                'CLIENTIP_PROXIES: the three hops and the peer';
            ok $env->{$hvar} eq $left, "$header keeps exactly the left part ("
                . length($left) . ' bytes)'
                or diag sprintf "got %d bytes: %s ... %s\nwant %d bytes: %s ... %s",
                    length($env->{$hvar} // ''), substr($env->{$hvar} // '', 0, 60),
                    substr($env->{$hvar} // '', -60), length $left, substr($left, 0, 60), substr($left, -60);
            is $r->{headers}{'x-seen-client'}, '203.0.113.7', 'ap_expr %{REMOTE_ADDR} agrees';
        };
        if ($size == $limit) {
            subtest "$name: client found in a $size-byte field ($n entries)" => sub {
                is $r->{code}, 200, 'status 200' or return diag $r->{error} // $r->{body};
                $check->();
            };
        }
        else {
            subtest "$name: $size bytes (limit + 1, $n entries): right client or httpd's 400" => sub {
                if ($r->{code} == 400) { pass('refused by httpd (400)'); return }
                is $r->{code}, 200, 'status 200';
                $check->();
            };
        }
    }

    my ($value, undef, $n) = build_value($header, $limit, sub { entry($header, trusted_filler($_[0] + 3)) },
                                         map { entry($header, trusted_filler($_)) } reverse 0 .. 2);
    my ($r, $env) = get_env($port, $header, $value);
    # Entries counted from the right: fillers 0, 1, 2, then 3, 4, ...; the
    # 64th from the right is filler 63.
    subtest "$name: all $n entries trusted in a $limit-byte field: the 64th from the right" => sub {
        is $r->{code}, 200, 'status 200' or return diag $r->{error} // $r->{body};
        is $env->{REMOTE_ADDR}, trusted_filler(63), 'REMOTE_ADDR: the 64th entry from the right';
        my @proxies = split /, /, $env->{CLIENTIP_PROXIES} // '';
        is scalar(@proxies), 64, 'CLIENTIP_PROXIES: 63 hops and the peer';
    };

    # Over the limit: httpd refuses before any module runs.
    my $id = "fieldsize-$port";
    ($value) = build_value($header, $limit + 2, sub { entry($header, untrusted_filler($_[0])) }, @right);
    $r = http_get(port => $port, path => "/cgi-bin/env.cgi?id=$id",
                  headers => [ [ $header => $value ] ]);
    is $r->{code}, 400, "$name: limit + 2 bytes: httpd answers 400";
    $refusals++;
    my @log = wait_for_log($server->{error_log},
                           qr/AH00561: Request header exceeds LimitRequestFieldSize: \Q$header\E/);
    ok scalar(@log), "$name: httpd's AH00561 line names $header" or diag "no AH00561 line";

    # Still serving.
    ($r, $env) = get_env($port, $header, join ', ', @right);
    subtest "$name: a normal request after the refusal" => sub {
        is $r->{code}, 200, 'status 200';
        is $env->{REMOTE_ADDR}, '203.0.113.7', 'REMOTE_ADDR: the client';
    };

    my @crash = wait_for_log($server->{error_log}, qr/exit signal|AH00052/, timeout => 0);
    ok !@crash, "$name: no child crashed" or diag @crash;
}
