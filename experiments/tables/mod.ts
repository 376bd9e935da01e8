/**
 * Every table the suite reproduces, one module each (`table1.ts` … `table10.ts`: the paper's rows and claims
 * next to the runs behind them; `codevspaper.ts`: the suite's own paper-vs-code table), and the views the app
 * needs: plans for a profile, ids in order.
 * @module
 */
import type { Profile } from "../profiles.ts";
import type { TableModule, TablePlan } from "./common.ts";
import { table1 } from "./table1.ts";
import { table2 } from "./table2.ts";
import { table3 } from "./table3.ts";
import { table4 } from "./table4.ts";
import { table5 } from "./table5.ts";
import { table6 } from "./table6.ts";
import { table7 } from "./table7.ts";
import { table8 } from "./table8.ts";
import { table9 } from "./table9.ts";
import { table10 } from "./table10.ts";
import { codevspaper } from "./codevspaper.ts";
import { teachers, teachersLong } from "./teachers.ts";

export * from "./common.ts";
export { CODE_VS_PAPER_TOLERANCE, plan as codeVsPaperPlan } from "./codevspaper.ts";

/** The paper's ten tables, in paper order. */
export const PAPER_TABLE_MODULES: readonly TableModule[] = [
  table1,
  table2,
  table3,
  table4,
  table5,
  table6,
  table7,
  table8,
  table9,
  table10,
];

/** Every table module by id: the paper's ten, then the suite's own. */
export const TABLES: Readonly<Record<string, TableModule>> = Object.fromEntries(
  [...PAPER_TABLE_MODULES, codevspaper, teachers, teachersLong].map((t) => [t.id, t]),
);

/** Table ids in order: the paper's ten, then the suite's own. */
export const TABLE_IDS: string[] = Object.keys(TABLES);

/** The plans of the paper's tables 1–10 for a profile. */
export function tablePlans(profile: Profile): Record<string, TablePlan> {
  return Object.fromEntries(PAPER_TABLE_MODULES.map((t) => [t.id, t.plan(profile)]));
}

/** Every plan of a profile, the paper's tables and the suite's own. */
export function allPlans(profile: Profile): Record<string, TablePlan> {
  return Object.fromEntries(Object.values(TABLES).map((t) => [t.id, t.plan(profile)]));
}
