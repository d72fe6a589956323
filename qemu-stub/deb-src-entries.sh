#!/usr/bin/env bash
# Prints deb-src entries (deb822 format) mirroring this machine's own Debian `deb` sources:
# the same mirrors, suites (bookworm, -updates, -security, ...), components and keyrings, from
# /etc/apt/sources.list (one-line format) and /etc/apt/sources.list.d/*.list and *.sources.
# Third-party repositories (suites that are not Debian's bookworm ones) are left out: they may
# publish no sources. Prints nothing when there are no Debian sources.
set -euo pipefail
shopt -s nullglob
apt=${APT_ETC:-/etc/apt}  # tests point this at a fixture

# deb822 stanzas: copy those of Type deb whose suites are bookworm's, as deb-src.
for f in "$apt"/sources.list.d/*.sources; do
  awk '
    function flush() {
      if (types ~ /(^|[ \t])deb([ \t]|$)/ && suites ~ /bookworm/ && enabled != "no") {
        print "Types: deb-src"
        print "URIs: " uris
        print "Suites: " suites
        print "Components: " comps
        if (signed != "") print "Signed-By: " signed
        print ""
      }
      types = uris = suites = comps = signed = enabled = ""
    }
    /^[ \t]*$/ { flush(); next }
    /^#/ { next }
    /^Types:/ { sub(/^Types:[ \t]*/, ""); types = $0; next }
    /^URIs:/ { sub(/^URIs:[ \t]*/, ""); uris = $0; next }
    /^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0; next }
    /^Components:/ { sub(/^Components:[ \t]*/, ""); comps = $0; next }
    /^Signed-By:/ { sub(/^Signed-By:[ \t]*/, ""); signed = $0; next }
    /^Enabled:/ { sub(/^Enabled:[ \t]*/, ""); enabled = $0; next }
    END { flush() }
  ' "$f"
done

# One-line format: "deb [options] URI suite component..." becomes one stanza each.
for f in "$apt"/sources.list "$apt"/sources.list.d/*.list; do
  [ -f "$f" ] || continue
  awk '
    $1 != "deb" { next }
    {
      i = 2; signed = ""
      if ($2 ~ /^\[/) {
        opts = ""
        while (i <= NF) { opts = opts " " $i; if ($i ~ /\]$/) { i++; break } i++ }
        if (match(opts, /signed-by=[^] ]+/)) signed = substr(opts, RSTART + 10, RLENGTH - 10)
      }
      uri = $i; suite = $(i + 1); comps = ""
      for (j = i + 2; j <= NF; j++) comps = comps (comps == "" ? "" : " ") $j
      if (suite !~ /bookworm/) next
      print "Types: deb-src"
      print "URIs: " uri
      print "Suites: " suite
      print "Components: " comps
      if (signed != "") print "Signed-By: " signed
      print ""
    }
  ' "$f"
done
