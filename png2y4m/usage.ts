/**
 * The `-h` text (always printed to stderr, like the reference tool). The first line is the part
 * scripts look for: `Usage: <argv0> [options] <input>`.
 *
 * @example process.stderr.write(usageText('png2y4m'))
 */
export function usageText(program: string): string {
  return [
    `Usage: ${program} [options] <input>`,
    '',
    'Converts a PNG, or a numbered sequence of PNGs, to a YUV4MPEG2 stream',
    '(8-bit BT.709 studio-swing Y\'CbCr).',
    '',
    'Options:',
    '  -h, --help                      Show this message and exit.',
    '  -o, --output <file>             Output file name ("-" for stdout). Required.',
    '  -d                              Delete each input file right after opening it.',
    '  -i                              Incremental: append to the output; write the stream',
    '                                  header only if the output is empty.',
    '      --chroma-444                4:4:4 chroma (default 4:2:0).',
    '      --chroma-422                4:2:2 chroma (default 4:2:0).',
    '  -s, --aspect-numerator <n>      Pixel aspect ratio numerator (default 0).',
    '  -S, --aspect-denominator <n>    Pixel aspect ratio denominator (default 0).',
    '  -f, --framerate-numerator <n>   Frame rate numerator (default 24).',
    '  -F, --framerate-denominator <n> Frame rate denominator (default 1).',
    '      --no-dither                 Do not dither the conversion.',
    '',
    '<input> is a PNG file name, "-" for one PNG on stdin, or a printf-style mask with',
    'one integer conversion such as frames/%08d.png: every file in the mask\'s folder',
    'whose name the mask reproduces is converted, in byte-wise name order.',
    '',
  ].join('\n');
}
