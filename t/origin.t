# The request's origin (ClientIPForwardedProto, ClientIPForwardedHost): the
# scheme, host and port a trusted proxy reports, as users see them in a CGI
# (HTTPS, REQUEST_SCHEME, SERVER_NAME, SERVER_PORT), in self-referential
# redirects (mod_dir's trailing slash, Redirect, ErrorDocument), in the access
# log and in clientip-info. Untrusted peers, invalid values, precedence,
# UseCanonicalName, name-based virtual hosts and keep-alive isolation.
#
# cip_origin:       X-Forwarded-For, recursive, Proto On, Host On (debug trail)
# cip_origin_fwd:   Forwarded, recursive, Proto On, Host On (debug trail)
# cip_origin_proto: Proto On, Host Off
# cip_origin_host:  Proto Off, Host On
# cip_origin_canon: Proto On, Host On, UseCanonicalName On
# cip_origin_nb:    two name-based hosts (one.example, two.example), one port
# All trust 127.0.0.1 and 10.0.0.0/8; 127.0.0.2 plays an untrusted peer.
use strict;
use warnings;
use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use ClientIP::Test;

my $logs = t_logs();   # first config access outside map/for (it assigns $_)
my %port;
$port{$_} = vhost_port($_)
    for my @v = qw(cip_origin cip_origin_fwd cip_origin_proto cip_origin_host
                   cip_origin_canon cip_origin_nb);

my @xff = ('X-Forwarded-For' => '203.0.113.7');

