/** Placeholder until the png2y4m tool lands (issue 3). */
export async function main(argv: string[]): Promise<number> {
  process.stderr.write(`${argv[0] ?? 'png2y4m'}: not implemented yet\n`);
  return 1;
}
