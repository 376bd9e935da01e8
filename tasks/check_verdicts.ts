// `deno run -A tasks/check_verdicts.ts COMMITTED.json NEW.json`: exits 1 when any claim's verdict differs
// between a committed report and a fresh run of the same table (the nightly's regression gate).
const [committedPath, freshPath] = Deno.args;
if (!committedPath || !freshPath) {
  console.error("usage: check_verdicts.ts COMMITTED.json NEW.json");
  Deno.exit(2);
}
type Report = { verdicts: { claimId: string; outcome: string; delta: number | null }[] };
const read = async (p: string) => JSON.parse(await Deno.readTextFile(p)) as Report;
const [committed, fresh] = await Promise.all([read(committedPath), read(freshPath)]);
const now = new Map(fresh.verdicts.map((v) => [v.claimId, v]));
let flips = 0;
for (const v of committed.verdicts) {
  const n = now.get(v.claimId);
  if (!n) {
    console.log(`${v.claimId}: judged in the committed report, missing now`);
    flips++;
  } else if (n.outcome !== v.outcome) {
    console.log(`${v.claimId}: ${v.outcome} → ${n.outcome} (Δ ${v.delta} → ${n.delta})`);
    flips++;
  }
}
console.log(flips ? `${flips} verdict(s) changed` : `all ${committed.verdicts.length} verdicts as committed`);
Deno.exit(flips ? 1 : 0);
