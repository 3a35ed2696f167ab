# shellcheck shell=bash
# Shared by the scripts in this folder: where the data lives, how a step reports, how a kernel
# log is judged.
#
# The kernels the project builds, each a Debian source package with folders of patches/ applied
# by quilt (each folder has a `series` file). VPOLL_SERIES picks one (default mainline):
#   mainline   linux-source-7.3 (trixie-backports, scripts/debian-fetch)   io_uring/ then mainline/
#   6.12       linux-source-6.12 (bookworm, scripts/install-deps)          io_uring/ then 6.12/
# io_uring/ is the io_uring poll fix the EFD_VPOLL series depends on; it goes first in every tree.
#
# One cache directory outside the repo holds everything large (EFD_VPOLL_CACHE moves it):
#   source/PACKAGE_VERSION/   the package's tarball extracted, never changed (pristine); a new
#                             package version is a new folder
#   tree/SERIES/              a working tree: the pristine files hard-linked, the patches applied
#                             with quilt; .vpoll-base and .vpoll-series say what it carries
#   tree/SERIES.lock          exclusive while extracting or applying, shared while building
#   build/SERIES/VARIANT/     O= build directories (VARIANT: vm, debug, the check builds)
#   build/liburing-2.15/      scripts/liburing-build: liburing with patches/liburing, built
#   build/sparse-0.6.5~rc1/   scripts/sparse-build: the sparse of the kbuild checks
#   git/SERIES/               the git tree scripts/series-sync makes of the pristine source
#   ccache/ logs/ clean-system/ kvm-probe
#   apt/ debian/              scripts/debian-fetch: its private apt configuration and lists, and
#                             the pinned Debian packages it downloads (and the upstream sources
#                             of liburing and sparse, extracted: debian/PACKAGE-VERSION/)
# KERNEL_TREE=DIR builds DIR as it is (it must carry the patches already) into build/custom-HASH/.

VPOLL_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VPOLL_CACHE=${EFD_VPOLL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/eventfd-vpoll}
VPOLL_SERIES=${VPOLL_SERIES:-mainline}
case $VPOLL_SERIES in
mainline) VPOLL_SOURCE_PKG=linux-source-7.3 ;;
6.12) VPOLL_SOURCE_PKG=linux-source-6.12 ;;
*)
	printf '%s: error: unknown series %s (VPOLL_SERIES: mainline or 6.12)\n' "${0##*/}" "$VPOLL_SERIES" >&2
	exit 1 ;;
esac
# The folders of patches/ applied to the tree, in order; the series' own is the last.
VPOLL_PATCH_DIRS=(io_uring "$VPOLL_SERIES")
VPOLL_PATCHES=$VPOLL_REPO/patches/$VPOLL_SERIES
VPOLL_TREE=$VPOLL_CACHE/tree/$VPOLL_SERIES
VPOLL_TREE_LOCK=$VPOLL_TREE.lock
if [ -n "${KERNEL_TREE:-}" ]; then
	VPOLL_SRC=$KERNEL_TREE
	VPOLL_BUILD=$VPOLL_CACHE/build/custom-$(realpath -m "$KERNEL_TREE" | sha256sum | cut -c1-12)
else
	VPOLL_SRC=$VPOLL_TREE
	VPOLL_BUILD=$VPOLL_CACHE/build/$VPOLL_SERIES
fi
VPOLL_KBUILD=$VPOLL_BUILD/vm
VPOLL_BZIMAGE=$VPOLL_KBUILD/arch/x86/boot/bzImage
VPOLL_LOGS=$VPOLL_CACHE/logs
# ccache keeps its objects in the same cache, unless CCACHE_DIR says otherwise; paths below the
# cache are hashed relative to it, so another clone or cache location still hits.
export CCACHE_DIR=${CCACHE_DIR:-$VPOLL_CACHE/ccache}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$VPOLL_CACHE}

# What makes a test VM's kernel log a failure, for every runner (scripts/vm-run): an oops or
# panic, a BUG or WARNING (every test boot has panic_on_warn=1 as well), lockdep, KASAN, UBSAN,
# kmemleak, an RCU stall, a hung task, list or object debugging. Boot banners such as
# "kasan: KernelAddressSanitizer initialized" do not match.
# shellcheck disable=SC2034 # used by the scripts that source this file
VPOLL_CRASH_PATTERNS='Kernel panic|Oops|BUG:|kernel BUG at|general protection fault|'\
'WARNING:|Call Trace:|KASAN:|UBSAN:|possible recursive locking|'\
'possible circular locking|inconsistent lock state|INFO: lockdep is turned off|'\
'DEBUG_LOCKS_WARN_ON|kmemleak: [0-9]+ new suspected memory leaks|unreferenced object|'\
'rcu: INFO: .* detected stalls|detected stalls on CPUs|self-detected stall|'\
'INFO: task .* blocked for more than|ODEBUG:|list_add corruption|list_del corruption'

