#!/usr/bin/perl
# Writes the PROXY protocol corpus next to this script:
#   valid/      complete headers cip_proxy_parse must answer DONE for,
#   invalid/    headers it must answer MALFORMED for,
#   not-proxy/  connection starts it must answer NOT_PROXY for.
# One binary file per case, named by what it exercises. t/unit/test_proxy.c
# reads them (and checks every prefix); the fuzzer uses them as seeds.
# Rerun after editing: perl t/unit/proxy-corpus/make-corpus.pl
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Spec;
use Socket qw(inet_pton AF_INET AF_INET6);

my $dir = dirname(File::Spec->rel2abs(__FILE__));

# ------------------------------------------------------------ building blocks

my $SIG = "\x0D\x0A\x0D\x0A\x00\x0D\x0A\x51\x55\x49\x54\x0A";

# CRC32C (Castagnoli, reflected 0x82F63B78), table computed here.
my @CRC_TABLE = map {
    my $c = $_;
    $c = ($c & 1) ? (($c >> 1) ^ 0x82F63B78) : ($c >> 1) for 1 .. 8;
    $c;
} 0 .. 255;

sub crc32c {
    my $crc = 0xFFFFFFFF;
    $crc = $CRC_TABLE[($crc ^ $_) & 0xFF] ^ ($crc >> 8) for unpack 'C*', $_[0];
    return $crc ^ 0xFFFFFFFF;
}

sub tlv { my ($type, $value) = @_; return pack('Cn', $type, length $value) . $value }

