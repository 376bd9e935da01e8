import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { DataError, loadDataset } from "../lib/data/mod.ts";

/** One CIFAR-10 binary record: label byte + 3072 bytes whose first value is `seed`. */
function record(label: number, seed: number): Uint8Array {
  const r = new Uint8Array(3073);
  r[0] = label;
  r.fill(seed & 255, 1);
  return r;
}

Deno.test("a missing dataset is downloaded (from a loopback mirror), cached once, then loaded", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "gpa-download-" });
  const dir = `${tmp}/src/cifar-10-batches-bin`;
  await Deno.mkdir(dir, { recursive: true });
  for (let b = 1; b <= 5; b++) {
    const recs = Array.from({ length: 10 }, (_, r) => record(r, b * 10 + r));
    await Deno.writeFile(`${dir}/data_batch_${b}.bin`, new Uint8Array(recs.flatMap((x) => [...x])));
  }
  await Deno.writeFile(
    `${dir}/test_batch.bin`,
    new Uint8Array(Array.from({ length: 10 }, (_, r) => [...record(r, r)]).flat()),
  );
  const tar = await new Deno.Command("tar", {
    args: ["-czf", `${tmp}/cifar-10-binary.tar.gz`, "-C", `${tmp}/src`, "cifar-10-batches-bin"],
  })
    .output();
  ok(tar.success);
  const archive = await Deno.readFile(`${tmp}/cifar-10-binary.tar.gz`);
  let requests = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    requests++;
    return new URL(req.url).pathname === "/cifar-10-binary.tar.gz"
      ? new Response(archive)
      : new Response("no", { status: 404 });
  });
  try {
    const mirror = `http://127.0.0.1:${server.addr.port}`;
    const options = {
      cacheDir: `${tmp}/cache`,
      projectRoot: `${tmp}/project`,
      dataDir: `${tmp}/nothing-here`,
      log: () => {},
      download: { mirror },
    };
    const spec = { name: "cifar10" as const, resolution: 32, cifarFormat: "binary" as const };
    const { train, val } = await loadDataset(spec, options);
    strictEqual(train.count, 50);
    strictEqual(val.count, 10);
    deepStrictEqual([...Deno.readDirSync(`${tmp}/cache/datasets/downloads`)].map((e) => e.name), [
      "cifar-10-binary.tar.gz",
    ]);
    await loadDataset({ ...spec, trainLimit: 2 }, options);
    strictEqual(requests, 1, "the archive is downloaded once");
    // A mirror without the file: one clear error that names the failed download.
    const error = await loadDataset(spec, {
      ...options,
      cacheDir: `${tmp}/cache2`,
      download: { mirror: `${mirror}/x` },
    })
      .then(() => null, (e) => e);
    ok(error instanceof DataError && error.message.includes("HTTP 404"), `${error}`);
  } finally {
    await server.shutdown();
    await Deno.remove(tmp, { recursive: true });
  }
});
