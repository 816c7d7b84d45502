# ClientIPHeader Forwarded (RFC 7239) as a CGI behind the server sees it:
# every example of RFC 7239 from section 4 on, sent as a real header by a
# trusted peer; the syntax the module accepts and the malformed forms it
# refuses as a whole; CLIENTIP_FORWARDED_BY / CLIENTIP_FORWARDED_FOR; the
# debug trail, the access log and the clientip-info document.
#
# cip_fwd:     ClientIPRecursive Off
# cip_fwd_rec: ClientIPRecursive On
# Both trust 127.0.0.1, 10.0.0.0/8, 198.51.100.0/24 (the RFC's proxy
# 198.51.100.17) and 2001:db8:cafe::/48 (its 2001:db8:cafe::17), and log the
# module's debug trail to logs/<vhost>_error_log. Requests come from
# 127.0.0.1 (trusted) unless said otherwise.
use strict;
use warnings;
use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use ClientIP::Test;

# An expectation: client => the address taken (absent: unchanged, the peer),
# port => its port (undef: unknown), proxies => CLIENTIP_PROXIES,
# remaining => what is left of the Forwarded header (undef: removed; for an
# unchanged client the header as sent), by/for => CLIENTIP_FORWARDED_BY/FOR.
# [ name, [ header lines ], recursive Off, recursive On ]; one hash for both
# modes when they agree.
my $rfc_75 = 'for=192.0.2.43, for=198.51.100.17;by=203.0.113.60;proto=http;host=example.com';
my @cases = (
    # ---- RFC 7239 section 4 ----
    [ 'RFC 7239 4: obfuscated for="_gazonk"', ['for="_gazonk"'],
      { for => '_gazonk' } ],
    [ 'RFC 7239 4: For="[2001:db8:cafe::17]:4711" (name case, IPv6, port)',
      ['For="[2001:db8:cafe::17]:4711"'],
      { client => '2001:db8:cafe::17', port => 4711 } ],
    [ 'RFC 7239 4: for=192.0.2.60;proto=http;by=203.0.113.43',
      ['for=192.0.2.60;proto=http;by=203.0.113.43'],
      { client => '192.0.2.60', by => '203.0.113.43' } ],
    [ 'RFC 7239 4: for=192.0.2.43, for=198.51.100.17', ['for=192.0.2.43, for=198.51.100.17'],
      { client => '198.51.100.17', remaining => 'for=192.0.2.43' },
      { client => '192.0.2.43', proxies => '198.51.100.17, 127.0.0.1' } ],
    # ---- section 6: node identifiers ----
    [ 'RFC 7239 6: "192.0.2.43:47011"', ['for="192.0.2.43:47011"'],
      { client => '192.0.2.43', port => 47011 } ],
    [ 'RFC 7239 6: "[2001:db8:cafe::17]:47011"', ['for="[2001:db8:cafe::17]:47011"'],
      { client => '2001:db8:cafe::17', port => 47011 } ],
    [ 'RFC 7239 6.2: for=unknown', ['for=unknown'], {} ],
    [ 'RFC 7239 6.3: for=_hidden, for=_SEVKISEK', ['for=_hidden, for=_SEVKISEK'],
      { for => '_SEVKISEK' } ],
    # ---- section 7.1: HTTP lists, all equivalent ----
    [ 'RFC 7239 7.1: compact list ending in unknown',
      ['for=192.0.2.43,for="[2001:db8:cafe::17]",for=unknown'], {} ],
    [ 'RFC 7239 7.1: spaced list ending in unknown',
      ['for=192.0.2.43, for="[2001:db8:cafe::17]", for=unknown'], {} ],
    [ 'RFC 7239 7.1: the same list on two header lines',
      ['for=192.0.2.43', 'for="[2001:db8:cafe::17]", for=unknown'], {} ],
    # ---- section 7.4: transition from X-Forwarded-For ----
    [ 'RFC 7239 7.4: for=192.0.2.43, for="[2001:db8:cafe::17]"',
      ['for=192.0.2.43, for="[2001:db8:cafe::17]"'],
      { client => '2001:db8:cafe::17', remaining => 'for=192.0.2.43' },
      { client => '192.0.2.43', proxies => '2001:db8:cafe::17, 127.0.0.1' } ],
    # ---- section 7.5: example usage ----
    # Off: the rightmost element is the client's, by= is its by=. On:
    # 198.51.100.17 is a trusted proxy, 192.0.2.43 the client, and its own
    # element (the chosen one) has no by=.
    [ 'RFC 7239 7.5: two proxies, by/proto/host on the second', [$rfc_75],
      { client => '198.51.100.17', by => '203.0.113.60', remaining => 'for=192.0.2.43' },
      { client => '192.0.2.43', proxies => '198.51.100.17, 127.0.0.1' } ],

    # ---- syntax the module accepts ----
    [ 'three header lines are one list', ['for=192.0.2.43', 'for=198.51.100.17', 'for=10.1.2.3;by=10.0.0.1'],
      { client => '10.1.2.3', by => '10.0.0.1', remaining => 'for=192.0.2.43, for=198.51.100.17' },
      { client => '192.0.2.43', proxies => '198.51.100.17, 10.1.2.3, 127.0.0.1' } ],
    [ 'parameter names are case-insensitive', ['FOR=192.0.2.43;By=203.0.113.43;PROTO=http;hOsT=example.com'],
      { client => '192.0.2.43', by => '203.0.113.43' } ],
    [ 'spaces and tabs around ";" and ","',
      ["for=192.0.2.43 ;\tby=203.0.113.43 ,\tfor=198.51.100.17 ; by=10.0.0.1"],
      { client => '198.51.100.17', by => '10.0.0.1', remaining => "for=192.0.2.43 ;\tby=203.0.113.43" },
      { client => '192.0.2.43', by => '203.0.113.43', proxies => '198.51.100.17, 127.0.0.1' } ],
    [ 'quoted string holding ",", ";", "=" and escaped quotes',
      ['for=192.0.2.43;ext="a, for=6.6.6.6; x=\"y\"", for=198.51.100.17'],
      { client => '198.51.100.17', remaining => 'for=192.0.2.43;ext="a, for=6.6.6.6; x=\"y\""' },
      { client => '192.0.2.43', proxies => '198.51.100.17, 127.0.0.1' } ],
    [ 'quoted-pair inside a node is unescaped', ['for="192.0.2.\43"'],
      { client => '192.0.2.43' } ],
    [ 'by= quoted, unescaped for CLIENTIP_FORWARDED_BY', ['for=192.0.2.43;by="[2001:db8::7]:_l\b"'],
      { client => '192.0.2.43', by => '[2001:db8::7]:_lb' } ],
    [ 'obfuscated port: address taken, port unknown', ['for="192.0.2.43:_p1"'],
      { client => '192.0.2.43' } ],
    [ 'extension parameters are ignored', ['for=192.0.2.43;secret=egah2CGj55fSJFs;by=203.0.113.43'],
      { client => '192.0.2.43', by => '203.0.113.43' } ],
    [ 'element without for= stops the walk', ['by=203.0.113.43;proto=https'],
      { by => '203.0.113.43' } ],
    [ 'element without for= after a client element', ['for=192.0.2.43, by=10.0.0.1'],
      { by => '10.0.0.1' } ],
    [ 'unknown stops the recursive walk', ['for=192.0.2.43, for=unknown, for=198.51.100.17'],
      { client => '198.51.100.17', remaining => 'for=192.0.2.43, for=unknown' } ],
    # Off takes the rightmost element and never looks at _hidden; On passes
    # the trusted 10.1.2.3, reaches _hidden and stops there.
    [ 'obfuscated node behind a trusted proxy', ['for=_hidden, for=10.1.2.3;by=_lb'],
      { client => '10.1.2.3', by => '_lb', remaining => 'for=_hidden' },
      { client => '10.1.2.3', by => '_lb', for => '_hidden', remaining => 'for=_hidden' } ],
    [ 'IPv6 quoted but not bracketed is not an address', ['for="2001:db8:cafe::17"'], {} ],
    [ 'IPv4-mapped IPv6 node, reported dotted', ['for=192.0.2.43, for="[::ffff:10.1.2.3]"'],
      { client => '10.1.2.3', remaining => 'for=192.0.2.43' },
      { client => '192.0.2.43', proxies => '10.1.2.3, 127.0.0.1' } ],
);

