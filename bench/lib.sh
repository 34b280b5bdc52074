# shellcheck shell=bash
# bench/lib.sh - helpers for the bench/<area>/run.sh scripts (sourced).
#
#   . "$(dirname "$0")/../lib.sh"
#   bench_args "$@"            # sets quick (0/1) and build (absolute path)
#   bench_machine AREA         # "# AREA: 2 cores, CPU, load a b c"
#   bench_group 1234567        # 1,234,567 (rounded to an integer)
#   bench_result STAGE WORKLOAD THROUGHPUT P50 P99 PEAK_RSS PEER
#                              # the RESULT line bench/run collects ("-"
#                              # for a field that does not apply)

# shellcheck disable=SC2034 # quick and build are read by the caller
bench_args() {
  quick=0
  build=
  local a
  for a in "$@"; do
    case $a in
    --quick) quick=1 ;;
    -*) echo "usage: $0 [--quick] [BUILD_DIR]" >&2; exit 2 ;;
    *) build=$a ;;
    esac
  done
  build=${build:-build}
  case $build in /*) ;; *) build=$PWD/$build ;; esac
}

bench_machine() {
  echo "# $1: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
}

bench_group() {
  awk -v n="$1" 'BEGIN { s = sprintf("%.0f", n); o = ""
    while (length(s) > 3) { o = "," substr(s, length(s) - 2) o; s = substr(s, 1, length(s) - 3) }
    print s o }'
}

bench_result() {
  printf 'RESULT\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "${1:--}" "${2:--}" "${3:--}" "${4:--}" "${5:--}" \
    "${6:--}" "${7:--}"
}
