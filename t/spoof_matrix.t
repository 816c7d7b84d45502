# The spoofing matrix: every trust path of the module (the rows) is tried
# with every forged value a client could send (the columns), and the client
# must never move. What is checked is what a user sees:
#
#   - the CGI environment: REMOTE_ADDR, REMOTE_PORT, every CLIENTIP_*
#     variable, PROXY_PROTOCOL_*, HTTPS, REQUEST_SCHEME, SERVER_NAME,
#     SERVER_PORT, the forged header as passed on, and X-Trusted-Proxies
#     (ClientIPProxiesHeader), which a client must never be able to set;
#   - %a, %{c}a and %{remote}p in the access log;
#   - the clientip-info JSON document (peer, client, source, proxies, stop,
#     trail, scheme, host, port, forwarded_by/for, proxy_protocol);
#   - the response's X-Seen-Client header (ap_expr %{REMOTE_ADDR});
#   - for the PROXY listeners: that the connection is closed without a byte
#     of response, with the refusal line of docs/directives.md.
#
# Part 1: an UNTRUSTED peer (127.0.0.2). Whatever it sends, the client is the
# peer, the origin is the connection's (http, the Host header's name, the
# listener's port), and its headers are passed on untouched. A request httpd
# itself refuses (control bytes, an oversized field, PROXY bytes on a plain
# listener) gets 400, and the next request on a fresh connection is normal.
# One row is a trusted load balancer (127.0.0.1) whose PROXY header names an
# untrusted source: the client is that source, whatever the request says.
#
# Part 2: a TRUSTED peer (127.0.0.1) forwarding a list whose right part is
# trusted (10.0.0.5, 198.51.100.4), then the real client 203.0.113.9, and on
# its left the forged value: the client is 203.0.113.9 and nothing on its
# left ever becomes the client.
#
# Then host names in the place the module does read: never resolved.
#
# Every case is one assertion line, "row x column"; a failure lists every
# check that went wrong. The number of cases run is reported at the end.
#
# Hosts (t/conf/extra.conf.in, cip_spoof_*): each trusts 127.0.0.1,
# 10.0.0.0/8, 198.51.100.0/24 and 2001:db8:cafe::/48, takes the scheme and
# host from trusted proxies, and names the proxies in X-Trusted-Proxies.
#
# Controls at the end show that the same hosts do honour a trusted peer, so
# a pass is not the result of hosts that ignore everyone. To see the matrix
# fail, point a part 1 row at cip_replace (it trusts 127.0.0.2): every case
# of that row whose request is served fails, naming the forged client.
use strict;
use warnings;
use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use ClientIP::Test;
use JSON::PP ();
use Time::HiRes qw(time sleep);

my $logs = t_logs();   # first config access outside map/for (it assigns $_)
my $alog = "$logs/cip_spoof_access_log";
my $elog = "$logs/cip_spoof_error_log";
my %port;
$port{$_} = vhost_port("cip_spoof_$_") for my @v = qw(xff xff_off realip custom fwd authz pp_on pp_opt);

my $PEER = untrusted;          # 127.0.0.2
my $LB   = trusted;            # 127.0.0.1
my $HOST = 'spoof.example';    # the Host header of every request
my $HOP  = '203.0.113.9';      # part 2: the real client
my $SRC  = '203.0.113.50';     # the untrusted PROXY source of the chain row
my $SRC_PORT = 5050;

# Forged origin headers sent along with every part 1 request: an untrusted
# writer must move neither the scheme nor the host nor the port.
my @ORIGIN = ('X-Forwarded-Proto' => 'https', 'X-Forwarded-Protocol' => 'https',
              'X-Forwarded-Ssl' => 'on', 'Front-End-Https' => 'on',
              'X-Forwarded-Host' => 'evil.example', 'X-Forwarded-Port' => '8443');

# ---- the columns: forged values ----------------------------------------------
#
#   value     the forged text (one header line)
#   lines     [ text, text ]: the header sent twice, these values
#   mixcase   the header name in mixed case
#   underscore  the header name with '_' for '-' (X_Forwarded_For): another
#             header to httpd, and one a CGI never sees
#   namesp    a space between the header name and the colon
#   raw_fwd   already Forwarded syntax: sent as it is in a Forwarded header
#   status    400 when httpd itself refuses the request (the module never
#             sees it)
#   prefix    bytes sent before the request: a PROXY header (or part of one)
#   shutdown  half-close after sending (a truncated header: the peer stops)
#   plain     what a plain (non-PROXY) listener answers a truncated PROXY
#             header: 0 = closes without a response (default 400)
#   proxy     1: a PROXY-protocol forgery; part 2 (header lists) skips it

my $list100       = join ', ', map { "203.0.113.$_" } 1 .. 100;
my $trusted100    = join ', ', ('10.0.0.1') x 100;
my $long_fits     = join(', ', map { sprintf '198.51.%d.%d', int($_ / 200), $_ % 200 + 1 } 0 .. 580)
                  . ', 203.0.113.7';
my $long_4k       = join(', ', map { sprintf '198.51.%d.%d', int($_ / 200), $_ % 200 + 1 } 0 .. 299)
                  . ', 203.0.113.7';
my $long_too_long = '203.0.113.7, ' . ('1' x 9000);
die 'long value must fit LimitRequestFieldSize with room for part 2'
    unless length($long_fits) > 7500 and length($long_fits) < 8000;

