# nginx as a real TLS-terminating reverse proxy in front of httpd, end to
# end: a client (curl, from 127.0.0.2) asks https://app.example:<nginx port>/
# of an unprivileged nginx with a self-signed certificate; nginx proxies to
# httpd over plain http from 127.0.0.1 and reports the client, scheme, host
# and port. httpd must show the client 127.0.0.2, https, the host and port the
# client asked for, and redirect to them.
#
# Two nginx servers, one per httpd virtual host (both trust 127.0.0.1 only,
# ClientIPForwardedProto On, ClientIPForwardedHost On):
#   -> cip_nginx_xff: X-Forwarded-For $proxy_add_x_forwarded_for,
#      X-Forwarded-Proto $scheme, X-Forwarded-Host $host and
#      X-Forwarded-Port $server_port ($host carries no port: without
#      X-Forwarded-Port httpd would fall back to 443 and point redirects at
#      the wrong port);
#   -> cip_nginx_fwd: Forwarded "for=$remote_addr;proto=$scheme;host=\"$host:$server_port\""
#      (host= quoted: ':' is not a token character), X-Forwarded-* cleared.
# Each listens with TLS on one port and plain http on another.
use strict;
use warnings;
use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use ClientIP::Test;

unless (nginx_binary()) {
    plan tests => 1;
    fail('nginx is installed');
    diag 'nginx not found (looked in /usr/sbin, /usr/local/sbin and PATH): '
       . 'run scripts/install-deps, which installs it';
    exit 1;
}

my $logs = t_logs();
my %backend = (xff => vhost_port('cip_nginx_xff'), fwd => vhost_port('cip_nginx_fwd'));
my %used;
sub fresh_port { my $p; do { $p = free_port() } while $used{$p}++; $p }
my %tls   = (xff => fresh_port(), fwd => fresh_port());
my %plain = (xff => fresh_port(), fwd => fresh_port());
my $host  = 'app.example';

my $http = <<"CONF";
    server {
        listen 127.0.0.1:$tls{xff} ssl;
        listen 127.0.0.1:$plain{xff};
        server_name $host;
        ssl_certificate \$DIR/cert.pem;
        ssl_certificate_key \$DIR/key.pem;
        location / {
            proxy_pass http://127.0.0.1:$backend{xff};
            # httpd must build the redirect itself: nginx leaves Location alone.
            proxy_redirect off;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_set_header X-Forwarded-Host \$host;
            proxy_set_header X-Forwarded-Port \$server_port;
            proxy_set_header Forwarded "";
        }
    }
    server {
        listen 127.0.0.1:$tls{fwd} ssl;
        listen 127.0.0.1:$plain{fwd};
        server_name $host;
        ssl_certificate \$DIR/cert.pem;
        ssl_certificate_key \$DIR/key.pem;
        location / {
            proxy_pass http://127.0.0.1:$backend{fwd};
            proxy_redirect off;
            proxy_set_header Forwarded "for=\$remote_addr;proto=\$scheme;host=\\"\$host:\$server_port\\"";
            proxy_set_header X-Forwarded-For "";
            proxy_set_header X-Forwarded-Proto "";
            proxy_set_header X-Forwarded-Host "";
            proxy_set_header X-Forwarded-Port "";
        }
    }
CONF

my $nginx = eval {
    nginx_server(http => $http, cert_name => $host,
                 listen => [ values(%tls), values(%plain) ]);
};
unless ($nginx) {
    plan tests => 1;
    fail('nginx started');
    diag $@;
    exit 1;
}

plan tests => 10;

# What the client sends on top: its own claims, which nginx must overwrite
# (or, for X-Forwarded-For, append to).
my @spoof = ('X-Forwarded-For' => '6.6.6.6', 'X-Forwarded-Proto' => 'http',
             'X-Forwarded-Host' => 'evil.example', 'X-Forwarded-Port' => '1',
             Forwarded => 'for=6.6.6.6;proto=http;host=evil.example');

sub through_nginx {
    my ($scheme, $port, $path) = @_;
    return curl_request(url => "$scheme://$host:$port$path", from => untrusted,
                        resolve => ["$host:$port:127.0.0.1"], headers => [@spoof]);
}

sub env_of {
    my ($res) = @_;
    return ClientIP::Test::parse_env($res);
}

