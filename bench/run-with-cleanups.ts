/** Registers a step to undo at the end of a run; steps run in reverse order of registration. */
export type AddCleanup = (name: string, fn: () => Promise<unknown>) => void;

/**
 * Runs a benchmark body, then every cleanup it registered, even when it failed, so that a failed
 * or interrupted run still drops its schema and stops the processes it started. Prints what failed
 * and returns false if anything did.
 */
export async function runWithCleanups(
  body: (addCleanup: AddCleanup) => Promise<void>,
): Promise<boolean> {
  const cleanups: Array<[string, () => Promise<unknown>]> = [];
  let ok = true;
  try {
    await body((name, fn) => {
      cleanups.push([name, fn]);
    });
  } catch (err) {
    ok = false;
    console.error(
      `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
    );
  } finally {
    // Reverse order: servers and the gateway before the chain and database they use, the
    // database before its schema or directory.
    for (const [name, fn] of cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        ok = false;
        console.error(`cleanup: ${name} failed: ${(err as Error).message}`);
      }
    }
  }
  return ok;
}
