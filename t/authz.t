# Authorization sees the client: "Require ip 203.0.113.0/24" admits a client
# from that network forwarded by a trusted proxy and no one else;
# "Require trusted-proxy" admits requests whose PEER is trusted, whatever the
# headers say. (cip_authz: trust 127.0.0.1 10.0.0.0/8, recursive Off.)
use strict;
use warnings;
use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use ClientIP::Test;

# [ path, from, X-Forwarded-For (undef: none), expected status ]
my @cases = (
    [ '/authz-ip/index.txt',    trusted,   '203.0.113.50',          200 ],
    [ '/authz-ip/index.txt',    trusted,   '198.51.100.1, 203.0.113.50:8080', 200 ],
    [ '/authz-ip/index.txt',    trusted,   '198.51.100.1',          403 ],
    [ '/authz-ip/index.txt',    trusted,   '203.0.113.50, 198.51.100.1', 403 ],
    [ '/authz-ip/index.txt',    trusted,   undef,                   403 ],
    [ '/authz-ip/index.txt',    trusted,   'garbage',               403 ],
    [ '/authz-ip/index.txt',    untrusted, '203.0.113.50',          403 ],
    [ '/authz-proxy/index.txt', trusted,   undef,                   200 ],
    [ '/authz-proxy/index.txt', trusted,   '203.0.113.7',           200 ],
    [ '/authz-proxy/index.txt', trusted,   'garbage',               200 ],
    [ '/authz-proxy/index.txt', untrusted, undef,                   403 ],
    [ '/authz-proxy/index.txt', untrusted, '127.0.0.1',             403 ],
    [ '/authz-proxy/index.txt', untrusted, '10.1.2.3, 127.0.0.1',   403 ],
);

plan tests => scalar @cases;

for my $c (@cases) {
    my ($path, $from, $xff, $status) = @$c;
    my $res = request(vhost => 'cip_authz', path => $path, from => $from,
                      headers => [defined $xff ? ('X-Forwarded-For' => $xff) : ()]);
    my $body_ok = $status != 200 || $res->{body} =~ /ok/;
    ok $res->{code} == $status && $body_ok,
       sprintf '%s from %s with %s: %d', $path, $from,
               defined $xff ? "X-Forwarded-For '$xff'" : 'no header', $status
        or diag "got $res->{code}";
}
