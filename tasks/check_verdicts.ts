/**
 * `deno run -A tasks/check_verdicts.ts COMMITTED.json NEW.json`: the nightly's regression gate. Exits 1 when
 * any claim's verdict differs between a committed report and a fresh run of the same table, and 2 when the two
 * reports are not of the same experiment (table, profile, data, model, epochs or seeds differ), since a flip —
 * or the absence of one — between different experiments says nothing about regressions.
 * @module
 */

/** The parts of a report JSON the gate reads. */
export interface VerdictReport {
  header: Record<string, unknown>;
  verdicts: { claimId: string; outcome: string; delta: number | null }[];
}

/** Header fields that must agree for two reports to be of the same experiment. */
export const EXPERIMENT_FIELDS = ["tableId", "profile", "dataset", "resolution", "model", "epochs", "seeds"];

/** The gate's lines and exit code for two reports. */
export function compareVerdicts(
  committed: VerdictReport,
  fresh: VerdictReport,
): { lines: string[]; code: number } {
  const differ = EXPERIMENT_FIELDS.filter((k) =>
    JSON.stringify(committed.header?.[k]) !== JSON.stringify(fresh.header?.[k])
  );
  if (differ.length) {
    return {
      lines: differ.map((k) =>
        `reports are of different experiments: ${k} ${JSON.stringify(committed.header?.[k])} → ${
          JSON.stringify(fresh.header?.[k])
        }`
      ),
      code: 2,
    };
  }
  const now = new Map(fresh.verdicts.map((v) => [v.claimId, v]));
  const lines: string[] = [];
  for (const v of committed.verdicts) {
    const n = now.get(v.claimId);
    if (!n) lines.push(`${v.claimId}: judged in the committed report, missing now`);
    else if (n.outcome !== v.outcome) {
      lines.push(`${v.claimId}: ${v.outcome} → ${n.outcome} (Δ ${v.delta} → ${n.delta})`);
    }
  }
  lines.push(
    lines.length
      ? `${lines.length} verdict(s) changed`
      : `all ${committed.verdicts.length} verdicts as committed`,
  );
  return { lines, code: lines.length > 1 ? 1 : 0 };
}

if (import.meta.main) {
  const [committedPath, freshPath] = Deno.args;
  if (!committedPath || !freshPath) {
    console.error("usage: check_verdicts.ts COMMITTED.json NEW.json");
    Deno.exit(2);
  }
  const read = async (p: string) => JSON.parse(await Deno.readTextFile(p)) as VerdictReport;
  const [committed, fresh] = await Promise.all([read(committedPath), read(freshPath)]);
  const { lines, code } = compareVerdicts(committed, fresh);
  for (const l of lines) (code === 2 ? console.error : console.log)(l);
  Deno.exit(code);
}
