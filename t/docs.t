# The documentation's httpd configuration is real configuration: every fenced
# block labelled apache (also apacheconf, apache2) in README.md and docs/*.md,
# and every conf/*.conf shipped as an example, must pass `apache2 -t` with the
# module under test, and print nothing but "Syntax OK" (a warning fails too).
# A failure names the file and the line of the block and the line httpd
# complained about.
#
# How a snippet is checked:
# - It goes at the end of a small main-server config that loads the built
#   .libs/mod_clientip.so and a fixed set of httpd's own modules (@MODULES
#   below), so snippets may use mod_ssl, mod_headers, mod_remoteip and the
#   others without loading them. A snippet's own LoadModule line is kept, with
#   its path pointed at the real file, and the wrapper then leaves that
#   module to it.
# - Paths: the docs use the paths of a Debian system (/etc/apache2/...,
#   /etc/ssl/..., /var/log/apache2/...). Every absolute path under /etc, /var,
#   /srv, /opt or /home is moved under a fixture root made for this run, and
#   what the snippet needs there is created: trust-list files for
#   ClientIPTrustedProxiesFile (with the contents the docs show for that path
#   in a ```text block starting "# /that/path", or one documentation network
#   otherwise), a self-signed certificate and key for the SSL*File
#   directives, directories for DocumentRoot, <Directory> and log files.
# - A fragment that is not allowed in the main server ("not allowed here") is
#   checked again inside a <VirtualHost>, then inside a <Directory>.
# - A block with no language at all fails: label configuration "apache" and
#   everything else (log lines, messages, file contents) "text" or its
#   language, so that no configuration escapes this test unlabelled.
# - conf/*.conf are checked as they are and, where they hold commented-out
#   directives ("#Directive ..."), once more with those uncommented.
#
# One more test: every relative link between these Markdown files points at a
# file that exists and, with "#anchor", at a heading of it (GitHub's anchors).
#
# Uses only the httpd binary (Apache::Test's), not the Apache::Test server.
use strict;
use warnings;
use FindBin ();
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use ClientIP::Test;
use Cwd qw(realpath);
use File::Basename qw(dirname basename);
use File::Path qw(make_path);
use File::Temp qw(tempdir);

my $httpd = Apache::Test::config()->{vars}{httpd};
my $repo  = realpath(server_root() . '/..');
my $so    = "$repo/.libs/mod_clientip.so";
my $mods  = '/usr/lib/apache2/modules';

# httpd modules every snippet may use (mod_log_config is built in).
my @MODULES = qw(
    authn_core authz_core authz_host alias dir env headers mime
    proxy proxy_http proxy_fcgi remoteip reqtimeout rewrite setenvif
    socache_shmcb ssl http2 cgi
);

my $fix  = tempdir('clientip-docs-XXXXXX', TMPDIR => 1, CLEANUP => 1);
make_path("$fix/$_") for qw(logs conf htdocs);
my $port = free_port();

sub spew {
    my ($path, $text) = @_;
    make_path(dirname($path));
    open my $fh, '>', $path or die "$path: $!";
    print $fh $text;
    close $fh or die "$path: $!";
}

sub rel { my ($p) = @_; $p =~ s{^\Q$repo\E/}{}; $p }

# ---- the fenced blocks ------------------------------------------------------

