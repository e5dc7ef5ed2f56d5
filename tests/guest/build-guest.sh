#!/usr/bin/env bash
# Builds the test guest: Debian's linux-image-amd64 kernel and a busybox-static initramfs whose /init
# configures eth0 from the kernel command line, runs a test script given through QEMU's fw_cfg, prints
# `UB-RESULT rc=N` on the serial console and powers off. See README.md next to this script.
#
# Usage: build-guest.sh [CACHE_DIR]
#   Progress goes to stderr; stdout gets two lines: the path of vmlinuz, then the path of initrd.gz.
#   The result is cached in CACHE_DIR/<key>/, where the key hashes this script, the init next to it and the
#   versions of the kernel package (the apt candidate), busybox-static and iproute2; nothing else rebuilds.
#   Nothing is installed on the host: the kernel package is fetched with `apt-get download` and unpacked
#   with `dpkg -x`.
set -euo pipefail

# Modules the guests load at boot, in this order (each after its dependencies, which modprobe resolves):
# the NIC, fw_cfg (how the test script arrives), the kernel peers the host kernel lacks, and XFRM/ESP for vti
# (echainiv draws its IVs from the default RNG, drbg, which hashes with sha512).
readonly MODULES=(
  virtio_pci virtio_net qemu_fw_cfg
  8021q ipip ip_gre sit ip_vti geneve vxlan
  ipvlan dummy bridge
  xfrm_user esp4 authenc echainiv sha512_generic drbg
)

progress() { echo "build-guest: $*" >&2; }
die() { echo "build-guest: error: $*" >&2; exit 1; }

if [ "$(id -u)" -eq 0 ]; then
  default_cache=/var/cache/userbridge-guest
else
  default_cache="${XDG_CACHE_HOME:-$HOME/.cache}/userbridge-guest"
fi
cache="${1:-$default_cache}"
script_path="$(readlink -f "${BASH_SOURCE[0]}")"
init_path="$(dirname "$script_path")/init"

for tool in apt-get apt-cache dpkg dpkg-query depmod modprobe cpio gzip sha256sum flock; do
  command -v "$tool" >/dev/null || die "'$tool' is missing (apt-get install -y cpio kmod)"
done
[ -x /bin/busybox ] || die "/bin/busybox is missing (apt-get install -y busybox-static)"
if ldd /bin/busybox >/dev/null 2>&1; then
  die "/bin/busybox is dynamically linked: install busybox-static, not busybox"
fi
ip_binary="$(command -v ip || true)"
if [ -z "$ip_binary" ] || ! "$ip_binary" -V 2>/dev/null | grep -q iproute2; then
  die "iproute2's ip is missing (apt-get install -y iproute2)"
fi

candidate() { apt-cache policy linux-image-amd64 2>/dev/null | awk '/Candidate:/ { print $2 }'; }
kernel_version="$(candidate)"
if [ -z "$kernel_version" ] || [ "$kernel_version" = "(none)" ]; then
  progress "no candidate for linux-image-amd64: running apt-get update"
  apt-get update -q >&2
  kernel_version="$(candidate)"
  if [ -z "$kernel_version" ] || [ "$kernel_version" = "(none)" ]; then
    die "apt knows no linux-image-amd64"
  fi
fi
busybox_version="$(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null || echo unknown)"
iproute2_version="$(dpkg-query -W -f='${Version}' iproute2 2>/dev/null || echo unknown)"
key="$({ cat "$script_path" "$init_path"; echo "linux-image-amd64 $kernel_version"; echo "busybox-static $busybox_version"; echo "iproute2 $iproute2_version"; } | sha256sum | cut -c1-16)"
out="$cache/$key"

print_result() {
  echo "$out/vmlinuz"
  echo "$out/initrd.gz"
}

if [ -f "$out/vmlinuz" ] && [ -f "$out/initrd.gz" ]; then
  progress "cached: linux-image-amd64 $kernel_version in $out"
  print_result
  exit 0
fi

mkdir -p "$cache"
# One builder at a time (parallel test runs share the cache); the loser finds the winner's result.
exec 9>"$cache/.lock"
flock 9
if [ -f "$out/vmlinuz" ] && [ -f "$out/initrd.gz" ]; then
  progress "built meanwhile by another run: $out"
  print_result
  exit 0
