#!/usr/bin/perl
# Write the seed corpora fuzz/corpus/<target>/ from the unit-test cases:
# every C string literal of t/unit/test_<parser>.c becomes one input (the
# list and forwarded targets get a leading byte choosing recursion, both
# values), the trust target also gets all literals as one file, and the
# proxy target gets t/unit/proxy-corpus/{valid,invalid,not-proxy}/*.bin
# with a leading control byte: fed whole, and split at 1, +7, +16 bytes.
# File names are content hashes, so reruns are idempotent.
# Usage: fuzz/make-seeds.pl   (from the top of the tree)
use strict;
use warnings;
use Digest::SHA qw(sha1_hex);
use File::Path qw(make_path remove_tree);

my $root = 'fuzz/corpus';
-d 't/unit' or die "run from the top of the tree\n";

sub literals {
    my ($file) = @_;
    open my $fh, '<', $file or die "$file: $!\n";
    local $/;
    my $src = <$fh>;
    close $fh;
    $src =~ s{/\*.*?\*/}{}gs;          # comments hold example text, not cases
    $src =~ s{^\s*#\s*include.*$}{}mg;
    my @out;
    while ($src =~ /"((?:[^"\\\n]|\\.)*)"/g) {
        my $s = $1;
        $s =~ s{\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)}{
            my $e = $1;
            $e =~ /^x(.+)/ ? chr(hex $1)
          : $e =~ /^[0-7]+$/ ? chr(oct $e)
          : $e eq 'n' ? "\n" : $e eq 'r' ? "\r" : $e eq 't' ? "\t"
          : $e eq 'a' ? "\a" : $e eq 'b' ? "\b" : $e eq 'f' ? "\f" : $e eq 'v' ? "\cK"
          : $e }ge;
        push @out, $s;
    }
    return @out;
}

my %count;
sub put {
    my ($target, $data) = @_;
    my $dir = "$root/$target";
    make_path($dir);
    my $path = "$dir/" . substr(sha1_hex($data), 0, 16);
    return if -e $path;
    open my $fh, '>:raw', $path or die "$path: $!\n";
    print $fh $data;
    close $fh;
    $count{$target}++;
}

remove_tree($root);

put('addr', $_) for literals('t/unit/test_addr.c');

my @trust = literals('t/unit/test_trust.c');
put('trust', $_) for @trust;
put('trust', join("\n", @trust) . "\n");

for my $t (qw(list forwarded)) {
    for my $s (literals("t/unit/test_$t.c")) {
        put($t, "\x00$s");
        put($t, "\x01$s");
    }
}

for my $f (sort glob('t/unit/proxy-corpus/{valid,invalid,not-proxy}/*.bin')) {
    open my $fh, '<:raw', $f or die "$f: $!\n";
    local $/;
    my $data = <$fh>;
    close $fh;
    put('proxy', "\x00$data");
    put('proxy', "\x03\x01\x07\x10$data");
}

printf "%-10s %d seeds\n", $_, $count{$_} // 0 for qw(addr trust list forwarded proxy);
