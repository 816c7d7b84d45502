# Installation: scripts/install-module (make install / make uninstall) into a
# DESTDIR staging root, never the real system. For the Debian and the RHEL
# layout (CLIENTIP_LAYOUT): the .so is the built one, byte for byte, at
# LIBEXECDIR under the root; the load file's LoadModule line names that path
# without the root; clientip.conf is the shipped one; `apache2 -t` accepts the
# staged files together; an edited clientip.conf survives a reinstall and an
# uninstall; uninstall leaves no file behind. Without a built module, install
# refuses and writes nothing.
#
# Builds nothing (the suite runs against the module built before it) and does
# not use the Apache::Test server.
use strict;
use warnings;
use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use ClientIP::Test;
use Cwd qw(realpath);
use File::Compare qw(compare);
use File::Copy qw(copy);
use File::Find qw(find);
use File::Path qw(make_path);
use File::Temp qw(tempdir);

my $httpd  = Apache::Test::config()->{vars}{httpd};
my $apxs   = Apache::Test::config()->{vars}{apxs} || 'apxs';
my $repo   = realpath(server_root() . '/..');
my $script = "$repo/scripts/install-module";
my $built  = "$repo/.libs/mod_clientip.so";
my $mods   = '/usr/lib/apache2/modules';

chomp(my $libexecdir = qx{"$apxs" -q LIBEXECDIR});
die "'$apxs -q LIBEXECDIR' failed\n" if $? or $libexecdir eq '';

my %layout = (
    debian => { load => 'etc/apache2/mods-available/clientip.load',
                conf => 'etc/apache2/mods-available/clientip.conf' },
    rhel   => { load => 'etc/httpd/conf.modules.d/10-clientip.conf',
                conf => 'etc/httpd/conf.d/clientip.conf' },
);

plan tests => 2 * keys(%layout) + 2;

sub spew {
    my ($path, $text, $mode) = @_;
    open my $fh, $mode // '>', $path or die "$path: $!";
    print $fh $text;
    close $fh or die "$path: $!";
}

# Runs the script with DESTDIR and CLIENTIP_LAYOUT set; (exit status, output).
sub run_script {
    my ($script_path, $action, %env) = @_;
    local $ENV{APXS} = $apxs;
    local @ENV{ keys %env } = values %env;
    my $out = qx{"$script_path" $action 2>&1};
    return ($? >> 8, $out);
}

# Every file (and symlink) under $dir, relative to it.
sub files_under {
    my ($dir) = @_;
    my @f;
    find({ no_chdir => 1, wanted => sub {
        push @f, substr($_, length($dir) + 1) if -f $_ or -l $_;
    } }, $dir);
    return sort @f;
}

# apache2 -t on a minimal server that includes $load (a LoadModule file) and
# $conf; (exit status, output).
sub config_test {
    my ($dir, $load, $conf) = @_;
    my $port = free_port();
    make_path("$dir/logs");
    my $main = "$dir/httpd.conf";
    spew($main, <<"EOF");
ServerRoot "$dir"
ServerName localhost
LoadModule mpm_prefork_module $mods/mod_mpm_prefork.so
LoadModule authz_core_module $mods/mod_authz_core.so
Listen 127.0.0.1:$port
PidFile "$dir/logs/httpd.pid"
ErrorLog "$dir/logs/error_log"
DefaultRuntimeDir "$dir/logs"
Include "$load"
Include "$conf"
EOF
    my $out = qx{"$httpd" -t -f "$main" 2>&1};
    return ($? >> 8, $out);
}