# step NAME COMMAND...: run COMMAND, then print one line with NAME and its time. COMMAND runs
# with `set -e` ignored (bash ignores it in a tested command): functions run this way must
# check every command themselves.
step() {
	local name=$1 start=$SECONDS rc=0
	shift
	printf '==> %s\n' "$name" >&2
	"$@" || rc=$?
	if [ "$rc" -ne 0 ]; then
		printf '==> %s: FAILED (exit %d) after %ds\n' "$name" "$rc" $((SECONDS - start)) >&2
		return "$rc"
	fi
	printf '==> %s: done in %ds\n' "$name" $((SECONDS - start)) >&2
}

die() {
	printf '%s: error: %s\n' "${0##*/}" "$*" >&2
	exit 1
}

# lock_tree exclusive|shared: take the lock of the series' working tree on fd 9, waiting at
# most VPOLL_LOCK_WAIT seconds (default 3600) and saying why it waits.
lock_tree() {
	local mode=-x
	[ "$1" = shared ] && mode=-s
	mkdir -p "$(dirname "$VPOLL_TREE_LOCK")"
	exec 9>>"$VPOLL_TREE_LOCK"
	if ! flock -n "$mode" 9; then
		printf '==> waiting for %s (another build or extraction of the %s tree)\n' \
			"$VPOLL_TREE_LOCK" "$VPOLL_SERIES" >&2
		flock -w "${VPOLL_LOCK_WAIT:-3600}" "$mode" 9 ||
			die "gave up after ${VPOLL_LOCK_WAIT:-3600}s waiting for $VPOLL_TREE_LOCK"
	fi
}

# hold_source_tree: make the source tree (scripts/kernel-source), then hold it with the shared
# lock for the rest of the caller, checking that nobody re-applied the series in between. Every
# script that reads or builds the tree starts with it.
hold_source_tree() {
	"$VPOLL_REPO/scripts/kernel-source" || return
	lock_tree shared
	if [ -z "${KERNEL_TREE:-}" ] && [ "$(cat "$VPOLL_SRC/.vpoll-series" 2>/dev/null)" != "$(series_hash)" ]; then
		echo "the $VPOLL_SERIES tree changed after scripts/kernel-source made it; run again" >&2
		return 1
	fi
}

# series_patch_files [DIR]: the patches the series file of patches/DIR lists (default: the
# series' own folder), as paths.
series_patch_files() {
	local d=$VPOLL_REPO/patches/${1:-$VPOLL_SERIES}
	grep -v -e '^#' -e '^$' "$d/series" | sed "s#^#$d/#"
}

# tree_patch_files: every patch the working tree carries, in the order quilt applies them.
tree_patch_files() {
	local d
	for d in "${VPOLL_PATCH_DIRS[@]}"; do
		series_patch_files "$d"
	done
}

# series_hash: what a working tree records as the patches it carries: their names and diffs (a
# change of a commit message or of the To/Cc headers does not re-apply the tree).
series_hash() {
	local f
	while read -r f; do
		printf '%s\n' "${f#"$VPOLL_REPO/"}"
		sed -n '/^diff --git /,$p' "$f"
	done < <(tree_patch_files) | sha256sum | cut -d' ' -f1
}

# fragment_survived FRAGMENT DOTCONFIG: every option FRAGMENT sets, or unsets with
# "# CONFIG_X is not set", is so in DOTCONFIG; names each one that is not.
fragment_survived() {
	local line rc=0
	while IFS= read -r line; do
		case $line in
		'# CONFIG_'*' is not set') ;;
		''|'#'*) continue ;;
		esac
		if ! grep -qxF -- "$line" "$2"; then
			echo "kconfig: '$line' did not survive allnoconfig (a dependency is missing?)" >&2
			rc=1
		fi
	done <"$1"
	return $rc
}

# debian_repos: "URI SUITE" for each of Debian's own repositories this machine's apt uses (from
# apt-cache policy, so sources.list and deb822 files alike; other origins are left out).
debian_repos() {
	apt-cache policy | awk '
		/^ *[0-9]+ [a-z+]+:\/\// { uri = $2; n = split($3, s, "/"); suite = s[1]; next }
		/^ *release / && uri != "" { if ($0 ~ /[ ,]o=Debian(,|$)/) print uri, suite; uri = "" }' |
		sort -u
}
