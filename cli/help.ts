/**
 * Per-command help: `deno run -A main.ts <command> --help` prints the command's usage, its flags with their
 * defaults and one example, and exits 0 without doing any work.
 * @module
 */
import { BACKEND_NAMES } from "../lib/backend.ts";
import { STRATEGY_NAMES } from "../app/strategies.ts";
import { PROFILES } from "../experiments/profiles.ts";

const GLOBAL = `global options (every command):
  --profile NAME       smoke | cpu | paper (default smoke)
  --backend NAME       auto | tensorflow | webgpu | wasm | cpu (default auto)
  --data-path DIR      your image folder (train/<class>/*, val/<class>/*) as the data, any profile;
                       the profile's batch and warm-up are capped to what it allows (said, recorded)
  --data-dir DIR       datasets, as directories or archives (env GPA_DATA_DIR); an image folder's
                       layout makes it --data-path
  --cache-dir DIR      run and dataset cache (default data/cache; env GPA_CACHE_DIR)
  --seed N             seed of the run (default: the profile's first seed)
  --json               print the result as JSON on stdout
  -q, --quiet          only errors on stderr
  -h, --help           this help`;

const RECIPE = `recipe (defaults: the profile's; every value is part of the run's identity):
  --epochs N           epochs of this command's stage
  --batch-size N       batch size of this stage
  --blr X              base learning rate (absolute lr = blr × batch / 256)
  --warmup-epochs X    linear warm-up epochs
  --weight-decay X     AdamW / SGD weight decay
  --model NAME         the profile's own | vit-tiny | vit-small | vit-base (width, depth, heads)
  --input-size N       image side in pixels (the dataset is resized once to it)
  --patch-size N       patch side in pixels
MAE/timm names (same meaning): --lr X (absolute; blr = X·256/batch), --min-lr X, --accum-iter N
  (batch × N per step), --output-dir DIR (the run's files and weights copied there), --resume [F]
  (accepted: runs resume by themselves); fine-tuning: --layer-decay, --drop-path, --mixup, --cutmix,
  --smoothing`;

const GPA = `mask strategy (pre-training):
  --strategy NAME      random | block | uniform | gpa | cls-attention | hpm (default random)
  --mask-ratio R       share of patches masked (default 0.75)
  --progress UNIT      step | epoch: t of every schedule per optimiser step, reaching 1 on the last
                       (default step) or per epoch (the authors' code)
GPA (--strategy gpa):
  --teacher-head H     b<block>h<head> (h-1: all heads) or <k>-shot selection (default: the
                       profile's — 10-shot on smoke and cpu, b9h11 on paper)
  --teacher-weights F  a timm/MAE ViT safetensors file as teacher (default: the profile's)
  --teacher-epochs N   epochs of the profile's MAE teacher when it is trained here
  --gpa-variant V      paper | official: GPA over patch queries without the diagonal, or all queries
  --gpa-maps M         per-step | cached (default per-step, the paper)
  --soft A,B           soft share at t = 0 and t = 1 (default 0.5,0)
  --hard A,B           hard share at t = 0 and t = 1 (default 0,0.5)
  --clip-soft          allow soft + hard > 1: the soft share is clipped to 1 − hard (authors' code)
  --overlap O          paper | official: how the soft draw treats hard patches (default paper)
  --rounding R         nearest | floor: share counts (default nearest; floor is the authors' code)
  --mam                add Masked Attention Modeling (GPA as a reconstruction target)
  --mam-loss-on S      masked | all (default masked; all with --gpa-variant official)
  --mam-active-from T  progress after which the MAM decoder runs (default 0; authors' code 0.75)`;

const ENCODER = `which encoder:
  --from SRC           pretrain | random | HASH (default pretrain: the run the flags below describe;
                       HASH: a finished pre-training run of the cache, its model from its record)
  --weights F          a timm/MAE ViT safetensors file (e.g. from 'export'), its model from the file
  --pretrain-epochs N  epochs of that pre-training run (default: the profile's)
  --pretrain-seed N    its seed, when it differs from --seed`;

