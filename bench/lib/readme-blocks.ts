// The README's generated blocks: text between two HTML comment markers that `npm run bench:readme`
// rewrites from a committed result file, and that test/bench/readme-table.test.ts compares.

export interface Block {
  readonly start: string;
  readonly end: string;
  readonly block: string;
}

/** README text with the block between two markers replaced (the markers must exist). */
export function withBlock(readme: string, o: Block): string {
  const start = readme.indexOf(o.start);
  const end = readme.indexOf(o.end);
  if (start < 0 || end < start) throw new Error(`README.md lacks the markers ${o.start}`);
  return readme.slice(0, start) + o.block + readme.slice(end + o.end.length);
}