for my $name (sort keys %layout) {
    my $root = realpath(tempdir("clientip-install-$name-XXXXXX", TMPDIR => 1, CLEANUP => 1));
    my $load = "$root/$layout{$name}{load}";
    my $conf = "$root/$layout{$name}{conf}";
    my $so   = "$root$libexecdir/mod_clientip.so";
    my %env  = (DESTDIR => $root, CLIENTIP_LAYOUT => $name);

    subtest "$name: install into DESTDIR" => sub {
        my ($rc, $out) = run_script($script, 'install', %env);
        is($rc, 0, 'install exits 0') or diag($out);

        ok(-f $so, "module at DESTDIR$libexecdir/mod_clientip.so") or return;
        is(compare($so, $built), 0, 'identical to .libs/mod_clientip.so');
        is((stat $so)[2] & 07777, 0644, 'module mode 0644');
        is((stat $so)[4], $<, 'module owned by the user who ran install');

        ok(-f $load, "load file $layout{$name}{load}") or return;
        my @lm = grep { /^\s*LoadModule\b/ } split /\n/, slurp($load);
        is(scalar @lm, 1, 'one LoadModule line') or diag(slurp($load));
        my $real = realpath($so);
        (my $want = $real) =~ s/^\Q$root\E//;
        is($lm[0], "LoadModule clientip_module $want",
           'LoadModule names the staged module without DESTDIR');
        is((stat $load)[2] & 07777, 0644, 'load file mode 0644');

        ok(-f $conf, "conf file $layout{$name}{conf}") or return;
        is(compare($conf, "$repo/conf/clientip.conf"), 0, 'conf is conf/clientip.conf');
        my @active = grep { !/^\s*(?:#.*)?$/ and !m{^\s*</?IfModule\b} } split /\n/, slurp($conf);
        is_deeply(\@active, [], 'conf sets nothing: every directive commented out')
            or diag(join "\n", @active);

        # httpd reads the staged files: the load file with its path moved
        # under DESTDIR (where the module is), the conf as installed.
        my $check = tempdir("clientip-install-t-XXXXXX", TMPDIR => 1, CLEANUP => 1);
        (my $text = slurp($load)) =~ s/^(\s*LoadModule\s+clientip_module\s+)\S+/$1"$real"/m;
        spew("$check/clientip.load", $text);
        my ($trc, $tout) = config_test($check, "$check/clientip.load", $conf);
        is($trc, 0, 'apache2 -t passes with the staged load and conf files') or diag($tout);
        like($tout, qr/Syntax OK/, 'Syntax OK');

        # The examples are real directives: uncommented, they pass too.
        (my $all = slurp($conf)) =~ s/^(\s*)#(?=[A-Z<])/$1/mg;
        spew("$check/all.conf", $all);
        ($trc, $tout) = config_test($check, "$check/clientip.load", "$check/all.conf");
        is($trc, 0, 'apache2 -t passes with every example uncommented') or diag($tout);
    };

    subtest "$name: reinstall keeps an edited conf, uninstall removes the rest" => sub {
        my $edit = "ClientIPTrustedProxies 192.0.2.10\n";
        spew($conf, $edit, '>>');
        my ($rc, $out) = run_script($script, 'install', %env);
        is($rc, 0, 'second install exits 0') or diag($out);
        like(slurp($conf), qr/\Q$edit\E\z/, 'edited conf kept');
        is(compare("$conf.new", "$repo/conf/clientip.conf"), 0, 'shipped conf written as .new');
        like($out, qr/kept \Q$conf\E/, 'install says it kept the conf');

        ($rc, $out) = run_script($script, 'uninstall', %env);
        is($rc, 0, 'uninstall exits 0') or diag($out);
        ok(!-e $so,   'module removed');
        ok(!-e $load, 'load file removed');
        ok(!-e "$conf.new", 'conf.new removed');
        ok(-f $conf, 'edited conf kept') and like($out, qr/kept \Q$conf\E/, 'uninstall names it');

        # A fresh install and uninstall, unedited: nothing may remain.
        unlink $conf or die "$conf: $!";
        ($rc, $out) = run_script($script, 'install', %env);
        is($rc, 0, 'install exits 0') or diag($out);
        ($rc, $out) = run_script($script, 'uninstall', %env);
        is($rc, 0, 'uninstall exits 0') or diag($out);
        is_deeply([ files_under($root) ], [], 'no file left under DESTDIR');
    };
}

# Without .libs/mod_clientip.so, install refuses and writes nothing.
subtest 'install refuses an unbuilt module' => sub {
    my $fake = tempdir('clientip-install-src-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    make_path("$fake/scripts", "$fake/conf");
    copy($script, "$fake/scripts/install-module") or die "copy: $!";
    chmod 0755, "$fake/scripts/install-module";
    copy("$repo/conf/$_", "$fake/conf/$_") or die "copy: $!" for qw(clientip.load clientip.conf);
    my $root = tempdir('clientip-install-none-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my ($rc, $out) = run_script("$fake/scripts/install-module", 'install',
                                DESTDIR => $root, CLIENTIP_LAYOUT => 'debian');
    isnt($rc, 0, 'install fails');
    like($out, qr/not built: run 'make'/, 'and says to run make');
    is_deeply([ files_under($root) ], [], 'nothing written');
};

# Bad arguments and a DESTDIR apxs cannot take are refused.
subtest 'usage and DESTDIR checks' => sub {
    my ($rc, $out) = run_script($script, 'reinstall');
    is($rc, 2, 'unknown action: exit 2');
    like($out, qr/usage: .*install\|uninstall/, 'usage printed');
    ($rc, $out) = run_script($script, 'install', DESTDIR => 'relative/root');
    isnt($rc, 0, 'relative DESTDIR refused');
    like($out, qr/DESTDIR must be an absolute path/, 'with a message');
    ($rc, $out) = run_script($script, 'install', DESTDIR => '/tmp/has space');
    isnt($rc, 0, 'DESTDIR with a space refused');
    ok(!-e '/tmp/has space', 'nothing created');
};
