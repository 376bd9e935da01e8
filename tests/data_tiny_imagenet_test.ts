import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { decodeStats, loadDataset } from "../lib/data/mod.ts";
import { parseColumns, selectTinyImagenetMembers } from "../lib/data/tiny_imagenet.ts";
import { needsLocalDataset } from "./local_datasets.ts";

Deno.test("tiny-imagenet: member selection for limits takes the first k per class in natural order", async () => {
  const p = "tiny-imagenet-200/";
  const members = [
    p,
    `${p}wnids.txt`,
    `${p}words.txt`,
    `${p}train/n1/`,
    `${p}train/n1/n1_boxes.txt`,
    `${p}train/n1/images/n1_10.JPEG`,
    `${p}train/n1/images/n1_2.JPEG`,
    `${p}train/n1/images/n1_0.JPEG`,
    `${p}train/n2/n2_boxes.txt`,
    `${p}train/n2/images/n2_5.JPEG`,
    `${p}val/val_annotations.txt`,
    `${p}val/images/val_0.JPEG`,
    `${p}val/images/val_1.JPEG`,
    `${p}val/images/val_2.JPEG`,
    `${p}val/images/val_10.JPEG`,
  ];
  const annotations = "val_10.JPEG\tn1\t0\t0\t1\t1\nval_2.JPEG\tn1\t0\t0\t1\t1\n" +
    "val_1.JPEG\tn2\t0\t0\t1\t1\nval_0.JPEG\tn2\t0\t0\t1\t1\n";
  const requested: string[][] = [];
  const chosen = await selectTinyImagenetMembers(members, { trainLimit: 2, valLimit: 1 }, (names) => {
    requested.push(names);
    return Promise.resolve(new Map(names.map((n) => [n, annotations])));
  });
  deepStrictEqual(requested, [[`${p}val/val_annotations.txt`]]);
  deepStrictEqual(chosen.sort(), [
    `${p}train/n1/images/n1_0.JPEG`,
    `${p}train/n1/images/n1_2.JPEG`,
    `${p}train/n1/n1_boxes.txt`,
    `${p}train/n2/images/n2_5.JPEG`,
    `${p}train/n2/n2_boxes.txt`,
    `${p}val/images/val_0.JPEG`,
    `${p}val/images/val_2.JPEG`,
    `${p}val/val_annotations.txt`,
    `${p}wnids.txt`,
    `${p}words.txt`,
  ]);
});

Deno.test({
  ...await needsLocalDataset(
    "tiny-imagenet",
    "tiny-imagenet: the local archive loads with limits, class order and scaled boxes",
  ),
}, async () => {
  const tmp = await Deno.makeTempDir({ prefix: "gpa-tiny-" });
  try {
    const logs: string[] = [];
    const options = { cacheDir: `${tmp}/cache`, log: (m: string) => logs.push(m) };
    const spec = { name: "tiny-imagenet", resolution: 32, trainLimit: 2, valLimit: 1 } as const;
    const { train, val } = await loadDataset(spec, options);
    strictEqual(train.count, 400);
    strictEqual(val.count, 200);
    strictEqual(train.height, 32);
    strictEqual(train.width, 32);
    strictEqual(train.images.length, 400 * 32 * 32 * 3);
    strictEqual(train.numClasses, 200);
    strictEqual(train.boxes!.length, 400 * 4);
    strictEqual(val.boxes!.length, 200 * 4);

    // Only what the limits need was extracted: 2 train images per class and 1 val image per class.
    const dir = `${tmp}/cache/datasets/raw/tiny-imagenet-200-train250@t2-v1/tiny-imagenet-200`;
    strictEqual([...Deno.readDirSync(`${dir}/val/images`)].length, 200);
    strictEqual([...Deno.readDirSync(`${dir}/train/${train.classNames[0].split(" ")[0]}/images`)].length, 2);
    const wnids = (await Deno.readTextFile(`${dir}/wnids.txt`)).split("\n").map((s) => s.trim()).filter(
      Boolean,
    )
      .sort();
    strictEqual(wnids.length, 200);
    ok(train.classNames[0].startsWith(`${wnids[0]} `), train.classNames[0]);
    // Train: class-major, two per class; image 2k+1 is <wnid_k>_1.JPEG.
    for (let c = 0; c < 200; c++) deepStrictEqual([train.labels[2 * c], train.labels[2 * c + 1]], [c, c]);
    const wnid = wnids[7];
    const line = parseColumns(await Deno.readTextFile(`${dir}/train/${wnid}/${wnid}_boxes.txt`))
      .find((f) => f[0] === `${wnid}_1.JPEG`)!;
    const [x0, y0, x1, y1] = line.slice(1).map(Number);
    // 64 -> 32 px: halve; x1/y1 are inclusive pixel indices, so the exclusive edge is (x1 + 1) / 2.
    deepStrictEqual(Array.from(train.boxes!.subarray(15 * 4, 16 * 4)), [
      x0 / 2,
      y0 / 2,
      (x1 + 1) / 2,
      (y1 + 1) / 2,
    ]);
    for (let i = 0; i < 400; i++) {
      const [a, b, c, d] = train.boxes!.subarray(i * 4, i * 4 + 4);
      ok(0 <= a && a < c && c <= 32 && 0 <= b && b < d && d <= 32, `box ${i}: ${[a, b, c, d]}`);
    }
    // Val: one per class, first in val_N order; each class exactly once.
    strictEqual(new Set(val.labels).size, 200);
    const annotations = parseColumns(await Deno.readTextFile(`${dir}/val/val_annotations.txt`));
    const first = annotations.find((f) => f[0] === "val_0.JPEG")!;
    strictEqual(val.labels[0], wnids.indexOf(first[1]));
    const [v0, v1, v2, v3] = first.slice(2).map(Number);
    deepStrictEqual(Array.from(val.boxes!.subarray(0, 4)), [v0 / 2, v1 / 2, (v2 + 1) / 2, (v3 + 1) / 2]);

    const decodes = decodeStats.images;
    const again = await loadDataset(spec, options);
    strictEqual(decodeStats.images, decodes);
    deepStrictEqual(again.train.boxes, train.boxes);
    ok(logs.some((m) => m.includes("loaded from cache")));
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
