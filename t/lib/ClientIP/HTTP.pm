package ClientIP::HTTP;
# Reading raw HTTP/1.x responses, for the suite's helpers (ClientIP::Test)
# and the fault scripts (ClientIP::Faults), which must not need Apache::Test.
use strict;
use warnings;

use Exporter 'import';
our @EXPORT_OK = qw(parse_http);

# An HTTP/1.x response in a byte string: { code, headers (lower-case name =>
# value), body } (chunked bodies decoded), or { code => 0 } when there is none.
sub parse_http {
    my ($data) = @_;
    my ($head, $body) = split /\r\n\r\n/, $data // '', 2;
    return { code => 0, headers => {}, body => '' }
        unless defined $head and $head =~ m{^HTTP/\d\.\d (\d{3})};
    my %res = (code => $1, headers => {}, body => $body // '');
    for my $line (split /\r\n/, $head) {
        my ($k, $v) = $line =~ /^([^:\s]+):\s*(.*)$/ or next;
        $res{headers}{lc $k} = exists $res{headers}{lc $k} ? "$res{headers}{lc $k}, $v" : $v;
    }
    if (($res{headers}{'transfer-encoding'} // '') =~ /chunked/i) {
        my ($in, $out) = ($res{body}, '');
        while ($in =~ s/^([0-9a-fA-F]+)[^\r\n]*\r\n//) {
            my $size = hex $1;
            last if $size == 0;
            $out .= substr $in, 0, $size, '';
            $in =~ s/^\r\n//;
        }
        $res{body} = $out;
    }
    return \%res;
}

1;