# Each makes the whole header invalid: client unchanged, header untouched.
my @malformed = (
    [ 'unterminated quote',               ['for="192.0.2.43'] ],
    [ 'unterminated quote, last element', ['for=192.0.2.43, for="198.51.100.17'] ],
    [ 'backslash at the end of a quote',  ['for="192.0.2.43\\'] ],
    [ 'empty pair ";;"',                  ['for=192.0.2.43;;by=203.0.113.43'] ],
    [ 'leading ";"',                      [';for=192.0.2.43'] ],
    [ 'trailing ";"',                     ['for=192.0.2.43;'] ],
    [ 'empty element ",,"',               ['for=192.0.2.43,,for=198.51.100.17'] ],
    [ 'empty element ", ,"',              ['for=192.0.2.43, ,for=198.51.100.17'] ],
    [ 'trailing ","',                     ['for=192.0.2.43,'] ],
    [ 'leading ","',                      [',for=192.0.2.43'] ],
    [ 'duplicate for',                    ['for=192.0.2.43;for=198.51.100.17'] ],
    [ 'duplicate for, other case',        ['for=192.0.2.43;FOR=198.51.100.17'] ],
    [ 'duplicate by',                     ['for=192.0.2.43;by=10.0.0.1;by=10.0.0.2'] ],
    [ 'duplicate proto',                  ['for=192.0.2.43;proto=http;proto=https'] ],
    [ 'duplicate host',                   ['for=192.0.2.43;host=a.example;host=b.example'] ],
    # RFC 7239 4: "Each parameter MUST NOT occur more than once per
    # forwarded-element", extensions included.
    [ 'duplicate extension parameter',    ['for=192.0.2.43;secret=a;Secret=b'] ],
    [ 'more pairs in one element than the module reads (17)',
      ['for=192.0.2.43;' . join ';', map { "x$_=y" } 1 .. 16] ],
    [ 'unquoted ip:port',                 ['for=192.0.2.43:47011'] ],
    [ 'unquoted IPv6',                    ['for=[2001:db8:cafe::17]'] ],
    [ 'space before "="',                 ['for =192.0.2.43'] ],
    [ 'space after "="',                  ['for= 192.0.2.43'] ],
    [ 'spaces around "="',                ['for = 192.0.2.43'] ],
    [ 'pair without "="',                 ['for'] ],
    [ 'empty value',                      ['for=;by=10.0.0.1'] ],
    [ 'text after a quoted value',        ['for="192.0.2.43"x'] ],
    [ 'space inside an element',          ['for=192.0.2.43 by=10.0.0.1'] ],
    [ 'quoted parameter name',            ['"for"=192.0.2.43'] ],
    # The client writes the left part: a broken left part still spoils the
    # whole header (the module never guesses element boundaries).
    [ 'malformed client-written line before a proxy\'s',
      ['for=192.0.2.43:47011', 'for=198.51.100.17'] ],
);

