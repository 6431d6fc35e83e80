// A row of the fault suite: a name and a body; the entry (test/e2e/faults.test.ts) runs them concurrently.
export interface Row {
  name: string;
  run: () => Promise<void>;
}