# (lang, first line number of the content, content, file) for every fenced
# block of a Markdown file; dies on an unclosed fence.
sub fenced_blocks {
    my ($file) = @_;
    my @lines = split /\n/, slurp($file), -1;
    my (@blocks, $open);
    for my $i (0 .. $#lines) {
        my $line = $lines[$i];
        if (!$open) {
            next unless $line =~ /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)/;
            $open = { indent => length $1, fence => $2, lang => lc $3,
                      start => $i + 2, fence_line => $i + 1, text => [] };
        }
        elsif ($line =~ /^\s*(`{3,}|~{3,})\s*$/
               and substr($1, 0, 1) eq substr($open->{fence}, 0, 1)
               and length $1 >= length $open->{fence}) {
            push @blocks, { file => $file, lang => $open->{lang},
                            start => $open->{start}, fence_line => $open->{fence_line},
                            text => join('', map { "$_\n" } @{ $open->{text} }) };
            undef $open;
        }
        else {
            (my $content = $line) =~ s/^ {0,$open->{indent}}//;
            push @{ $open->{text} }, $content;
        }
    }
    die rel($file) . " line $open->{fence_line}: fence never closed\n" if $open;
    return @blocks;
}

my @markdown = ("$repo/README.md", sort glob "$repo/docs/*.md");
my @blocks = map { fenced_blocks($_) } @markdown;

my %is_config = map { $_ => 1 } qw(apache apacheconf apache2);
my @snippets = map { { name => rel($_->{file}) . " line $_->{fence_line}", doc => rel($_->{file}),
                       start => $_->{start}, text => $_->{text} } }
               grep { $is_config{ $_->{lang} } } @blocks;

# Trust-list files the docs show: a ```text block that starts "# /path".
my %file_contents;
for my $b (grep { $_->{lang} eq 'text' } @blocks) {
    $file_contents{$1} = $b->{text} if $b->{text} =~ m{^#\s+(/\S+)\s*\n};
}

# The shipped example configurations.
for my $conf (sort glob "$repo/conf/*.conf") {
    my $text = slurp($conf);
    push @snippets, { name => rel($conf), doc => rel($conf), start => 1, text => $text };
    # "#Directive", and "#    Directive" inside a commented-out block; prose
    # comments are "# Word" (one space) and stay.
    (my $uncommented = $text) =~ s/^(\s*)#(\s{2,})?(?=[A-Z<])/$1 . ($2 \/\/ '')/mge;
    push @snippets, { name => rel($conf) . ' (commented examples enabled)', doc => rel($conf),
                      start => 1, text => $uncommented }
        if $uncommented ne $text;
}

my @unlabelled = grep { $_->{lang} eq '' } @blocks;

plan tests => 3 + @snippets;

ok(!@unlabelled, 'every fenced block names its language')
    or diag(join "\n", map { rel($_->{file}) . " line $_->{fence_line}: "
                             . "fenced block without a language (apache for "
                             . "configuration, text for output)" } @unlabelled);

# ---- links between the documents ----------------------------------------------

# GitHub's anchor for a heading: lower case, punctuation dropped, spaces to
# hyphens; a repeated heading gets -1, -2...
sub anchors {
    my ($file) = @_;
    (my $text = slurp($file)) =~ s/^\s*(```|~~~).*?^\s*\1[^\n]*$//msg;
    my (%seen, %anchors);
    for my $h ($text =~ /^#{1,6}\s+(.+?)\s*#*\s*$/mg) {
        (my $a = lc $h) =~ s/[^\w\- ]//g;
        $a =~ s/ /-/g;
        my $n = $seen{$a}++;
        $anchors{ $n ? "$a-$n" : $a } = 1;
    }
    return \%anchors;
}

my @broken;
for my $file (@markdown) {
    (my $text = slurp($file)) =~ s/^\s*(```|~~~).*?^\s*\1[^\n]*$//msg;
    $text =~ s/`[^`\n]*`//g;
    for my $target ($text =~ /\]\(([^)\s]+)\)/g) {
        next if $target =~ m{^[a-z][a-z0-9+.-]*:}i;      # http:, mailto: ...
        my ($path, $anchor) = $target =~ /^([^#]*)(?:#(.*))?$/;
        my $dest = $path eq '' ? $file : dirname($file) . "/$path";
        if (!-e $dest) {
            push @broken, rel($file) . ": $target: no such file";
        }
        elsif (defined $anchor and $dest =~ /\.md$/ and !anchors($dest)->{$anchor}) {
            push @broken, rel($file) . ": $target: no such heading in " . rel(realpath($dest));
        }
    }
}
ok(!@broken, 'every relative link and anchor resolves') or diag(join "\n", @broken);

# ---- fixtures --------------------------------------------------------------

# One self-signed certificate for every SSL*File a snippet names.
my ($cert, $key) = ("$fix/fixture-cert.pem", "$fix/fixture-key.pem");
my $ossl = qx{openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=www.example.com -keyout "$key" -out "$cert" 2>&1};
die "openssl could not make a certificate: $ossl\n" if $? or !-s $cert;

# Moves the Debian paths of a snippet under the fixture root and creates what
# its directives need there. Returns the rewritten text.
sub prepare {
    my ($text) = @_;
    $text =~ s{(^|[\s"'=])(/(?:etc|var|srv|opt|home)/)}{$1$fix$2}mg;

    my @lines = split /\n/, $text, -1;
    for my $line (@lines) {
        # LoadModule: the real module file (the built one for mod_clientip).
        if ($line =~ /^(\s*LoadModule\s+)(\S+)\s+(\S+)(.*)$/i) {
            my ($head, $name, $path, $rest) = ($1, $2, $3, $4);
            my $real = $name eq 'clientip_module' ? $so
                     : "$mods/" . basename($path =~ s/"//gr);
            $line = "$head$name \"$real\"$rest";
        }
        my ($directive, $arg) = $line =~ /^\s*<?(\w+)\s+"?([^"\s>]+)/ or next;
        $directive = lc $directive;
        my $path = $arg =~ m{^/} ? $arg : "$fix/$arg";
        next unless index($path, $fix) == 0;
        if ($directive eq 'clientiptrustedproxiesfile') {
            (my $orig = $path) =~ s{^\Q$fix\E}{};
            spew($path, $file_contents{$orig} // "# fixture made by t/docs.t\n192.0.2.0/24\n")
                unless -e $path;
        }
        elsif ($directive =~ /^ssl(?:certificate|certificatechain|cacertificate)file$/) {
            spew($path, slurp($cert) . slurp($key)) unless -e $path;
        }
        elsif ($directive eq 'sslcertificatekeyfile') {
            spew($path, slurp($key)) unless -e $path;
        }
        elsif ($directive =~ /^(?:documentroot|directory)$/) {
            make_path($path);
        }
        elsif ($directive =~ /^(?:customlog|errorlog|transferlog)$/) {
            make_path(dirname($path));
        }
    }
    return join "\n", @lines;
}

# ---- the check ---------------------------------------------------------------

my $n = 0;

# `apache2 -t` on one wrapped snippet: (passed, output, the wrapper's line
# number of the snippet's first line).
sub syntax_check {
    my ($text, $wrap) = @_;
    my %own = map { lc($_) => 1 } $text =~ /^\s*LoadModule\s+(\S+)/mig;
    my $load = join '', map { "LoadModule ${_}_module $mods/mod_$_.so\n" }
                        grep { !$own{"${_}_module"} } @MODULES;
    my $conf = minimal_config(dir => $fix, port => $port, name => 'docs', body => '');
    $conf =~ s/^LoadModule clientip_module .*\n//m if $own{clientip_module};
    $conf =~ s/^(LoadModule authz_core_module .*\n)//m;   # in @MODULES
    $conf .= $load . "DocumentRoot \"$fix/htdocs\"\n";
    my ($before, $after) = $wrap eq 'vhost'     ? ("<VirtualHost 127.0.0.1:$port>\n", "</VirtualHost>\n")
                         : $wrap eq 'directory' ? ("<Directory \"$fix/htdocs\">\n",   "</Directory>\n")
                         :                        ('', '');
    $conf .= $before;
    my $offset = ($conf =~ tr/\n//) + 1;
    $conf .= $text . ($text =~ /\n\z/ ? '' : "\n") . $after;
    my $file = sprintf '%s/conf/snippet%03d.conf', $fix, ++$n;
    spew($file, $conf);
    my $out = qx{"$httpd" -t -f "$file" 2>&1};
    my $ok = ($? == 0 and $out =~ /\ASyntax OK\s*\z/);
    return ($ok, $out, $offset, $file);
}

for my $s (@snippets) {
    my $text = prepare($s->{text});
    my ($ok, $out, $offset, $file) = syntax_check($text, 'main');
    for my $wrap (qw(vhost directory)) {
        last if $ok or $out !~ /not allowed here/;
        my @r = syntax_check($text, $wrap);
        ($ok, $out, $offset, $file) = @r if $r[0];
    }
    ok($ok, "$s->{name}: apache2 -t") and next;
    # Point httpd's "line N of <wrapper>" and "<wrapper>:N" at the document.
    my $where = sub {
        my $l = $_[0] - $offset;
        return $l >= 0 ? ($s->{start} + $l, $s->{doc}) : ($_[0], 'the wrapper config');
    };
    $out =~ s{line (\d+) of \Q$file\E}{ my ($l, $d) = $where->($1); "line $l of $d" }ge;
    $out =~ s{\Q$file\E:(\d+)}{ my ($l, $d) = $where->($1); "$d:$l" }ge;
    $out =~ s{\Q$fix\E}{}g;
    diag("$s->{name}:\n$out");
}

my $checked = @snippets;
my $fenced  = grep { $is_config{ $_->{lang} } } @blocks;
ok($fenced > 0, "found apache blocks in the Markdown files")
    or diag('no ```apache block found in README.md or docs/*.md');
diag("checked $checked configuration snippets: $fenced apache blocks in "
     . @markdown . " Markdown files, " . ($checked - $fenced) . " from conf/");