/** Help text of each command. */
export const COMMAND_HELP: Record<string, string> = {
  pretrain: `usage: main.ts pretrain [options]
Pre-trains one MAE run (cached: a second call with the same flags is a cache hit; an interrupted run resumes).

${GPA}

${RECIPE}

${GLOBAL}

example: deno run -A main.ts pretrain --profile cpu --strategy gpa --mam --epochs 4`,
  finetune: `usage: main.ts finetune [options]
Fine-tunes the encoder of a pre-training run (MAE's recipe: layer decay, drop path, label smoothing; top-1 on
the val split).

${ENCODER}

${GPA.replace("mask strategy (pre-training):", "the encoder's pre-training (as for pretrain):")}

${RECIPE}

${GLOBAL}

example: deno run -A main.ts finetune --profile cpu --strategy gpa --mam --epochs 6`,
  linprobe: `usage: main.ts linprobe [options]
Linear probe (BatchNorm without affine + linear head) on the frozen encoder of a pre-training run.

${ENCODER}

${GPA.replace("mask strategy (pre-training):", "the encoder's pre-training (as for pretrain):")}

${RECIPE}

${GLOBAL}

example: deno run -A main.ts linprobe --profile cpu --from random`,
  segment: `usage: main.ts segment [options]
Semantic segmentation (CamVid on cpu; UperNet-style head on four encoder blocks; mIoU) from a pre-training run.

${ENCODER}
  --recipe K=V,...     overrides of the segmentation recipe, e.g. lr=5e-4,epochs=16

${GPA.replace("mask strategy (pre-training):", "the encoder's pre-training (as for pretrain):")}

${GLOBAL}

example: deno run -A main.ts segment --profile cpu --recipe epochs=8`,
  knn: `usage: main.ts knn [options]
k-NN top-1 of the frozen encoder's features (train split as memory bank, val split as queries).

${ENCODER}
                       (--epochs N is accepted too: knn trains nothing)
  --pooling P          cls | mean (default cls)
  --k N                neighbours (default 20)
  --temperature T      vote temperature (default 0.07)

${GPA.replace("mask strategy (pre-training):", "the encoder's pre-training (as for pretrain):")}

${GLOBAL}

example: deno run -A main.ts knn --profile cpu --epochs 4`,
  table: `usage: main.ts table N [options]   (or: deno task tableN)
Runs every (row × seed) of table N (1–10, or codevspaper) through the cache and writes
reports/<profile>/tableN.{md,json}: the paper's numbers, ours per seed, paired verdicts per claim.

  --seeds N            seeds 0..N−1 (default: the profile's)
  --seed-list L        exactly these seeds, e.g. 0,3,7 (instead of --seeds/--seed)
  --jobs N             worker processes that take runs as they free up (default 1)
  --shard I/N          only this share of the runs (job arrays on a shared --cache-dir); no report
  --rows A,B           train only these rows (keys as 'plan' lists them); the others enter the report
                       when every seed of them is cached, or is recorded by the report being replaced
                       with the same run identity (carried, with a note), and are marked not run otherwise
  --reports-dir DIR    where reports go (default reports/)
  --teacher-weights F  the GPA teacher (default: the profile's; env GPA_TEACHER_WEIGHTS)

${GLOBAL}

An interrupted table exits 130 and leaves the previous report untouched; rerun to resume.
example: deno task table1 --profile cpu --seeds 5 --jobs 2`,
  all: `usage: main.ts all [options]   (or: deno task all)
Every table (1–10 and codevspaper), then the figures. Options as for 'table'.

${GLOBAL}

example: deno task all --profile smoke`,
  plan: `usage: main.ts plan --table N [options]   (or: deno task plan -- --table N)
The runs a table needs, with their hashes and cache status, and each GPA row's shares at t = 0 and t = 1;
trains nothing.

  --table N            1–10 or codevspaper
  --seeds N            seeds 0..N−1 (default: the profile's)
  --seed-list L        exactly these seeds, e.g. 0,3,7 (instead of --seeds/--seed)
  --shard I/N          this share only
  --rows A,B           only these rows

${GLOBAL}

example: deno task plan -- --table 4 --profile cpu --json`,
  figures: `usage: main.ts figures [options]
Figures 2 (images, GPA maps, top-75 % masks), 4 (recall per block × head) and 5 (GPA on CamVid) as PNG.

  --reports-dir DIR    where figures go (default reports/)
  --teacher-weights F  the teacher (default: the profile's; env GPA_TEACHER_WEIGHTS); any ViT: its
                       model comes from the file (--weights F is the same)
  --from HASH          a cached pre-training run as the teacher

${GLOBAL}

example: deno run -A main.ts figures --profile cpu`,
  "gpa-recall": `usage: main.ts gpa-recall [options]
Recall of the teacher's top-GPA patches against object boxes on held-out images, per block × head, against
random patches and a centre prior at the profile's share and at top-25 %; JSON and a PNG heatmap.

  --teacher-head H     as for pretrain (default: the profile's, 10-shot)
  --teacher-weights F  a timm/MAE ViT safetensors file, any shape (also --weights F)
  --from HASH          a cached pre-training run as the teacher
  --gpa-variant V      paper | official
  --teacher-epochs N   epochs of the profile's MAE teacher
  --mask-ratio R       the top-k share (default the profile's, 0.75)
  --images N           held-out images (default 200)
  --hpm-from HASH      a finished HPM pre-training run: its predicted-loss maps beside GPA's (§1's claim)
  --out DIR            where the JSON and PNG go (default reports/<profile>/figures)

${GLOBAL}

example: deno run -A main.ts gpa-recall --profile cpu --images 2500`,
  "gpa-maps": `usage: main.ts gpa-maps --teacher-weights F --images DIR --out DIR [options]
Your images through your teacher: per image, the image as the teacher sees it, its GPA map and the top-k mask
(one PNG each, <out>/<path>.png), a contact sheet (contact_sheet.png) and the maps (gpa_maps.json). Figure 2
of the paper on any photo.

  --teacher-weights F  a timm/MAE ViT safetensors file (e.g. from 'export'); its model from the file
  --weights F          the same
  --from HASH          a cached pre-training run instead
  --images DIR         a folder of images (sub-folders included)
  --out DIR            where the PNGs and the JSON go
  --block B --head H   the head (default: the last block, all heads averaged: H = -1)
  --teacher-head bBhH  the same in one word
  --mask-ratio R       the top-k share (default the profile's, 0.75)
  --gpa-variant V      paper | official
  --limit N            the first N images (default 64)

${GLOBAL}

example: deno run -A main.ts gpa-maps --teacher-weights enc.safetensors --images my_images/val --out maps`,
  teacher: `usage: main.ts teacher [options]   (or: deno task teacher)
Trains (or resumes, or reads from the cache) the profile's GPA teacher — its MAE run of teacherEpochs — and
ships it: zoo/<profile>_teacher.safetensors (timm layout), a card (.json: run hash, loss, k-NN, recall vs
random and a centre prior); its figures go to <reports>/<profile>/figures (teacher_loss.png, gpa_recall.*).

  --out FILE           default zoo/<profile>_teacher.safetensors
  --images N           held-out images for the recall (default 2500)
  --reports-dir DIR    where the figures go (default reports)

${GLOBAL}

example: deno task teacher --profile cpu`,
  export: `usage: main.ts export HASH --out FILE.safetensors
Writes the encoder of a finished pre-training run in timm / MAE layout (fused qkv, [out, in] weights), with the run's
identity in the file's metadata. The file loads with --teacher-weights here and with timm in PyTorch.

${GLOBAL}

example: deno run -A main.ts export 226d5b9aa7383e2f --out teacher.safetensors`,
  runs: `usage: main.ts runs [show HASH] [options]
Lists the cached runs (hash, kind, strategy, seed, epochs, status, key metrics), newest first; 'runs show
HASH' prints one run's identity and metrics.

${GLOBAL}

example: deno run -A main.ts runs --cache-dir data/cache`,
  data: `usage: main.ts data [options]
Gets the profile's dataset ready: downloads it when no archive or folder is found (Tiny-ImageNet, CIFAR-10,
CamVid; ImageNet comes from --data-dir), decodes and packs it into the cache, and prints its image counts,
classes and fingerprint (part of every run's hash; 'plan' reads it without decoding).

${GLOBAL}

example: deno task data --profile cpu`,
  results: `usage: main.ts results [--profile P] [--write FILE] [options]
       main.ts results --rejudge FILE.json [FILE.json ...]
One line per claim of the profile's reports (reports/<profile>/table*.json and codevspaper.json): the paper's
difference, ours with its paired 95 % interval, the verdict (Holm's where it differs), the seeds, and for
inconclusive claims the seeds per row for 80 % power if the paper's difference held at this scale (a point
estimate; in brackets its range over the spread's 95 % interval). --write FILE puts the table between the
'<!-- results:start -->' and '<!-- results:end -->' lines of FILE (README.md's results section), and the
prose numbers (each table's rows against their baseline; post-hoc pairwise differences with Holm's
correction) between '<!-- prose:start -->' and '<!-- prose:end -->', and a status line per table (its
seeds, rows run, claims, engines, compute time, what is left and its cost) between '<!-- status:start -->'
and '<!-- status:end -->' (reports/README.md), each where FILE has those lines.
--rejudge recomputes the verdicts of the given reports from the per-seed values their JSON records, with
this code's statistics, and rewrites each report's .json and .md (no run cache needed; a note names the
commit); claims added to the table since and the profile's deviations listed since are added (a claim on
rows the report lacks reads not run). Every file is checked first: a bad one exits 2 and nothing is
written.

  --profile P          whose reports (default cpu)
  --reports-dir DIR    where the reports are (default reports/)
  --write FILE         write into FILE between the markers instead of printing
  --rejudge            re-judge the report files given after the flags
  --add-row KEY[=SRC]  with --rejudge and one report: copy row KEY (row SRC there; values, runs) from
  --from FILE.json     FILE.json, for the report's seeds, when its runs are the ones the report's table
                       plans for that row (hashes checked); an own table's discussion is written anew
  --note TEXT          with --rejudge: add TEXT to the notes of each report

example: deno task results --write README.md    (rewrites README.md's results block, a tracked file)
         deno task results --write reports/README.md    (its status table)
         deno task results --rejudge reports/cpu/table1.json reports/cpu/table4.json
         deno task results --rejudge reports/cpu/table1.json --add-row random-init --from reports/cpu/teachers.json`,
  doctor: `usage: main.ts doctor [options]
The backend chosen and why, package versions, the datasets found, the cache's location and size.

${GLOBAL}

example: deno task doctor`,
  bench: `usage: main.ts bench [options]   (or: deno task bench)
Engine throughput per backend; see bench/README.md.

  --backends LIST      wasm,cpu,webgpu,tensorflow (default wasm,cpu)
  --only STEPS         a subset of mae-pretrain, gpa-pretrain, gpa-cached-pretrain, gpa-mam-pretrain,
                       mae-gemms, finetune, data, checks (speed checks against their limits)
  --batch N            batch size (default 128)
  --matmul LIST        openblas,xnnpack: wasm's matMul engines, one pass each
  --native LIST        on,off: wasm with and without the fused native kernels, one pass each
  --threads N          threads on both sides (ours and PyTorch's)
  --peer-blas-threads N  PyTorch's OpenBLAS threads (default 1; its pool has --threads)
  --peer               time the same step in PyTorch on this machine
  --scaling            two parallel processes against one
  --steps N            timed steps (default 5)
  --warmup N           untimed steps first (default 2)
  --unit               instead: one Table 1 unit of --profile (data, pre-training, fine-tuning,
                       evaluation) timed by phase, with GFLOP/s, share of a measured GEMM peak and the
                       whole unit projected to the profile's epochs
  --unit-row ROW       Table 1's row for --unit (default mae; gpa-teacher, gpa-teacher-feature)
  --unit-epochs N      epochs per stage for --unit (default 1)

${GLOBAL}

example: deno task bench -- --backends wasm --only mae-pretrain --peer --json
         deno task bench -- --unit --profile cpu --json`,
};

