/**
 * Tiny-ImageNet-200 in its official layout: `wnids.txt`, `words.txt`, `train/<wnid>/images/*.JPEG`,
 * `train/<wnid>/<wnid>_boxes.txt`, `val/images/*.JPEG`, `val/val_annotations.txt`.
 *
 * Class ids follow the sorted wnids (as torchvision's ImageFolder would number them). Train images are taken
 * class by class in natural file order (`<wnid>_0`, `<wnid>_1`, …); val images in natural file order
 * (`val_0`, `val_1`, …). Limits take the first k images of each class in that order.
 * @module
 */
import {
  type DecodeContext,
  decodeItems,
  type ImageItem,
  limitPerKey,
  listSorted,
  naturalCompare,
} from "./image_folder.ts";
import { DataError, type ImageSplit } from "./types.ts";

/** Parses a tab/space separated annotation file into rows of fields (blank lines skipped). */
export function parseColumns(text: string): string[][] {
  return text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line.length > 0).map((line) =>
    line.split(/\s+/)
  );
}

function parseBox(fields: string[], from: number, where: string): [number, number, number, number] {
  const box = fields.slice(from, from + 4).map(Number);
  if (box.length !== 4 || box.some((v) => !Number.isFinite(v))) {
    throw new DataError(`bad box line in ${where}`);
  }
  return box as [number, number, number, number];
}

async function readText(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw new DataError(`missing file ${path}`);
    throw error;
  }
}

const JPEG = /\.jpe?g$/i;

/** The rows of `val_annotations.txt` a load keeps: natural file order, the first `limit` of each wnid. */
export function firstValRowsPerClass(rows: string[][], limit: number | undefined): string[][] {
  return limitPerKey([...rows].sort((a, b) => naturalCompare(a[0], b[0])), (row) => row[1], limit);
}

/**
 * Archive members that a Tiny-ImageNet load with these limits reads: the metadata files, the first
 * `trainLimit` train images of each class and the val images of `firstValRowsPerClass` (all when absent).
 */