# [ name, vhost, [ request headers ], expectation, options ]
# expectation: scheme, name (SERVER_NAME), port (SERVER_PORT), url (the
# scheme://host[:port] self-referential URLs start with), client (REMOTE_ADDR,
# optional). "PORT" stands for the virtual host's own port. options: from
# (source address), trail (a regexp the debug trail must match).
my @rows = (
    # ---- X-Forwarded-* (cip_origin) ----
    [ 'X-Forwarded-Proto https, Host without port: port 443', 'cip_origin',
      [Host => 'www.example.com', @xff, 'X-Forwarded-Proto' => 'https'],
      { scheme => 'https', name => 'www.example.com', port => 443,
        url => 'https://www.example.com', client => '203.0.113.7' },
      { trail => qr/scheme https from X-Forwarded-Proto/ } ],
    [ 'X-Forwarded-Proto https, Host with a port: that port is kept', 'cip_origin',
      [Host => 'www.example.com:8080', @xff, 'X-Forwarded-Proto' => 'https'],
      { scheme => 'https', name => 'www.example.com', port => 8080,
        url => 'https://www.example.com:8080', client => '203.0.113.7' } ],
    [ 'X-Forwarded-Host: the proxy\'s host, default port of https', 'cip_origin',
      [@xff, 'X-Forwarded-Proto' => 'https', 'X-Forwarded-Host' => 'example.com'],
      { scheme => 'https', name => 'example.com', port => 443, url => 'https://example.com',
        client => '203.0.113.7' },
      { trail => qr/host example\.com from X-Forwarded-Host/ } ],
    [ 'X-Forwarded-Host with a port', 'cip_origin',
      [@xff, 'X-Forwarded-Proto' => 'https', 'X-Forwarded-Host' => 'example.com:8443'],
      { scheme => 'https', name => 'example.com', port => 8443, url => 'https://example.com:8443' },
      { trail => qr/port 8443/ } ],
    [ 'X-Forwarded-Host and X-Forwarded-Port', 'cip_origin',
      [@xff, 'X-Forwarded-Proto' => 'https', 'X-Forwarded-Host' => 'example.com',
       'X-Forwarded-Port' => '8443'],
      { scheme => 'https', name => 'example.com', port => 8443, url => 'https://example.com:8443' } ],
    [ 'the port in X-Forwarded-Host wins over X-Forwarded-Port', 'cip_origin',
      [@xff, 'X-Forwarded-Proto' => 'https', 'X-Forwarded-Host' => 'example.com:8443',
       'X-Forwarded-Port' => '9443'],
      { scheme => 'https', name => 'example.com', port => 8443, url => 'https://example.com:8443' } ],
    [ 'X-Forwarded-Port alone: host from the Host header', 'cip_origin',
      [Host => 'www.example.com:8080', @xff, 'X-Forwarded-Proto' => 'https',
       'X-Forwarded-Port' => '8443'],
      { scheme => 'https', name => 'www.example.com', port => 8443,
        url => 'https://www.example.com:8443' } ],
    [ 'X-Forwarded-Host without a scheme: http, port 80', 'cip_origin',
      [@xff, 'X-Forwarded-Host' => 'example.com'],
      { scheme => 'http', name => 'example.com', port => 80, url => 'http://example.com' } ],
    [ 'X-Forwarded-Proto http: port 80', 'cip_origin',
      [Host => 'www.example.com', @xff, 'X-Forwarded-Proto' => 'http'],
      { scheme => 'http', name => 'www.example.com', port => 80, url => 'http://www.example.com' } ],
    [ 'rightmost X-Forwarded-Proto: "https, http"', 'cip_origin',
      [Host => 'www.example.com', 'X-Forwarded-Proto' => 'https, http'],
      { scheme => 'http', name => 'www.example.com', port => 80, url => 'http://www.example.com' } ],
    [ 'rightmost X-Forwarded-Proto: "http, https"', 'cip_origin',
      [Host => 'www.example.com', 'X-Forwarded-Proto' => 'http, https'],
      { scheme => 'https', name => 'www.example.com', port => 443, url => 'https://www.example.com' } ],
    [ 'rightmost X-Forwarded-Proto: two header lines', 'cip_origin',
      [Host => 'www.example.com', 'X-Forwarded-Proto' => 'http', 'X-Forwarded-Proto' => 'https'],
      { scheme => 'https', name => 'www.example.com', port => 443, url => 'https://www.example.com' } ],
    [ 'rightmost X-Forwarded-Host', 'cip_origin',
      ['X-Forwarded-Proto' => 'https', 'X-Forwarded-Host' => 'client.example, proxy.example:8443'],
      { scheme => 'https', name => 'proxy.example', port => 8443, url => 'https://proxy.example:8443' } ],
    [ 'scheme and host are case-insensitive, used in lower case', 'cip_origin',
      ['X-Forwarded-Proto' => 'HTTPS', 'X-Forwarded-Host' => 'WWW.Example.COM'],
      { scheme => 'https', name => 'www.example.com', port => 443, url => 'https://www.example.com' } ],
    [ 'X-Forwarded-Protocol: https', 'cip_origin',
      [Host => 'www.example.com', 'X-Forwarded-Protocol' => 'https'],
      { scheme => 'https', name => 'www.example.com', port => 443, url => 'https://www.example.com' },
      { trail => qr/scheme https from X-Forwarded-Protocol/ } ],
    [ 'X-Forwarded-Ssl: on', 'cip_origin',
      [Host => 'www.example.com', 'X-Forwarded-Ssl' => 'on'],
      { scheme => 'https', name => 'www.example.com', port => 443, url => 'https://www.example.com' },
      { trail => qr/scheme https from X-Forwarded-Ssl/ } ],
    [ 'Front-End-Https: on', 'cip_origin',
      [Host => 'www.example.com', 'Front-End-Https' => 'on'],
      { scheme => 'https', name => 'www.example.com', port => 443, url => 'https://www.example.com' },
      { trail => qr/scheme https from Front-End-Https/ } ],
    [ 'Front-End-Https: On (any case)', 'cip_origin',
      [Host => 'www.example.com', 'Front-End-Https' => 'On'],
      { scheme => 'https', name => 'www.example.com', port => 443, url => 'https://www.example.com' } ],
    [ 'X-Forwarded-Ssl: off changes nothing', 'cip_origin',
      ['X-Forwarded-Ssl' => 'off'],
      { scheme => 'http', name => '127.0.0.1', port => 'PORT', url => 'http://127.0.0.1:PORT' } ],
    [ 'X-Forwarded-Proto http wins over X-Forwarded-Ssl: on', 'cip_origin',
      [Host => 'www.example.com', 'X-Forwarded-Proto' => 'http', 'X-Forwarded-Ssl' => 'on'],
      { scheme => 'http', name => 'www.example.com', port => 80, url => 'http://www.example.com' } ],
    [ 'X-Forwarded-Proto wins over X-Forwarded-Protocol', 'cip_origin',
      [Host => 'www.example.com', 'X-Forwarded-Protocol' => 'http', 'X-Forwarded-Proto' => 'https'],
      { scheme => 'https', name => 'www.example.com', port => 443, url => 'https://www.example.com' } ],
    [ 'X-Forwarded-Protocol http wins over Front-End-Https: on', 'cip_origin',
      [Host => 'www.example.com', 'X-Forwarded-Protocol' => 'http', 'Front-End-Https' => 'on'],
      { scheme => 'http', name => 'www.example.com', port => 80, url => 'http://www.example.com' } ],
    [ 'nothing forwarded: httpd\'s own view', 'cip_origin', [@xff],
      { scheme => 'http', name => '127.0.0.1', port => 'PORT', url => 'http://127.0.0.1:PORT',
        client => '203.0.113.7' } ],
    [ 'IPv6 literal in X-Forwarded-Host, with a port', 'cip_origin',
      ['X-Forwarded-Proto' => 'https', 'X-Forwarded-Host' => '[2001:db8::1]:8443'],
      { scheme => 'https', name => '[2001:db8::1]', port => 8443, url => 'https://[2001:db8::1]:8443' } ],
    [ 'IPv6 literal in X-Forwarded-Host', 'cip_origin',
      ['X-Forwarded-Proto' => 'https', 'X-Forwarded-Host' => '[2001:db8::1]'],
      { scheme => 'https', name => '[2001:db8::1]', port => 443, url => 'https://[2001:db8::1]' } ],

    # ---- invalid values: ignored, the next source used, noted in the trail ----
    [ 'invalid: X-Forwarded-Proto javascript', 'cip_origin',
      [Host => 'www.example.com', @xff, 'X-Forwarded-Proto' => 'javascript'],
      { scheme => 'http', name => 'www.example.com', port => 'PORT',
        url => 'http://www.example.com:PORT', client => '203.0.113.7' },
      { trail => qr/X-Forwarded-Proto 'javascript' ignored/ } ],
    [ 'invalid: X-Forwarded-Proto ftp, X-Forwarded-Ssl: on next', 'cip_origin',
      [Host => 'www.example.com', 'X-Forwarded-Proto' => 'ftp', 'X-Forwarded-Ssl' => 'on'],
      { scheme => 'https', name => 'www.example.com', port => 443, url => 'https://www.example.com' },
      { trail => qr/X-Forwarded-Proto 'ftp' ignored/ } ],
    (map {
        my $bad = $_;
        [ "invalid: X-Forwarded-Host '$bad'", 'cip_origin',
          [Host => 'www.example.com', 'X-Forwarded-Proto' => 'https', 'X-Forwarded-Host' => $bad],
          { scheme => 'https', name => 'www.example.com', port => 443, url => 'https://www.example.com' },
          { trail => qr/X-Forwarded-Host '\Q$bad\E' ignored/ } ]
    } 'exa mple.com', 'evil.example/path', 'user@evil.example', 'evil.example:70000',
      'evil.example:0', 'evil.example:'),
    (map {
        my $bad = $_;
        [ "invalid: X-Forwarded-Port '$bad'", 'cip_origin',
          ['X-Forwarded-Proto' => 'https', 'X-Forwarded-Host' => 'example.com',
           'X-Forwarded-Port' => $bad],
          { scheme => 'https', name => 'example.com', port => 443, url => 'https://example.com' },
          { trail => qr/X-Forwarded-Port '\Q$bad\E' ignored/ } ]
    } '70000', '0', '080', '65536', 'abc', '-1'),
    [ 'invalid X-Forwarded-Port, Host header port kept', 'cip_origin',
      [Host => 'www.example.com:8080', 'X-Forwarded-Proto' => 'https', 'X-Forwarded-Port' => '70000'],
      { scheme => 'https', name => 'www.example.com', port => 8080, url => 'https://www.example.com:8080' },
      { trail => qr/X-Forwarded-Port '70000' ignored/ } ],

    # ---- Forwarded proto= / host= (cip_origin_fwd) ----
    [ 'Forwarded proto= and host=', 'cip_origin_fwd',
      [Forwarded => 'for=203.0.113.7;proto=https;host=example.com'],
      { scheme => 'https', name => 'example.com', port => 443, url => 'https://example.com',
        client => '203.0.113.7' },
      { trail => qr/scheme https from Forwarded proto=.*host example\.com from Forwarded host=/ } ],
    [ 'Forwarded host= with a port (quoted)', 'cip_origin_fwd',
      [Forwarded => 'for=203.0.113.7;proto=https;host="example.com:8443"'],
      { scheme => 'https', name => 'example.com', port => 8443, url => 'https://example.com:8443' } ],
    [ 'Forwarded: proto=/host= of the chosen (client\'s) element', 'cip_origin_fwd',
      [Forwarded => 'for=203.0.113.7;proto=https;host=shop.example, for=10.1.2.3;proto=http;host=backend.internal'],
      { scheme => 'https', name => 'shop.example', port => 443, url => 'https://shop.example',
        client => '203.0.113.7' } ],
    [ 'Forwarded proto=https wins over X-Forwarded-Proto http', 'cip_origin_fwd',
      [Host => 'www.example.com', Forwarded => 'for=203.0.113.7;proto=https',
       'X-Forwarded-Proto' => 'http'],
      { scheme => 'https', name => 'www.example.com', port => 443, url => 'https://www.example.com' } ],
    [ 'Forwarded proto=http wins over X-Forwarded-Proto https', 'cip_origin_fwd',
      [Host => 'www.example.com', Forwarded => 'for=203.0.113.7;proto=http',
       'X-Forwarded-Proto' => 'https'],
      { scheme => 'http', name => 'www.example.com', port => 80, url => 'http://www.example.com' } ],
    [ 'Forwarded host= wins over X-Forwarded-Host', 'cip_origin_fwd',
      [Forwarded => 'for=203.0.113.7;host=a.example', 'X-Forwarded-Host' => 'b.example'],
      { scheme => 'http', name => 'a.example', port => 80, url => 'http://a.example' } ],
    [ 'Forwarded without proto=/host=: X-Forwarded-* used', 'cip_origin_fwd',
      [Forwarded => 'for=203.0.113.7', 'X-Forwarded-Proto' => 'https',
       'X-Forwarded-Host' => 'b.example:8443'],
      { scheme => 'https', name => 'b.example', port => 8443, url => 'https://b.example:8443',
        client => '203.0.113.7' } ],
    [ 'Forwarded host= without a port, X-Forwarded-Port', 'cip_origin_fwd',
      [Forwarded => 'for=203.0.113.7;proto=https;host=a.example', 'X-Forwarded-Port' => '8443'],
      { scheme => 'https', name => 'a.example', port => 8443, url => 'https://a.example:8443' } ],
    [ 'Forwarded for=unknown: origin from the proxy\'s element all the same', 'cip_origin_fwd',
      [Forwarded => 'for=unknown;proto=https;host=example.com'],
      { scheme => 'https', name => 'example.com', port => 443, url => 'https://example.com',
        client => '127.0.0.1' } ],
    [ 'malformed Forwarded: nothing taken from it', 'cip_origin_fwd',
      [Forwarded => 'for=203.0.113.7;proto=https;host=evil.example;'],
      { scheme => 'http', name => '127.0.0.1', port => 'PORT', url => 'http://127.0.0.1:PORT',
        client => '127.0.0.1' },
      { trail => qr/Forwarded header invalid/ } ],
    [ 'invalid: Forwarded proto=ftp, X-Forwarded-Proto next', 'cip_origin_fwd',
      [Host => 'www.example.com', Forwarded => 'for=203.0.113.7;proto=ftp',
       'X-Forwarded-Proto' => 'https'],
      { scheme => 'https', name => 'www.example.com', port => 443, url => 'https://www.example.com' },
      { trail => qr/Forwarded proto= 'ftp' ignored/ } ],
    [ 'invalid: Forwarded proto=ftp alone', 'cip_origin_fwd',
      [Host => 'www.example.com', Forwarded => 'for=203.0.113.7;proto=ftp'],
      { scheme => 'http', name => 'www.example.com', port => 'PORT',
        url => 'http://www.example.com:PORT', client => '203.0.113.7' },
      { trail => qr/Forwarded proto= 'ftp' ignored/ } ],
    (map {
        my $bad = $_;
        [ "invalid: Forwarded host=\"$bad\"", 'cip_origin_fwd',
          [Host => 'www.example.com', Forwarded => qq{for=203.0.113.7;proto=https;host="$bad"}],
          { scheme => 'https', name => 'www.example.com', port => 443, url => 'https://www.example.com' },
          { trail => qr/Forwarded host= '\Q$bad\E' ignored/ } ]
    } 'exa mple.com', 'user@evil.example', 'evil.example/x', 'evil.example:70000'),
    [ 'IPv6 literal in Forwarded host=', 'cip_origin_fwd',
      [Forwarded => 'for=203.0.113.7;proto=https;host="[2001:db8::1]:8443"'],
      { scheme => 'https', name => '[2001:db8::1]', port => 8443, url => 'https://[2001:db8::1]:8443' } ],

    # ---- ClientIPForwardedProto On, ClientIPForwardedHost Off ----
    [ 'Proto only: https, Host without port: 443', 'cip_origin_proto',
      [Host => 'www.example.com', 'X-Forwarded-Proto' => 'https'],
      { scheme => 'https', name => 'www.example.com', port => 443, url => 'https://www.example.com' } ],
    [ 'Proto only: Host with a port keeps it', 'cip_origin_proto',
      [Host => 'www.example.com:8443', 'X-Forwarded-Proto' => 'https'],
      { scheme => 'https', name => 'www.example.com', port => 8443, url => 'https://www.example.com:8443' } ],
    [ 'Proto only: X-Forwarded-Host/-Port ignored', 'cip_origin_proto',
      [Host => 'www.example.com', 'X-Forwarded-Proto' => 'https',
       'X-Forwarded-Host' => 'evil.example', 'X-Forwarded-Port' => '9999'],
      { scheme => 'https', name => 'www.example.com', port => 443, url => 'https://www.example.com' } ],
    [ 'Proto only: the Host header 127.0.0.1:PORT of the test client', 'cip_origin_proto',
      ['X-Forwarded-Proto' => 'https'],
      { scheme => 'https', name => '127.0.0.1', port => 'PORT', url => 'https://127.0.0.1:PORT' } ],

    # ---- ClientIPForwardedProto Off, ClientIPForwardedHost On ----
    [ 'Host only: X-Forwarded-Proto ignored, port 80', 'cip_origin_host',
      ['X-Forwarded-Host' => 'example.com', 'X-Forwarded-Proto' => 'https'],
      { scheme => 'http', name => 'example.com', port => 80, url => 'http://example.com' } ],
    [ 'Host only: with a port', 'cip_origin_host',
      ['X-Forwarded-Host' => 'example.com:8443', 'X-Forwarded-Ssl' => 'on'],
      { scheme => 'http', name => 'example.com', port => 8443, url => 'http://example.com:8443' } ],
    [ 'Host only: X-Forwarded-Port alone', 'cip_origin_host',
      [Host => 'www.example.com', 'X-Forwarded-Port' => '8080'],
      { scheme => 'http', name => 'www.example.com', port => 8080, url => 'http://www.example.com:8080' } ],

    # ---- UseCanonicalName On: ServerName and its port; the scheme follows ----
    [ 'UseCanonicalName On', 'cip_origin_canon',
      ['X-Forwarded-Proto' => 'https', 'X-Forwarded-Host' => 'example.com:8443'],
      { scheme => 'https', name => 'localhost', port => 'PORT', url => 'https://localhost:PORT' } ],

    # ---- untrusted peer: everything ignored ----
    [ 'untrusted peer: X-Forwarded-* ignored', 'cip_origin',
      [@xff, 'X-Forwarded-Proto' => 'https', 'X-Forwarded-Host' => 'evil.example',
       'X-Forwarded-Port' => '8443', 'X-Forwarded-Protocol' => 'https',
       'X-Forwarded-Ssl' => 'on', 'Front-End-Https' => 'on'],
      { scheme => 'http', name => '127.0.0.1', port => 'PORT', url => 'http://127.0.0.1:PORT',
        client => '127.0.0.2' },
      { from => untrusted, trail => qr/peer 127\.0\.0\.2 is not trusted/ } ],
    [ 'untrusted peer: Host header as usual', 'cip_origin',
      [Host => 'www.example.com', 'X-Forwarded-Proto' => 'https', 'X-Forwarded-Port' => '8443'],
      { scheme => 'http', name => 'www.example.com', port => 'PORT',
        url => 'http://www.example.com:PORT', client => '127.0.0.2' },
      { from => untrusted } ],
    [ 'untrusted peer: Forwarded and X-Forwarded-* ignored', 'cip_origin_fwd',
      [Forwarded => 'for=203.0.113.7;proto=https;host=evil.example',
       'X-Forwarded-Proto' => 'https', 'X-Forwarded-Host' => 'evil.example',
       'X-Forwarded-Port' => '8443'],
      { scheme => 'http', name => '127.0.0.1', port => 'PORT', url => 'http://127.0.0.1:PORT',
        client => '127.0.0.2' },
      { from => untrusted } ],
    [ 'untrusted peer: Proto-only host', 'cip_origin_proto',
      [Host => 'www.example.com', 'X-Forwarded-Proto' => 'https', 'X-Forwarded-Ssl' => 'on'],
      { scheme => 'http', name => 'www.example.com', port => 'PORT',
        url => 'http://www.example.com:PORT', client => '127.0.0.2' },
      { from => untrusted } ],
);

