# Internal redirects (ErrorDocument, Redirect 404 -> ErrorDocument) run
# post_read_request again on headers the module already rewrote. The first
# decision must stand: a second walk would take an entry the client wrote.
# Regression test for a bug found in review (the 404 page showed the
# client-written 198.51.100.1).
use strict;
use warnings;
use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use ClientIP::Test;

plan tests => 3;

sub redirected_env {
    my (%a) = @_;
    my $res = request(path => $a{path}, vhost => $a{vhost}, headers => $a{headers});
    # The ErrorDocument CGI answers with the 404 status and its environment;
    # the redirected request's own variables are the unprefixed ones.
    $res->{code} = 200 if $res->{code} == 404 && $res->{body} =~ /^REMOTE_ADDR=/m;
    return ($res, ClientIP::Test::parse_env($res));
}

{
    my ($res, $env) = redirected_env(
        vhost => 'cip_redirect', path => '/missing',
        headers => ['X-Forwarded-For' => '198.51.100.1, 203.0.113.7:4711']);
    env_ok($res, $env,
           changed(client => '203.0.113.7', port => 4711, remaining => '198.51.100.1'),
           'ErrorDocument: client from the first walk, left part intact');
}

{
    my ($res, $env) = redirected_env(
        vhost => 'cip_redirect', path => '/gone',
        headers => ['X-Forwarded-For' => '198.51.100.1, 203.0.113.7']);
    subtest 'Redirect 404 then ErrorDocument' => sub {
        is $env->{REMOTE_ADDR}, '203.0.113.7', 'REMOTE_ADDR from the first walk';
        is $env->{HTTP_X_FORWARDED_FOR}, '198.51.100.1', 'left part intact';
        is $env->{HTTP_X_FORWARDED_BY}, '127.0.0.1', 'proxies header kept (not stripped again)';
        is $env->{REDIRECT_CLIENTIP_ADDR}, '203.0.113.7', 'REDIRECT_CLIENTIP_ADDR agrees';
    };
}

{
    # Recursive: 10.1.2.3 is a trusted hop, 203.0.113.7 the client; the
    # client-written 198.51.100.1 must not be taken by a second walk.
    my ($res, $env) = redirected_env(
        vhost => 'cip_redirect_rec', path => '/missing',
        headers => ['X-Forwarded-For' => '198.51.100.1, 203.0.113.7, 10.1.2.3']);
    env_ok($res, $env,
           changed(client => '203.0.113.7', proxies => '10.1.2.3, 127.0.0.1',
                   remaining => '198.51.100.1'),
           'recursive + ErrorDocument: one walk only');
}
