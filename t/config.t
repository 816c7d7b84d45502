# Configuration errors: `apache2 -t` on a minimal config with the module
# fails, and its message names the bad token (and, for a list file, the file
# and the line). Valid configurations pass with "Syntax OK"; host bits set
# below the prefix pass with a warning naming the token. A 100,000-line
# ClientIPTrustedProxiesFile loads quickly.
#
# These do not use the Apache::Test server: each case is its own config file
# in a temporary directory, checked with the same httpd binary.
use strict;
use warnings;
use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use ClientIP::Test;
use File::Temp qw(tempdir);
use IO::Socket::IP ();
use Time::HiRes qw(time);

my $httpd  = Apache::Test::config()->{vars}{httpd};

my $dir = tempdir('clientip-config-XXXXXX', TMPDIR => 1, CLEANUP => 1);
mkdir "$dir/logs";
mkdir "$dir/conf";

# A port nobody listens on (only needed to make the config complete).
my $port = do {
    my $s = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => 0, Listen => 1)
        or die "no free port: $@";
    my $p = $s->sockport;
    close $s;
    $p;
};

sub write_file {
    my ($path, $text) = @_;
    open my $fh, '>', $path or die "$path: $!";
    print $fh $text;
    close $fh or die "$path: $!";
}

# Writes a config with $body at the end of the main server, runs httpd -t,
# returns (exit status, output, seconds).
my $n = 0;
sub config_test {
    my ($body) = @_;
    my $conf = sprintf '%s/conf/case%02d.conf', $dir, ++$n;
    write_file($conf, minimal_config(dir => $dir, port => $port, body => $body));
    my $t0 = time;
    my $out = qx{"$httpd" -t -f "$conf" 2>&1};
    my $status = $? >> 8;
    return ($status, $out, time - $t0);
}

# Trusted-proxy files used below (paths relative to ServerRoot).
write_file("$dir/conf/bad-line3.list", "# comment\n10.0.0.0/8\n10.0.0.256\n192.0.2.1\n");
write_file("$dir/conf/bad-line5.list", "\n# blank above\n  127.0.0.1  \n\t\nexample.com\n");
write_file("$dir/conf/good.list",
           "# proxies\n\n127.0.0.1\n  10.0.0.0/8\t\n# v6\n2001:db8::/32\nloopback\n");

# [ name, config body, output must match (all of these) ]
my @errors = (
    [ 'prefix /33',             'ClientIPTrustedProxies 10.0.0.0/33',        [ qr{10\.0\.0\.0/33} ] ],
    [ 'IPv6 prefix /129',       'ClientIPTrustedProxies 2001:db8::/129',     [ qr{2001:db8::/129} ] ],
    [ 'empty prefix',           'ClientIPTrustedProxies 10.0.0.0/',          [ qr{10\.0\.0\.0/} ] ],
    [ 'two prefixes',           'ClientIPTrustedProxies 10.0.0.0/8/8',       [ qr{10\.0\.0\.0/8/8} ] ],
    [ 'short IPv4 127.1',       'ClientIPTrustedProxies 127.1',              [ qr/127\.1\b/ ] ],
    [ 'leading zero 010.0.0.1', 'ClientIPTrustedProxies 010.0.0.1',          [ qr/010\.0\.0\.1/ ] ],
    [ 'octet 256',              'ClientIPTrustedProxies 10.0.0.256',         [ qr/10\.0\.0\.256/ ] ],
    [ 'host name',              'ClientIPTrustedProxies example.com',        [ qr/example\.com/ ] ],
    [ 'localhost is a name too', 'ClientIPTrustedProxies localhost',         [ qr/localhost/ ] ],
    [ 'unknown keyword',        'ClientIPTrustedProxies nonsense',           [ qr/nonsense/ ] ],
    [ 'bad token among good ones', 'ClientIPTrustedProxies 127.0.0.1 nonsense 10.0.0.0/8',
                                                                             [ qr/nonsense/ ] ],
    [ 'zone id',                'ClientIPTrustedProxies fe80::1%eth0',       [ qr/fe80::1%eth0/ ] ],
    [ 'no argument',            'ClientIPTrustedProxies',                    [ qr/ClientIPTrustedProxies/ ] ],
    [ 'in a virtual host',      "<VirtualHost 127.0.0.1:$port>\n    ClientIPTrustedProxies 300.1.1.1\n</VirtualHost>",
                                                                             [ qr/300\.1\.1\.1/ ] ],
    [ 'ClientIPRecursive maybe', 'ClientIPRecursive maybe',                  [ qr/maybe/ ] ],
    [ 'file: bad line 3',       'ClientIPTrustedProxiesFile conf/bad-line3.list',
                                [ qr/bad-line3\.list/, qr/line 3\b/, qr/10\.0\.0\.256/ ] ],
    [ 'file: host name on line 5', 'ClientIPTrustedProxiesFile conf/bad-line5.list',
                                [ qr/bad-line5\.list/, qr/line 5\b/, qr/example\.com/ ] ],
    [ 'file missing',           'ClientIPTrustedProxiesFile conf/missing.list', [ qr/missing\.list/ ] ],
    [ 'ClientIPForwardedProto maybe', 'ClientIPForwardedProto maybe',         [ qr/maybe/ ] ],
    [ 'ClientIPForwardedHost yes',   'ClientIPForwardedHost yes',             [ qr/yes/ ] ],
    [ 'ClientIPHeader proxy_protocol without PROXY',
      "ClientIPTrustedProxies 127.0.0.1\nClientIPHeader proxy_protocol",
                                [ qr/proxy_protocol/, qr/ClientIPProxyProtocol On or Optional/ ] ],
    [ 'ClientIPProxyProtocol without trusted proxies', 'ClientIPProxyProtocol On',
                                [ qr/ClientIPProxyProtocol On/, qr/ClientIPTrustedProxies/ ] ],
    [ 'ClientIPProxyProtocol maybe', 'ClientIPProxyProtocol maybe',     [ qr/maybe/ ] ],
    [ 'ClientIPProxyProtocolTimeout 0', "ClientIPProxyProtocolTimeout 0", [ qr/'0'/ ] ],
    [ 'ClientIPProxyProtocolExceptions bad', 'ClientIPProxyProtocolExceptions 10.0.0.0/33',
                                [ qr{10\.0\.0\.0/33} ] ],
    [ 'name-based vhosts disagree on PROXY',
      "ClientIPTrustedProxies 127.0.0.1\n<VirtualHost 127.0.0.1:$port>\n    ServerName a.example\n"
      . "    ClientIPProxyProtocol On\n</VirtualHost>\n<VirtualHost 127.0.0.1:$port>\n"
      . "    ServerName b.example\n    ClientIPProxyProtocol Off\n</VirtualHost>",
                                [ qr/a\.example/, qr/b\.example/, qr/must agree/ ] ],
);

