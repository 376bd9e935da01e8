import assert from "node:assert/strict";
import {
  blockForwardFlops,
  blockParams,
  costTable,
  decoderForwardFlops,
  decoderParams,
  encoderForwardFlops,
  encoderParams,
  formatCostTable,
  keptPatches,
  type MaeCostConfig,
  methodParams,
  numPatches,
  PAPER_TABLE9_RATIOS,
  teacherForwardFlops,
  trainingStepFlops,
  VIT_B16_MAE_CONFIG,
} from "../lib/cost.ts";

// ---- Independent reference: explicit matmul shapes [rows, inner, cols] of ViT-B/16, written out by hand. ----

/** FLOPs of a list of matmuls [M, K, N] (2·M·K·N each). */
function matmulFlops(list: [number, number, number][]): number {
  return list.reduce((s, [m, k, n]) => s + 2 * m * k * n, 0);
}

/** Matmuls of one ViT block on n tokens of width d with h heads (per head attention written out). */
function blockMatmuls(n: number, d: number, h: number): [number, number, number][] {
  const hd = d / h;
  const list: [number, number, number][] = [
    [n, d, 3 * d], // qkv
    [n, d, d], // proj
    [n, d, 4 * d], // fc1
    [n, 4 * d, d], // fc2
  ];
  for (let i = 0; i < h; i++) {
    list.push([n, hd, n]); // q_h · k_hᵀ
    list.push([n, n, hd]); // attn_h · v_h
  }
  return list;
}

Deno.test("cost: ViT-B/16 geometry", () => {
  assert.equal(numPatches(VIT_B16_MAE_CONFIG), 196);
  assert.equal(keptPatches(VIT_B16_MAE_CONFIG), 49);
});

Deno.test("cost: block FLOPs match explicit per-head matmuls", () => {
  for (const [n, d, h] of [[50, 768, 12], [197, 768, 12], [197, 512, 16], [5, 64, 4]]) {
    assert.equal(blockForwardFlops(n, d, 4), matmulFlops(blockMatmuls(n, d, h)));
  }
  // Closed form 24·n·d² + 4·n²·d, hand-evaluated at n = 50, d = 768: 707,788,800 + 7,680,000.
  assert.equal(blockForwardFlops(50, 768, 4), 715_468_800);
});

Deno.test("cost: MAE ViT-B/16 forward FLOPs by explicit layer list", () => {
  const c = VIT_B16_MAE_CONFIG;
  const enc: [number, number, number][] = [[196, 768, 768]]; // patch embedding on all 196 patches
  for (let b = 0; b < 12; b++) enc.push(...blockMatmuls(50, 768, 12)); // 49 kept + CLS
  const dec: [number, number, number][] = [[50, 768, 512]]; // decoder embedding on the encoder output
  for (let b = 0; b < 8; b++) dec.push(...blockMatmuls(197, 512, 16));
  dec.push([197, 512, 768]); // pixel head
  assert.equal(encoderForwardFlops(c, 49), matmulFlops(enc));
  assert.equal(decoderForwardFlops(c), matmulFlops(dec));
  assert.equal(matmulFlops(enc), 8_816_836_608);
  assert.equal(matmulFlops(dec), 10_745_430_016);
  const mae = trainingStepFlops("mae", c);
  assert.equal(mae.studentForward, 19_562_266_624);
  assert.equal(mae.total, 3 * 19_562_266_624);
  assert.equal(mae.teacherForward, 0);
});

Deno.test("cost: GPA teacher = 9 full blocks + qkv and scores of block 9, on 197 tokens", () => {
  const c = VIT_B16_MAE_CONFIG;
  const list: [number, number, number][] = [[196, 768, 768]];
  for (let b = 0; b < 9; b++) list.push(...blockMatmuls(197, 768, 12));
  list.push([197, 768, 3 * 768]);
  for (let i = 0; i < 12; i++) list.push([197, 64, 197]);
  assert.equal(teacherForwardFlops(c), matmulFlops(list));
  assert.equal(teacherForwardFlops(c), 27_159_175_680);
  const full = teacherForwardFlops(c, { block: 11, scoresOnly: false });
  assert.equal(full, encoderForwardFlops(c, 196));
  const gpa = trainingStepFlops("gpa", c);
  assert.equal(gpa.total, 3 * 19_562_266_624 + 27_159_175_680);
  assert.throws(() => teacherForwardFlops(c, { block: 12 }), RangeError);
});

Deno.test("cost: HPM step by explicit parts", () => {
  const c = VIT_B16_MAE_CONFIG;
  const stack: [number, number, number][] = [];
  for (let b = 0; b < 8; b++) stack.push(...blockMatmuls(197, 512, 16));
  stack.push([197, 512, 768]);
  const decStack = matmulFlops(stack); // one decoder stack on 197 tokens
  const fullEnc: [number, number, number][] = [[196, 768, 768]];
  for (let b = 0; b < 12; b++) fullEnc.push(...blockMatmuls(197, 768, 12));
  const teacher = matmulFlops(fullEnc) + matmulFlops([[197, 768, 512]]) + 2 * decStack;
  const student = 19_562_266_624 + decStack;
  const hpm = trainingStepFlops("hpm", c);
  assert.equal(hpm.studentForward, student);
  assert.equal(hpm.teacherForward, teacher);
  assert.equal(hpm.total, 3 * student + teacher);
  const lean = trainingStepFlops("hpm", c, { hpmTeacherDecoders: "loss-predictor" });
  assert.equal(lean.teacherForward, teacher - decStack);
});

