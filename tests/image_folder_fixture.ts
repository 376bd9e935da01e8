/** A small image folder written with sharp, for tests of the own-data path (helper; not a test file). */
import sharp from "sharp";

/** The classes of {@linkcode writeImageFolder}: a shape each, on a noisy background. */
export const FIXTURE_CLASSES = ["disc", "square", "stripes"] as const;

/**
 * Writes `<root>/{train,val}/<class>/<i>.png`: 3 classes, `train` and `val` images per class, `size` px,
 * seeded (a disc, a square or horizontal stripes at a random place and colour on noise).
 */
export async function writeImageFolder(
  root: string,
  o: { train?: number; val?: number; size?: number; seed?: number } = {},
): Promise<void> {
  const size = o.size ?? 32;
  let state = (o.seed ?? 1) >>> 0 || 1;
  const rand = () => ((state = (state * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  for (const [split, count] of [["train", o.train ?? 12], ["val", o.val ?? 4]] as const) {
    for (const [c, name] of FIXTURE_CLASSES.entries()) {
      const dir = `${root}/${split}/${name}`;
      await Deno.mkdir(dir, { recursive: true });
      for (let i = 0; i < count; i++) {
        const px = new Uint8Array(size * size * 3);
        for (let j = 0; j < px.length; j++) px[j] = 40 + Math.floor(rand() * 60);
        const r = size * (0.2 + 0.15 * rand());
        const cx = r + rand() * (size - 2 * r);
        const cy = r + rand() * (size - 2 * r);
        const colour = [120 + rand() * 135, 120 + rand() * 135, 120 + rand() * 135];
        for (let y = 0; y < size; y++) {
          for (let x = 0; x < size; x++) {
            const inside = c === 0
              ? (x - cx) ** 2 + (y - cy) ** 2 < r * r
              : c === 1
              ? Math.abs(x - cx) < r && Math.abs(y - cy) < r
              : Math.floor(y / 3) % 2 === 0 && Math.abs(x - cx) < r * 1.3;
            if (inside) px.set(colour, (y * size + x) * 3);
          }
        }
        await sharp(px, { raw: { width: size, height: size, channels: 3 } }).png().toFile(`${dir}/${i}.png`);
      }
    }
  }
}
