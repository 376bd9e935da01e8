#!/usr/bin/env bash
# GPU check for a Linux machine with an NVIDIA GPU and Vulkan: benches the webgpu backend (32 px reference
# config and ViT-B/16 at 224 px) and checks it against the cpu backend. Offline-capable: it runs a bundle of
# bench/gpu.ts with a carried Deno binary when given one.
#   prepare (online machine):  bash bench/gpu.sh --prepare     → .gpu/{deno.xz,gpu_bench.js}
#   run (GPU machine):         bash bench/gpu.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--prepare" ]; then
  mkdir -p .gpu
  deno bundle --platform deno -o .gpu/gpu_bench.js bench/gpu.ts
  xz -T0 -6 -c "$(command -v deno)" > .gpu/deno.xz
  ls -la .gpu
  exit 0
fi
out="${1:-${OUT:-.}}"
# Vulkan loader carried as .deb files when the machine lacks it (see the device notes).
if [ -d .gl ] && ! ldconfig -p | grep -q libvulkan; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
# Prefer NVIDIA's Vulkan driver over any software one (lavapipe) the machine may also have.
icd=$(ls /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json \
  /etc/vulkan/icd.d/nvidia_icd.json 2>/dev/null | head -1 || true)
if [ -n "$icd" ]; then export VK_DRIVER_FILES="$icd"; fi
echo "vulkan ICD: ${icd:-none found}; available: $(ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/nvidia/share/vulkan/icd.d 2>/dev/null | tr '\n' ' ')"
deno_bin="$(command -v deno || true)"
if [ -f .gpu/deno.xz ]; then xz -d -c .gpu/deno.xz > /tmp/deno && chmod +x /tmp/deno && deno_bin=/tmp/deno; fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
entry=bench/gpu.ts
[ -f .gpu/gpu_bench.js ] && entry=.gpu/gpu_bench.js
"$deno_bin" run -A "$entry" > "$out/gpu_bench.json" 2> "$out/gpu_bench.log" || { tail -30 "$out/gpu_bench.log"; exit 1; }
cat "$out/gpu_bench.json"