// ---- Parameters: the state-dict tensor shapes of MAE ViT-B/16, written out. ----

function blockTensors(d: number): number[][] {
  return [[d], [d], [3 * d, d], [3 * d], [d, d], [d], [d], [d], [4 * d, d], [4 * d], [d, 4 * d], [d]];
}
const size = (shapes: number[][]) => shapes.reduce((s, sh) => s + sh.reduce((a, b) => a * b, 1), 0);

Deno.test("cost: ViT-B/16 encoder parameters (published 85.8M without head, 86.6M with)", () => {
  const c = VIT_B16_MAE_CONFIG;
  const enc = [[768, 3, 16, 16], [768], [1, 1, 768]]; // patch conv + bias, cls token
  for (let b = 0; b < 12; b++) enc.push(...blockTensors(768));
  enc.push([768], [768]); // final norm
  assert.equal(encoderParams(c), size(enc));
  assert.equal(encoderParams(c), 85_647_360);
  assert.equal(blockParams(768, 4), 7_087_872);
  // timm's ViT-B/16 learns its positional embedding (197 × 768): 85,798,656 ≈ 85.8M; + 1000-way head 86.6M.
  const withPos = encoderParams(c) + 197 * 768;
  assert.equal(withPos, 85_798_656);
  assert.equal(Math.round((withPos + 768 * 1000 + 1000) / 1e5) / 10, 86.6);
});

Deno.test("cost: MAE decoder parameters (≈ 26.0M) and method parameter ratios", () => {
  const c = VIT_B16_MAE_CONFIG;
  const dec = [[512, 768], [512], [1, 1, 512]]; // decoder_embed, mask token
  for (let b = 0; b < 8; b++) dec.push(...blockTensors(512));
  dec.push([512], [512], [768, 512], [768]); // norm, pixel head
  assert.equal(decoderParams(c), size(dec));
  assert.equal(decoderParams(c), 26_008_320);
  const mae = methodParams("mae", c);
  assert.equal(mae.learnable, 111_655_680);
  assert.equal(mae.learnable + mae.fixedPositional, 111_907_840); // MAE's usual "111.91M" counts the fixed ones
  const aux = size([...Array.from({ length: 8 }, () => blockTensors(512)).flat(), [512], [512], [768, 512], [
    768,
  ]]);
  assert.equal(aux, 25_614_080);
  assert.equal(methodParams("gpa", c).learnable, 111_655_680); // frozen teacher: not learnable
  assert.equal(methodParams("gpa-mam", c).learnable, 111_655_680 + aux);
  assert.equal(methodParams("hpm", c).learnable, 111_655_680 + aux); // EMA teacher: not learnable
  assert.ok(methodParams("hpm", c).teacher > methodParams("hpm", c).learnable);
});

Deno.test("cost: ratio table", () => {
  const rows = costTable(VIT_B16_MAE_CONFIG);
  const by = Object.fromEntries(rows.map((r) => [r.method, r]));
  const maeStep = 3 * 19_562_266_624;
  assert.equal(by.mae.flopsRatio, 1);
  assert.equal(by.mae.paramsRatio, 1);
  assert.equal(by.gpa.flopsRatio, (maeStep + 27_159_175_680) / maeStep);
  assert.equal(by.gpa.paramsRatio, 1);
  assert.ok(Math.abs(by.hpm.paramsRatio - (111_655_680 + 25_614_080) / 111_655_680) < 1e-12);
  assert.ok(by["gpa-mam"].flopsRatio > by.gpa.flopsRatio);
  assert.ok(by.hpm.flopsRatio > by["gpa-mam"].flopsRatio);
  assert.deepEqual(by.gpa.paper, PAPER_TABLE9_RATIOS.gpa);
  assert.deepEqual(by.hpm.paper, PAPER_TABLE9_RATIOS.hpm);
  // MAM decoder active on a quarter of the steps (authors' schedule) lies between GPA and GPA-MAM.
  const quarter = costTable(VIT_B16_MAE_CONFIG, { mamActiveFraction: 0.25 }).find((r) =>
    r.method === "gpa-mam"
  )!;
  assert.ok(quarter.flopsRatio > by.gpa.flopsRatio && quarter.flopsRatio < by["gpa-mam"].flopsRatio);
  console.log(formatCostTable(rows));
  console.log(
    formatCostTable(
      costTable(VIT_B16_MAE_CONFIG, { mamActiveFraction: 0.25, hpmTeacherDecoders: "loss-predictor" }),
    ),
  );
});

Deno.test("cost: invalid configs throw", () => {
  const bad: MaeCostConfig = { ...VIT_B16_MAE_CONFIG, imageSize: 225 };
  assert.throws(() => trainingStepFlops("mae", bad), RangeError);
  assert.throws(() => trainingStepFlops("mae", { ...VIT_B16_MAE_CONFIG, maskRatio: 1 }), RangeError);
  assert.throws(() => trainingStepFlops("mae", { ...VIT_B16_MAE_CONFIG, heads: 7 }), RangeError);
  assert.throws(() => trainingStepFlops("nope" as "mae", VIT_B16_MAE_CONFIG), RangeError);
});