# [ name, config body, output must match ]
my @valid = (
    [ 'every spec form',
      join("\n",
           'ClientIPTrustedProxies 192.0.2.7 10.0.0.0/8 2001:db8::1 2001:db8::/32 ::ffff:10.0.0.0/104',
           'ClientIPTrustedProxies loopback private linklocal all 0.0.0.0/0 ::/0 10.0.0.1/32 ::1/128',
           'ClientIPHeader X-Forwarded-For',
           'ClientIPRecursive On',
           'ClientIPProxiesHeader X-Forwarded-By'),
      [] ],
    [ 'Forwarded with origin',
      "ClientIPTrustedProxies 127.0.0.1\nClientIPHeader Forwarded\nClientIPForwardedProto On\n"
      . "ClientIPForwardedHost off", [] ],
    [ 'file with comments and blank lines',
      "ClientIPTrustedProxiesFile conf/good.list\nClientIPHeader X-Real-IP\nClientIPRecursive off", [] ],
    [ 'absolute file path', "ClientIPTrustedProxiesFile $dir/conf/good.list", [] ],
    [ 'per virtual host',
      "ClientIPTrustedProxies 127.0.0.1\n<VirtualHost 127.0.0.1:$port>\n"
      . "    ClientIPTrustedProxies 192.0.2.0/24\n    ClientIPHeader X-Client-Addr\n</VirtualHost>", [] ],
    [ 'host bits set: warning names the token', 'ClientIPTrustedProxies 10.1.2.3/8',
      [ qr{10\.1\.2\.3/8} ] ],
    [ 'host bits set, IPv6', 'ClientIPTrustedProxies 2001:db8::1/32', [ qr{2001:db8::1/32} ] ],
);

plan tests => @errors + @valid + 1;

for my $c (@errors) {
    my ($name, $body, $res) = @$c;
    my ($status, $out) = config_test($body);
    subtest "rejected: $name" => sub {
        isnt $status, 0, 'httpd -t fails';
        unlike $out, qr/Syntax OK/, 'no "Syntax OK"';
        like $out, $_, "message matches $_" for @$res;
    } or diag "config:\n$body\noutput:\n$out";
}

for my $c (@valid) {
    my ($name, $body, $res) = @$c;
    my ($status, $out) = config_test($body);
    subtest "accepted: $name" => sub {
        is $status, 0, 'httpd -t passes';
        like $out, qr/Syntax OK/, '"Syntax OK"';
        like $out, $_, "output matches $_" for @$res;
    } or diag "config:\n$body\noutput:\n$out";
}

# 100,000 lines: IPv4 /32s, IPv4 /24s and IPv6 /64s, with comments.
{
    my @lines = ('# 100,000 trusted proxies');
    for my $i (0 .. 99_998) {
        my $k = $i % 3;
        push @lines,
            $k == 0 ? sprintf('10.%d.%d.%d', ($i >> 16) & 255, ($i >> 8) & 255, $i & 255)
          : $k == 1 ? sprintf('172.%d.%d.0/24', 16 + (($i >> 16) & 15), ($i >> 8) & 255)
          :           sprintf('2001:db8:%x:%x::/64', ($i >> 16) & 0xffff, $i & 0xffff);
    }
    write_file("$dir/conf/big.list", join("\n", @lines) . "\n");
    my (undef, undef, $base) = config_test('ClientIPTrustedProxies 127.0.0.1');
    my ($status, $out, $secs) = config_test('ClientIPTrustedProxiesFile conf/big.list');
    my $load = $secs - $base;
    ok $status == 0 && $out =~ /Syntax OK/ && $load < 1.0,
       sprintf '100,000-line file loads in %.3f s (httpd -t %.3f s, without it %.3f s)', $load, $secs, $base
        or diag $out;
}