# A v2 header: version/command byte, family/transport byte, body (addresses
# and TLVs). $len overrides the length field.
sub v2 {
    my ($vercmd, $famtr, $body, $len) = @_;
    return $SIG . pack('CCn', $vercmd, $famtr, $len // length $body) . $body;
}

sub inet {
    my ($src, $dst, $sport, $dport) = @_;
    return inet_pton(AF_INET, $src) . inet_pton(AF_INET, $dst) . pack('nn', $sport, $dport);
}

sub inet6 {
    my ($src, $dst, $sport, $dport) = @_;
    return inet_pton(AF_INET6, $src) . inet_pton(AF_INET6, $dst) . pack('nn', $sport, $dport);
}

# A v2 header whose TLVs include a CRC32C TLV (placed after $before), with
# the right value, or with $crc_override.
sub v2_crc {
    my ($vercmd, $famtr, $addr, $before, $after, $crc_override) = @_;
    my $h = v2($vercmd, $famtr, $addr . $before . tlv(0x03, "\0\0\0\0") . $after);
    my $at = length($SIG) + 4 + length($addr) + length($before) + 3;
    substr($h, $at, 4) = pack('N', $crc_override // crc32c($h));
    return $h;
}

my $INET = inet('192.0.2.1', '198.51.100.2', 56324, 443);
my $INET6 = inet6('2001:db8::1', '2001:db8::2', 56324, 443);
my $V6MAX = join ':', ('ffff') x 8; # 39 characters

my $ssl_all = tlv(0x20, pack('CN', 0x07, 0)
    . tlv(0x21, 'TLSv1.3') . tlv(0x22, 'client.example') . tlv(0x23, 'TLS_AES_128_GCM_SHA256')
    . tlv(0x24, 'SHA256') . tlv(0x25, 'RSA2048') . tlv(0x26, 'X25519')
    . tlv(0x27, 'rsa_pss_rsae_sha256') . tlv(0x28, "\x30\x82\x01\x0a" . ("\xab" x 16)));
my $all_tlvs = tlv(0x01, 'h2') . tlv(0x02, 'www.example.com') . tlv(0x05, "\x01\x02\xfe\xff")
    . $ssl_all . tlv(0x30, 'blue') . tlv(0xEA, "\x01vpce-0123456789abcdef0")
    . tlv(0xEE, "\x01\x78\x56\x34\x12") . tlv(0xE0, "\x01\x02\x03\x04\x05\x06\x07\x08")
    . tlv(0x04, "\0\0\0") . tlv(0xF0, "experimental") . tlv(0x7f, '');

# Fill a header to exactly 16 + 65,535 bytes: INET addresses, AUTHORITY,
# a CRC32C, then NOOP TLVs of at most 65,000 bytes.
sub v2_max {
    my $fill = 65535 - length($INET) - length(tlv(0x02, 'max.example')) - 7;
    my $noops = '';
    while ($fill > 0) {
        my $n = $fill - 3 > 65000 ? 65000 : $fill - 3;
        $noops .= tlv(0x04, "\0" x $n);
        $fill -= 3 + $n;
    }
    return v2_crc(0x21, 0x11, $INET, tlv(0x02, 'max.example'), $noops);
}

my %corpus = (
    # ----------------------------------------------------------------- v1 valid
    'valid/v1-tcp4' => "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n",
    'valid/v1-tcp4-extremes' => "PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n",
    'valid/v1-tcp4-then-http' => "PROXY TCP4 192.0.2.1 198.51.100.2 56324 80\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    'valid/v1-tcp6' => "PROXY TCP6 2001:db8::1 2001:db8::2 56324 443\r\n",
    'valid/v1-tcp6-mapped-ipv4' => "PROXY TCP6 ::ffff:192.0.2.1 ::1 1 2\r\n",
    'valid/v1-tcp6-longest' => "PROXY TCP6 $V6MAX $V6MAX 65535 65535\r\n",
    'valid/v1-unknown-short' => "PROXY UNKNOWN\r\n",
    'valid/v1-unknown-107-bytes' => "PROXY UNKNOWN $V6MAX $V6MAX 65535 65535\r\n",
    'valid/v1-unknown-any-tail' => "PROXY UNKNOWN  x\x01\x7f\xff  \t\r\n",

    # --------------------------------------------------------------- v1 invalid
    'invalid/v1-double-space' => "PROXY TCP4  192.0.2.1 198.51.100.2 56324 443\r\n",
    'invalid/v1-double-space-after-proxy' => "PROXY  TCP4 192.0.2.1 198.51.100.2 56324 443\r\n",
    'invalid/v1-addr-leading-zero' => "PROXY TCP4 192.0.2.01 198.51.100.2 56324 443\r\n",
    'invalid/v1-addr-octal' => "PROXY TCP4 010.0.0.1 198.51.100.2 56324 443\r\n",
    'invalid/v1-addr-short-form' => "PROXY TCP4 127.1 198.51.100.2 56324 443\r\n",
    'invalid/v1-addr-hostname' => "PROXY TCP4 localhost 198.51.100.2 56324 443\r\n",
    'invalid/v1-addr-zone-id' => "PROXY TCP6 fe80::1%eth0 ::1 56324 443\r\n",
    'invalid/v1-port-leading-zero' => "PROXY TCP4 192.0.2.1 198.51.100.2 056324 443\r\n",
    'invalid/v1-port-65536' => "PROXY TCP4 192.0.2.1 198.51.100.2 65536 443\r\n",
    'invalid/v1-port-sign' => "PROXY TCP4 192.0.2.1 198.51.100.2 +1 443\r\n",
    'invalid/v1-tcp4-with-ipv6' => "PROXY TCP4 2001:db8::1 198.51.100.2 56324 443\r\n",
    'invalid/v1-tcp6-with-ipv4' => "PROXY TCP6 192.0.2.1 2001:db8::2 56324 443\r\n",
    'invalid/v1-lf-only' => "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\n",
    'invalid/v1-cr-only' => "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\rGET",
    'invalid/v1-unknown-lf-only' => "PROXY UNKNOWN\n",
    'invalid/v1-108-bytes' => "PROXY UNKNOWN $V6MAX $V6MAX 65535 655355\r\n",
    'invalid/v1-no-crlf' => "PROXY UNKNOWN " . ('x' x 200),
    'invalid/v1-tcp6-mapped-too-long' =>
        "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255 ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255 65535 65535\r\n",
    'invalid/v1-protocol-lowercase' => "PROXY tcp4 192.0.2.1 198.51.100.2 56324 443\r\n",
    'invalid/v1-protocol-tcp5' => "PROXY TCP5 192.0.2.1 198.51.100.2 56324 443\r\n",
    'invalid/v1-unknown-glued' => "PROXY UNKNOWNx\r\n",
    'invalid/v1-empty' => "PROXY \r\n",
    'invalid/v1-missing-ports' => "PROXY TCP4 192.0.2.1 198.51.100.2\r\n",
    'invalid/v1-missing-dport' => "PROXY TCP4 192.0.2.1 198.51.100.2 56324\r\n",
    'invalid/v1-trailing-garbage' => "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443 x\r\n",
    'invalid/v1-trailing-space' => "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443 \r\n",
    'invalid/v1-garbage-in-port' => "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443x\r\n",
    'invalid/v1-tab-separator' => "PROXY TCP4\t192.0.2.1 198.51.100.2 56324 443\r\n",

    # ----------------------------------------------------------------- v2 valid
    'valid/v2-inet' => v2(0x21, 0x11, $INET),
    'valid/v2-inet6' => v2(0x21, 0x21, $INET6),
    'valid/v2-inet-then-tls' => v2(0x21, 0x11, $INET) . "\x16\x03\x01\x00\x05hello",
    'valid/v2-local-empty' => v2(0x20, 0x00, ''),
    'valid/v2-local-with-tlvs' => v2(0x20, 0x00, tlv(0x04, "\0" x 8) . tlv(0x02, 'health')),
    'valid/v2-local-inet-with-tlvs' => v2(0x20, 0x11, $INET . tlv(0x05, 'id')),
    'valid/v2-proxy-unspec' => v2(0x21, 0x00, ''),
    'valid/v2-proxy-unspec-with-tlvs' => v2(0x21, 0x00, tlv(0x02, 'x.example')),
    'valid/v2-proxy-unix' => v2(0x21, 0x31, ("/tmp/a.sock" . "\0" x 97) . ("/tmp/b.sock" . "\0" x 97)),
    'valid/v2-proxy-inet-dgram' => v2(0x21, 0x12, $INET),
    'valid/v2-proxy-inet-transport-unspec' => v2(0x21, 0x10, $INET),
    'valid/v2-all-tlvs' => v2(0x21, 0x11, $INET . $all_tlvs),
    'valid/v2-all-tlvs-crc32c' => v2_crc(0x21, 0x21, $INET6, $all_tlvs, tlv(0x02, 'after.crc')),
    'valid/v2-crc32c-only' => v2_crc(0x21, 0x11, $INET, '', ''),
    'valid/v2-zero-length-tlvs' => v2(0x21, 0x11, $INET . tlv(0x01, '') . tlv(0x02, '') . tlv(0xEA, '')),
    'valid/v2-ssl-no-sub-tlvs' => v2(0x21, 0x11, $INET . tlv(0x20, pack('CN', 0, 0))),
    'valid/v2-vendor-wrong-lengths' => v2(0x21, 0x11, $INET . tlv(0xEE, "\x01\x01\x02\x03")
        . tlv(0xE0, "\x01" x 7) . tlv(0xEA, "\x02vpce-x") . tlv(0xEA, "\x01")),
    'valid/v2-unique-id-129' => v2(0x21, 0x11, $INET . tlv(0x05, "u" x 129)),
    'valid/v2-16k-tlvs' => v2(0x21, 0x11, $INET . tlv(0x02, 'big.example')
        . tlv(0x20, pack('CN', 0x03, 0) . tlv(0x22, 'cn') . tlv(0x28, "\x30" x 12000))
        . tlv(0x04, "\0" x 4400)),
    'valid/v2-max-length' => v2_max(),

    # --------------------------------------------------------------- v2 invalid
    'invalid/v2-version-1' => v2(0x11, 0x11, $INET),
    'invalid/v2-version-3' => v2(0x31, 0x11, $INET),
    'invalid/v2-command-2' => v2(0x22, 0x11, $INET),
    'invalid/v2-command-f' => v2(0x2F, 0x11, $INET),
    'invalid/v2-family-4' => v2(0x21, 0x41, $INET),
    'invalid/v2-transport-3' => v2(0x21, 0x13, $INET),
    'invalid/v2-inet-len-11' => v2(0x21, 0x11, substr($INET, 0, 11)),
    'invalid/v2-inet6-len-35' => v2(0x21, 0x21, substr($INET6, 0, 35)),
    'invalid/v2-unix-len-215' => v2(0x21, 0x31, "\0" x 215),
    'invalid/v2-local-inet-len-0' => v2(0x20, 0x11, ''),
    'invalid/v2-tlv-overrun' => v2(0x21, 0x11, $INET . pack('Cn', 0x02, 20) . 'short'),
    'invalid/v2-tlv-tail-1-byte' => v2(0x21, 0x11, $INET . tlv(0x02, 'a') . "\x04"),
    'invalid/v2-tlv-tail-2-bytes' => v2(0x21, 0x11, $INET . tlv(0x02, 'a') . "\x04\x00"),
    'invalid/v2-local-tlv-overrun' => v2(0x20, 0x00, pack('Cn', 0x04, 1)),
    'invalid/v2-ssl-too-short' => v2(0x21, 0x11, $INET . tlv(0x20, "\x01\0\0\0")),
    'invalid/v2-ssl-sub-overrun' => v2(0x21, 0x11, $INET
        . tlv(0x20, pack('CN', 1, 0) . pack('Cn', 0x22, 9) . 'cn') . tlv(0x02, 'abcdefg')),
    'invalid/v2-ssl-sub-tail' => v2(0x21, 0x11, $INET . tlv(0x20, pack('CN', 1, 0) . "\x21\x00")),
    'invalid/v2-crc32c-mismatch' => v2_crc(0x21, 0x11, $INET, tlv(0x02, 'a'), '', 0xDEADBEEF),
    'invalid/v2-crc32c-len-3' => v2(0x21, 0x11, $INET . tlv(0x03, "\0\0\0")),
    'invalid/v2-crc32c-len-5' => v2(0x21, 0x11, $INET . tlv(0x03, "\0\0\0\0\0")),
    'invalid/v2-crc32c-twice' => v2_crc(0x21, 0x11, $INET, '', tlv(0x03, "\0\0\0\0")),
    'invalid/v2-local-crc32c-mismatch' => v2_crc(0x20, 0x00, '', '', '', 1),

    # ------------------------------------------------------------- not PROXY
    'not-proxy/http-get' => "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    'not-proxy/http-leading-crlf' => "\r\nGET / HTTP/1.1\r\n\r\n",
    'not-proxy/http2-preface' => "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    'not-proxy/tls-client-hello' => "\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03" . ("\x00" x 32),
    'not-proxy/proxy-lowercase' => "proxy TCP4 192.0.2.1 198.51.100.2 56324 443\r\n",
    'not-proxy/proxy-no-space' => "PROXYTCP4 192.0.2.1 198.51.100.2 56324 443\r\n",
    'not-proxy/v2-signature-broken' => "\x0D\x0A\x0D\x0A\x00\x0D\x0A\x51\x55\x49\x54\x0B\x21\x11\x00\x0C",
);

for my $sub (qw(valid invalid not-proxy)) {
    my $d = "$dir/$sub";
    mkdir $d unless -d $d;
    unlink glob "$d/*.bin";
}
for my $name (sort keys %corpus) {
    open my $fh, '>:raw', "$dir/$name.bin" or die "$dir/$name.bin: $!\n";
    print {$fh} $corpus{$name};
    close $fh or die "$dir/$name.bin: $!\n";
}
printf "%d files written under %s\n", scalar keys %corpus, $dir;
