# shellcheck shell=bash
# Shared by the scripts in this folder: where the data lives, and how a step reports.
#
# One cache directory outside the repo holds everything large:
#   $VPOLL_CACHE/src/linux-source-6.12   the kernel source, the series applied with quilt
#   $VPOLL_CACHE/kbuild/vm               the O= build directory of the test kernel
#   $VPOLL_CACHE/kbuild/NAME             the same for a variant (scripts/kconfig/NAME.config on top)
#   $VPOLL_CACHE/logs                    full logs of the long steps
# EFD_VPOLL_CACHE moves it; KERNEL_TREE names another source tree to build instead.

VPOLL_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VPOLL_CACHE=${EFD_VPOLL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/eventfd-vpoll}
VPOLL_SOURCE_TARBALL=/usr/src/linux-source-6.12.tar.xz
VPOLL_SRC=${KERNEL_TREE:-$VPOLL_CACHE/src/linux-source-6.12}
VPOLL_KBUILD=$VPOLL_CACHE/kbuild/vm
VPOLL_BZIMAGE=$VPOLL_KBUILD/arch/x86/boot/bzImage
# Other kernel variants (scripts/kconfig/NAME.config on top of scripts/kconfig/vm.config) build in kbuild/NAME.
VPOLL_LOGS=$VPOLL_CACHE/logs
# ccache keeps its objects in the same cache, unless CCACHE_DIR says otherwise.
export CCACHE_DIR=${CCACHE_DIR:-$VPOLL_CACHE/ccache}

# step NAME COMMAND...: run COMMAND, then print one line with NAME and its time.
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
