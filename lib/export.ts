/**
 * Exporting a cached run's encoder as a timm/MAE safetensors file (loadable here with `--teacher-weights`
 * and by timm in PyTorch), with the run's identity in the file's metadata.
 * @module
 */
import type { RunCache } from "./cache/mod.ts";
import { isEncoderParam } from "./encode.ts";
import type { NamedTensors } from "./safetensors.ts";
import { writeSafetensors } from "./safetensors.ts";
import { toTimmVit } from "./timm.ts";
import type { VitConfig } from "./vit.ts";

/** The run asked for cannot be exported: unknown, unfinished, or not a pre-training run. */
export class NotExportableError extends Error {
  override name = "NotExportableError";
}

/** What `exportEncoder` wrote. */
export interface ExportedEncoder {
  path: string;
  bytes: number;
  sha256: string;
  run: string;
  tensors: number;
}

/**
 * Writes the encoder of finished pre-training run `hash` to `out` in timm layout. Throws NotExportableError when
 * the run is unknown, unfinished or not a pre-training run: a fine-tuned classifier pools with `fc_norm` and
 * leaves `norm` untrained, so its encoder under timm's default token pooling would not be what was evaluated.
 */
export async function exportEncoder(cache: RunCache, hash: string, out: string): Promise<ExportedEncoder> {
  const run = cache.runDir(hash);
  const config = (await run.readConfig()) as { model?: VitConfig; kind?: string } | null;
  const final = config ? await run.loadFinal() : null;
  if (!config || !final) {
    throw new NotExportableError(`run ${hash} is not a finished run in ${cache.runsDir}`);
  }
  if (!config.model) {
    throw new NotExportableError(`run ${hash} (${config.kind ?? "unknown kind"}) has no ViT encoder`);
  }
  if (config.kind !== "pretrain") {
    const from = (config as { from?: string | null }).from;
    throw new NotExportableError(
      `run ${hash} is a ${config.kind ?? "unknown"} run; export a pre-training run` +
        (from ? ` (this one started from ${from})` : ""),
    );
  }
  const encoder: NamedTensors = {};
  for (const [name, t] of Object.entries(final.tensors)) if (isEncoderParam(name)) encoder[name] = t;
  const timm = toTimmVit(encoder, config.model);
  const written = await writeSafetensors(out, timm, {
    format: "timm-vit",
    run: hash,
    kind: config.kind ?? "unknown",
    config: JSON.stringify(config),
  });
  return {
    path: out,
    bytes: written.size,
    sha256: written.sha256,
    run: hash,
    tensors: Object.keys(timm).length,
  };
}
