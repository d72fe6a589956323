#!/usr/bin/env bash
# Prints deb-src entries (deb822 format) mirroring this machine's own Debian `deb` sources:
# the same mirrors, suites (bookworm, -updates, -security, ...), components and keyrings, from
# /etc/apt/sources.list (one-line format) and /etc/apt/sources.list.d/*.list and *.sources.
# Third-party repositories (suites that are not Debian's bookworm ones) are left out: they may
# publish no sources. A source listed in both formats is given once (apt refuses two deb-src
# entries for one source that disagree on Signed-By). Prints nothing when there are no Debian
# sources.
set -euo pipefail
shopt -s nullglob
seen=$(mktemp)  # "uri suite" of every source given so far (never empty: awk reads it first)
trap 'rm -f "$seen"' EXIT
echo "#" >"$seen"
apt=${APT_ETC:-/etc/apt}  # tests point this at a fixture

# deb822 stanzas: copy those of Type deb whose suites are bookworm's, as deb-src.
for f in "$apt"/sources.list.d/*.sources; do
  awk '
    function flush() {
      if (types ~ /(^|[ \t])deb([ \t]|$)/ && suites ~ /bookworm/ && enabled != "no") {
        n = split(uris, u, /[ \t]+/); m = split(suites, v, /[ \t]+/)
        for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) {
          key = u[i]; sub(/\/$/, "", key); print key " " v[j] >> seen
        }
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
  ' seen="$seen" "$f"
done

# One-line format: "deb [options] URI suite component..." becomes one stanza each.
for f in "$apt"/sources.list "$apt"/sources.list.d/*.list; do
  [ -f "$f" ] || continue
  awk '
    FNR == NR { known[$0] = 1; next }
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
      key = uri; sub(/\/$/, "", key)
      if ((key " " suite) in known) next
      known[key " " suite] = 1
      print key " " suite >> seen
      print "Types: deb-src"
      print "URIs: " uri
      print "Suites: " suite
      print "Components: " comps
      if (signed != "") print "Signed-By: " signed
      print ""
    }
  ' seen="$seen" "$seen" "$f"
done
