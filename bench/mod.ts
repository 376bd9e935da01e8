/** Placeholder replaced below. */
export async function runBenchCommand(_args: string[], _o: unknown): Promise<void> {
  throw new Error("bench not implemented yet");
}