plan tests => 2 * @cases + 4 * @malformed + 8;

my $logs = t_logs();   # not inside map/for over literals: it may load the config, which assigns $_
my %error_log = map { ($_ => "$logs/${_}_error_log") } qw(cip_fwd cip_fwd_rec);

sub expectation {
    my ($exp, $lines) = @_;
    my $want;
    if (defined $exp->{client}) {
        $want = changed(client => $exp->{client}, port => $exp->{port},
                        proxies => $exp->{proxies}, source => 'Forwarded',
                        header => 'HTTP_FORWARDED', remaining => $exp->{remaining});
        # changed() skips an undef remaining: removed means unset.
        $want->{HTTP_FORWARDED} = $exp->{remaining};
    }
    else {
        $want = unchanged(header => 'HTTP_FORWARDED',
                          value => $exp->{remaining} // join ', ', @$lines);
    }
    $want->{CLIENTIP_FORWARDED_BY}  = $exp->{by};
    $want->{CLIENTIP_FORWARDED_FOR} = $exp->{for};
    return $want;
}

for my $c (@cases) {
    my ($name, $lines, $off, $on) = @$c;
    $on //= $off;
    for ([cip_fwd => 'Off', $off], [cip_fwd_rec => 'On', $on]) {
        my ($vhost, $mode, $exp) = @$_;
        my ($res, $env) = cgi_env(vhost => $vhost,
                                  headers => [map { (Forwarded => $_) } @$lines]);
        my $want = expectation($exp, $lines);
        subtest "recursive $mode: $name" => sub {
            env_ok($res, $env, $want, 'CGI environment');
            my @trail = error_lines_for($error_log{$vhost}, $res->{id}, want => qr/clientip: /);
            ok((grep { /clientip: peer 127\.0\.0\.1 trusted/ } @trail), 'debug trail logged')
                or diag explain \@trail;
            ok(!(grep { /Forwarded header invalid/ } @trail), 'header not reported invalid')
                or diag explain \@trail;
        };
    }
}

for my $m (@malformed) {
    my ($name, $lines) = @$m;
    for ([cip_fwd => 'Off'], [cip_fwd_rec => 'On']) {
        my ($vhost, $mode) = @$_;
        my ($res, $env) = cgi_env(vhost => $vhost,
                                  headers => [map { (Forwarded => $_) } @$lines]);
        my $want = unchanged(header => 'HTTP_FORWARDED', value => join ', ', @$lines);
        $want->{CLIENTIP_FORWARDED_BY} = $want->{CLIENTIP_FORWARDED_FOR} = undef;
        env_ok($res, $env, $want, "recursive $mode: malformed, $name: nothing taken, header untouched");
        my @trail = error_lines_for($error_log{$vhost}, $res->{id},
                                    want => qr/Forwarded header invalid/);
        ok((grep { /clientip: peer 127\.0\.0\.1 trusted.*Forwarded header invalid at byte \d+: .*client is the peer/ } @trail),
           "recursive $mode: malformed, $name: debug trail says 'Forwarded header invalid'")
            or diag explain \@trail;
    }
}

# The header name is matched case-insensitively, as HTTP requires.
{
    my ($res, $env) = cgi_env(vhost => 'cip_fwd_rec',
                              headers => [forwarded => 'for=192.0.2.43, for=198.51.100.17;by=10.0.0.1']);
    env_ok($res, $env,
           { %{ changed(client => '192.0.2.43', proxies => '198.51.100.17, 127.0.0.1',
                        source => 'Forwarded', header => undef) },
             HTTP_FORWARDED => undef, CLIENTIP_FORWARDED_BY => undef },
           'header name in lower case');
}

# An untrusted peer's Forwarded header is never read.
for my $vhost (qw(cip_fwd cip_fwd_rec)) {
    my $value = 'for=192.0.2.60;proto=https;by=203.0.113.43;host=evil.example';
    my ($res, $env) = cgi_env(vhost => $vhost, from => untrusted,
                              headers => [Forwarded => $value]);
    my $want = unchanged(peer => untrusted, header => 'HTTP_FORWARDED', value => $value);
    $want->{CLIENTIP_FORWARDED_BY} = $want->{CLIENTIP_FORWARDED_FOR} = undef;
    $want->{REQUEST_SCHEME} = 'http';
    $want->{HTTPS} = undef;
    env_ok($res, $env, $want, "$vhost: untrusted peer 127.0.0.2, Forwarded ignored");
}

# RFC 7239 6.3 with a port: "_gazonk:4711" is an obfuscated node (nodename
# obfnode, node-port 4711). It stops the walk like any obfuscated node, and
# CLIENTIP_FORWARDED_FOR reports it (with or without its port).
{
    my ($res, $env) = cgi_env(vhost => 'cip_fwd', headers => [Forwarded => 'for="_gazonk:4711"']);
    subtest 'obfuscated node with a port: for="_gazonk:4711"' => sub {
        is $env->{REMOTE_ADDR}, '127.0.0.1', 'client unchanged (the peer)';
        is $env->{HTTP_FORWARDED}, 'for="_gazonk:4711"', 'header untouched';
        like $env->{CLIENTIP_FORWARDED_FOR} // '(unset)', qr/^_gazonk(?::4711)?$/,
             'CLIENTIP_FORWARDED_FOR names the obfuscated node';
    };
}

# What an operator sees: the access log (%a, %{c}a, %{remote}p, the env).
{
    my ($res) = cgi_env(vhost => 'cip_fwd',
                        headers => [Forwarded => 'for=192.0.2.43, for="198.51.100.17:4711";by=_edge']);
    my $line = wait_log_line(t_logs() . '/cip_fwd_access_log', $res->{id});
    like $line // '', qr{ client=198\.51\.100\.17 peer=127\.0\.0\.1 port=4711 by=_edge for=-$},
         'access log: %a from Forwarded, %{c}a the peer, %{remote}p, CLIENTIP_FORWARDED_BY';
}
{
    my ($res) = cgi_env(vhost => 'cip_fwd', headers => [Forwarded => 'for=_SEVKISEK']);
    my $line = wait_log_line(t_logs() . '/cip_fwd_access_log', $res->{id});
    like $line // '', qr{ client=127\.0\.0\.1 peer=127\.0\.0\.1 port=\d+ by=- for=_SEVKISEK$},
         'access log: obfuscated client, CLIENTIP_FORWARDED_FOR';
}

# clientip-info: forwarded_by / forwarded_for, source and stop.
{
    my ($res, $j) = info_json(vhost => 'cip_fwd_rec',
                              headers => [Forwarded => 'for=_hidden, for="10.1.2.3:8080";by=_lb']);
    subtest 'clientip-info: obfuscated node behind a trusted proxy' => sub {
        ok ref $j eq 'HASH', 'JSON object' or return diag $res->{body};
        is $j->{client}{ip}, '10.1.2.3', 'client';
        is $j->{client}{port}, 8080, 'client port';
        is $j->{source}, 'Forwarded', 'source';
        is $j->{header}, 'Forwarded', 'header';
        is $j->{forwarded_by}, '_lb', 'forwarded_by';
        is $j->{forwarded_for}, '_hidden', 'forwarded_for';
        like $j->{stop} // '', qr/./, 'stop reason given';
        ok((grep { /10\.1\.2\.3 trusted by 10\.0\.0\.0\/8/ } @{ $j->{trail} || [] }),
           'trail names the hop') or diag explain $j->{trail};
    };
}
{
    my ($res, $j) = info_json(vhost => 'cip_fwd_rec',
                              headers => [Forwarded => 'for=192.0.2.43;;by=_lb']);
    subtest 'clientip-info: malformed header' => sub {
        ok ref $j eq 'HASH', 'JSON object' or return diag $res->{body};
        is $j->{client}{ip}, '127.0.0.1', 'client is the peer';
        is $j->{source}, undef, 'source: null';
        is $j->{stop}, 'invalid Forwarded syntax', 'stop: invalid Forwarded syntax';
        is $j->{forwarded_by}, undef, 'forwarded_by: null';
        is $j->{forwarded_for}, undef, 'forwarded_for: null';
        ok((grep { /Forwarded header invalid/ } @{ $j->{trail} || [] }), 'trail says why')
            or diag explain $j->{trail};
    };
}
