# The forms a list entry may take: ip, ip:port, [v6], [v6]:port, bare v6,
# IPv4-mapped IPv6 (reported dotted), spaces and tabs around. The client's
# port is CLIENTIP_PORT when the entry carried one, unset otherwise.
#
# cip_inherit: trusts 127.0.0.1 10.0.0.0/8, X-Forwarded-For, recursive Off.
use strict;
use warnings;
use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use ClientIP::Test;

# [ header value, client, port, what is left of the header ]
my @cases = (
    [ '203.0.113.7',                      '203.0.113.7',  undef ],
    [ '203.0.113.7:4711',                 '203.0.113.7',  4711 ],
    [ '203.0.113.7:1',                    '203.0.113.7',  1 ],
    [ '203.0.113.7:65535',                '203.0.113.7',  65535 ],
    [ '0.0.0.0',                          '0.0.0.0',      undef ],
    [ '255.255.255.255:80',               '255.255.255.255', 80 ],
    [ '[2001:db8::7]',                    '2001:db8::7',  undef ],
    [ '[2001:db8::7]:4711',               '2001:db8::7',  4711 ],
    [ '2001:db8::7',                      '2001:db8::7',  undef ],
    [ '2001:db8:0:1:2:3:4:5',             '2001:db8:0:1:2:3:4:5', undef ],
    [ '::ffff:203.0.113.9',               '203.0.113.9',  undef ],
    [ '[::ffff:203.0.113.9]:80',          '203.0.113.9',  80 ],
    [ "\t 203.0.113.7:8080 \t",           '203.0.113.7',  8080 ],
    [ "198.51.100.1 ,\t [2001:db8::7]:4711", '2001:db8::7', 4711, '198.51.100.1' ],
    [ "198.51.100.1,203.0.113.7",         '203.0.113.7',  undef, '198.51.100.1' ],
    [ "garbage ,\t203.0.113.7:99",        '203.0.113.7',  99, 'garbage' ],
);

plan tests => scalar @cases;

for my $c (@cases) {
    my ($value, $client, $port, $remaining) = @$c;
    my ($res, $env) = cgi_env(vhost => 'cip_inherit', headers => ['X-Forwarded-For' => $value]);
    (my $shown = $value) =~ s/\t/\\t/g;
    env_ok($res, $env,
           changed(client => $client, port => $port, proxies => '127.0.0.1',
                   remaining => $remaining),
           "X-Forwarded-For: '$shown' -> $client" . (defined $port ? " port $port" : ' no port'));
}