export async function selectTinyImagenetMembers(
  members: string[],
  limits: { trainLimit?: number; valLimit?: number; classLimit?: number },
  readText: (names: string[]) => Promise<Map<string, string>>,
): Promise<string[]> {
  const wnidsMember =
    members.filter((m) => /(^|\/)wnids\.txt$/.test(m)).sort((a, b) => a.length - b.length)[0];
  if (wnidsMember === undefined) throw new DataError("archive has no tiny-imagenet-200/wnids.txt");
  const prefix = wnidsMember.slice(0, -"wnids.txt".length);
  // The first `classLimit` classes in label order (sorted wnids), as `loadTinyImagenet` takes them.
  const kept = limits.classLimit === undefined ? undefined : new Set(
    firstWnids(parseColumns((await readText([wnidsMember])).get(wnidsMember) ?? ""), limits.classLimit),
  );
  const chosen: string[] = [];
  const trainImages = new Map<string, string[]>();
  const valImages = new Set<string>();
  for (const member of members) {
    if (!member.startsWith(prefix)) continue;
    const rel = member.slice(prefix.length);
    let match: RegExpExecArray | null;
    if (
      rel === "wnids.txt" || rel === "words.txt" || rel === "val/val_annotations.txt" ||
      /^train\/[^/]+\/[^/]+_boxes\.txt$/.test(rel)
    ) {
      chosen.push(member);
    } else if ((match = /^train\/([^/]+)\//.exec(rel)) && kept && !kept.has(match[1])) {
      continue; // a class past the limit
    } else if ((match = /^train\/([^/]+)\/images\/([^/]+)$/.exec(rel)) && JPEG.test(match[2])) {
      const list = trainImages.get(match[1]) ?? [];
      list.push(match[2]);
      trainImages.set(match[1], list);
    } else if ((match = /^val\/images\/([^/]+)$/.exec(rel)) && JPEG.test(match[1])) {
      valImages.add(match[1]);
    }
  }
  for (const [wnid, files] of trainImages) {
    for (const file of files.sort(naturalCompare).slice(0, limits.trainLimit)) {
      chosen.push(`${prefix}train/${wnid}/images/${file}`);
    }
  }
  let valFiles = [...valImages];
  if (limits.valLimit !== undefined || kept) {
    const annotations = `${prefix}val/val_annotations.txt`;
    const text = (await readText([annotations])).get(annotations) ?? "";
    valFiles = firstValRowsPerClass(parseColumns(text), limits.valLimit)
      .filter((row) => !kept || kept.has(row[1]))
      .map((row) => row[0])
      .filter((file) => valImages.has(file));
  }
  for (const file of valFiles) chosen.push(`${prefix}val/images/${file}`);
  return chosen;
}

/** The first `k` class ids in label order (sorted), from wnids.txt's rows. */
function firstWnids(rows: string[][], k: number): string[] {
  return rows.map((f) => f[0]).sort().slice(0, k);
}

/**
 * Loads Tiny-ImageNet from an extracted official-layout directory. With `classLimit`, only the first k
 * classes (sorted wnids) are read and decoded — the same splits, byte for byte, as `firstClasses` cuts from
 * the whole dataset.
 */
export async function loadTinyImagenet(
  dir: string,
  options: { resolution: number; trainLimit?: number; valLimit?: number; classLimit?: number },
  ctx: DecodeContext,
): Promise<{ train: ImageSplit; val: ImageSplit }> {
  const allWnids = parseColumns(await readText(`${dir}/wnids.txt`)).map((f) => f[0]).sort();
  const classIndex = new Map(allWnids.map((w, i) => [w, i]));
  const limit = options.classLimit !== undefined && options.classLimit < allWnids.length
    ? options.classLimit
    : undefined;
  const wnids = limit === undefined ? allWnids : allWnids.slice(0, limit);
  const words = new Map<string, string>();
  try {
    for (const line of (await Deno.readTextFile(`${dir}/words.txt`)).split(/\r?\n/)) {
      const tab = line.indexOf("\t");
      if (tab > 0) words.set(line.slice(0, tab), line.slice(tab + 1).trim());
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const classNames = wnids.map((w) => words.has(w) ? `${w} ${words.get(w)!.split(",")[0]}` : w);

  const trainItems: ImageItem[] = [];
  for (const wnid of wnids) {
    const label = classIndex.get(wnid)!;
    const boxesPath = `${dir}/train/${wnid}/${wnid}_boxes.txt`;
    const boxes = new Map(
      parseColumns(await readText(boxesPath)).map((f) => [f[0], parseBox(f, 1, boxesPath)]),
    );
    const files = await listSorted(
      `${dir}/train/${wnid}/images`,
      (e) => e.isFile && JPEG.test(e.name),
    );
    const limit = options.trainLimit ?? files.length;
    for (const file of files.slice(0, limit)) {
      trainItems.push({ path: `${dir}/train/${wnid}/images/${file}`, label, box: boxes.get(file) });
    }
  }

  const annotationsPath = `${dir}/val/val_annotations.txt`;
  const valRows = firstValRowsPerClass(parseColumns(await readText(annotationsPath)), options.valLimit);
  const valItems = valRows.flatMap((fields): ImageItem[] => {
    const label = classIndex.get(fields[1]);
    if (label === undefined) throw new DataError(`${annotationsPath}: unknown wnid ${fields[1]}`);
    if (limit !== undefined && label >= limit) return [];
    return [{ path: `${dir}/val/images/${fields[0]}`, label, box: parseBox(fields, 2, annotationsPath) }];
  });

  const res = options.resolution;
  // Named as `firstClasses` names a cut of the whole dataset: the two are the same splits.
  const suffix = limit === undefined ? "" : `/c${limit}`;
  return {
    train: await decodeItems(`tiny-imagenet/train@${res}${suffix}`, trainItems, res, classNames, ctx),
    val: await decodeItems(`tiny-imagenet/val@${res}${suffix}`, valItems, res, classNames, ctx),
  };
}
