# scripts/check-config: the effective settings per virtual host and the
# PROXY mode per address, as httpd merged them (inheritance from the main
# server, "none" switching the module off, a vhost's own header and PROXY
# mode), printed by the module under `apache2 -t -D CLIENTIP_DUMP_CONFIG`.
# Without the define, `-t` prints nothing of the module's.
use strict;
use warnings;
use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use ClientIP::Test;
use File::Temp qw(tempdir);

my $httpd = Apache::Test::config()->{vars}{httpd};
my $script = "$FindBin::Bin/../scripts/check-config";

my $dir = tempdir('clientip-check-XXXXXX', TMPDIR => 1, CLEANUP => 1);
mkdir "$dir/logs";
my ($p1, $p2, $p3) = (free_port(), free_port(), free_port());
open my $fh, '>', "$dir/list.txt" or die $!;
print $fh "# the balancers\n198.51.100.0/24\n203.0.113.0/24\n";
close $fh;

my $conf = minimal_config(dir => $dir, port => $p1, body => <<"BODY");
Listen 127.0.0.1:$p2
Listen 127.0.0.1:$p3
ClientIPTrustedProxies 10.0.0.0/8 127.0.0.1 2001:db8::/32
ClientIPHeader X-Forwarded-For
ClientIPRecursive On
<VirtualHost 127.0.0.1:$p1>
    ServerName inherits.example
</VirtualHost>
<VirtualHost 127.0.0.1:$p2>
    ServerName nlb.example
    ClientIPTrustedProxiesFile "$dir/list.txt"
    ClientIPHeader proxy_protocol
    ClientIPProxyProtocol On
    ClientIPProxyProtocolTimeout 3
    ClientIPProxyProtocolExceptions 198.51.100.9
    ClientIPForwardedProto On
</VirtualHost>
<VirtualHost 127.0.0.1:$p3>
    ServerName off.example
    ClientIPTrustedProxies none
</VirtualHost>
BODY
open $fh, '>', "$dir/httpd.conf" or die $!;
print $fh $conf;
close $fh;

plan tests => 19;

local $ENV{HTTPD} = $httpd;
my $out = `'$script' -f '$dir/httpd.conf' 2>&1`;
is($? >> 8, 0, 'check-config exits 0 for a valid configuration') or diag($out);

# The block of lines printed for one server, by its label.
sub block {
    my ($label) = @_;
    my ($b) = $out =~ /^(\Q$label\E.*?)(?:\n\n|\nPROXY protocol by address|\z)/ms;
    return $b // '';
}

my $main = block('the main server');
like($main, qr/^  trusted proxies +3 networks: 10\.0\.0\.0\/8, 127\.0\.0\.1\/32, 2001:db8::\/32$/m,
     'main server: its three networks, in address order');
like($main, qr/^  header +X-Forwarded-For \(address list\)$/m, 'main server: the header');
like($main, qr/^  recursive +On$/m, 'main server: recursive');
like($main, qr/^  PROXY protocol +Off$/m, 'main server: PROXY off');

my $inh = block('<VirtualHost> of inherits.example');
like($inh, qr/^  trusted proxies +3 networks: 10\.0\.0\.0\/8/m, 'a vhost inherits the list');
like($inh, qr/^  header +X-Forwarded-For/m, '... and the header');
like($inh, qr/^  recursive +On$/m, '... and recursion');

my $nlb = block('<VirtualHost> of nlb.example');
like($nlb, qr/^  trusted proxies +2 networks: 198\.51\.100\.0\/24, 203\.0\.113\.0\/24$/m,
     'a vhost with its own file: its networks replace the inherited ones');
like($nlb, qr/^  header +proxy_protocol \(the PROXY header only\)$/m, '... header proxy_protocol');
like($nlb, qr/^  PROXY protocol +On, timeout 3 s$/m, '... PROXY On with its timeout');
like($nlb, qr/^  PROXY exceptions +1 network: 198\.51\.100\.9\/32$/m, '... the exception');
like($nlb, qr/^  forwarded proto +On$/m, '... forwarded proto');

my $off = block('<VirtualHost> of off.example');
like($off, qr/^  trusted proxies +none: the module is off here$/m, '"none" shows as off');
unlike($off, qr/header/, '... and nothing else is listed for it');

like($out, qr/^PROXY protocol by address.*\n  127\.0\.0\.1:$p2 +On \(<VirtualHost> of nlb\.example/m,
     'the PROXY address table names the address, mode and vhost');
unlike($out, qr/127\.0\.0\.1:$p1 /, '... and only addresses where a mode is set');

# Without the define, a config test prints nothing of ours.
my $plain = `'$httpd' -t -f '$dir/httpd.conf' 2>&1`;
unlike($plain, qr/effective configuration/, 'plain -t: no report');

# A configuration that does not load the module is said to be so.
open $fh, '>', "$dir/nomod.conf" or die $!;
(my $nomod = $conf) =~ s/^LoadModule clientip_module.*\n//m;
$nomod =~ s/^\s*ClientIP.*\n//mg;
print $fh $nomod;
close $fh;
my $no = `'$script' -f '$dir/nomod.conf' 2>&1`;
ok(($? >> 8) == 1 && $no =~ /does not load mod_clientip/,
   'a configuration without the module: exit 1 and a clear message') or diag($no);