fi

work="$(mktemp -d "$cache/.build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# apt-get download drops privileges to _apt when run as root; let it write here.
chmod 0755 "$work"
[ "$(id -u)" -ne 0 ] || chown _apt "$work" 2>/dev/null || true

package="$(apt-cache show "linux-image-amd64=$kernel_version" | awk -F': ' '/^Depends:/ { print $2; exit }' \
  | tr ',' '\n' | grep -oE 'linux-image-[0-9][^ ]*' | head -1)"
[ -n "$package" ] || die "cannot resolve the kernel package linux-image-amd64 $kernel_version depends on"
progress "downloading $package (linux-image-amd64 $kernel_version)"
if ! (cd "$work" && apt-get download -q "$package" >&2); then
  progress "apt-get download failed: running apt-get update and retrying"
  apt-get update -q >&2
  (cd "$work" && apt-get download -q "$package" >&2) || die "apt-get download $package failed"
fi

progress "unpacking $package"
dpkg -x "$work"/"$package"_*.deb "$work/kernel"
kernel_release="$(ls "$work/kernel/lib/modules")"
[ "$(echo "$kernel_release" | wc -l)" -eq 1 ] || die "expected one kernel release in the package, got: $kernel_release"
# The package ships no modules.dep (its postinst makes it): make it for the unpacked tree.
depmod -b "$work/kernel" "$kernel_release"

root="$work/root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/local/sbin,etc,proc,sys,dev,tmp,run,lib/modules}

progress "installing busybox $busybox_version"
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list-full); do
  [ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done

# busybox ip can add VLAN devices but not vxlan/geneve/gretap with their parameters, and has no -d or -j:
# later tests need those, so the guest also gets iproute2's ip (first on PATH) with its libraries.
progress "installing iproute2 $iproute2_version ip"
cp "$ip_binary" "$root/usr/local/sbin/ip"
for library in $(ldd "$ip_binary" | grep -oE '/[^ ]+'); do
  mkdir -p "$root$(dirname "$library")"
  cp -L "$library" "$root$library"
done

progress "collecting modules: ${MODULES[*]}"
: >"$root/etc/modules"
for module in "${MODULES[@]}"; do
  lines="$(modprobe -d "$work/kernel" -S "$kernel_release" --show-depends "$module")" \
    || die "module $module is not in $package"
  while read -r kind path _; do
    if [ "$kind" = builtin ]; then
      progress "  $path is built into the kernel"
      continue
    fi
    name="$(basename "$path")"
    if ! grep -qxF "$name" "$root/etc/modules"; then
      case "$name" in
        *.ko) cp "$path" "$root/lib/modules/$name" ;;
        *.ko.xz) xz -dc "$path" >"$root/lib/modules/${name%.xz}"; name="${name%.xz}" ;;
        *.ko.zst) zstd -qdc "$path" >"$root/lib/modules/${name%.zst}"; name="${name%.zst}" ;;
        *) die "unexpected module file $path" ;;
      esac
      echo "$name" >>"$root/etc/modules"
    fi
  done <<<"$lines"
done
progress "  $(wc -l <"$root/etc/modules") module files: $(tr '\n' ' ' <"$root/etc/modules")"

cp "$init_path" "$root/init"
chmod 0755 "$root/init"

progress "packing the initramfs"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -9n >"$work/initrd.gz"

staging="$work/out"
mkdir "$staging"
cp "$work/kernel/boot/vmlinuz-$kernel_release" "$staging/vmlinuz"
mv "$work/initrd.gz" "$staging/initrd.gz"
echo "$package $kernel_version ($kernel_release), busybox-static $busybox_version, iproute2 $iproute2_version" >"$staging/VERSION"
rm -rf "$out"
mv "$staging" "$out"
# Older keys belong to older scripts or kernels, other .build.* to builders that died (we hold the lock).
find "$cache" -mindepth 1 -maxdepth 1 -type d ! -name "$key" ! -path "$work" -exec rm -rf {} +
progress "built $(cat "$out/VERSION"): initrd $(du -h "$out/initrd.gz" | cut -f1)"
print_result