for my $kind (qw(xff fwd)) {
    my $source = $kind eq 'xff' ? 'X-Forwarded-For' : 'Forwarded';

    # ---- https ----
    my $res = through_nginx('https', $tls{$kind}, '/cgi-bin/env.cgi');
    my $env = env_of($res);
    subtest "$kind: https through nginx, CGI environment" => sub {
        is $res->{code}, 200, 'status 200' or diag $res->{error} // $res->{body};
        is $env->{REMOTE_ADDR}, '127.0.0.2', 'REMOTE_ADDR is the client behind nginx';
        is $res->{headers}{'x-seen-client'}, '127.0.0.2', 'ap_expr %{REMOTE_ADDR} agrees';
        is $env->{CLIENTIP_PEER_ADDR}, '127.0.0.1', 'the peer is nginx';
        is $env->{CLIENTIP_SOURCE}, $source, "CLIENTIP_SOURCE=$source";
        is $env->{CLIENTIP_PROXIES}, '127.0.0.1', 'CLIENTIP_PROXIES=127.0.0.1';
        is $env->{HTTPS}, 'on', 'HTTPS=on';
        is $env->{REQUEST_SCHEME}, 'https', 'REQUEST_SCHEME=https';
        is $env->{SERVER_NAME}, $host, "SERVER_NAME=$host (the Host the client asked for)";
        is $env->{SERVER_PORT}, $tls{$kind}, "SERVER_PORT=$tls{$kind} (nginx's TLS port)";
        # nginx talks to httpd with its own Host (proxy_pass's 127.0.0.1:port),
        # which is what selected the virtual host.
        is $env->{HTTP_HOST}, "127.0.0.1:$backend{$kind}", 'Host as nginx sent it';
        if ($kind eq 'xff') {
            is $env->{HTTP_X_FORWARDED_FOR}, '6.6.6.6', 'the client-written part stays';
            is $env->{HTTP_X_FORWARDED_PROTO}, 'https', 'nginx replaced X-Forwarded-Proto';
            is $env->{HTTP_X_FORWARDED_HOST}, $host, 'nginx replaced X-Forwarded-Host';
            ok !exists $env->{HTTP_FORWARDED}, 'Forwarded cleared by nginx';
        }
        else {
            ok !exists $env->{HTTP_FORWARDED}, 'Forwarded consumed (nginx wrote one element)';
            ok !exists $env->{HTTP_X_FORWARDED_PROTO}, 'X-Forwarded-Proto cleared by nginx';
            ok !exists $env->{HTTP_X_FORWARDED_HOST}, 'X-Forwarded-Host cleared by nginx';
        }
    };

    $res = through_nginx('https', $tls{$kind}, '/dir');
    subtest "$kind: https through nginx, mod_dir redirect" => sub {
        is $res->{code}, 301, 'status 301' or diag $res->{error} // $res->{body};
        like $res->{headers}{location} // '(none)', qr{^https://\Q$host\E:$tls{$kind}/dir/(?:\?|$)},
             "Location https://$host:$tls{$kind}/dir/";
    };

    # ---- plain http on the other port ----
    $res = through_nginx('http', $plain{$kind}, '/dir');
    my $env_res = through_nginx('http', $plain{$kind}, '/cgi-bin/env.cgi');
    $env = env_of($env_res);
    subtest "$kind: plain http through nginx" => sub {
        is $res->{code}, 301, 'status 301' or diag $res->{error} // $res->{body};
        like $res->{headers}{location} // '(none)', qr{^http://\Q$host\E:$plain{$kind}/dir/(?:\?|$)},
             "Location http://$host:$plain{$kind}/dir/";
        is $env->{REMOTE_ADDR}, '127.0.0.2', 'REMOTE_ADDR';
        is $env->{REQUEST_SCHEME}, 'http', 'REQUEST_SCHEME=http';
        ok !exists $env->{HTTPS}, 'HTTPS unset';
        is $env->{SERVER_PORT}, $plain{$kind}, "SERVER_PORT=$plain{$kind}";
    };

    # ---- the access log: what an operator sees ----
    $res = through_nginx('https', $tls{$kind}, '/cgi-bin/env.cgi');
    my $line = wait_log_line("$logs/cip_nginx_access_log", $res->{id});
    like $line // '(no line)',
         qr{ client=127\.0\.0\.2 peer=127\.0\.0\.1 scheme=https https=on name=\Q$host\E$},
         "$kind: access log line of an https request through nginx";
}

# nginx saw the client as 127.0.0.2 too (the test really went through it).
{
    my $res = through_nginx('https', $tls{xff}, '/hello.txt');
    my @lines = ClientIP::Test::log_lines_for($nginx->{access_log}, $res->{id});
    like $lines[0] // '(no line)', qr{^127\.0\.0\.2 }, "nginx's own access log: client 127.0.0.2";
}

# The same headers straight from 127.0.0.2, bypassing nginx: all ignored.
{
    my ($res, $env) = cgi_env(vhost => 'cip_nginx_xff', from => untrusted,
                              headers => [Host => "$host:443", @spoof]);
    subtest 'bypassing nginx from 127.0.0.2: nothing forwarded is believed' => sub {
        is $res->{code}, 200, 'status 200';
        is $env->{REMOTE_ADDR}, '127.0.0.2', 'REMOTE_ADDR is the peer';
        is $env->{REQUEST_SCHEME}, 'http', 'REQUEST_SCHEME=http';
        ok !exists $env->{HTTPS}, 'HTTPS unset';
        is $env->{SERVER_NAME}, $host, 'SERVER_NAME from the Host header';
        is $env->{SERVER_PORT}, 443, 'SERVER_PORT from the Host header';
        is $env->{HTTP_X_FORWARDED_FOR}, '6.6.6.6', 'X-Forwarded-For untouched';
    };
}