my @columns = (
    { name => 'public address',                 value => '203.0.113.7' },
    { name => "the trusted proxy's own address", value => '127.0.0.1' },
    { name => 'the peer\'s own address',        value => $PEER },
    { name => 'other loopback',                 value => '127.0.0.9' },
    { name => 'IPv6 loopback',                  value => '::1' },
    { name => 'private 10/8 (trusted range)',   value => '10.1.2.3' },
    { name => 'private 192.168/16',             value => '192.168.1.20' },
    { name => 'private 172.16/12',              value => '172.16.5.4' },
    { name => 'trusted CDN edge',               value => '198.51.100.4' },
    { name => 'IPv6 bare',                      value => '2001:db8::7' },
    { name => 'IPv6 bracketed',                 value => '[2001:db8::7]' },
    { name => 'IPv6 bracketed with port',       value => '[2001:db8::7]:443' },
    { name => 'trusted IPv6',                   value => '2001:db8:cafe::17' },
    { name => 'IPv6 with zone',                 value => 'fe80::1%eth0' },
    { name => 'IPv6 bracketed zone and port',   value => '[fe80::1%eth0]:80' },
    { name => 'v4-mapped public',               value => '::ffff:203.0.113.7' },
    { name => 'v4-mapped trusted',              value => '::ffff:127.0.0.1' },
    { name => 'address with port',              value => '203.0.113.7:4711' },
    { name => 'trusted address with port',      value => '127.0.0.1:80' },
    { name => 'port 0',                         value => '203.0.113.7:0' },
    { name => '"unknown"',                      value => 'unknown' },
    { name => 'obfuscated _x',                  value => '_x' },
    { name => 'obfuscated with port',           value => '_hidden:_p1' },
    { name => 'short IPv4 127.1',               value => '127.1' },
    { name => 'hex IPv4',                       value => '0x7f.0.0.1' },
    { name => 'integer IPv4',                   value => '2130706433' },
    { name => 'CIDR',                           value => '0.0.0.0/0' },
    { name => 'empty value',                    value => '' },
    { name => 'only commas and spaces',         value => ' , ,, ' },
    { name => '100 entries',                    value => $list100 },
    { name => '100 trusted entries',            value => $trusted100 },
    { name => 'long list (4 KB)',               value => $long_4k },
    { name => 'very long (7.8 KB)',             value => $long_fits },
    { name => 'longer than LimitRequestFieldSize', value => $long_too_long, status => 400 },
    { name => 'header repeated twice',          lines => ['203.0.113.7', '127.0.0.1'] },
    { name => 'header repeated 50 times',       lines => [ map { "203.0.113.$_" } 1 .. 50 ] },
    { name => 'mixed-case header name',         value => '203.0.113.7', mixcase => 1 },
    { name => 'underscore header name',         value => '127.0.0.1', underscore => 1 },
    { name => 'space before the colon',         value => '203.0.113.7', namesp => 1, status => 400 },
    { name => 'leading/trailing whitespace',    value => " \t 203.0.113.7 \t " },
    { name => 'tab inside',                     value => "203.0.113.7\t127.0.0.1" },
    { name => 'NUL byte',                       value => "203.0.113.7\x00127.0.0.1", status => 400 },
    { name => 'control byte 0x01',              value => "203.0.113.7\x01", status => 400 },
    { name => 'bare CR',                        value => "203.0.113.7\r127.0.0.1", status => 400 },
    { name => 'DEL byte',                       value => "203.0.113.7\x7f", status => 400 },
    { name => 'high bytes (obs-text)',          value => "203.0.113.7\xff\xfe" },
    { name => 'obs-fold continuation',          value => "203.0.113.7,\r\n 127.0.0.1" },
    { name => 'host name',                      value => 'localhost' },
    { name => 'host name with port',            value => 'proxy.example.com:8080' },
    { name => 'trusted address on the right',   value => '203.0.113.7, 127.0.0.1' },
    { name => 'forged list, trusted right part', value => '203.0.113.7, 10.0.0.5, 198.51.100.4, 127.0.0.1' },
    # Forwarded syntax traps: commas and quotes that a careless splitter
    # would take for element boundaries.
    { name => 'Forwarded trap: quoted comma',   value => 'for="198.51.100.99, for=10.0.0.1"', raw_fwd => 1 },
    { name => 'Forwarded trap: escaped quote',  value => 'for="_a\\", for=10.0.0.1"', raw_fwd => 1 },
    { name => 'Forwarded trap: no for=',        value => 'by=10.0.0.1;proto=https;host=evil.example', raw_fwd => 1 },
    { name => 'Forwarded trap: extension param', value => 'for=10.0.0.1;secret="x, for=127.0.0.1"', raw_fwd => 1 },

    # PROXY protocol forgeries: what a client can put in front of its bytes.
    { name => 'PROXY v1 TCP4 forged source',    proxy => 1, prefix => proxy_v1(src => '203.0.113.7') },
    { name => 'PROXY v1 naming the trusted proxy', proxy => 1, prefix => proxy_v1(src => '127.0.0.1') },
    { name => 'PROXY v1 TCP6 forged source',    proxy => 1, prefix => proxy_v1(proto => 'TCP6', src => '2001:db8::7') },
    { name => 'PROXY v1 UNKNOWN',               proxy => 1, prefix => proxy_v1(proto => 'UNKNOWN') },
    { name => 'PROXY v2 INET forged source',    proxy => 1, prefix => proxy_v2(src => '203.0.113.7') },
    { name => 'PROXY v2 INET6 forged source',   proxy => 1, prefix => proxy_v2(family => 'INET6', src => '2001:db8::7') },
    { name => 'PROXY v2 with SSL TLV and CRC32C', proxy => 1,
      prefix => proxy_v2(src => '203.0.113.7', crc => 1, tlvs => [ssl_tlv(client => 1)]) },
    { name => 'PROXY v2 LOCAL',                 proxy => 1, prefix => proxy_v2(command => 'LOCAL') },
    # Truncated: the peer stops sending (half-close). On a plain listener
    # httpd sees an unfinished request line and closes without a word
    # (plain => 0), or a complete line with a NUL in it: 400.
    { name => 'PROXY v1 truncated',             proxy => 1, prefix => 'PROXY TCP4 203.0.113.7 ',
      shutdown => 1, plain => 0 },
    { name => 'PROXY v2 truncated after 16 bytes', proxy => 1,
      prefix => substr(proxy_v2(src => '203.0.113.7'), 0, 16), shutdown => 1 },
    { name => 'PROXY v2 truncated in the signature', proxy => 1,
      prefix => substr(proxy_v2(src => '203.0.113.7'), 0, 6), shutdown => 1, plain => 0 },
);

