# The harness itself: the server is up with mod_clientip loaded, the CGI runs,
# and the test client can play both a trusted (127.0.0.1) and an untrusted
# (127.0.0.2) peer.
use strict;
use warnings;
use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use ClientIP::Test;

plan tests => 6;

my ($res, $env) = cgi_env(vhost => 'cip_inherit');
is $res->{code}, 200, 'CGI answers';
is $env->{REMOTE_ADDR}, '127.0.0.1', 'no header: REMOTE_ADDR is the peer 127.0.0.1';
is $env->{REMOTE_PORT}, $res->{local_port}, 'REMOTE_PORT is our source port';

($res, $env) = cgi_env(vhost => 'cip_inherit', from => untrusted);
is $env->{REMOTE_ADDR}, '127.0.0.2', 'binding 127.0.0.2 makes the peer 127.0.0.2';

my $extra = Apache::Test::config()->{vars}{t_conf} . '/extra.conf';
open my $fh, '<', $extra or die "$extra: $!";
ok scalar(grep { m{^\s*LoadModule\s+clientip_module\s+"?\S+/\.libs/mod_clientip\.so"?\s*$} } <$fh>),
   'the server loads .libs/mod_clientip.so';
like $res->{headers}{'x-seen-client'} // '', qr/^127\.0\.0\.2$/,
   'Header "expr=%{REMOTE_ADDR}" echoes the client';