plan tests => @rows + 12;

my %error_log = (cip_origin => "$logs/cip_origin_error_log",
                 cip_origin_fwd => "$logs/cip_origin_fwd_error_log");

# Location of a redirect, checked against scheme://host[:port] . $path (the
# query string, ?id=..., follows).
sub location_ok {
    my ($res, $code, $url, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    is $res->{code}, $code, "$name: status $code";
    like $res->{headers}{location} // '(none)', qr{^\Q$url\E(?:\?|$)}, "$name: Location $url";
}

for my $row (@rows) {
    my ($name, $vhost, $headers, $w, $o) = @$row;
    $o //= {};
    my %want = %$w;
    s/PORT/$port{$vhost}/ for grep { defined } @want{qw(port url)};
    my %req = (vhost => $vhost, headers => $headers, ($o->{from} ? (from => $o->{from}) : ()));
    my ($res, $env) = cgi_env(%req);
    my $dir = request(%req, path => '/dir');
    subtest "$vhost: $name" => sub {
        is $res->{code}, 200, 'CGI status 200' or diag $res->{body};
        is $env->{REQUEST_SCHEME}, $want{scheme}, "REQUEST_SCHEME=$want{scheme}";
        if ($want{scheme} eq 'https') { is $env->{HTTPS}, 'on', 'HTTPS=on' }
        else { ok !exists $env->{HTTPS}, 'HTTPS unset' or diag "HTTPS=$env->{HTTPS}" }
        is $env->{SERVER_NAME}, $want{name}, "SERVER_NAME=$want{name}";
        is $env->{SERVER_PORT}, $want{port}, "SERVER_PORT=$want{port}";
        is $env->{REMOTE_ADDR}, $want{client}, "REMOTE_ADDR=$want{client}" if $want{client};
        location_ok($dir, 301, "$want{url}/dir/", 'mod_dir /dir');
        if ($o->{trail}) {
            my @trail = error_lines_for($error_log{$vhost}, $res->{id}, want => $o->{trail});
            ok((grep { $_ =~ $o->{trail} } @trail), "debug trail matches $o->{trail}")
                or diag explain \@trail;
        }
    };
}

# ---- Redirect /old /new (mod_alias) ---------------------------------------------
{
    my $res = request(vhost => 'cip_origin', path => '/old',
                      headers => [@xff, 'X-Forwarded-Proto' => 'https',
                                  'X-Forwarded-Host' => 'example.com:8443']);
    subtest 'Redirect with X-Forwarded-*' => sub {
        location_ok($res, 302, 'https://example.com:8443/new', 'Redirect /old');
    };
    $res = request(vhost => 'cip_origin_fwd', path => '/old',
                   headers => [Forwarded => 'for=203.0.113.7;proto=https;host=example.com']);
    subtest 'Redirect with Forwarded' => sub {
        location_ok($res, 302, 'https://example.com/new', 'Redirect /old');
    };
    $res = request(vhost => 'cip_origin', path => '/old', from => untrusted,
                   headers => ['X-Forwarded-Proto' => 'https', 'X-Forwarded-Host' => 'evil.example']);
    subtest 'Redirect, untrusted peer' => sub {
        location_ok($res, 302, "http://127.0.0.1:$port{cip_origin}/new", 'Redirect /old');
    };
}

# ---- an internal redirect (ErrorDocument) keeps the origin ------------------------
{
    my $res = request(vhost => 'cip_origin', path => '/missing',
                      headers => [@xff, 'X-Forwarded-Proto' => 'https',
                                  'X-Forwarded-Host' => 'example.com:8443']);
    my $env = ClientIP::Test::parse_env({ %$res, code => 200 });
    subtest 'ErrorDocument CGI sees the forwarded origin' => sub {
        is $res->{code}, 404, 'status 404 from the ErrorDocument';
        is $env->{REDIRECT_STATUS}, 404, 'answered by the ErrorDocument CGI';
        is $env->{REMOTE_ADDR}, '203.0.113.7', 'REMOTE_ADDR';
        is $env->{HTTPS}, 'on', 'HTTPS=on';
        is $env->{REQUEST_SCHEME}, 'https', 'REQUEST_SCHEME=https';
        is $env->{SERVER_NAME}, 'example.com', 'SERVER_NAME';
        is $env->{SERVER_PORT}, 8443, 'SERVER_PORT';
    };
}

# ---- virtual host selection is never redone -------------------------------------------
for my $p ([one => 'two'], [two => 'one']) {
    my ($host, $fwd) = @$p;
    my ($res, $env) = cgi_env(vhost => 'cip_origin_nb',
                              headers => [Host => "$host.example", 'X-Forwarded-Proto' => 'https',
                                          'X-Forwarded-Host' => "$fwd.example"]);
    subtest "Host $host.example, X-Forwarded-Host $fwd.example" => sub {
        is $res->{code}, 200, 'status 200';
        is $res->{headers}{'x-vhost'}, $host, "served by $host.example (the Host header's)";
        is $env->{SERVER_NAME}, "$fwd.example", 'SERVER_NAME is the forwarded host';
        is $env->{SERVER_PORT}, 443, 'SERVER_PORT 443';
        is $env->{HTTP_HOST}, "$host.example", 'Host header untouched';
    };
}

# ---- keep-alive: nothing carries over to the next request --------------------------
for my $t (['cip_origin', [@xff, 'X-Forwarded-Proto' => 'https', 'X-Forwarded-Host' => 'example.com:8443']],
           ['cip_origin_fwd', [Forwarded => 'for=203.0.113.7;proto=https;host="example.com:8443"']]) {
    my ($vhost, $origin) = @$t;
    my $port = $port{$vhost};
    my $c = connection(vhost => $vhost, keep_alive => 1);
    my $me = $c->local_port;
    my @r;
    push @r, $c->get(path => '/dir', headers => $origin);
    push @r, $c->get(path => '/cgi-bin/env.cgi');
    push @r, $c->get(path => '/dir');
    push @r, $c->get(path => '/cgi-bin/env.cgi', headers => [Host => 'www.example.com']);
    push @r, $c->get(path => '/cgi-bin/env.cgi', headers => $origin);
    push @r, $c->get(path => '/dir', headers => [Host => 'www.example.com']);
    $c->close;
    my @env = map { ClientIP::Test::parse_env($_) } @r;
    subtest "$vhost: https on request 1, plain http after it on one connection" => sub {
        location_ok($r[0], 301, 'https://example.com:8443/dir/', 'request 1');
        is $env[1]{CLIENTIP_PEER_PORT}, $me, 'request 2 on the same connection';
        is $env[1]{REQUEST_SCHEME}, 'http', 'request 2: REQUEST_SCHEME=http';
        ok !exists $env[1]{HTTPS}, 'request 2: HTTPS unset';
        is $env[1]{SERVER_NAME}, '127.0.0.1', 'request 2: SERVER_NAME from its own Host';
        is $env[1]{SERVER_PORT}, $port, 'request 2: SERVER_PORT the real port';
        is $env[1]{HTTP_HOST}, "127.0.0.1:$port", 'request 2: its own Host header';
        is $env[1]{REMOTE_ADDR}, '127.0.0.1', 'request 2: client is the peer';
        location_ok($r[2], 301, "http://127.0.0.1:$port/dir/", 'request 3');
        is $env[3]{SERVER_NAME}, 'www.example.com', 'request 4: SERVER_NAME www.example.com';
        is $env[3]{SERVER_PORT}, $port, 'request 4: SERVER_PORT the real port';
        ok !exists $env[3]{HTTPS}, 'request 4: HTTPS unset';
        is $env[4]{CLIENTIP_PEER_PORT}, $me, 'request 5 on the same connection';
        is $env[4]{HTTPS}, 'on', 'request 5: https again';
        is $env[4]{SERVER_PORT}, 8443, 'request 5: forwarded port again';
        location_ok($r[5], 301, "http://www.example.com:$port/dir/", 'request 6');
    };
}

# ---- clientip-info: scheme, host, port --------------------------------------------
{
    my ($res, $j) = info_json(vhost => 'cip_origin',
                              headers => [@xff, 'X-Forwarded-Proto' => 'https',
                                          'X-Forwarded-Host' => 'Example.com:8443']);
    subtest 'clientip-info: forwarded scheme/host/port' => sub {
        ok ref $j eq 'HASH', 'JSON object' or return diag $res->{body};
        is $j->{client}{ip}, '203.0.113.7', 'client';
        is $j->{scheme}, 'https', 'scheme';
        is $j->{host}, 'example.com', 'host';
        is $j->{port}, 8443, 'port';
        ok((grep { /scheme https from X-Forwarded-Proto/ } @{ $j->{trail} || [] }), 'trail: scheme')
            or diag explain $j->{trail};
    };
    ($res, $j) = info_json(vhost => 'cip_origin_fwd',
                           headers => [Forwarded => 'for=203.0.113.7;proto=https;host=example.com;by=_edge']);
    subtest 'clientip-info: from Forwarded' => sub {
        ok ref $j eq 'HASH', 'JSON object' or return diag $res->{body};
        is $j->{scheme}, 'https', 'scheme';
        is $j->{host}, 'example.com', 'host';
        is $j->{port}, 443, 'port: default of https';
        is $j->{forwarded_by}, '_edge', 'forwarded_by';
    };
    ($res, $j) = info_json(vhost => 'cip_origin', from => untrusted,
                           headers => ['X-Forwarded-Proto' => 'https', 'X-Forwarded-Host' => 'evil.example']);
    subtest 'clientip-info: untrusted peer' => sub {
        ok ref $j eq 'HASH', 'JSON object' or return diag $res->{body};
        is $j->{scheme}, 'http', 'scheme';
        is $j->{host}, '127.0.0.1', 'host';
        is $j->{port}, $port{cip_origin}, 'port';
    };
}

# ---- the access log ---------------------------------------------------------------
{
    my ($res) = cgi_env(vhost => 'cip_origin',
                        headers => [@xff, 'X-Forwarded-Proto' => 'https', 'X-Forwarded-Host' => 'example.com']);
    my $line = wait_log_line("$logs/cip_origin_access_log", $res->{id});
    like $line // '', qr{ client=203\.0\.113\.7 peer=127\.0\.0\.1 scheme=https https=on name=example\.com$},
         'access log: %a, %{c}a, %{REQUEST_SCHEME}e, %{HTTPS}e, %V';
}
