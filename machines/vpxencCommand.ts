/**
 * ExCamera's vpxenc settings, one definition for the vpxenc job and ExCamera's pass 0: VP8, 2-pass,
 * constant quality from `##QUALITY##` (the worker's `cmdquality`), one thread so the output is the
 * same bytes on every run.
 */

/**
 * @example vpxencCommand('##OUTFILE##', '##INFILE##') // 'vpxenc --ivf -q ... --cq-level=##QUALITY## ... -o ##OUTFILE## ##INFILE##'
 */
export function vpxencCommand(output: string, input: string): string {
  return (
    'vpxenc --ivf -q --codec=vp8 --good --cpu-used=0 --end-usage=cq --min-q=0 --max-q=63 --cq-level=##QUALITY## ' +
    '--buf-initial-sz=10000 --buf-optimal-sz=20000 --buf-sz=40000 --undershoot-pct=100 --passes=2 --auto-alt-ref=1 ' +
    `--threads=1 --token-parts=0 --tune=ssim --target-bitrate=4294967295 -o ${output} ${input}`
  );
}