# A PROXY forgery comes with a forged X-Forwarded-For (and so on) in the
# request that follows it.
$_->{value} //= '203.0.113.7' for grep { $_->{proxy} } @columns;

# ---- requests ----------------------------------------------------------------

sub mixcase { my $i = 0; join '', map { $i++ % 2 ? uc : lc } split //, $_[0] }

sub col_values { my ($col) = @_; $col->{lines} ? @{ $col->{lines} } : ($col->{value}) }

# What httpd hands on for one or more header lines: unfolded (an obs-fold
# line break and its white space become one space), trimmed, joined with ", ".
sub as_passed {
    join ', ', map { (my $v = $_) =~ s/\r\n[ \t]+/ /g; $v =~ s/^[ \t]+|[ \t]+$//g; $v } @_;
}

# A Forwarded value carrying a forged text: each comma-separated part as a
# quoted for= node (surrounding white space kept), an empty part left empty.
sub fwd_of {
    my ($v, $col) = @_;
    return $v if $col and $col->{raw_fwd};
    return '' if $v eq '';
    return join ',', map {
        my ($lead, $core, $trail) = /^([ \t]*)(.*?)([ \t]*)$/s;
        (my $q = $core) =~ s/(["\\])/\\$1/g;
        $core eq '' ? $_ : qq{${lead}for="$q"$trail};
    } split /,/, $v, -1;
}
sub quoted { (my $q = $_[0]) =~ s/(["\\])/\\$1/g; qq{"$q"} }

# One request on a fresh connection, bytes exactly as given:
#   port, from, path, headers [ [name, value], ... ], prefix, shutdown
# Returns { id, local_port, raw (exchange), res (parsed response) }.
sub send_request {
    my (%a) = @_;
    my $id = ClientIP::Test::next_id();
    my $req = "GET $a{path}?id=$id HTTP/1.1\r\nHost: $HOST:$a{port}\r\nX-Test-Id: $id\r\n"
            . join('', map { "$_->[0]: $_->[1]\r\n" } @{ $a{headers} || [] })
            . "Connection: close\r\n\r\n";
    my $send = ($a{prefix} // '') . ($a{shutdown} ? '' : $req);
    my $raw = raw_exchange(port => $a{port}, from => $a{from}, send => $send,
                           shutdown => $a{shutdown}, timeout => 15);
    return { id => $id, local_port => $raw->{local_port}, raw => $raw,
             res => parse_http($raw->{data}) };
}

# ---- the rows of part 1: trust paths -------------------------------------------
#
#   vhost     which cip_spoof_* host
#   from      the peer (default the untrusted 127.0.0.2)
#   inject    sub ($col) -> [ [name, value], ... ] the forged request headers
#   passed    sub ($col) -> { CGI variable => value } the forged headers as a
#             CGI must see them (untouched)
#   listener  'on' / 'opt': a PROXY listener; 'opt_plain': Optional, plain
#   lb        the trusted load balancer's own PROXY header (chain row)
#   authz     Require trusted-proxy: 403

sub hdr_name {
    my ($name, $col) = @_;
    $name = mixcase($name) if $col->{mixcase};
    $name =~ tr/-/_/ if $col->{underscore};
    $name .= ' ' if $col->{namesp};
    return $name;
}
sub hdr_lines {
    my ($name, $col, $map) = @_;
    my $n = hdr_name($name, $col);
    return map { [$n, $map ? $map->($_, $col) : $_] } col_values($col);
}
# The forged header as a CGI must see it: untouched, or absent when its
# name has an underscore (httpd leaves such headers out of the CGI
# environment).
sub passed_as {
    my ($col, $name, @values) = @_;
    return hdr_name($name, $col) =~ /_/ ? undef : as_passed(@values);
}
sub origin_lines { my @o = @ORIGIN; my @l; push @l, [splice @o, 0, 2] while @o; @l }

my %origin_passed = (HTTP_X_FORWARDED_PROTO => 'https', HTTP_X_FORWARDED_PROTOCOL => 'https',
                     HTTP_X_FORWARDED_SSL => 'on', HTTP_FRONT_END_HTTPS => 'on',
                     HTTP_X_FORWARDED_HOST => 'evil.example', HTTP_X_FORWARDED_PORT => '8443');

sub xff_row {
    my ($header, $var) = @_;
    return (inject => sub { [ hdr_lines($header, $_[0]), origin_lines() ] },
            passed => sub { +{ %origin_passed, $var => passed_as($_[0], $header, col_values($_[0])) } });
}

my @rows = (
    { name => 'X-Forwarded-For (recursive)',     vhost => 'xff',     xff_row('X-Forwarded-For', 'HTTP_X_FORWARDED_FOR') },
    { name => 'X-Forwarded-For (recursive Off)', vhost => 'xff_off', xff_row('X-Forwarded-For', 'HTTP_X_FORWARDED_FOR') },
    { name => 'X-Real-IP',                       vhost => 'realip',  xff_row('X-Real-IP', 'HTTP_X_REAL_IP') },
    { name => 'custom header X-Client-IP',       vhost => 'custom',  xff_row('X-Client-IP', 'HTTP_X_CLIENT_IP') },
    { name => 'Forwarded (RFC 7239)', vhost => 'fwd',
      inject => sub { [ hdr_lines('Forwarded', $_[0], \&fwd_of), origin_lines() ] },
      passed => sub { +{ %origin_passed,
                         HTTP_FORWARDED => passed_as($_[0], 'Forwarded', map { fwd_of($_, $_[0]) } col_values($_[0])) } } },
    # The forged value as the host; a scheme, port and the client forged
    # along with it.
    { name => 'origin X-Forwarded-Proto/Host/Port', vhost => 'xff',
      inject => sub { [ ['X-Forwarded-For' => '203.0.113.7'], ['X-Forwarded-Proto' => 'https'],
                        ['X-Forwarded-Port' => '8443'], hdr_lines('X-Forwarded-Host', $_[0]) ] },
      passed => sub { +{ HTTP_X_FORWARDED_FOR => '203.0.113.7', HTTP_X_FORWARDED_PROTO => 'https',
                         HTTP_X_FORWARDED_PORT => '8443',
                         HTTP_X_FORWARDED_HOST => passed_as($_[0], 'X-Forwarded-Host', col_values($_[0])) } } },
    { name => 'origin Forwarded proto/host', vhost => 'fwd',
      inject => sub { [ hdr_lines('Forwarded', $_[0],
                                  sub { 'for=203.0.113.7;proto=https;by=_evil;host=' . quoted($_[0]) }) ] },
      passed => sub { +{ HTTP_FORWARDED => passed_as($_[0], 'Forwarded', map { 'for=203.0.113.7;proto=https;by=_evil;host=' . quoted($_) }
                                                              col_values($_[0])) } } },
    # A client that names the proxies itself: the header must be removed.
    { name => 'ClientIPProxiesHeader X-Trusted-Proxies', vhost => 'xff',
      inject => sub { [ hdr_lines('X-Trusted-Proxies', $_[0]), hdr_lines('X-Forwarded-For', $_[0]) ] },
      passed => sub { +{ HTTP_X_FORWARDED_FOR => passed_as($_[0], 'X-Forwarded-For', col_values($_[0])) } } },
    { name => 'Require trusted-proxy', vhost => 'authz', authz => 1,
      inject => sub { [ hdr_lines('X-Forwarded-For', $_[0]), hdr_lines('X-Trusted-Proxies', $_[0]),
                        hdr_lines('Forwarded', $_[0], \&fwd_of), origin_lines() ] },
      passed => sub { +{} } },
    # PROXY protocol from an untrusted sender: the value forged as the source.
    { name => 'PROXY On, untrusted sender', vhost => 'pp_on', listener => 'on',
      inject => sub { [ hdr_lines('X-Forwarded-For', $_[0]), origin_lines() ] } },
    { name => 'PROXY Optional, untrusted sender', vhost => 'pp_opt', listener => 'opt',
      inject => sub { [ hdr_lines('X-Forwarded-For', $_[0]), origin_lines() ] } },
    # Optional, no PROXY header: the request headers are the forgery.
    { name => 'PROXY Optional, plain request', vhost => 'pp_opt', listener => 'opt_plain',
      xff_row('X-Forwarded-For', 'HTTP_X_FORWARDED_FOR') },
    # Chaining through an untrusted hop: the trusted load balancer reports an
    # untrusted source, whose headers are its own words.
    { name => 'chain: trusted LB, untrusted PROXY source', vhost => 'pp_on', from => $LB,
      lb => proxy_v1(src => $SRC, sport => $SRC_PORT, dst => '127.0.0.1', dport => 443),
      xff_row('X-Forwarded-For', 'HTTP_X_FORWARDED_FOR') },
);

# ---- the rows of part 2: a trusted peer, forged left part ------------------------
#
#   header value = FORGED, 203.0.113.9, <trusted right part>
# The client must be 203.0.113.9; whatever is on its left stays in the
# header and is never the client.

my @rows2 = (
    { name => 'X-Forwarded-For (recursive)', vhost => 'xff', header => 'X-Forwarded-For',
      right => ['10.0.0.5', '198.51.100.4'], stop => 'untrusted entry reached' },
    { name => 'X-Forwarded-For (recursive Off)', vhost => 'xff_off', header => 'X-Forwarded-For',
      right => [], stop => 'rightmost entry taken (ClientIPRecursive Off)' },
    { name => 'X-Real-IP', vhost => 'realip', header => 'X-Real-IP',
      right => [], stop => 'rightmost entry taken (ClientIPRecursive Off)' },
    { name => 'custom header X-Client-IP', vhost => 'custom', header => 'X-Client-IP',
      right => ['10.0.0.5', '198.51.100.4'], stop => 'untrusted entry reached' },
    { name => 'Forwarded (RFC 7239)', vhost => 'fwd', header => 'Forwarded', fwd => 1,
      right => ['10.0.0.5', '198.51.100.4'], stop => 'untrusted entry reached' },
    { name => 'chain: trusted PROXY source, then X-Forwarded-For', vhost => 'pp_on',
      header => 'X-Forwarded-For', lb => proxy_v1(src => '198.51.100.7', sport => 7777),
      lb_src => '198.51.100.7', lb_port => 7777, right => ['198.51.100.20'], stop => 'untrusted entry reached' },
);

# The PROXY header a PROXY row's untrusted sender puts first: the column's
# own, or a v1 header naming the forged value (malformed when it is no
# address: refused all the same).
sub pp_prefix {
    my ($col) = @_;
    return $col->{prefix} if defined $col->{prefix};
    my ($v) = col_values($col);
    my $proto = $v =~ /:/ ? 'TCP6' : 'TCP4';
    return "PROXY $proto $v " . ($proto eq 'TCP6' ? '::1' : '127.0.0.1') . " 4711 80\r\n";
}

# httpd refuses (400) a header line longer than LimitRequestFieldSize
# (8190) and more header lines than LimitRequestFields (100; each request
# also has Host, X-Test-Id and Connection).
sub httpd_refuses {
    my ($h) = @_;
    return @$h + 3 > 100 || grep { length("$_->[0]: $_->[1]") > 8190 } @$h;
}

# ---- what a case must show --------------------------------------------------------

# The known CLIENTIP_* variables (docs/variables.md); any other is a failure.
my %known_clientip = map { $_ => 1 } qw(CLIENTIP_PEER_ADDR CLIENTIP_PEER_PORT CLIENTIP_ADDR
    CLIENTIP_PORT CLIENTIP_SOURCE CLIENTIP_PROXIES CLIENTIP_FORWARDED_BY CLIENTIP_FORWARDED_FOR);

# Checks an expectation hash against a hash of what was seen; undef = must be
# absent. Returns the problems found.
sub compare {
    my ($where, $want, $got) = @_;
    my @p;
    for my $k (sort keys %$want) {
        my $w = $want->{$k};
        if (!defined $w) {
            push @p, "$where: $k should be unset, is " . printable($got->{$k}) if defined $got->{$k};
        }
        elsif (!defined $got->{$k} or $got->{$k} ne $w) {
            push @p, "$where: $k is " . printable($got->{$k}) . ', want ' . printable($w);
        }
    }
    return @p;
}
sub printable {
    my ($v) = @_;
    return 'unset' unless defined $v;
    $v = substr($v, 0, 80) . '...(' . length($v) . ' bytes)' if length $v > 100;
    $v =~ s/([^\x20-\x7e])/sprintf '\\x%02x', ord $1/ge;
    return "'$v'";
}

# The client a request must end up with, and how it got there.
#   ip, port (undef: unknown), peer, peer_port, source, proxies,
#   stop, trail (JSON), pp (PROXY source), trusted (peer trusted)
sub check_env {
    my ($s, $exp, $passed, $port) = @_;
    my $env = ClientIP::Test::parse_env($s->{res});
    my $lp = $s->{local_port};
    my %want = (
        REMOTE_ADDR => $exp->{ip}, CLIENTIP_ADDR => $exp->{ip},
        CLIENTIP_PORT => $exp->{port} // undef,
        REMOTE_PORT => $lp, CLIENTIP_PEER_PORT => $lp, CLIENTIP_PEER_ADDR => $exp->{peer},
        CLIENTIP_SOURCE => $exp->{source}, CLIENTIP_PROXIES => $exp->{proxies},
        CLIENTIP_FORWARDED_BY => undef, CLIENTIP_FORWARDED_FOR => undef,
        HTTP_X_TRUSTED_PROXIES => $exp->{proxies_header},
        HTTPS => undef, REQUEST_SCHEME => 'http', SERVER_NAME => $HOST, SERVER_PORT => $port,
        PROXY_PROTOCOL_ADDR => $exp->{pp}, PROXY_PROTOCOL_PORT => $exp->{pp_port},
        %{ $passed || {} },
    );
    my @p = compare('CGI', \%want, $env);
    push @p, "CGI: unexpected $_=" . printable($env->{$_})
        for grep { /^CLIENTIP_/ && !$known_clientip{$_} } sort keys %$env;
    push @p, "CGI: unexpected $_=" . printable($env->{$_})
        for grep { /^PROXY_PROTOCOL_/ && !$exp->{pp} } sort keys %$env;
    return @p;
}

sub check_json {
    my ($s, $exp, $port) = @_;
    my $j = eval { JSON::PP->new->decode($s->{res}{body}) };
    return ('JSON: not a JSON document: ' . printable($s->{res}{body})) unless ref $j eq 'HASH';
    my $lp = $s->{local_port};
    my %got = (
        configured => $j->{configured} ? 'true' : 'false',
        'peer.ip' => $j->{peer}{ip}, 'peer.port' => $j->{peer}{port},
        'peer.trusted' => $j->{peer}{trusted} ? 'true' : 'false',
        'client.ip' => $j->{client}{ip}, 'client.port' => $j->{client}{port} // 'null',
        source => $j->{source} // 'null', proxies => join(', ', @{ $j->{proxies} || [] }),
        stop => $j->{stop} // 'null', scheme => $j->{scheme}, host => $j->{host}, port => $j->{port},
        forwarded_by => $j->{forwarded_by} // 'null', forwarded_for => $j->{forwarded_for} // 'null',
        'proxy_protocol.src' => ref $j->{proxy_protocol} ? $j->{proxy_protocol}{variables}{PROXY_PROTOCOL_ADDR} // 'none'
                                                         : 'null',
        trail => join(' | ', @{ $j->{trail} || [] }),
    );
    my %want = (
        configured => 'true', 'peer.ip' => $exp->{peer}, 'peer.port' => $lp,
        'peer.trusted' => $exp->{trusted} ? 'true' : 'false',
        'client.ip' => $exp->{ip}, 'client.port' => $exp->{port} // 'null',
        source => $exp->{source} // 'null', proxies => $exp->{proxies} // '',
        stop => $exp->{stop} // 'null', scheme => 'http', host => $HOST, port => $port,
        forwarded_by => 'null', forwarded_for => 'null',
        'proxy_protocol.src' => $exp->{pp} // 'null',
        (defined $exp->{trail} ? (trail => $exp->{trail}) : ()),
    );
    return compare('JSON', \%want, \%got);
}

sub check_seen {
    my ($s, $exp) = @_;
    return compare('response', { 'x-seen-client' => $exp->{ip}, 'x-seen-peer' => $exp->{peer} },
                   $s->{res}{headers});
}

# Access-log lines by request id, read incrementally.
my (%log_line, $log_pos);
sub log_line_of {
    my ($id, $timeout) = @_;
    my $deadline = time + ($timeout // 5);
    while (1) {
        if (open my $fh, '<', $alog) {
            seek $fh, $log_pos // 0, 0;
            while (my $l = <$fh>) {
                last unless $l =~ /\n$/;     # a line still being written
                $log_pos = tell $fh;
                chomp $l;
                $log_line{$1} = $l if $l =~ /[?&]id=(\S+?) /;
            }
        }
        return $log_line{$id} if exists $log_line{$id} or time > $deadline;
        sleep 0.05;
    }
}

sub check_log {
    my ($s, $exp, $status) = @_;
    my $line = log_line_of($s->{id});
    return ("access log: no line for $s->{id}") unless defined $line;
    my $port = $exp->{port} // 0;
    my $src  = $exp->{source} // '-';
    my $want = qr/ client=\Q$exp->{ip}\E peer=\Q$exp->{peer}\E port=\Q$port\E status=$status source=\Q$src\E scheme=(?:-|http) https=- name=\Q$HOST\E$/;
    return $line =~ $want ? () : ("access log: '$line' does not match $want");
}

# The decision trail the module logged for a request (for failure reports).
sub trail_of {
    my ($id) = @_;
    open my $fh, '<', $elog or return ();
    return grep { /\[id \Q$id\E\]/ } <$fh>;
}

# ---- running cases -----------------------------------------------------------------

my $cases = 0;
my %count;

sub case_ok {
    my ($part, $name, @problems) = @_;
    $cases++;
    $count{$part}++;
    ok !@problems, $name or diag join "\n", @problems;
}

# A request that must be served, with the expected client: env.cgi and
# clientip-info, each on a fresh connection. Returns the problems.
sub served {
    my (%a) = @_;
    my ($exp, $port, $status) = @a{qw(exp port status)};
    my @p;
    my $s = send_request(%a, path => '/cgi-bin/env.cgi');
    my $code = $s->{res}{code};
    if ($code != $status) {
        push @p, "env.cgi: status $code, want $status" . ($s->{raw}{error} ? " ($s->{raw}{error})" : '');
    }
    else {
        if ($status == 200) {
            my $lp = $s->{local_port};
            my %e = %$exp;
            $e{port} = $lp if ($e{port} // '') eq 'PEER';
            push @p, check_env($s, \%e, $a{passed}, $port);
            push @p, check_log($s, \%e, 200);
        }
        else {
            push @p, check_log($s, { %$exp, port => $s->{local_port} }, $status);
        }
        push @p, check_seen($s, $exp);
    }
    my $j = send_request(%a, path => '/clientip-info');
    if ($j->{res}{code} != $status) {
        push @p, "clientip-info: status $j->{res}{code}, want $status";
    }
    elsif ($status == 200) {
        my %e = %$exp;
        $e{port} = $j->{local_port} if ($e{port} // '') eq 'PEER';
        push @p, check_json($j, \%e, $port);
        push @p, check_log($j, \%e, 200);
    }
    push @p, map { "trail: $_" } trail_of($s->{id}) if @p;
    return @p;
}

# A request httpd refuses before the module sees it: 400 (or, want => 0, a
# connection closed without a response). Nothing names a forged client (a
# 400 is answered before the module runs, so ap_expr and %a show the
# connection's peer), and the next request on a fresh connection is normal
# (lb: that connection starts with the load balancer's PROXY header again).
sub refused_400 {
    my (%a) = @_;
    my @p;
    my $want = $a{want} // 400;
    my $s = send_request(%a, path => '/cgi-bin/env.cgi');
    my $code = $s->{res}{code};
    if ($want == 0) {
        push @p, 'a response came back: ' . printable($s->{raw}{data}) if length $s->{raw}{data};
        push @p, 'connection not closed by the server' unless $s->{raw}{closed};
    }
    elsif ($code != $want) {
        push @p, "status $code, want $want: " . printable($s->{raw}{data});
    }
    my $seen = $s->{res}{headers}{'x-seen-client'};
    push @p, 'the refusal names the client ' . printable($seen)
        if defined $seen and $seen ne $a{exp}{peer};
    # The access log, when httpd logged the refused request (its request
    # line was read), shows the peer.
    if (defined(my $line = log_line_of($s->{id}, $a{prefix} ? 0 : 1))) {
        push @p, "access log of the refused request: '$line'"
            unless $line =~ / client=\Q$a{exp}{peer}\E peer=\Q$a{exp}{peer}\E .*status=$want /;
    }
    my %fresh = (port => $a{port}, from => $a{from}, prefix => $a{lb}, headers => [], passed => {},
                 exp => $a{exp}, status => $a{fresh_status} // 200);
    push @p, map { "fresh connection after the refusal: $_" } served(%fresh);
    return @p;
}

# A PROXY listener closes the untrusted sender's connection: nothing comes
# back, and the error log has one refusal line with the documented reason.
# Error-log lines past byte $offset that match $re: waits (up to 5 s) for
# the first. Source ports repeat over a long run, so only lines written
# after the connection was made count.
sub error_lines_after {
    my ($offset, $re) = @_;
    my $deadline = time + 5;
    while (1) {
        my @hits;
        if (open my $fh, '<', $elog) {
            seek $fh, $offset, 0;
            @hits = grep { $_ =~ $re } <$fh>;
            chomp @hits;
        }
        return @hits if @hits or time > $deadline;
        sleep 0.05;
    }
}

sub closed {
    my (%a) = @_;
    my @p;
    my $offset = -s $elog // 0;
    my $s = send_request(%a, path => '/cgi-bin/env.cgi');
    my $r = $s->{raw};
    push @p, 'connection not closed by the server' . ($r->{timed_out} ? ' (timed out)' : '') unless $r->{closed};
    push @p, 'response bytes received: ' . printable($r->{data}) if length $r->{data};
    my $re = qr/closing connection from \Q$PEER\E:$s->{local_port} to 127\.0\.0\.1:$a{port}: /;
    my @lines = error_lines_after($offset, $re);
    if (@lines != 1) {
        push @p, scalar(@lines) . " refusal lines for the connection, want 1";
    }
    elsif ($lines[0] !~ $a{why}) {
        push @p, "refusal line '$lines[0]' does not match $a{why}";
    }
    push @p, "access log has a line for a refused connection: $log_line{$s->{id}}"
        if defined log_line_of($s->{id}, 0);
    return @p;
}

# ---- part 1: untrusted peers ------------------------------------------------------

my @proxy_free = grep { !$_->{proxy} } @columns;
plan tests => @rows * @columns + @rows2 * @proxy_free + 4 + 8;

my $TRAIL_UNTRUSTED = "peer $PEER is not trusted | client is the peer";
my %REASON = (
    on  => qr/: peer is not in ClientIPTrustedProxies of a ClientIPProxyProtocol On address \(/,
    opt => qr/: PROXY header from a peer that is not trusted \(add the load balancer to ClientIPTrustedProxies\)$/,
);

for my $row (@rows) {
    my $port = $port{ $row->{vhost} };
    my $from = $row->{from} // $PEER;
    for my $col (@columns) {
        my $name = "untrusted: $row->{name} x $col->{name}";
        my $headers = $row->{inject}->($col);
        my $l = $row->{listener} // '';
        if ($l eq 'on' or $l eq 'opt' or ($l eq 'opt_plain' and $col->{proxy})) {
            $l = 'opt' if $l eq 'opt_plain';
            # The forgery is the PROXY header itself (then the request).
            my $why = $REASON{$l};
            # Only the first bytes of a v2 signature: nothing shows a PROXY
            # header yet, and the peer stops: a connection closed mid-header.
            $why = qr/: connection closed after 6 bytes of the PROXY header/
                if $l eq 'opt' and $col->{name} eq 'PROXY v2 truncated in the signature';
            case_ok(1, "$name -> closed, no response",
                    closed(port => $port, from => $from, prefix => pp_prefix($col),
                           shutdown => $col->{shutdown}, headers => $headers, why => $why));
            next;
        }
        my %exp;
        if ($row->{lb}) {
            %exp = (ip => $SRC, port => $SRC_PORT, peer => $LB, trusted => 1, source => 'proxy_protocol',
                    proxies => $LB, pp => $SRC, pp_port => $SRC_PORT,
                    trail => "peer $LB trusted by $LB/32 | PROXY v1 header (TCP4): source $SRC:$SRC_PORT"
                           . " | PROXY source $SRC is not trusted: client is the PROXY source");
        }
        else {
            %exp = (ip => $PEER, port => 'PEER', peer => $PEER, trail => $TRAIL_UNTRUSTED);
        }
        my %req = (port => $port, from => $from, headers => $headers, exp => \%exp,
                   prefix => ($row->{lb} // '') . ($col->{prefix} // ''), shutdown => $col->{shutdown});
        my $status = $row->{authz} ? 403 : 200;
        my @p;
        if ($col->{prefix} or $col->{status} or httpd_refuses($headers)) {
            # Refused by httpd. On the chain row the forged bytes follow the
            # balancer's header, as an L4 balancer passes a client's on.
            @p = refused_400(%req, lb => $row->{lb}, want => $col->{plain} // 400,
                             fresh_status => $status);
            $name .= ($col->{plain} // 400) ? ' -> 400, then a normal request'
                                            : ' -> closed by httpd, then a normal request';
        }
        else {
            @p = served(%req, status => $status, passed => $row->{passed}->($col));
            $name .= $status == 403 ? ' -> 403' : " -> client stays $exp{ip}";
        }
        case_ok(1, $name, @p);
    }
}

# ---- part 2: a trusted peer, forged left part -------------------------------------

for my $row (@rows2) {
    my $port = $port{ $row->{vhost} };
    my $h = $row->{header};
    my $real = $row->{fwd} ? join(', ', map { "for=$_" } $HOP, @{ $row->{right} })
                           : join(', ', $HOP, @{ $row->{right} });
    for my $col (@proxy_free) {
        my $name = "trusted: $row->{name} x $col->{name} on the left";
        my $hn = hdr_name($h, $col);
        my @values = col_values($col);
        my @forged = $row->{fwd} ? map { fwd_of($_, $col) } @values : @values;
        # The forged element of a Forwarded header also claims an origin
        # and a by=: never read, it is not the chosen element.
        $forged[-1] .= ';proto=https;host=evil.example;by=_evil' if $row->{fwd} and $forged[-1] =~ /"[ \t]*$/;
        my @lines;
        if ($col->{lines}) {
            # The client's own lines first, then the proxies' line.
            @lines = ((map { [$hn, $_] } @forged), [$hn, $real]);
        }
        elsif ($col->{underscore}) {
            # The client's look-alike header, then the proxies' real one.
            @lines = ([$hn, $forged[0]], [$h, $real]);
        }
        else {
            @lines = ([$hn, "$forged[0], $real"]);
        }
        my $sent = as_passed(map { $_->[1] } grep { $_->[0] !~ /_/ } @lines);
        # Farthest first: the trusted right part, the PROXY source, the peer.
        my $proxies = join ', ', @{ $row->{right} }, ($row->{lb_src} // ()), $LB;
        my %exp = (ip => $HOP, port => undef, peer => $LB, trusted => 1, source => $h,
                   proxies => $proxies, proxies_header => $proxies, stop => $row->{stop},
                   pp => $row->{lb_src}, pp_port => $row->{lb_port});
        # Without the forged list: the peer, or the balancer's PROXY source.
        my %plain = $row->{lb}
            ? (ip => $row->{lb_src}, port => $row->{lb_port}, peer => $LB, trusted => 1,
               source => 'proxy_protocol', proxies => $LB, pp => $row->{lb_src}, pp_port => $row->{lb_port})
            : (ip => $LB, port => 'PEER', peer => $LB, trusted => 1);
        my $var = 'HTTP_' . uc($h =~ tr/-/_/r);
        my %req = (port => $port, from => $LB, headers => \@lines, prefix => $row->{lb}, exp => \%exp);
        my @p;
        if ($col->{status} or httpd_refuses(\@lines)) {
            @p = refused_400(%req, lb => $row->{lb}, exp => \%plain);
            $name .= ' -> 400, then a normal request';
        }
        elsif ($row->{fwd} and fwd_invalid(\@lines)) {
            # One syntax error anywhere invalidates the whole Forwarded
            # header: the client stays the peer (it hides, never spoofs).
            @p = served(%req, exp => { %plain, stop => 'invalid Forwarded syntax' }, status => 200,
                        passed => { $var => $sent });
            $name .= " -> invalid Forwarded syntax: client stays $plain{ip}";
        }
        else {
            @p = served(%req, status => 200, passed => { $var => sub_left($sent, $row, $real) });
            $name .= " -> client $HOP";
        }
        case_ok(2, $name, @p);
    }
}

# What stays of the header once the walk took the client and the proxies:
# the forged left part, exactly as sent (the module cuts the list right
# before the client's entry).
sub sub_left {
    my ($sent, $row, $real) = @_;
    my $i = rindex $sent, $real;
    die "internal: '$real' not at the end of the header" if $i < 0;
    (my $left = substr $sent, 0, $i) =~ s/[ \t]*,[ \t]*$//;
    return $left eq '' ? undef : $left;
}

# A Forwarded value the module must refuse as a whole (RFC 7239 syntax plus
# the documented deviations), decided here by its own rules: empty
# elements or parameters, a value that is neither a token nor a quoted string.
sub fwd_invalid {
    my ($lines) = @_;
    my $v = as_passed(map { $_->[1] } @$lines);
    my $tchar = qr/[!#\$%&'*+\-.^_`|~0-9A-Za-z]/;
    my $qs    = qr/"(?:[^"\\\x00-\x08\x0a-\x1f\x7f]|\\[\t\x20-\x7e\x80-\xff])*"/;
    my $pair  = qr/$tchar+=(?:$tchar+|$qs)/;
    my $elem  = qr/$pair(?:[ \t]*;[ \t]*$pair)*/;
    return $v !~ /^$elem(?:[ \t]*,[ \t]*$elem)*$/;
}

# ---- host names where the module does read: never resolved --------------------------
# localhost resolves to 127.0.0.1, which these hosts trust: were it looked
# up, the recursive walk would go past it to 203.0.113.9.

{
    my @dns = (
        [ 'X-Forwarded-For: 203.0.113.9, localhost', 'xff', ['X-Forwarded-For' => "$HOP, localhost"],
          'HTTP_X_FORWARDED_FOR', "$HOP, localhost", 'invalid entry' ],
        [ 'X-Client-IP: 203.0.113.9, localhost:80', 'custom', ['X-Client-IP' => "$HOP, localhost:80"],
          'HTTP_X_CLIENT_IP', "$HOP, localhost:80", 'invalid entry' ],
        [ 'Forwarded: for=203.0.113.9, for=localhost', 'fwd', ['Forwarded' => "for=$HOP, for=localhost"],
          'HTTP_FORWARDED', "for=$HOP, for=localhost", 'invalid entry' ],
    );
    for my $d (@dns) {
        my ($what, $vhost, $hdr, $var, $value, $stop) = @$d;
        my %exp = (ip => $LB, port => 'PEER', peer => $LB, trusted => 1, stop => $stop);
        case_ok(3, "no DNS: trusted peer, $what: the name is an invalid entry, the client stays the peer",
                served(port => $port{$vhost}, from => $LB, headers => [ [@$hdr] ], exp => \%exp,
                       status => 200, passed => { $var => $value }));
    }
    # A PROXY header naming a host, from the trusted balancer: malformed.
    my $offset = -s $elog // 0;
    my $s = send_request(port => $port{pp_on}, from => $LB, path => '/cgi-bin/env.cgi',
                         prefix => "PROXY TCP4 localhost 127.0.0.1 4711 80\r\n");
    my $re = qr/closing connection from \Q$LB\E:$s->{local_port} to 127\.0\.0\.1:$port{pp_on}: /;
    my @lines = error_lines_after($offset, $re);
    my @p;
    push @p, 'response bytes received: ' . printable($s->{raw}{data}) if length $s->{raw}{data};
    push @p, 'refusal line missing or wrong: ' . join(' / ', @lines)
        unless @lines == 1 and $lines[0] =~ /malformed PROXY header: v1: address is not numeric IPv4\/IPv6 text/;
    case_ok(3, 'no DNS: PROXY v1 naming localhost, from the trusted balancer: refused as malformed', @p);
}

# ---- controls: the same hosts DO honour a trusted peer ----------------------------
# Without these the matrix could pass on hosts that ignore everyone.

{
    my @controls = (
        [ 'xff',     'X-Forwarded-For', '203.0.113.7' ],
        [ 'xff_off', 'X-Forwarded-For', '203.0.113.7' ],
        [ 'realip',  'X-Real-IP',       '203.0.113.7' ],
        [ 'custom',  'X-Client-IP',     '203.0.113.7' ],
        [ 'fwd',     'Forwarded',       'for=203.0.113.7' ],
        [ 'pp_opt',  'X-Forwarded-For', '203.0.113.7' ],
    );
    for my $c (@controls) {
        my ($vhost, $h, $v) = @$c;
        my $s = send_request(port => $port{$vhost}, from => $LB, path => '/cgi-bin/env.cgi',
                             headers => [ [$h => $v], ['X-Forwarded-Proto' => 'https'] ]);
        my $env = ClientIP::Test::parse_env($s->{res});
        ok +($env->{REMOTE_ADDR} // '') eq '203.0.113.7' && ($env->{HTTPS} // '') eq 'on'
            && defined $env->{HTTP_X_TRUSTED_PROXIES},
           "control: cip_spoof_$vhost honours $h and X-Forwarded-Proto from the trusted peer"
            or diag "status $s->{res}{code}, REMOTE_ADDR=" . printable($env->{REMOTE_ADDR})
                    . ' HTTPS=' . printable($env->{HTTPS});
    }
    my $s = send_request(port => $port{authz}, from => $LB, path => '/cgi-bin/env.cgi');
    is $s->{res}{code}, 200, 'control: cip_spoof_authz admits the trusted peer';
    $s = send_request(port => $port{pp_on}, from => $LB, path => '/cgi-bin/env.cgi',
                      prefix => proxy_v1(src => '203.0.113.7'));
    my $env = ClientIP::Test::parse_env($s->{res});
    is $env->{REMOTE_ADDR}, '203.0.113.7', 'control: cip_spoof_pp_on honours the trusted balancer\'s PROXY header';
}

note sprintf 'spoof matrix: %d cases (%d untrusted-peer, %d trusted-peer forged-left, %d no-DNS), %d rows x %d columns',
    $cases, $count{1} // 0, $count{2} // 0, $count{3} // 0, scalar(@rows), scalar(@columns);
# Apache::Test sends diag() to STDOUT, which the harness hides unless
# verbose: the count goes to STDERR so that every run shows it.
print STDERR "# spoof cases run: $cases\n";
