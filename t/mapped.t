# An IPv4-mapped IPv6 peer matches IPv4 entries and is reported dotted. A
# dual-stack listener ([::]:port) sees an IPv4 client as ::ffff:127.0.0.1;
# with "ClientIPTrustedProxies 127.0.0.1" that peer must be trusted, and
# ::ffff:127.0.0.2 not. Needs an httpd of its own: Apache::Test's hosts
# listen on 0.0.0.0 only. Skipped where [::] cannot be bound.
use strict;
use warnings;
use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use ClientIP::Test;
use IO::Socket::IP ();

my $port = free_port();
my $v6 = IO::Socket::IP->new(LocalHost => '::', LocalPort => $port, Listen => 1, V6Only => 0);
plan skip_all => "cannot listen on [::]:$port" unless $v6;
close $v6;

my $body = <<'CONF';
ClientIPTrustedProxies 127.0.0.1 10.0.0.0/8
ClientIPHeader X-Forwarded-For
ClientIPRecursive On
LogFormat "%U%q %a %{c}a" mapped
CustomLog "$DIR/logs/access_log" mapped
CONF

my $server = eval { standalone_server(listen => ["[::]:$port"], body => $body) };
exit_unless_started($server, $@);

plan tests => 4;

{
    my ($res, $env) = cgi_env(vhost => 'dual-stack', port => $port,
                              headers => ['X-Forwarded-For' => '203.0.113.7, ::ffff:10.1.2.3']);
    env_ok($res, $env,
           changed(client => '203.0.113.7', proxies => '10.1.2.3, 127.0.0.1'),
           'mapped peer ::ffff:127.0.0.1 trusted by 127.0.0.1, reported 127.0.0.1');
    my ($line) = log_lines_for("$server->{dir}/logs/access_log", $res->{id});
    like $line // '', qr/ 203\.0\.113\.7 127\.0\.0\.1$/, '%a is the client, %{c}a the dotted peer';
}
{
    my ($res, $env) = cgi_env(vhost => 'dual-stack', port => $port, from => untrusted,
                              headers => ['X-Forwarded-For' => '203.0.113.7']);
    env_ok($res, $env, unchanged(peer => untrusted, value => '203.0.113.7'),
           'mapped peer ::ffff:127.0.0.2 not trusted');
}
{
    my ($res, $j) = info_json(vhost => 'dual-stack', port => $port);
    is_deeply [ $j->{peer}{ip}, $j->{peer}{trusted_by} ], [ '127.0.0.1', '127.0.0.1/32' ],
        'clientip-info: peer 127.0.0.1 trusted by 127.0.0.1/32'
        or diag $res->{body};
}
