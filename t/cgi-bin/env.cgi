#!/usr/bin/perl
# Prints the CGI environment as text, one NAME=value line each, sorted:
# what a backend application behind mod_clientip sees.
use strict;
use warnings;

print "Content-Type: text/plain\r\n\r\n";
for my $name (sort keys %ENV) {
    my $value = $ENV{$name};
    $value =~ s/([\r\n\\])/sprintf '\\x%02x', ord $1/ge;
    print "$name=$value\n";
}
