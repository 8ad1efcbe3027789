# Sourced by the shell tests: what a test does when a tool it needs is
# missing. Under CI (CI set, and not "false" or "0") a test that cannot run
# is a failure, never a silent skip; elsewhere it is skipped (exit 77, which
# ctest reports as "Skipped") with the command that installs the tool.
#
#   . "$src/tests/support/cannot_run.sh"
#   command -v promtool >/dev/null || cannot_run "promtool" "apt-get install prometheus"

in_ci() {
  case "${CI:-}" in
    "" | false | 0) return 1 ;;
    *) return 0 ;;
  esac
}

# cannot_run WHAT HOW: exits 1 under CI, 77 elsewhere.
cannot_run() {
  if in_ci; then
    echo "FAIL: $1 is missing, and under CI=${CI} a test that cannot run fails; install it: $2" >&2
    exit 1
  fi
  echo "SKIP: $1 is missing; install it with: $2 (under CI=true this is a failure)"
  exit 77
}
