# Hostile X-Forwarded-For values from a TRUSTED peer: the request still
# succeeds, the client stays the peer, the header is passed on as it came,
# and with "LogLevel clientip:debug" (cip_hostile) the error log has the
# module's decision trail for that request, naming the offending entry.
# Without it (cip_quiet) there is no such trail.
#
# Both hosts: trust 127.0.0.1 10.0.0.0/8, X-Forwarded-For, recursive On.
use strict;
use warnings;
use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use ClientIP::Test;

my $x600     = join ',', ('x') x 600;
my $empty600 = ',' x 599;
my $big_junk = 'a' x 8000;
my $big_list = join(', ', map { sprintf '198.51.%d.%d', int($_ / 250), $_ % 250 + 1 } 0 .. 590)
             . ', junk';
die 'big list not ~8 KB' unless length($big_list) > 7900 && length($big_list) < 8150;

# [ name, header value, what the log line names (regex) or undef ]
my @cases = (
    [ 'garbage',                   'garbage',            qr/garbage/ ],
    [ 'host name',                 'example.com',        qr/example\.com/ ],
    [ 'host name with port',       'example.com:80',     qr/example\.com/ ],
    [ '"unknown"',                 'unknown',            qr/unknown/ ],
    [ 'obfuscated identifier',     '_hidden',            qr/_hidden/ ],
    [ 'zone id',                   'fe80::1%eth0',       qr/fe80::1/ ],
    [ 'bracketed zone id',         '[fe80::1%eth0]:80',  qr/fe80::1/ ],
    [ 'port out of range',         '1.2.3.4:70000',      qr/70000/ ],
    [ 'port 0',                    '1.2.3.4:0',          qr/1\.2\.3\.4:0/ ],
    [ 'port missing after colon',  '1.2.3.4:',           qr/1\.2\.3\.4/ ],
    [ 'port not decimal',          '1.2.3.4:http',       qr/http/ ],
    [ 'v6 port out of range',      '[2001:db8::1]:65536', qr/65536/ ],
    [ 'short IPv4 127.1',          '127.1',              qr/127\.1\b/ ],
    [ 'octal-looking 010.0.0.1',   '010.0.0.1',          qr/010\.0\.0\.1/ ],
    [ 'hex IPv4',                  '0x7f.0.0.1',         qr/0x7f/ ],
    [ 'octet > 255',               '256.1.1.1',          qr/256\.1\.1\.1/ ],
    [ 'five parts',                '1.2.3.4.5',          qr/1\.2\.3\.4\.5/ ],
    [ 'CIDR in a header',          '203.0.113.0/24',     qr{203\.0\.113\.0/24} ],
    [ 'quoted address',            '"203.0.113.7"',      qr/203\.0\.113\.7/ ],
    [ 'two addresses, no comma',   '203.0.113.7 198.51.100.1', qr/203\.0\.113\.7/ ],
    [ 'bad IPv6',                  '2001:db8:::1',       qr/2001:db8:::1/ ],
    [ 'unclosed bracket',          '[2001:db8::1',       qr/2001:db8::1/ ],
    [ 'empty rightmost entry',     '203.0.113.7,',       undef ],
    [ 'only commas',               ', ,,',               undef ],
    [ '600 garbage entries',       $x600,                undef ],
    [ '600 empty entries',         $empty600,            undef ],
    [ '8 KB single entry',         $big_junk,            undef ],
    [ '8 KB list ending in junk',  $big_list,            qr/junk/ ],
);

plan tests => @cases + 3;

my $hostile_log = t_logs() . '/cip_hostile_error_log';
my $quiet_log   = t_logs() . '/cip_quiet_error_log';

# What httpd hands on: leading and trailing white space of a field value is
# not part of it.
sub as_passed { my $v = shift; $v =~ s/^[ \t]+|[ \t]+$//g; $v }

for my $c (@cases) {
    my ($name, $value, $names) = @$c;
    my ($res, $env) = cgi_env(vhost => 'cip_hostile', headers => ['X-Forwarded-For' => $value]);
    subtest "hostile: $name" => sub {
        env_ok($res, $env, unchanged(value => as_passed($value)), 'client unchanged, header untouched');
        my @lines = error_lines_for($hostile_log, $res->{id}, want => qr/clientip.*debug|debug.*clientip/i);
        my @trail = grep { /clientip/i && /debug/ } @lines;
        ok scalar(@trail), 'debug trail logged for this request'
            or diag "error log lines for $res->{id}:\n", join "\n", @lines;
        if ($names) {
            ok scalar(grep { $_ =~ $names } @trail), "trail names the entry ($names)"
                or diag join "\n", @trail;
        }
    };
}

# The same input on a host without "LogLevel clientip:debug": no trail.
{
    my ($res, $env) = cgi_env(vhost => 'cip_quiet', headers => ['X-Forwarded-For' => 'example.com']);
    env_ok($res, $env, unchanged(value => 'example.com'), 'cip_quiet: host name ignored too');
    # Wait for the access log line first: once it is there, anything the
    # request logged is in the error log.
    wait_log_line(t_logs() . '/clientip_access_log', $res->{id});
    my @lines = error_lines_for($quiet_log, $res->{id}, expect_none => 1);
    ok !grep({ /clientip/i && /debug/ } @lines), 'cip_quiet: no debug trail without LogLevel clientip:debug'
        or diag join "\n", @lines;
}

# A clean request on the debug host logs a trail too (the walk and its result),
# so the trail is not only an error message.
{
    my ($res, $env) = cgi_env(vhost => 'cip_hostile',
                              headers => ['X-Forwarded-For' => '203.0.113.7, 10.1.2.3']);
    my @trail = grep { /clientip/i && /debug/ }
                error_lines_for($hostile_log, $res->{id}, want => qr/203\.0\.113\.7/);
    ok scalar(grep { /203\.0\.113\.7/ } @trail), 'debug trail of a good request names the client'
        or diag join "\n", @trail;
}
