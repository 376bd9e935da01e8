/**
 * Tests that read a real dataset archive (Tiny-ImageNet, CIFAR-10 images, CamVid) run only where one is
 * found (`GPA_DATA_DIR`, the project's `data/`, `../shared/datasets`); elsewhere they are reported as ignored,
 * with the reason in their name. Everything else in the suite uses synthetic data or archives it generates.
 * @module
 */
import { locateDataset } from "../lib/data/mod.ts";

/** Test definition fields for a test that needs `dataset` on disk: its name, and `ignore` when absent. */
export async function needsLocalDataset(
  dataset: "tiny-imagenet" | "cifar10" | "camvid",
  name: string,
): Promise<{ name: string; ignore: boolean }> {
  const found = await locateDataset(dataset, { dataDir: Deno.env.get("GPA_DATA_DIR") || undefined });
  return found ? { name, ignore: false } : {
    name: `${name} (skipped: no ${dataset} archive in GPA_DATA_DIR, data/ or ../shared/datasets)`,
    ignore: true,
  };
}
