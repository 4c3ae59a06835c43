// The merchant's accent colour, made safe to use: text on it and text in it must stay readable
// (WCAG AA, 4.5:1) whatever colour the merchant picked, white included.

const DEFAULT_ACCENT = "#1d4ed8";
const HEX = /^#[0-9a-f]{6}$/i;

type Rgb = [number, number, number];

const parse = (hex: string): Rgb =>
  [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16)) as Rgb;
const toHex = (rgb: Rgb) =>
  `#${rgb.map((c) => Math.round(c).toString(16).padStart(2, "0")).join("")}`;

function luminance([r, g, b]: Rgb): number {
  const lin = (c: number) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

function contrast(a: Rgb, b: Rgb): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

const WHITE: Rgb = [255, 255, 255];
const INK: Rgb = [28, 31, 36];

/** The colour darkened towards black until it reads on white at 4.5:1. */
function readableOnWhite(rgb: Rgb): Rgb {
  let c = rgb;
  for (let i = 0; i < 20 && contrast(c, WHITE) < 4.5; i++) c = c.map((v) => v * 0.85) as Rgb;
  return c;
}

export interface AccentColours {
  /** Buttons' background and the spinner. */
  accent: string;
  /** Text drawn on the accent: white or ink, whichever reads better. */
  onAccent: string;
  /** Links and outlines on the white card. */
  accentText: string;
  /** A hover shade of the accent. */
  accentDark: string;
}

export function accentColours(accent: string | null): AccentColours {
  const rgb = parse(accent && HEX.test(accent) ? accent : DEFAULT_ACCENT);
  const onAccent = contrast(rgb, WHITE) >= contrast(rgb, INK) ? WHITE : INK;
  return {
    accent: toHex(rgb),
    onAccent: toHex(onAccent),
    accentText: toHex(readableOnWhite(rgb)),
    accentDark: toHex(rgb.map((v) => v * 0.8) as Rgb),
  };
}