/** The overview `main.ts help` prints. */
export const HELP =
  `gpa-repro — reproduces "Global Patch-wise Attention is Masterful Facilitator for Masked Image Modeling"

usage: deno run -A main.ts <command> [options]

commands:
  pretrain     pre-train one MAE run: --strategy ${STRATEGY_NAMES.join("|")},
               --mask-ratio r, --epochs n, --progress step|epoch (schedules' t); GPA: --mam,
               --teacher-head b<block>h<head>|<k>-shot, --teacher-weights file.safetensors,
               --teacher-epochs n, --gpa-variant paper|official, --gpa-maps per-step|cached,
               --overlap paper|official, --soft s0,sT, --hard h0,hT, --clip-soft, --rounding nearest|floor,
               --mam-loss-on masked|all, --mam-active-from t
  finetune     fine-tune the encoder of a pre-training run (--from pretrain|random|HASH, --weights F: any
               encoder; --pretrain-seed n: the encoder's seed when it differs from --seed; also for linprobe,
               knn and segment)
  linprobe     linear-probe the encoder of a pre-training run (--from pretrain|random|HASH, --weights F)
  segment      semantic segmentation (CamVid; UperNet-style head) from a pre-training run (--from, --weights);
               --recipe key=value,... overrides the profile's recipe (e.g. lr=5e-4,epochs=16)
  knn          k-NN accuracy (k 20, T 0.07, cosine) of the frozen encoder (--from, --weights, --pooling cls|mean)
  doctor       backend chosen and why, package versions, datasets found, cache location and size
  data         get the profile's dataset ready (download, decode, cache); its counts and fingerprint
  results      one line per claim of a profile's reports (--write README.md: the front page's table)
  table N      run table N (1–10) through the cache, write reports/<profile>/tableN.{md,json};
               --seeds n, --jobs n (worker processes that claim runs), --shard i/n (one share of the runs)
  all          every table and the figures
  plan         the runs a table needs, with hashes and cache status (--table N, --json, --shard i/n)
  figures      Figures 2, 4 and 5 (PNG) under reports/<profile>/figures/
  gpa-recall   recall of the teacher's top-GPA patches vs object boxes on held-out images, per block × head
               (--teacher-head, --teacher-weights, --teacher-epochs n (the MAE teacher's epochs),
               --mask-ratio r (top-k share), --images n, --json); JSON + PNG heatmap
  gpa-maps     your images through a teacher (--teacher-weights F | --from HASH, --images DIR, --out DIR):
               image, GPA map and top-k mask per image, a contact sheet; any ViT as the teacher
  runs         the cached runs (runs show HASH: one run's identity and metrics)
  bench        engine throughput (deno task bench); --json, --peer (PyTorch on the same machine),
               --scaling (two parallel runs vs one), --backends wasm,cpu,webgpu, --only <steps>,
               --matmul openblas,xnnpack (wasm's matMul engines, one pass each), --native on,off (fused
               kernels or not, one pass each), --threads n (both sides)
  export HASH  write a finished pre-training run's encoder as timm/MAE safetensors (--out FILE); loads with
               --teacher-weights
  teacher      train (or resume) the profile's GPA teacher and ship it: zoo/<profile>_teacher.safetensors,
               its card (.json: run, loss, k-NN, recall vs random and a centre prior) and plots (--images n)
  help         this text

options (every command):
  --profile NAME     ${Object.keys(PROFILES).join(" | ")} (default smoke)
  --backend NAME     ${BACKEND_NAMES.join(" | ")} (default auto)
  --data-path DIR    your image folder (train/<class>/*, val/<class>/*) as the data, any profile
  --data-dir DIR     datasets (directories or archives); env GPA_DATA_DIR; an image folder = --data-path
  --cache-dir DIR    run and dataset cache (default data/cache; env GPA_CACHE_DIR)
  --seed N           seed of the run (default: the profile's first seed)
  --json             print the result as JSON on stdout
  -q, --quiet        only errors on stderr

environment: GPA_BLAS=auto|on|off (wasm's matrix products on a system OpenBLAS through FFI; default auto),
  GPA_BLAS_THREADS=n (default 1), GPA_BLAS_LIB=path (the library to open), GPA_MICRO_BATCH=n,
  GPA_NATIVE=auto|on|off (wasm's fused LayerNorm/GELU/softmax/AdamW kernels, compiled on first use; default
  auto), GPA_NATIVE_LIB=path (a prebuilt library), GPA_CC=compiler (default cc)

exit codes: 0 ok, 1 runtime error, 2 usage error, 130 interrupted (resumable)`;
